"""Azotte catalog service."""
