"""A promotions document (the `promotions` section of a catalog document): what it changes against the tenant's
promotions, and its apply.

Everything is checked before anything is written, and the writes share the caller's one transaction: a document
applies whole or not at all. A promotion the tenant has and the document does not name is reported
(NOT_IN_DOCUMENT) and left as it is: a document never deletes, pauses or ends what it leaves out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from azotte_platform.errors import FieldViolation, InvalidArgument
from azotte_promotions.domain import codes as code_rules
from azotte_promotions.domain.promotion import TRANSITIONS, Definition, Promotion, PromotionState
from azotte_promotions.ports import PromotionQuery, PromotionsUnitOfWork
from azotte_promotions.service_layer import codes, promotions

# The definition's fields by the names of the Promotion message.
_FIELD_NAMES = {"start_at": "start_time", "end_at": "end_time"}
_PAGE = 500


@dataclass(frozen=True, slots=True)
class DocumentCode:
    """A shared code a document gives a promotion (its limits are set when it is created)."""

    code: str
    max_redemptions: int | None = None
    max_per_customer: int | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DocumentPromotion:
    """One promotion of a document: its id, definition, the state it should be in (None: as it is) and codes."""

    promotion_id: str
    definition: Definition
    state: PromotionState | None = None
    codes: tuple[DocumentCode, ...] = ()


class ChangeType(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    NOT_IN_DOCUMENT = "not_in_document"


@dataclass(frozen=True, slots=True)
class Change:
    """What applying the document does to one promotion or code."""

    resource_type: str
    resource_id: str
    change_type: ChangeType
    changed_fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Plan:
    item: DocumentPromotion
    current: Promotion | None
    changed: tuple[str, ...]
    new_codes: tuple[DocumentCode, ...]


@contextmanager
def at(path: str) -> Iterator[None]:
    """Field violations raised in the block named under the document path `path` (`promotions[2]`)."""
    try:
        yield
    except InvalidArgument as error:
        if not error.violations:
            raise InvalidArgument.field(path, error.message) from None
        violations = [
            FieldViolation(f"{path}.{v.field.removeprefix('promotion.')}", v.description) for v in error.violations
        ]
        raise type(error)(f"{violations[0].field}: {violations[0].description}", violations) from None


async def apply_document(
    uow: PromotionsUnitOfWork, tenant: str, items: Sequence[DocumentPromotion], *, validate_only: bool
) -> list[Change]:
    """The document's changes, written unless `validate_only` (nothing is written when any item is refused)."""
    seen_ids: dict[str, int] = {}
    seen_codes: dict[str, str] = {}
    plans = []
    for i, item in enumerate(items):
        path = f"promotions[{i}]"
        if item.promotion_id in seen_ids:
            raise InvalidArgument.field(
                f"{path}.id", f"{item.promotion_id!r} is also promotions[{seen_ids[item.promotion_id]}]"
            )
        seen_ids[item.promotion_id] = i
        with at(path):
            plans.append(await _plan(uow, tenant, item, seen_codes, path))
    changes: list[Change] = []
    for plan in plans:
        changes += _changes(plan)
    changes += [
        Change("promotion", p.id, ChangeType.NOT_IN_DOCUMENT)
        for p in await _every_promotion(uow, tenant)
        if p.id not in seen_ids
    ]
    if not validate_only:
        for plan in plans:
            await _write(uow, tenant, plan)
    return changes


async def _plan(
    uow: PromotionsUnitOfWork, tenant: str, item: DocumentPromotion, seen_codes: dict[str, str], path: str
) -> _Plan:
    promotions.check_id(item.promotion_id, "id")
    item.definition.check()
    current = await uow.promotions.get(tenant, item.promotion_id)
    state = PromotionState.DRAFT if current is None else current.state
    changed: list[str] = []
    if current is not None:
        changed = [
            _FIELD_NAMES.get(f.name, f.name)
            for f in fields(Definition)
            if getattr(current.definition, f.name) != getattr(item.definition, f.name)
        ]
        if changed and state is PromotionState.ENDED:
            raise InvalidArgument.field(changed[0], "the promotion has ended and cannot change")
    if item.state is not None and item.state is not state:
        if item.state not in TRANSITIONS[state]:
            raise InvalidArgument.field("state", f"a {state.value} promotion cannot become {item.state.value}")
        changed.append("state")
    new_codes = []
    for j, code in enumerate(item.codes):
        normalized = code_rules.shared_code(code.code, f"codes[{j}].code")
        for name in ("max_redemptions", "max_per_customer"):
            value = getattr(code, name)
            if value is not None and value < 1:
                raise InvalidArgument.field(f"codes[{j}].{name}", "must be at least 1")
        if normalized in seen_codes:
            raise InvalidArgument.field(
                f"codes[{j}].code", f"{normalized!r} is also a code of {seen_codes[normalized]}"
            )
        seen_codes[normalized] = path
        existing = await uow.codes.get(tenant, normalized)
        if existing is None:
            new_codes.append(DocumentCode(normalized, code.max_redemptions, code.max_per_customer, code.expires_at))
        elif existing.promotion_id != item.promotion_id:
            raise InvalidArgument.field(
                f"codes[{j}].code", f"{normalized!r} is a code of promotion {existing.promotion_id!r}"
            )
        elif (existing.max_redemptions, existing.max_per_customer, existing.expires_at) != (
            code.max_redemptions,
            code.max_per_customer,
            code.expires_at,
        ):
            raise InvalidArgument.field(
                f"codes[{j}]", "the code exists with other limits; a code's limits are set when it is created"
            )
    return _Plan(item, current, tuple(changed), tuple(new_codes))


def _changes(plan: _Plan) -> list[Change]:
    promotion_id = plan.item.promotion_id
    if plan.current is None:
        change = Change("promotion", promotion_id, ChangeType.CREATED)
    elif plan.changed:
        change = Change("promotion", promotion_id, ChangeType.UPDATED, plan.changed)
    else:
        change = Change("promotion", promotion_id, ChangeType.UNCHANGED)
    created = {c.code for c in plan.new_codes}
    return [change] + [
        Change(
            "promotion_code",
            code_rules.normalize(c.code),
            ChangeType.CREATED if code_rules.normalize(c.code) in created else ChangeType.UNCHANGED,
        )
        for c in plan.item.codes
    ]


async def _write(uow: PromotionsUnitOfWork, tenant: str, plan: _Plan) -> None:
    item = plan.item
    if plan.current is None:
        await promotions.create_promotion(uow, tenant, item.definition, item.promotion_id)
    elif any(name != "state" for name in plan.changed):
        definition_fields = tuple(name for name in plan.changed if name != "state")
        await promotions.update_promotion(
            uow, tenant, item.promotion_id, plan.current.version, lambda _: item.definition, definition_fields
        )
    if item.state is not None and (plan.current is None or "state" in plan.changed):
        await promotions.change_state(uow, tenant, item.promotion_id, item.state)
    for code in plan.new_codes:
        await codes.create_code(
            uow,
            tenant,
            item.promotion_id,
            code.code,
            max_redemptions=code.max_redemptions,
            max_per_customer=code.max_per_customer,
            expires_at=code.expires_at,
        )


async def _every_promotion(uow: PromotionsUnitOfWork, tenant: str) -> list[Promotion]:
    found: list[Promotion] = []
    after: list[str] | None = None
    while True:
        page = await uow.promotions.find(tenant, _PAGE, query=PromotionQuery(), after=after)
        found += page
        if len(page) < _PAGE:
            return found
        last = page[-1]
        assert last.created_at is not None
        after = [last.created_at.isoformat(), last.id]
