"""``alertd demo``: a marine-submersion alert end to end, then its all-clear, on the embedded
PostgreSQL (or DATABASE_URL), through in-process fake gateways.

It builds the demo territory (tools/demo_world.py), drafts the alert as the duty officer,
previews it, sends it (a second operator approves it: it reaches more people than one may alert
alone), runs the dispatch loop and the receipt consumers of ``alertd serve`` with a live progress
line until every recipient's receipt is in, gives the all-clear to the same people, and prints a
summary. ``--error-rate`` makes the primary gateway fail that share of submissions and go down
for a moment, to show retries and failover. Running it twice works: the territory is found
again, the alert is a new one.

Sealed off (issue 14): it works in a database of its own on the configured server
(``<database>_demo``, created when absent), never in the one a deployment uses; it refuses to run
when an ``alertd serve`` is connected to that database (the daemon would send its messages); and
it sends only through its own in-process fakes, whatever gateways the configuration names.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import asyncpg

from alertd import jsonable
from alertd.alerts import followups, lifecycle
from alertd.audit import cli_actor
from alertd.config import Config
from alertd.delivery import outbox, progress
from alertd.delivery.consumer import consume
from alertd.delivery.daemon import daemons
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from alertd.errors import AlertdError, ConflictError
from alertd.store.database import database_name, open_database, redact_url
from alertd.tools import demo_world
from gateways.fake import FakeGateway
from templates import Catalog

PARAMS = {
    "commune": "Dunkerque",
    "zone": "digue et front de mer",
    "until": "08:00",
    "instructions": "Radio: France Bleu Nord 87.7 FM.",
    "sender": "CU Dunkerque",
    "url": "cud.fr",
}
DEMO_PRICE = Decimal("0.045")  # EUR per segment, for the cost shown (gateways are fakes)
DEMO_RATE = 0.0  # the fake gateways take what they are given
SETTINGS = DispatchSettings(backoff_base_s=0.1, backoff_max_s=1.0, idle_s=0.05)
POLL_S = 0.2
TIMEOUT_S = 600.0
DEMO_SUFFIX = "_demo"  # the demo's database: <the configured one>_demo, on the same server
DEMO_NAME = "alertd demo"  # its connections' application_name
OUTAGE_AT, OUTAGE_S = 0.3, 1.5  # with --error-rate: the primary goes down at 30 % for 1.5 s


class Screen:
    """Where the demo talks: lines, and a progress line redrawn on a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stdout.isatty()
        self._last = 0.0

    def say(self, text: str) -> None:
        if not self.quiet:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def progress(self, state: progress.Progress, final: bool = False) -> None:
        if self.quiet:
            return
        if self.tty:
            sys.stdout.write("\r  " + progress.line(state) + "\033[K" + ("\n" if final else ""))
            sys.stdout.flush()
        elif final or time.monotonic() - self._last >= 2.0:
            self.say("  " + progress.line(state))
            self._last = time.monotonic()


async def run(config: Config, *, subscribers_count: int, error_rate: float, as_json: bool) -> int:
    screen = Screen(as_json)
    actor = cli_actor()
    started = time.perf_counter()
    name = demo_database(config)
    where = (
        f"embedded PostgreSQL in {config.database.data_dir}"
        if config.embedded
        else redact_url(config.database.url or "")
    )
    screen.say(f"alertd demo: starting the database ({where}), in its own database {name}")
    async with open_database(config, database=name, application_name=DEMO_NAME) as db:
        await _refuse_if_served(db.pool, name)
        version = await db.pool.fetchval("SHOW server_version")
        world = await demo_world.build(db.pool, config, subscribers_count, actor)
        _say_world(screen, version, world)
        screen.say(_gateways_line(config))
        # Windows as wide as what the loop has in flight: the fakes are not what is shown.
        window = SETTINGS.batch * SETTINGS.concurrency
        primary = FakeGateway(
            "primary", window=window, error_rate=error_rate, receipt_delay=0.05, seed=7
        )
        backup = FakeGateway("backup", window=window, receipt_delay=0.05)
        ctx = lifecycle.Context(
            db.pool,
            Catalog(config.templates.directory),
            None,  # postcode areas: the tenant's, imported into the database by the world
            {"primary": DEMO_PRICE},
            DEMO_RATE,
        )
        async with _daemon(db.pool, [primary, backup], ctx.catalog) as check:
            alert = await _alert(ctx, world, screen, primary, error_rate, check=check)
            clear = await _all_clear(ctx, world, screen, alert["id"], check)
        alert["duplicates"] = clear["duplicates"] = _duplicates([primary, backup])
    summary = _summary(
        config,
        version,
        world=world,
        alert=alert,
        clear=clear,
        seconds=time.perf_counter() - started,
    )
    if as_json:
        sys.stdout.write(jsonable.dumps(summary) + "\n")
    else:
        _say_summary(screen, summary)
    return 0


def demo_database(config: Config) -> str:
    """The demo's own database on the configured server: never the one a deployment uses."""
    name = database_name(config)
    return name if name.endswith(DEMO_SUFFIX) else f"{name}{DEMO_SUFFIX}"[:63]


async def _refuse_if_served(pool: asyncpg.Pool, name: str) -> None:
    """A daemon connected to the demo's database would send the demo's messages for real."""
    if await daemons(pool):
        raise ConflictError(
            f"an `alertd serve` is connected to the demo's database {name}: it would send the "
            "demo's messages through its gateways; stop that daemon (or point it at its own "
            "database) and run the demo again"
        )


def _gateways_line(config: Config) -> str:
    ignored = (
        f"; the configured gateways ({', '.join(g.name for g in config.gateways)}) are not used"
        if config.gateways
        else ""
    )
    return (
        "  gateways: the demo's own in-process fakes, primary and backup: nothing leaves this "
        f"machine{ignored}"
    )


@contextlib.asynccontextmanager
async def _daemon(
    pool: asyncpg.Pool, gateways: list[FakeGateway], catalog: Catalog
) -> AsyncIterator[Callable[[], None]]:
    """What `alertd serve` runs: the dispatch loop and a receipt consumer per gateway. Yields a
    check that raises, with the reason, once one of them has stopped: the demo then says why
    instead of waiting for receipts nobody will apply."""
    stop = asyncio.Event()
    dispatcher = Dispatcher(pool, gateways, worker=f"demo:{os.getpid()}", settings=SETTINGS)
    tasks = {"the dispatch loop": asyncio.create_task(dispatcher.run(stop))}
    for g in gateways:
        tasks[f"the receipt consumer of {g.name}"] = asyncio.create_task(consume(pool, g, catalog))

    def check() -> None:
        for what, task in tasks.items():
            if task.done():
                error = None if task.cancelled() else task.exception()
                raise AlertdError(f"the demo stopped: {what} ended ({error!r})")

    try:
        yield check
    finally:
        stop.set()
        for gateway in gateways:
            await gateway.close()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        await outbox.release(pool, dispatcher.worker)


async def _alert(
    ctx: lifecycle.Context,
    world: demo_world.DemoWorld,
    screen: Screen,
    primary: FakeGateway,
    error_rate: float,
    *,
    check: Callable[[], None],
) -> dict[str, Any]:
    officer, approver = world.officer, world.approver
    draft = lifecycle.Draft(
        template="submersion", params=PARAMS, zone_ids=[world.zones["submersion"]]
    )
    alert_id = await lifecycle.create(ctx, officer, draft, f"operator:{officer.id}")
    report = await lifecycle.preview(ctx, officer, alert_id)
    screen.say(
        f"alert {alert_id}: marine submersion, drafted by {officer.name}: "
        f"{report.recipients} recipients ({report.by_address} by address, "
        f"{report.by_postcode} by postcode), {report.segments} segments, "
        f"{report.cost_eur['primary']} EUR"
    )
    for text in report.texts:
        screen.say(f"  [{text.lang}] {text.encoding}, {text.segments} seg.: {text.text}")
    started = time.perf_counter()
    sent = await lifecycle.send(ctx, officer, alert_id, f"operator:{officer.id}")
    if sent.status == "pending_approval":
        screen.say(
            f"  more than {report.approval_threshold} recipients: approved by {approver.name}"
        )
        await lifecycle.approve(ctx, approver, alert_id, f"operator:{approver.id}")
    outage = (
        asyncio.create_task(_outage(ctx.pool, alert_id, primary, sent.recipients, screen))
        if error_rate
        else None
    )
    counts = await _until_received(ctx.pool, alert_id, screen, check)
    if outage is not None:
        outage.cancel()
    seconds = time.perf_counter() - started
    return {
        "id": alert_id,
        "recipients": report.recipients,
        "by_address": report.by_address,
        "by_postcode": report.by_postcode,
        "by_language": report.by_language,
        "segments": report.segments,
        "cost_eur": report.cost_eur["primary"],
        **await _outcome(ctx.pool, alert_id, counts),
        "seconds": round(seconds, 2),
        "per_second": round(report.recipients / seconds) if seconds else None,
    }


async def _outage(
    pool: asyncpg.Pool, alert_id: int, primary: FakeGateway, total: int, screen: Screen
) -> None:
    """The primary goes down for a moment once 30 % are out: the breaker opens, the backup
    takes over."""
    while True:
        counts = await outbox.progress(pool, alert_id)
        if counts.get("submitted", 0) + counts.get("delivered", 0) >= OUTAGE_AT * total:
            break
        await asyncio.sleep(POLL_S / 2)
    primary.outage = True
    screen.say(f"\n  the primary gateway goes down for {OUTAGE_S} s: failover to the backup")
    try:
        await asyncio.sleep(OUTAGE_S)
    finally:  # also when the alert finished first: the all-clear finds the primary back up
        primary.outage = False


async def _all_clear(
    ctx: lifecycle.Context,
    world: demo_world.DemoWorld,
    screen: Screen,
    alert_id: int,
    check: Callable[[], None],
) -> dict[str, Any]:
    officer = world.officer
    started = time.perf_counter()
    result = await followups.all_clear(
        ctx, officer, alert_id, params={}, actor=f"operator:{officer.id}"
    )
    assert result.all_clear_id is not None  # noqa: S101 - an all-clear always has its alert
    screen.say(f"all-clear {result.all_clear_id}: to the {result.all_clear_recipients} recipients")
    counts = await _until_received(ctx.pool, result.all_clear_id, screen, check)
    seconds = time.perf_counter() - started
    same = await ctx.pool.fetchval(
        "SELECT (SELECT array_agg(subscriber_id ORDER BY subscriber_id) FROM deliveries "
        "        WHERE alert_id = $1 AND status = 'delivered') = "
        "       (SELECT array_agg(subscriber_id ORDER BY subscriber_id) FROM deliveries "
        "        WHERE alert_id = $2 AND status = 'delivered')",
        alert_id,
        result.all_clear_id,
    )
    return {
        "id": result.all_clear_id,
        "recipients": result.all_clear_recipients,
        **await _outcome(ctx.pool, result.all_clear_id, counts),
        "same_set": bool(same),
        "seconds": round(seconds, 2),
    }


async def _until_received(
    pool: asyncpg.Pool, alert_id: int, screen: Screen, check: Callable[[], None]
) -> dict[str, int]:
    """Show progress until every delivery has its final state (receipts included)."""
    deadline = time.monotonic() + TIMEOUT_S
    pace = progress.Pace(window_s=2.0)
    while True:
        counts = await outbox.progress(pool, alert_id)
        now = time.monotonic()
        state = progress.from_counts(counts)
        state = replace(state, per_second=pace.update(now, state.handed))
        screen.progress(state, final=state.settled)
        if state.settled:
            return counts
        check()
        if now > deadline:
            raise AlertdError(f"the demo's alert {alert_id} did not finish in {TIMEOUT_S:.0f} s")
        await asyncio.sleep(POLL_S)


async def _outcome(pool: asyncpg.Pool, alert_id: int, counts: dict[str, int]) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT count(*) FILTER (WHERE submitted_at IS NOT NULL) AS submitted, "
        "count(*) FILTER (WHERE attempts > 1) AS retried, "
        "coalesce(jsonb_object_agg(gateway, n) FILTER (WHERE gateway IS NOT NULL), '{}') AS gw "
        "FROM (SELECT submitted_at, attempts, gateway, count(*) OVER (PARTITION BY gateway) AS n "
        "      FROM deliveries WHERE alert_id = $1) d",
        alert_id,
    )
    assert row is not None  # noqa: S101 - an aggregate returns one row
    return {
        "submitted": int(row["submitted"]),
        "delivered": counts.get("delivered", 0),
        "failed": progress.from_counts(counts).failed,
        "in_doubt": counts.get("in_doubt", 0),
        "retried": int(row["retried"]),
        "by_gateway": dict(row["gw"]),
    }


def _duplicates(gateways: list[FakeGateway]) -> int:
    """Messages a phone got twice (same text), across every gateway: the outside witness."""
    sent = [(m.to, m.text) for g in gateways for m in g.received]
    return len(sent) - len(set(sent))


def _say_world(screen: Screen, version: str, world: demo_world.DemoWorld) -> None:
    imports, totals = world.imports, world.totals
    screen.say(f"  PostgreSQL {version}; {world.parent.name} and {len(world.communes)} communes")
    screen.say(
        f"  subscribers: {imports['rows']} synthetic residents imported in "
        f"{imports['seconds']:.1f} s ({imports['inserted']} new, {imports['unchanged']} "
        f"unchanged); {totals['active']} active, {totals['postcode_only']} by postcode only, "
        f"{totals['english']} in English"
    )
    screen.say(
        "  zones: " + ", ".join(f"{kind} {zone_id}" for kind, zone_id in world.zones.items())
    )


def _summary(
    config: Config,
    version: str,
    *,
    world: demo_world.DemoWorld,
    alert: dict[str, Any],
    clear: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    return {
        "database": "embedded" if config.embedded else "external",
        "database_name": demo_database(config),
        "postgres": version,
        "tenants": 1 + len(world.communes),
        "subscribers": world.totals,
        "import": world.imports,
        "zones": world.zones,
        **{
            k: alert[k]
            for k in (
                "recipients",
                "by_address",
                "by_postcode",
                "segments",
                "submitted",
                "delivered",
                "failed",
                "duplicates",
                "in_doubt",
                "seconds",
                "per_second",
            )
        },
        "alert": alert,
        "all_clear": clear,
        "total_seconds": round(seconds, 2),
    }


def _say_summary(screen: Screen, s: dict[str, Any]) -> None:
    a, c = s["alert"], s["all_clear"]
    screen.say("summary")
    screen.say(
        f"  alert {a['id']}: {a['recipients']} recipients ({a['by_address']} by address, "
        f"{a['by_postcode']} by postcode), {a['segments']} segments, {a['cost_eur']} EUR"
    )
    screen.say(
        f"  submitted {a['submitted']}, delivered {a['delivered']}, failed {a['failed']}, "
        f"duplicates {a['duplicates']}, in doubt {a['in_doubt']}, retried {a['retried']}, "
        f"by gateway {a['by_gateway']}"
    )
    screen.say(f"  {a['seconds']} s from send to the last receipt, {a['per_second']} messages/s")
    screen.say(
        f"  all-clear {c['id']}: {c['recipients']} recipients, delivered {c['delivered']}, "
        f"failed {c['failed']}, the same people: {'yes' if c['same_set'] else 'NO'}"
    )
    screen.say(f"  demo done in {s['total_seconds']} s")
