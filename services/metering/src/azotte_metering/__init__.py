"""Azotte metering service."""
