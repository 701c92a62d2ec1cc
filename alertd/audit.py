"""The audit log: who did what, when. Append-only (triggers refuse UPDATE, DELETE and TRUNCATE;
the application's role may only insert and read it) and hash-chained: each entry carries the
hash of the one before it, so ``verify`` finds an entry removed, edited or added out of the chain
(the chain is written by a trigger: see migration audit_chain).

Callers pass no phone number in clear: targets are ids ("subscriber:42"), details carry masked
numbers when a number must be mentioned at all.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

from alertd.store.types import Conn, Queryable


def cli_actor() -> str:
    """The actor for commands run on the server's shell: the system account that ran them."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


async def record(
    conn: Queryable,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    tenant_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (actor, tenant_id, action, target, details) "
        "VALUES ($1, $2, $3, $4, $5)",
        actor,
        tenant_id,
        action,
        target,
        details or {},
    )


_CHAIN = """
SELECT id, seq, prev_hash, hash,
       audit_entry_hash(seq, at, actor, tenant_id, action, target, details, prev_hash) AS computed
FROM audit_log ORDER BY seq, id
"""


@dataclass(frozen=True, slots=True)
class Verification:
    """What ``verify`` found: the entries checked, the chain's head, and the first break."""

    entries: int
    head_seq: int
    head_hash: str  # hex; note it elsewhere to detect a rewrite of the whole chain later
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _break(row: Any, expected_seq: int, prev: bytes) -> str | None:
    where = f"entry {row['seq']} (id {row['id']})"
    if row["seq"] != expected_seq:
        return f"entry {expected_seq} is missing (the next one is {where}): an entry was removed"
    if bytes(row["prev_hash"]) != prev:
        return f"{where} does not follow the entry before it: an entry was removed or replaced"
    if bytes(row["hash"]) != bytes(row["computed"]):
        return f"{where} was changed after it was written"
    return None


async def verify(conn: Conn) -> Verification:
    """Walk the whole chain in order; stop at the first break."""
    expected, prev, problem = 1, b"", None
    # One snapshot for the head and the entries: entries written meanwhile are not half-seen.
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        head = await conn.fetchrow("SELECT seq, hash FROM audit_chain_head")
        head_seq, head_hash = (int(head["seq"]), bytes(head["hash"])) if head else (0, b"")
        async for row in conn.cursor(_CHAIN, prefetch=5000):
            problem = _break(row, expected, prev)
            if problem:
                break
            expected, prev = expected + 1, bytes(row["hash"])
    entries = expected - 1
    if problem is None and (entries, prev) != (head_seq, head_hash):
        problem = (
            f"the chain ends at entry {entries} but its head says {head_seq}: "
            "the last entries were removed"
        )
    return Verification(entries, head_seq, head_hash.hex(), problem)
