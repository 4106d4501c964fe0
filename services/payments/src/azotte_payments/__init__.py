"""Azotte payments service."""
