"""Rendering portal pages: the templates, their filters (money, time), SVG charts and the error pages.

A page handler calls the gateway's area methods and renders; a refusal it does not handle itself becomes an
error page here (a missing permission 403, another tenant's or an unknown resource 404, bad input 400):

    return render(request, viewer, "tenant/api_keys.html", keys=keys)

and an InvalidArgument it catches goes back to its form with `errors=field_errors(error)`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.numbers import format_currency, get_currency_precision
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from google.protobuf.timestamp_pb2 import Timestamp
from markupsafe import Markup, escape

from azotte_gateway.entrypoints.portal.pages.form_values import fresh_request_id
from azotte_gateway.entrypoints.portal.session import PortalViewer
from azotte_gateway.entrypoints.rest.errors import HTTP_CODES
from azotte_platform import errors

TEMPLATES = Path(__file__).parent / "templates"
_MISSING = "—"


def money(amount_minor: int | None, currency_code: str) -> str:
    """Minor units as the currency's amount, e.g. 1250 USD -> "$12.50" (Decimal, never a float)."""
    if amount_minor is None or not currency_code:
        return _MISSING
    digits = get_currency_precision(currency_code)
    return format_currency(Decimal(amount_minor).scaleb(-digits), currency_code, locale="en_US")


def when(value: Timestamp | datetime | None) -> str:
    """A time in UTC, e.g. "2026-01-31 09:30 UTC" ("—" when unset)."""
    if isinstance(value, Timestamp):
        if value.seconds == 0 and value.nanos == 0:
            return _MISSING
        value = value.ToDatetime(tzinfo=UTC)
    if value is None:
        return _MISSING
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(value: Timestamp | datetime | None) -> str:
    """A date in UTC, e.g. "2026-01-31"."""
    text = when(value)
    return text[:10] if text != _MISSING else text


@dataclass(frozen=True)
class Point:
    """One point of a series: its label (a date) and its value."""

    label: str
    value: int


def svg_chart(
    series: Sequence[Point], *, title: str, shown: Callable[[int], str] = str, width: int = 640, height: int = 200
) -> Markup:
    """A line chart of one series as inline SVG (role img, titled), with the first and last labels and the
    highest value on its axes (`shown` formats a value, e.g. minor units as money); an empty series says so."""
    if not series:
        return Markup('<p class="empty">No data for this period.</p>')
    pad_left, pad_bottom, pad_top = 88, 24, 12
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - pad_top
    bottom = min(min(p.value for p in series), 0)
    top = max(max(p.value for p in series), bottom + 1)
    step = plot_w / max(len(series) - 1, 1)
    points = " ".join(
        f"{pad_left + i * step:.1f},{pad_top + plot_h - (p.value - bottom) / (top - bottom) * plot_h:.1f}"
        for i, p in enumerate(series)
    )
    last = series[-1]
    label = f"{title}: {shown(last.value)} on {last.label}"
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
        f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{width - 8}" y2="{pad_top + plot_h}" class="axis"/>'
        f'<line x1="{pad_left}" y1="{pad_top}" x2="{pad_left}" y2="{pad_top + plot_h}" class="axis"/>'
        f'<text x="{pad_left - 6}" y="{pad_top + 4}" text-anchor="end">{escape(shown(top))}</text>'
        f'<text x="{pad_left - 6}" y="{pad_top + plot_h}" text-anchor="end">{escape(shown(bottom))}</text>'
        f'<text x="{pad_left}" y="{height - 6}">{escape(series[0].label)}</text>'
        f'<text x="{width - 8}" y="{height - 6}" text-anchor="end">{escape(last.label)}</text>'
        f'<polyline points="{points}" class="line"/>'
        "</svg>"
    )


templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.filters.update(money=money, when=when, day=day)
# NOTE: a form that changes something carries its own request id, so submitting it twice makes one change.
templates.env.globals.update(svg_chart=svg_chart, new_request_id=fresh_request_id)


def render(
    request: Request, viewer: PortalViewer | None, name: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """The template rendered for the viewer: `viewer`, `can(permission)` and `csrf_token` are in its context."""
    base: dict[str, Any] = {
        "viewer": viewer,
        "can": viewer.can if viewer is not None else (lambda _: False),
        "csrf_token": viewer.csrf_token if viewer is not None else "",
    }
    response: HTMLResponse = templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
    return response


def field_errors(
    error: errors.InvalidArgument, *, fields: Collection[str] = (), renames: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A refusal's messages by the form field they name (`renames` maps a request's field to the form's). With
    `fields`, a message about any other field goes under "" (shown above the form); so does one naming none."""
    shown: dict[str, str] = {}
    for violation in error.violations:
        name = (renames or {}).get(violation.field, violation.field)
        if fields and name not in fields:
            shown[""] = f"{violation.field}: {violation.description}"
        else:
            shown[name] = violation.description
    return shown or {"": error.message}


def http_status(error: errors.AzotteError) -> int:
    """The HTTP status the REST API answers this error with."""
    return next((code for kind, code in HTTP_CODES if isinstance(error, kind)), 500)


_TITLES = {
    400: "The request is not valid",
    401: "Sign in again",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    429: "Too many requests",
    503: "Temporarily unavailable",
}


def refused(request: Request, error: errors.AzotteError) -> HTMLResponse:
    """The error page of a refusal: 403 for a missing permission, 404 for an unknown (or another tenant's)
    resource, 400 for bad input, and the REST API's status for the rest."""
    status = http_status(error)
    viewer = getattr(request.state, "viewer", None)
    message = error.message if status != 500 else "Something went wrong; the error was logged."
    return render(
        request,
        viewer,
        "error.html",
        status_code=status,
        title=_TITLES.get(status, "Something went wrong"),
        message=message,
        violations=getattr(error, "violations", []),
    )
