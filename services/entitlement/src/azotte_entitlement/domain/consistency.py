"""Consistency tokens: which writes an access answer must reflect (like Zanzibar's zookies).

A token names the lifecycle events a write published (`ct1.<event id>.<event id>...`, made by lifecycle);
the projection has reached it once it has applied every one of them. Callers treat tokens as opaque.
"""

from __future__ import annotations

import re

from azotte_platform.errors import InvalidArgument

PREFIX = "ct1."
MAX_EVENTS = 32
_EVENT_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


def parse_token(token: str, field: str = "consistency_token") -> frozenset[str]:
    """The event ids a token names; INVALID_ARGUMENT naming `field` when it is not a token."""
    ids = token[len(PREFIX) :].split(".") if token.startswith(PREFIX) else []
    if not ids or len(ids) > MAX_EVENTS or not all(_EVENT_ID.match(event_id) for event_id in ids):
        raise InvalidArgument.field(field, "is not a consistency token from a write's answer")
    return frozenset(ids)


def token_of(*event_ids: str) -> str:
    """The token naming these events ("" for none)."""
    return PREFIX + ".".join(event_ids) if event_ids else ""
