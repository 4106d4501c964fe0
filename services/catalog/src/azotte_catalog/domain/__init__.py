"""Catalog domain: storefronts, features, plans, prices, channel mappings and catalog documents."""
