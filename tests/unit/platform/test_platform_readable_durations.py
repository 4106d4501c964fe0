"""Durations in error messages read as people write them ("90 days", not "90 days, 0:00:00")."""

from __future__ import annotations

from datetime import timedelta

from azotte_platform.durations import readable_duration


def test_durations_print_in_words() -> None:
    assert readable_duration(timedelta(days=90)) == "90 days"
    assert readable_duration(timedelta(days=1, hours=12)) == "1 day 12 hours"
    assert readable_duration(timedelta(minutes=45)) == "45 minutes"
    assert readable_duration(timedelta(seconds=1)) == "1 second"
    assert readable_duration(timedelta(0)) == "0 seconds"
