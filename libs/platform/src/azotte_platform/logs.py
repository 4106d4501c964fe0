"""Structured JSON logs that carry the request context."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from azotte_platform import context


class _ContextFilter(logging.Filter):
    """Adds tenant and request id to every record."""

    def __init__(self, service: str):
        super().__init__()
        self._service = service

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        record.service = self._service
        record.tenant = ctx.tenant_id
        record.request_id = ctx.request_id
        return True


def configure(service: str, level: str) -> None:
    """Send JSON lines to stderr for `service` at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(tenant)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_ContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
