"""Azotte lifecycle service."""
