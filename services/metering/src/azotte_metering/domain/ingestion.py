"""Judging usage events one by one: what each adds to which meter, or why it is rejected.

An event is a CloudEvent whose `subject` is the customer; every meter of its `type` reads its value and
its dimension values from the event's data. A bad event is rejected alone (its field and the reason),
never its batch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from azotte_metering.domain.meters import Aggregation, Meter, parse_path, read_path

MAX_BATCH_EVENTS = 10_000
LATE_LIMIT = timedelta(days=35)
"""How late an event may arrive and still be counted (into its own window)."""
AHEAD_LIMIT = timedelta(minutes=5)
"""How far ahead of the service's clock an event's time may be (clock skew)."""
MAX_ID_CHARS = 256
MAX_TEXT_CHARS = 1024
MAX_DATA_CHARS = 4096
MAX_DIMENSION_CHARS = 256
LARGEST_VALUE = Decimal("1e18")
_LARGEST_INT = 10**18
_ONE = Decimal(1)
FINEST_EXPONENT = -18


class UsageEvent(NamedTuple):
    """A CloudEvent as received; `data` is its JSON object as text, `time` None when the producer gave none.

    NOTE: the per-event types of ingestion are named tuples: built for every event, they cost a fraction of a
    frozen dataclass.
    """

    id: str
    source: str
    type: str
    subject: str
    time: datetime | None
    data: str
    specversion: str = "1.0"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an event is not counted: the field at fault (relative to the event) and what is wrong."""

    field: str
    reason: str


class Measure(NamedTuple):
    """What one event adds to one meter: its value (1 for COUNT and UNIQUE_COUNT) and its dimension values.

    `distinct` is the value counted once per bucket by a UNIQUE_COUNT meter ("" for the others).
    """

    meter_key: str
    dimensions_key: str
    value: Decimal
    distinct: str = ""


class Accepted(NamedTuple):
    """An event that passed every check, with its time (the receipt time when it named none) and its measures."""

    event: UsageEvent
    time: datetime
    measures: tuple[Measure, ...]


@dataclass(frozen=True, slots=True)
class Reader:
    """One meter's way of reading events: its value path and its dimensions, parsed once per batch.

    `keys` remembers the canonical text of each set of dimension values met in the batch (a batch holds few).
    """

    meter_key: str
    aggregation: Aggregation
    value: tuple[str, ...]
    dimensions: tuple[tuple[str, tuple[str, ...]], ...]
    keys: dict[tuple[str, ...], str] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, meter: Meter) -> Reader:
        value = parse_path(meter.value_path, "meter.value_path") if meter.value_path else ()
        return cls(meter.key, meter.aggregation, value, meter.dimension_segments)

    def measure(self, data: dict[str, object]) -> Measure | Rejection:
        """What the event with `data` adds to this meter, or why it cannot be counted."""
        values: list[str] = []
        for name, segments in self.dimensions:
            value = data.get(segments[0]) if len(segments) == 1 else read_path(data, segments)
            if type(value) is not str or len(value) > MAX_DIMENSION_CHARS:
                text = _dimension(name, value)
                if isinstance(text, Rejection):
                    return text
                value = text
            values.append(value)
        found = tuple(values)
        key = self.keys.get(found)
        if key is None:
            names = (name for name, _ in self.dimensions)
            key = self.keys[found] = dimensions_key(dict(zip(names, found, strict=True)))
        aggregation = self.aggregation
        if aggregation is Aggregation.COUNT:
            return Measure(self.meter_key, key, _ONE)
        segments = self.value
        value = data.get(segments[0]) if len(segments) == 1 else read_path(data, segments)
        if aggregation is Aggregation.UNIQUE_COUNT:
            if value is None or isinstance(value, (dict, list)):
                return Rejection(f"data.{self.path}", "is required: a string, a number or a boolean")
            text = _scalar_text(value)
            if len(text) > MAX_DIMENSION_CHARS:
                return Rejection(f"data.{self.path}", f"must be at most {MAX_DIMENSION_CHARS} characters")
            return Measure(self.meter_key, key, _ONE, text)
        if type(value) is int and -_LARGEST_INT < value < _LARGEST_INT:
            return Measure(self.meter_key, key, Decimal(value))
        number = _number(value)
        if number is None:
            return Rejection(f"data.{self.path}", "is required: a number")
        if not -LARGEST_VALUE < number < LARGEST_VALUE or _exponent(number) < FINEST_EXPONENT:
            return Rejection(f"data.{self.path}", "must be between -1e18 and 1e18 with at most 18 decimals")
        return Measure(self.meter_key, key, number)

    @property
    def path(self) -> str:
        """The value's path as a rejection names it (`data.<path>`)."""
        return ".".join(self.value)


def readers_by_type(meters: Sequence[Meter]) -> dict[str, tuple[Reader, ...]]:
    """The readers of every meter, by the event type they count."""
    readers: dict[str, list[Reader]] = {}
    for meter in sorted(meters, key=lambda m: m.key):
        readers.setdefault(meter.event_type, []).append(Reader.of(meter))
    return {event_type: tuple(group) for event_type, group in readers.items()}


def dimensions_key(values: Mapping[str, str]) -> str:
    """The canonical text of a set of dimension values (sorted keys), one rollup row per distinct text."""
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Judge:
    """Judges the events of one batch at one `now` (the bounds on their times computed once).

    NOTE: this runs for every event ingested; the common event (ASCII envelope, UTC time, flat data) takes
    a path of a few C calls, and anything unusual falls back to the detailed checks that name the problem.
    """

    __slots__ = ("_earliest", "_latest", "_now")

    def __init__(self, now: datetime):
        self._now = now
        self._earliest = now - LATE_LIMIT
        self._latest = now + AHEAD_LIMIT

    def judge(self, event: UsageEvent, readers: Sequence[Reader]) -> Accepted | Rejection:
        """The event's measures for `readers` (the meters of its type), or the first problem found."""
        if not _plain_envelope(event):
            problem = _envelope_problem(event)
            if problem is not None:
                return problem
        time = event.time
        # NOTE: rollup buckets are UTC minutes, hours and days.
        if time is None:
            time = self._now
        elif time.tzinfo is not UTC:
            time = time.astimezone(UTC)
        if time < self._earliest:
            return Rejection("time", f"is more than {LATE_LIMIT.days} days in the past")
        if time > self._latest:
            return Rejection("time", f"is more than {int(AHEAD_LIMIT.total_seconds() // 60)} minutes in the future")
        data = _parse_data(event.data)
        if isinstance(data, Rejection):
            return data
        measures = []
        for reader in readers:
            measure = reader.measure(data)
            if type(measure) is Rejection:
                return measure
            measures.append(measure)
        return Accepted(event, time, tuple(measures))  # type: ignore[arg-type]


def _plain_envelope(event: UsageEvent) -> bool:
    """Whether the envelope is surely valid: every field present, ASCII without NUL, within its limit."""
    id_, source, type_, subject = event.id, event.source, event.type, event.subject
    if not (
        id_
        and source
        and type_
        and subject
        and len(id_) <= MAX_ID_CHARS
        and len(subject) <= MAX_ID_CHARS
        and len(source) <= MAX_TEXT_CHARS
        and len(type_) <= MAX_TEXT_CHARS
        and len(event.data) <= MAX_DATA_CHARS
        and event.specversion == "1.0"
    ):
        return False
    text = id_ + source + type_ + subject
    return text.isascii() and "\x00" not in text


def _envelope_problem(event: UsageEvent) -> Rejection | None:
    if event.specversion != "1.0":
        return Rejection("specversion", 'must be "1.0"')
    for name, value, limit in (
        ("id", event.id, MAX_ID_CHARS),
        ("source", event.source, MAX_TEXT_CHARS),
        ("type", event.type, MAX_TEXT_CHARS),
        ("subject", event.subject, MAX_ID_CHARS),
    ):
        if not value:
            return Rejection(name, "is required")
        problem = _text_problem(value, limit)
        if problem is not None:
            return Rejection(name, problem)
    if len(event.data) > MAX_DATA_CHARS:
        return Rejection("data", f"must be at most {MAX_DATA_CHARS} characters")
    return None


def _text_problem(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return f"must be at most {limit} characters"
    if "\x00" in value:
        return "must not contain a NUL character"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text (no lone surrogates)"
    return None


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON allows")


_DATA = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)
"""Reads event data: numbers with a fraction as exact decimals, NaN and Infinity refused."""


def _parse_data(text: str) -> dict[str, object] | Rejection:
    if not text:
        return {}
    try:
        data = _decode(text)
    except (ValueError, RecursionError):
        return Rejection("data", "must be a JSON object")
    if type(data) is not dict:
        return Rejection("data", "must be a JSON object")
    # NOTE: only text with escapes can hide a NUL or a lone surrogate, which PostgreSQL's jsonb refuses.
    if "\\u" in text and _unclean(data):
        return Rejection("data", "must not contain NUL characters or lone surrogates")
    return data


def _decode(text: str) -> object:
    """`_DATA.decode(text)`, by its C scanner alone when the text is one value without surrounding whitespace.

    NOTE: `decode` also matches a whitespace pattern before and after the value, which costs as much as the scan.
    """
    try:
        value, end = _DATA.scan_once(text, 0)  # type: ignore[attr-defined]  # an attribute typeshed leaves out
    except StopIteration:
        return _DATA.decode(text)
    return value if end == len(text) else _DATA.decode(text)


def _unclean(value: object) -> bool:
    if isinstance(value, str):
        return _text_problem(value, MAX_DATA_CHARS) is not None
    if isinstance(value, dict):
        return any(_unclean(key) or _unclean(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_unclean(item) for item in value)
    return False


def _dimension(name: str, value: object) -> str | Rejection:
    """A dimension's value as text ("" when absent), or why it cannot be one."""
    if value is None:
        return ""
    if isinstance(value, (str, int, Decimal)):
        text = _scalar_text(value)
        if len(text) > MAX_DIMENSION_CHARS:
            return Rejection(f"data.{name}", f"must be at most {MAX_DIMENSION_CHARS} characters")
        return text
    return Rejection(f"data.{name}", "must be a string, a number or a boolean")


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _number(value: object) -> Decimal | None:
    """A JSON number (or a decimal string, as some producers send amounts) as a Decimal; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str) and len(value) <= 64:
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _exponent(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0
