"""Durations in messages, as people write them (pure: domains use it)."""

from __future__ import annotations

from datetime import timedelta


def readable_duration(span: timedelta) -> str:
    """A duration as people write it in a message: "90 days", "1 day 12 hours", "45 minutes"."""
    seconds = int(span.total_seconds())
    if seconds <= 0:
        return "0 seconds"
    parts = []
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts)
