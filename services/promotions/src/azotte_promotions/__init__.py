"""Azotte promotions service."""
