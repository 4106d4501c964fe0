"""`azotte families show|members|invites|invite|accept|revoke|remove`: a family plan's seats, members and invites."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

from azotte_gateway.cli import render

app = typer.Typer(help="Families: the owner's seats, members and invites.", no_args_is_help=True)

Owner = Annotated[str, typer.Argument(help="The family's owner (customer id).")]
Filter = Annotated[str, typer.Option("--filter", help="AIP-160 filter, e.g. 'state = PENDING'.")]
OrderBy = Annotated[str, typer.Option("--order-by", help="AIP-132 order, e.g. 'join_time desc'.")]
PageToken = Annotated[str, typer.Option("--page-token", help="Continue a previous list.")]


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-app.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


def _post(path: str, body: dict[str, Any] | None = None) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().post(path, body)


def _query(filter: str, order_by: str, page_token: str) -> dict[str, str]:
    values = {"filter": filter, "order_by": order_by, "page_token": page_token}
    return {name: value for name, value in values.items() if value}


def _print(*items: Any) -> None:
    for item in items:
        _cli().console.print(item)


def family_table(family: dict[str, Any]) -> Table:
    table = Table("family", "owner", "seats", "used", "pending invites", "available", title="Family")
    table.add_row(
        family["family_id"],
        family["owner_customer_id"],
        str(family["seat_limit"]),
        str(family["seats_used"]),
        str(family["pending_invite_count"]),
        str(family["seats_available"]),
    )
    return table


def members_table(members: list[dict[str, Any]]) -> Table:
    table = Table("member", "joined", "invite", "access", title="Members")
    for m in members:
        access = ", ".join(
            a["feature_key"]
            if a["allowed"]
            else f"{a['feature_key']} (no: {render.enum(a['denial_reason'], 'ACCESS_DENIAL_REASON_')})"
            for a in m["access"]
        )
        table.add_row(m["customer_id"], render.day(m.get("join_time")), m["invite_code"] or "-", access or "-")
    return table


def invites_table(invites: list[dict[str, Any]]) -> Table:
    table = Table("code", "state", "created", "expires", "accepted by", title="Invites")
    for i in invites:
        table.add_row(
            i["code"],
            render.enum(i["state"], "FAMILY_INVITE_STATE_"),
            render.day(i.get("create_time")),
            render.day(i.get("expire_time")),
            i["accepted_customer_id"] or "-",
        )
    return table


@app.command("show")
def show(owner: Owner) -> None:
    """The owner's family: seat limit, seats used, pending invites."""
    _print(family_table(_call("GET", f"/v1/customers/{owner}/family")["family"]))


@app.command("members")
def members(owner: Owner, filter: Filter = "", order_by: OrderBy = "", page_token: PageToken = "") -> None:
    """The members, each with their access to the shared features now."""
    answer = _call("GET", f"/v1/customers/{owner}/family/members", params=_query(filter, order_by, page_token))
    _print(family_table(answer["family"]), members_table(answer["members"]))
    if answer["next_page_token"]:
        _print(f"next page: --page-token {answer['next_page_token']}")


@app.command("invites")
def invites(owner: Owner, filter: Filter = "", order_by: OrderBy = "", page_token: PageToken = "") -> None:
    """The invites: pending, accepted and expired."""
    answer = _call("GET", f"/v1/customers/{owner}/family/invites", params=_query(filter, order_by, page_token))
    _print(invites_table(answer["invites"]))
    if answer["next_page_token"]:
        _print(f"next page: --page-token {answer['next_page_token']}")


@app.command("invite")
def invite(
    owner: Owner,
    expire_time: Annotated[str, typer.Option("--expire-time", help="RFC 3339; default 7 days from now.")] = "",
) -> None:
    """Create an invite code (it holds a seat until accepted, revoked or expired)."""
    body = {"expire_time": expire_time} if expire_time else {}
    _print(invites_table([_post(f"/v1/customers/{owner}/family/invites", body)["invite"]]))


@app.command("accept")
def accept(
    code: Annotated[str, typer.Argument(help="The invite code.")],
    customer_id: Annotated[str, typer.Argument(help="The invitee joining.")],
) -> None:
    """Join a family with an invite code."""
    answer = _post(f"/v1/family-invites/{code}:accept", {"customer_id": customer_id})
    _print(family_table(answer["family"]), members_table([answer["member"]]))


@app.command("revoke")
def revoke(owner: Owner, code: Annotated[str, typer.Argument(help="The invite code.")]) -> None:
    """Revoke a pending invite: the code stops working and its seat is free again."""
    _print(invites_table([_post(f"/v1/customers/{owner}/family/invites/{code}:revoke")["invite"]]))


@app.command("remove")
def remove(owner: Owner, member: Annotated[str, typer.Argument(help="The member's customer id.")]) -> None:
    """Remove a member: they lose the shared features."""
    answer = _post(f"/v1/customers/{owner}/family/members/{member}:remove")
    _print(members_table([answer["member"]]))
