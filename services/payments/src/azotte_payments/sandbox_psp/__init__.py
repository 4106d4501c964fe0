"""Sandbox PSPs: local HTTP servers that behave like real providers in test mode."""
