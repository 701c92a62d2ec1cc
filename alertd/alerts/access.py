"""Who may do what to which alert: roles, and the territory an operator reaches and reads."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from alertd.errors import ForbiddenError, NotFoundError
from alertd.operators import Operator, same_person
from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.tenants import get_tenant, territory

RANK = {"viewer": 0, "information": 1, "operator": 2, "approver": 3, "admin": 4}


def require(op: Operator, role: str, doing: str) -> None:
    if RANK[op.role] < RANK[role]:
        raise ForbiddenError(
            f"{doing} needs the {role} role; operator {op.name!r} has the {op.role} role"
        )


def require_sender(op: Operator, doing: str) -> None:
    """An operator (or above) drafts and sends; an information agent too, within the limits of
    ``check_information_agent``."""
    if op.role != "information":
        require(op, "operator", doing)


def check_information_agent(op: Operator, severity: str, topics: Sequence[str]) -> None:
    """An information agent (a waste service's) sends information notices only, and only to
    the topics their service owns."""
    if op.role != "information":
        return
    if severity != "information":
        raise ForbiddenError(
            f"operator {op.name!r} is an information agent: they send information notices "
            f"only, not a {severity.replace('_', '-')} alert (a duty officer sends those)"
        )
    foreign = sorted(set(topics) - set(op.topics))
    if not topics or foreign:
        raise ForbiddenError(
            f"operator {op.name!r} sends only to the topics their service owns "
            f"({', '.join(op.topics) or 'none'})"
            + (f", not to {', '.join(foreign)}" if foreign else ": give one with --topic")
        )


def approval_needed(op: Operator, alert: asyncpg.Record, recipients: int) -> bool:
    """Four eyes above the tenant's threshold; an information agent's information notice needs
    them only when the tenant says so (``tenants update --information-approval``)."""
    if alert["approved_by"] is not None or recipients <= alert["approval_threshold"]:
        return False
    return not (
        op.role == "information"
        and alert["severity"] == "information"
        and not alert["information_approval"]
    )


async def scope(conn: Queryable, op: Operator) -> list[int]:
    """The tenants whose residents this operator may reach and whose alerts they may read."""
    return await territory(conn, op.tenant_id)


async def load(conn: Queryable, op: Operator, alert_id: int) -> asyncpg.Record:
    alert = await conn.fetchrow(queries("alerts")["get"], alert_id)
    if alert is None:
        raise NotFoundError(f"alert {alert_id} does not exist")
    if alert["tenant_id"] not in await scope(conn, op):
        raise ForbiddenError(
            f"alert {alert_id} belongs to {alert['tenant_name']}, outside the territory of "
            f"operator {op.name!r} ({op.tenant_code})"
        )
    return alert


async def target_tenant(conn: Queryable, op: Operator, code: str | None) -> int:
    if code is None or code == op.tenant_code:
        return op.tenant_id
    tenant = await get_tenant(conn, code)
    if tenant["id"] not in await scope(conn, op):
        raise ForbiddenError(
            f"operator {op.name!r} ({op.tenant_code}) cannot alert the residents of "
            f"{tenant['name']} ({code})"
        )
    return int(tenant["id"])


async def check_approver(conn: Queryable, op: Operator, alert: asyncpg.Record) -> None:
    """Four eyes: the approver is another person than the author, not another account."""
    require(op, "approver", "approving an alert")
    if alert["created_by"] is not None and await same_person(conn, alert["created_by"], op.id):
        raise ForbiddenError(
            f"nobody approves their own alert: operator {op.name!r} is its author (or the same "
            f"person, by e-mail); another approver must approve alert {alert['id']}"
        )


async def check_tenant(conn: Queryable, op: Operator, code: str, doing: str) -> int:
    """The id of the tenant named, when it lies within the operator's territory: what an
    operator may read or change of a tenant (its zones, operators, residents, settings)."""
    tenant = await get_tenant(conn, code)
    if tenant["id"] not in await scope(conn, op):
        raise ForbiddenError(
            f"operator {op.name!r} ({op.tenant_code}) cannot {doing} of {tenant['name']} "
            f"({code}): outside their territory"
        )
    return int(tenant["id"])


def check_may_send(op: Operator, alert: asyncpg.Record) -> None:
    """A test token never makes a message leave the machine: it sends only training alerts
    (drafted with a test token; the training gateway takes their messages)."""
    if op.token_kind != "live" and not alert["training"]:  # noqa: S105 - a kind, not a secret
        raise ForbiddenError(
            f"a test token sends only alerts drafted with a test token (they go to the "
            f"training gateway and never leave the machine); alert {alert['id']} is a live "
            "one: a live token sends it"
        )
