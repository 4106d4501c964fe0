"""Alembic environment of this service (shared body in azotte_platform)."""

from azotte_platform.db.migrations import run_env

run_env()
