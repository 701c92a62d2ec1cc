"""``alertd subscribers …``: the town halls' CSV import, and the RGPD requests."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from alertd import operators
from alertd.audit import cli_actor
from alertd.cli.templates import catalog
from alertd.cli.util import command, mask_message, out, out_json, positive_int, subcommands
from alertd.config import Config
from alertd.delivery import daemon
from alertd.errors import ForbiddenError, InputError
from alertd.jsonable import jsonable_object
from alertd.store.database import open_database
from alertd.subscribers import desk, importer, rgpd

EXIT_PARTIAL = 3  # import done, but some rows were rejected


async def subscribers_import(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        report = await importer.import_csv(
            db.pool, args.file, args.tenant, config.subscribers, cli_actor()
        )
    shown = report.rejected[: args.show_rejected]
    for problem in shown:
        # stderr often ends up in a log (cron, journald): numbers are masked like in the logs.
        sys.stderr.write(f"{args.file}: {mask_message(str(problem))}\n")
    if len(report.rejected) > len(shown):
        sys.stderr.write(
            f"{args.file}: … and {len(report.rejected) - len(shown)} more rejected "
            "rows (--show-rejected N to list more)\n"
        )
    summary = report.summary()
    if args.json:
        out_json(summary)
    else:
        out(
            f"{summary.rows} rows in {summary.seconds} s ({summary.rows_per_second} rows/s): "
            f"{summary.inserted} new, {summary.updated} updated, {summary.unchanged} unchanged, "
            f"{summary.rejected} rejected"
        )
        if report.warnings:
            out(
                f"{len(report.warnings)} landline numbers kept but flagged (they cannot receive "
                f"SMS), first on line {report.warnings[0].line}"
            )
        if report.kept_stopped:
            out(f"{report.kept_stopped} rows belong to residents who sent STOP: they stay stopped")
        if report.ignored_columns:
            out(f"columns ignored: {', '.join(report.ignored_columns)}")
        if summary.encoding != "UTF-8":
            out(f"the file is not UTF-8: read as {summary.encoding} (what spreadsheets write)")
    return EXIT_PARTIAL if report.rejected else 0


async def subscribers_export(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        data = await rgpd.export_subscriber(
            db.pool, args.phone, args.tenant, config.subscribers.default_region, cli_actor()
        )
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if args.output:
        _write_private(args.output, text + "\n")
        out(f"written to {args.output} (readable by you only: it holds personal data)")
    else:
        out(text)
    return 0


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT: set it
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


async def subscribers_erase(args: argparse.Namespace, config: Config) -> int:
    async with open_database(config) as db:
        count = await rgpd.erase_subscriber(
            db.pool, args.phone, args.tenant, config.subscribers.default_region, cli_actor()
        )
    out(
        f"erased {count} subscription(s) and everything attached to them; "
        "the audit log keeps the erasure, with the number masked"
    )
    return 0


def desk_request(args: argparse.Namespace) -> desk.DeskRequest:
    return desk.DeskRequest(
        phone=args.phone,
        postcode=args.postcode,
        commune=args.commune,
        street=args.street,
        number=args.number,
        language=args.language,
        topics=desk.topics_of(args.topics),
    )


def print_registered(done: desk.Registered, daemons: int, as_json: bool) -> None:
    """The desk's answer, the same on the direct and the remote paths."""
    if as_json:
        out_json({**dict(jsonable_object(done)), "daemons": daemons})
        return
    where = (
        done.address
        + (
            " (located)"
            if done.located
            else " (not in the address file: the postcode is the match)"
        )
        if done.address
        else "postcode only"
    )
    was = {
        "new": "new",
        "active": "already subscribed, updated",
        "stopped": "back after STOP",
        "pending": "confirmed",
    }.get(done.before, done.before)
    out(
        f"registered {done.phone} with {done.tenant_name} ({done.tenant}), {done.postcode}, "
        f"{where}; language {done.language}; topics {', '.join(done.topics) or 'none'} "
        f"(alerts always); {was}"
    )
    if daemons:
        out("confirmation SMS queued: the running daemon sends it now (they may answer STOP)")
    else:
        out(
            "confirmation SMS queued: no daemon is running, it leaves when `alertd serve` starts "
            "(within 24 h, else it is dropped)"
        )


async def subscribers_register(args: argparse.Namespace, config: Config) -> int:
    if not config.operator.token:
        raise ForbiddenError(
            "no operator: set ALERTD_OPERATOR_TOKEN to your token (`alertd operators add` "
            "shows it once; an admin can rotate it)"
        )
    async with open_database(config) as db:
        op = await operators.authenticate(db.pool, config.operator.token)
        if op is None:
            raise ForbiddenError(
                "the operator token in ALERTD_OPERATOR_TOKEN is unknown, rotated or disabled"
            )
        done = await desk.register(
            db.pool,
            op,
            desk_request(args),
            catalog=catalog(config.templates),
            region=config.subscribers.default_region,
            now=datetime.now(UTC),
        )
        running = await daemon.daemons(db.pool)
    print_registered(done, running, args.json)
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    subs = subcommands(parser)
    p = command(
        subs,
        "register",
        subscribers_register,
        "register a resident at the town hall's desk (operator token; a confirmation SMS goes)",
    )
    p.add_argument("--phone", required=True, help="the resident's mobile number")
    p.add_argument("--postcode", required=True)
    p.add_argument("--commune", help="INSEE code or name, when communes share the postcode")
    p.add_argument("--street", help="street name, e.g. 'av. Foch' (located from the address file)")
    p.add_argument("--number", help="house number, e.g. 12 or 12 bis")
    p.add_argument("--language", choices=("fr", "en"), default="fr")
    p.add_argument("--topics", metavar="LIST", help="information topics, e.g. dechets,travaux")
    p.add_argument("--json", action="store_true")
    p = command(subs, "import", subscribers_import, "import subscribers from a CSV file (upsert)")
    p.add_argument("file", type=Path)
    p.add_argument("--tenant", required=True, metavar="INSEE")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    p.add_argument(
        "--show-rejected",
        type=positive_int,
        default=50,
        metavar="N",
        help="rejected rows to list on stderr (default 50)",
    )
    p = command(
        subs,
        "export",
        subscribers_export,
        "everything held on one person, as JSON (RGPD right of access)",
    )
    p.add_argument("--phone", required=True)
    p.add_argument("--tenant", metavar="CODE", help="only this tenant (default: all)")
    p.add_argument("--output", type=Path, metavar="FILE")
    p = command(subs, "erase", subscribers_erase, "erase one person (RGPD right to erasure)")
    p.add_argument("--phone", required=True)
    p.add_argument("--tenant", metavar="CODE", help="only this tenant (default: all)")
