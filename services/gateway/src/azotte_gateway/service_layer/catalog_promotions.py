"""The `promotions` section of a catalog document: promotions owns them, so the gateway reads the section and hands
it to promotions (`ApplyPromotionsDocument`), checked before the catalog writes anything, and adds promotions'
changes to the catalog's. Each item is a Promotion as the REST API takes it (its `id` required), with `state`
(draft, active, paused or ended) and `codes` (shared codes: a string, or `{code, max_redemptions,
max_per_customer, expire_time}`).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import yaml
from google.protobuf import json_format

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.ports import Peers
from azotte_platform.errors import InvalidArgument

SECTION = "promotions"
_STATES = {
    "draft": pr.PROMOTION_STATE_DRAFT,
    "active": pr.PROMOTION_STATE_ACTIVE,
    "paused": pr.PROMOTION_STATE_PAUSED,
    "ended": pr.PROMOTION_STATE_ENDED,
}
_CHANGE_TYPES = {
    pr.DOCUMENT_CHANGE_TYPE_CREATED: cat.CHANGE_TYPE_CREATED,
    pr.DOCUMENT_CHANGE_TYPE_UPDATED: cat.CHANGE_TYPE_UPDATED,
    pr.DOCUMENT_CHANGE_TYPE_UNCHANGED: cat.CHANGE_TYPE_UNCHANGED,
    pr.DOCUMENT_CHANGE_TYPE_NOT_IN_DOCUMENT: cat.CHANGE_TYPE_REMOVED_FROM_DOCUMENT,
}


def document_section(document: str, fmt: int) -> list[pr.DocumentPromotion] | None:
    """The `promotions` section of a catalog document as promotions' document items, or None without one.

    NOTE: the catalog owns the document and reports its own errors; an unreadable document is left to it.
    """
    try:
        data = json.loads(document) if fmt == cat.DOCUMENT_FORMAT_JSON else yaml.safe_load(document)
    except (ValueError, yaml.YAMLError):
        return None
    if not isinstance(data, dict) or data.get(SECTION) is None:
        return None
    section = data[SECTION]
    if not isinstance(section, list):
        raise InvalidArgument.field(SECTION, "must be a list of promotions")
    return [_item(entry, f"{SECTION}[{i}]") for i, entry in enumerate(section)]


def _item(entry: object, path: str) -> pr.DocumentPromotion:
    if not isinstance(entry, dict):
        raise InvalidArgument.field(path, "must be a mapping")
    fields = _plain(entry)
    state, codes = fields.pop("state", None), fields.pop("codes", None) or []
    item = pr.DocumentPromotion()
    _parse(fields, item.promotion, path)
    if state is not None:
        if state not in _STATES:
            raise InvalidArgument.field(f"{path}.state", f"must be one of {', '.join(_STATES)}")
        item.state = _STATES[state]
    if not isinstance(codes, list):
        raise InvalidArgument.field(f"{path}.codes", "must be a list of codes")
    for j, code in enumerate(codes):
        _parse({"code": code} if isinstance(code, str) else code, item.codes.add(), f"{path}.codes[{j}]")
    return item


def _parse(fields: object, message: Any, path: str) -> None:
    if not isinstance(fields, dict):
        raise InvalidArgument.field(path, "must be a mapping")
    try:
        json_format.ParseDict(fields, message)
    except json_format.ParseError as error:
        raise InvalidArgument.field(path, str(error)) from None


def _plain(value: Any) -> Any:
    """YAML's dates and times as the RFC 3339 text the JSON mapping of a Timestamp reads."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    return value


async def plan_section(peers: Peers, items: list[pr.DocumentPromotion]) -> list[cat.CatalogChange]:
    """Check the section with promotions (nothing is written) and what it would change."""
    answer = await peers.promotions.ApplyPromotionsDocument(
        pr.ApplyPromotionsDocumentRequest(promotions=items, validate_only=True)
    )
    return _changes(answer)


async def apply_section(peers: Peers, items: list[pr.DocumentPromotion], request_id: str) -> list[cat.CatalogChange]:
    """Write the section, once per catalog request id (a repeat answers the first changes)."""
    answer = await peers.promotions.ApplyPromotionsDocument(
        pr.ApplyPromotionsDocumentRequest(request_id=f"catalog:{request_id}:{SECTION}", promotions=items)
    )
    return _changes(answer)


def _changes(answer: pr.ApplyPromotionsDocumentResponse) -> list[cat.CatalogChange]:
    return [
        cat.CatalogChange(
            resource_type=change.resource_type,
            resource_id=change.resource_id,
            change_type=_CHANGE_TYPES[change.change_type],
            changed_fields=change.changed_fields,
        )
        for change in answer.changes
    ]
