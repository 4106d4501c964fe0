"""Emulators of channels' own APIs, run beside a sandbox or test stack (never in production)."""
