"""Invoice reminder days: signed day offsets from an invoice's due date (-7 a week before, 3 three days after).

Lifecycle's policy sets them and payments stores them with each invoice; both check them here, so a tenant meets
the same rules wherever it sets them.
"""

from __future__ import annotations

from collections.abc import Sequence

from azotte_platform.errors import FieldViolation, InvalidArgument

MAX_REMINDER_OFFSET_DAYS = 90
MAX_REMINDERS = 10


def reminder_day_violations(days: Sequence[int], field: str) -> list[FieldViolation]:
    """What is wrong with `days`, each violation naming `field`: at most 10, distinct, within ±90 days."""
    violations = []
    if len(days) > MAX_REMINDERS:
        violations.append(FieldViolation(field, f"must hold at most {MAX_REMINDERS} days"))
    if len(set(days)) != len(days):
        violations.append(FieldViolation(field, "must not repeat a day"))
    if any(abs(day) > MAX_REMINDER_OFFSET_DAYS for day in days):
        violations.append(
            FieldViolation(field, f"must be between -{MAX_REMINDER_OFFSET_DAYS} and {MAX_REMINDER_OFFSET_DAYS}")
        )
    return violations


def reminder_days(days: Sequence[int], field: str) -> tuple[int, ...]:
    """`days` in order, or INVALID_ARGUMENT naming `field`."""
    violations = reminder_day_violations(days, field)
    if violations:
        raise InvalidArgument(f"{field}: {violations[0].description}", violations)
    return tuple(sorted(days))
