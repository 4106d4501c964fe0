"""The caller's language on REST: `Accept-Language` in (as the request's `locale`), `Content-Language` out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Header, Response

from azotte_platform.validation import field_names

AcceptLanguage = Annotated[
    str,
    Header(
        alias="Accept-Language",
        max_length=4096,
        description="The reader's languages with q-values (RFC 9110), e.g. `de-AT, de;q=0.9, en;q=0.5`: texts fall "
        "back from de-AT to de, then to the storefront's first locale, then to the catalog's default locale.",
    ),
]


@contextmanager
def accept_language() -> Iterator[None]:
    """A bad `Accept-Language` is refused naming the header, not the `locale` field it is forwarded in."""
    with field_names({"locale": "Accept-Language"}):
        yield


def answer_language(response: Response, content_language: str) -> None:
    """Say which locale(s) the answer's texts are actually in."""
    if content_language:
        response.headers["Content-Language"] = content_language
