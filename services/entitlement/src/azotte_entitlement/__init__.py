"""Azotte entitlement service."""
