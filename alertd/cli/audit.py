"""``alertd audit verify``: check that the audit log's hash chain is whole."""

from __future__ import annotations

import argparse

from alertd import audit
from alertd.cli.util import command, out, out_json, subcommands
from alertd.config import Config
from alertd.errors import ConflictError
from alertd.store.database import open_database


async def audit_verify(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db, db.pool.acquire() as conn:
        found = await audit.verify(conn)
    if args.json:
        out_json(found)
    if not found.ok:
        raise ConflictError(
            f"the audit log is not intact: {found.problem} ({found.entries} entries before it "
            "check out); keep a copy of the database as it is and tell whoever runs it"
        )
    if not args.json:
        out(
            f"audit log intact: {found.entries} entries, chained without a gap or a change; "
            f"head {found.head_hash} (note it elsewhere to prove the chain later)"
        )
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    group = subcommands(parser)
    p = command(
        group,
        "verify",
        audit_verify,
        "check the audit log's hash chain: any entry removed, changed or out of the chain",
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
