"""Azotte gateway service."""
