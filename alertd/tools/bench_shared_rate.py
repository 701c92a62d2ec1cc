"""``alertd bench shared-rate``: one gateway's contract held by 1, 2, 3 daemons on one database.

Each run starts the fake provider (Twilio dialect, its own process: the witness) and N real
``alertd serve`` processes on one scratch database, all configured with the same gateway at R
segments a second, and an alert of one-segment messages long enough to keep them busy. The
provider's log (its own time of acceptance per message) gives the rate received over a window that
starts once every daemon has had time to take its share. With ``--kill``, the last run then kills
(SIGKILL) one daemon and measures the takeover: the time until the survivors' leases cover the
whole contract again (read from gateway_shares), and the rate received after it. The baseline is
the contract itself, and the single daemon's rate measured in the same run.

Rates are in segments, as the contract counts them (the messages have four). The SMPP run
(``smpp_shared``, used by the tests): the SMSC simulator in its own process counts the binds
open at once and the submit_sm (one per segment) accepted; two daemons with ``binds = 4`` must
never open more than 4 between them and send at the pace of 4 binds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from alertd.config import Config, with_overrides
from alertd.delivery import outbox
from alertd.store.database import dsn_for, open_database
from alertd.store.queries import queries
from alertd.tools.bench_gateway import listening_port, provider_command
from alertd.tools.bench_import import scratch_database
from alertd.tools.smsc_sim.process import smsc_process
from templates import segments

SID, TOKEN = "ACshared", "shared-token"
SMSC_PASSWORD = "secret"  # noqa: S105 - the simulator's, SMPP allows 8 characters
WARMUP_S = 6.0  # from the first message: every daemon started and holding its share
POLL_S = 0.1  # how often another process's progress is looked at
# Four segments, as a long alert's text is (instructions, then a second language): the contract
# is in segments, and a quarter as many requests for the same rate leave the CPU of a test
# machine, shared with the peers that measure, to the limits rather than to HTTP parsing.
TEXT = (
    "ALERTE SUBMERSION MARINE (exercice) : montee rapide des eaux attendue sur le littoral de "
    "Dunkerque cette nuit a partir de 22 h. Rejoignez un etage eleve, ne prenez pas votre "
    "vehicule, ne descendez pas dans les sous-sols, coupez le gaz et l'electricite si l'eau "
    "monte, suivez les consignes des autorites sur la radio locale. "
    "MARINE FLOODING ALERT (exercise): fast rising water expected on the Dunkirk coast tonight "
    "from 10 pm. Go to an upper floor, do not use your car, keep out of basements, switch off "
    "gas and power if water rises, follow the authorities on local radio."
)
WINDOW = 64  # in flight per daemon: a stall of the database (a busy machine) does not starve it


@dataclass(frozen=True, slots=True)
class Setting:
    rate: float = 500.0
    window_s: float = 30.0
    lease_s: float = 3.0


async def seed(pool: asyncpg.Pool, recipients: int) -> int:
    """``recipients`` subscribers (+3373…) and one life-safety alert to them, queued."""
    tenant = await pool.fetchval(
        "INSERT INTO tenants (code, kind, name) VALUES ('59183', 'commune', 'Dunkerque') "
        "ON CONFLICT (code) DO UPDATE SET name = tenants.name RETURNING id"
    )
    await pool.execute(
        "INSERT INTO subscribers (tenant_id, phone, postcode, status, consent_at) "
        "SELECT $1, '+3373' || lpad(i::text, 7, '0'), '59140', 'active', now() "
        "FROM generate_series(1, $2::int) i ON CONFLICT DO NOTHING",
        tenant,
        recipients,
    )
    alert = int(
        await pool.fetchval(
            "INSERT INTO alerts (tenant_id, hazard, severity, texts) "
            "VALUES ($1, 'submersion', 'life_safety', $2) RETURNING id",
            tenant,
            {"fr": TEXT},
        )
    )
    ids = [
        r["id"]
        for r in await pool.fetch(
            "SELECT id FROM subscribers WHERE tenant_id = $1 ORDER BY id LIMIT $2",
            tenant,
            recipients,
        )
    ]
    n = len(ids)
    await outbox.enqueue(
        pool,
        alert,
        outbox.LIFE_SAFETY,
        subscriber_ids=ids,
        matched_by=["address"] * n,
        languages=["fr"] * n,
    )
    return alert


def twilio_config(port: int, setting: Setting) -> str:
    return (
        f'[gateways.contract]\nkind = "twilio"\nbase_url = "http://127.0.0.1:{port}"\n'
        f'account_sid = "{SID}"\nsender = "+33600000000"\nwindow = {WINDOW}\n'
        f"rate = {setting.rate}\npriority = 1\n"
        'credentials_env = { auth_token = "TOKEN" }\n'
        f"[serve]\nshare_lease_s = {setting.lease_s}\n"
    )


def smpp_config(port: int, rate_per_bind: float, binds: int, window: int, lease_s: float) -> str:
    return (
        f'[gateways.smsc]\nkind = "smpp"\nhost = "127.0.0.1"\nport = {port}\n'
        f'system_id = "alertd"\nsender = "MAIRIE"\nrate = {rate_per_bind}\nwindow = {window}\n'
        f'binds = {binds}\npriority = 1\ncredentials_env = {{ password = "SMSC_PASSWORD" }}\n'
        f"[serve]\nshare_lease_s = {lease_s}\n"
    )


@dataclass
class Daemon:
    process: asyncio.subprocess.Process

    @property
    def worker(self) -> str:
        return f"{socket.gethostname()}:{self.process.pid}"


async def start_daemon(config: Path, dsn: str, number: int = 0) -> Daemon:
    """``alertd serve`` (the interpreter running this, by its path); its log beside the
    configuration (daemon-N.log), to read when a run goes wrong."""
    # Only what the daemon needs: nothing of the caller's environment (ALERTD_*) changes it.
    env = {"DATABASE_URL": dsn, "TOKEN": TOKEN, "SMSC_PASSWORD": SMSC_PASSWORD}
    with (config.parent / f"daemon-{number}.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "alertd", "--log-format", "json", "--config", str(config),
            "serve", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    return Daemon(process)


async def stop_daemons(daemons: Sequence[Daemon]) -> list[int]:
    """SIGTERM each (a killed one is left as it is); their exit codes."""
    for d in daemons:
        if d.process.returncode is None:
            d.process.send_signal(signal.SIGTERM)
    codes = []
    for d in daemons:
        try:
            codes.append(await asyncio.wait_for(d.process.wait(), 30))
        except TimeoutError:
            d.process.kill()
            codes.append(await d.process.wait())
    return codes


@contextlib.asynccontextmanager
async def daemons_running(config: Path, dsn: str, count: int) -> AsyncIterator[list[Daemon]]:
    daemons = [await start_daemon(config, dsn, n) for n in range(count)]
    try:
        yield daemons
    finally:
        await stop_daemons(daemons)


@contextlib.asynccontextmanager
async def provider(folder: Path) -> AsyncIterator[tuple[int, Path]]:
    """The fake provider in its own process; its port and its log of accepted messages."""
    log = folder / "accepted.jsonl"
    proc = await asyncio.create_subprocess_exec(
        *provider_command(log, SID, TOKEN),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None  # noqa: S101 - asked for above
        while line := await asyncio.wait_for(proc.stderr.readline(), 30):
            if (port := listening_port(line)) is not None:
                break
        else:
            raise RuntimeError("the fake provider stopped before listening")
        yield port, log
    finally:
        proc.terminate()
        await proc.wait()


class Received:
    """The provider's log read as it grows: its own time of acceptance of each message."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.times: list[float] = []
        self.segments: list[int] = []
        self._offset = 0

    def read(self) -> list[float]:
        if self.log.exists():
            with self.log.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
            complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits
            self._offset += len(complete)
            for line in complete.splitlines():
                if line.strip():
                    accepted = json.loads(line)
                    self.times.append(datetime.fromisoformat(accepted["time"]).timestamp())
                    self.segments.append(segments(accepted["body"]))
        return self.times

    async def until(self, at: float, within: float) -> None:
        """Until the provider has accepted a message at or after ``at`` (its clock)."""
        deadline = time.monotonic() + within
        while not (self.read() and self.times[-1] >= at):
            if time.monotonic() > deadline:
                raise RuntimeError("the provider received nothing for too long")
            await asyncio.sleep(POLL_S)

    def rate(self, start: float, seconds: float) -> float:
        """Segments a second received in [start, start + seconds)."""
        found = zip(self.times, self.segments, strict=True)
        return sum(n for t, n in found if start <= t < start + seconds) / seconds


async def shares_in_force(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    return [dict(r) for r in await pool.fetch(queries("shares")["shares"])]


async def rate_with(
    pool: asyncpg.Pool, dsn: str, folder: Path, count: int, setting: Setting, *, kill: bool = False
) -> dict[str, Any]:
    """``count`` daemons sharing one gateway: the rate the provider receives over the window;
    with ``kill``, then one daemon killed and the takeover measured."""
    extra = 45.0 if kill else 4.0  # the killed daemon keeps its claimed rows for a claim lease
    per_message = segments(TEXT)
    await seed(pool, int(setting.rate / per_message * (WARMUP_S + setting.window_s + extra)))
    async with provider(folder) as (port, log):
        config = folder / "alertd.toml"
        config.write_text(twilio_config(port, setting))
        received = Received(log)
        async with daemons_running(config, dsn, count) as daemons:
            await received.until(0.0, 60)
            start = received.times[0] + WARMUP_S
            await received.until(start + setting.window_s, setting.window_s + 60)
            figures: dict[str, Any] = {
                "daemons": count,
                "per_second": round(received.rate(start, setting.window_s), 1),
                "shares": sorted(round(s["part"], 4) for s in await shares_in_force(pool)),
            }
            if kill:
                figures |= await _takeover(pool, daemons, received, setting)
    return figures


async def _takeover(
    pool: asyncpg.Pool, daemons: list[Daemon], received: Received, setting: Setting
) -> dict[str, Any]:
    """Kill the first daemon; how long until the others' leases cover the whole contract."""
    victim = daemons[0]
    victim.process.send_signal(signal.SIGKILL)
    killed_at = time.time()
    await victim.process.wait()
    deadline = time.monotonic() + 4 * setting.lease_s + 10
    while True:
        live = await shares_in_force(pool)
        workers = {s["worker"] for s in live}
        if victim.worker not in workers and sum(s["part"] for s in live) >= 0.999:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("the dead daemon's share was not taken over")
        await asyncio.sleep(POLL_S / 2)
    taken_at = time.time()
    after = 10.0
    await received.until(taken_at + after, after + 60)
    return {
        "takeover_s": round(taken_at - killed_at, 2),
        "per_second_after_kill": round(received.rate(taken_at, after), 1),
        "per_second_during_takeover": round(
            received.rate(killed_at, max(0.1, taken_at - killed_at)), 1
        ),
        "lease_s": setting.lease_s,
    }


@contextlib.asynccontextmanager
async def scratch(config: Config, tag: str) -> AsyncIterator[tuple[asyncpg.Pool, str]]:
    name = f"alertd_bench_shared_{tag}_{os.getpid()}"
    async with (
        open_database(config, migrate_now=False) as server,
        scratch_database(server.dsn, name),
    ):
        dsn = dsn_for(server.dsn, name)
        async with open_database(with_overrides(config, database={"url": dsn})) as db:
            yield db.pool, dsn


async def shared_rate_benchmark(
    config: Config, daemons: Sequence[int], setting: Setting, *, kill: bool = True
) -> dict[str, Any]:
    runs = []
    with tempfile.TemporaryDirectory(prefix="alertd-bench-shared-") as folder:
        for i, count in enumerate(daemons):
            last = i == len(daemons) - 1
            run_folder = Path(folder) / str(i)
            run_folder.mkdir()
            async with scratch(config, str(i)) as (pool, dsn):
                runs.append(
                    await rate_with(
                        pool, dsn, run_folder, count, setting, kill=kill and last and count > 1
                    )
                )
    single = next((r["per_second"] for r in runs if r["daemons"] == 1), None)
    return {
        "benchmark": "shared_rate",
        "contract_per_second": setting.rate,
        "window_s": setting.window_s,
        "lease_s": setting.lease_s,
        "runs": runs,
        "worst_deviation_pct": round(
            max(abs(r["per_second"] - setting.rate) / setting.rate * 100 for r in runs), 2
        ),
        "baseline_single_daemon_per_second": single,
    }


async def smpp_shared(
    pool: asyncpg.Pool,
    dsn: str,
    folder: Path,
    *,
    daemons: int = 2,
    binds: int = 4,
    rate_per_bind: float = 100.0,
    window_s: float = 10.0,
    lease_s: float = 3.0,
    window: int = 50,
) -> dict[str, Any]:
    """``daemons`` daemons on one SMPP account of ``binds`` binds: the most binds the SMSC saw at
    once, and the rate it accepted over the window (after the warm-up)."""
    await seed(pool, int(rate_per_bind * binds / segments(TEXT) * (WARMUP_S + window_s + 6)))
    stats = folder / "smsc.json"
    async with smsc_process(latency_ms=20, stats=stats) as port:
        config = folder / "alertd.toml"
        config.write_text(smpp_config(port, rate_per_bind, binds, window, lease_s))
        async with daemons_running(config, dsn, daemons):
            first = await _stats_when(stats, lambda s: s["accepted"] > 0, 60)
            begin = await _stats_when(stats, lambda s: s["at"] >= first["at"] + WARMUP_S, 60)
            end = await _stats_when(stats, lambda s: s["at"] >= begin["at"] + window_s, 60)
            held = await shares_in_force(pool)
    final = json.loads(stats.read_text())
    return {
        "daemons": daemons,
        "binds": binds,
        "binds_max": final["binds_max"],
        "binds_held": sorted(s["binds"] for s in held),
        "per_second": round((end["accepted"] - begin["accepted"]) / (end["at"] - begin["at"]), 1),
        "contract_per_second": rate_per_bind * binds,
    }


async def _stats_when(path: Path, condition: Any, within: float) -> dict[str, Any]:
    """The simulator's counters once ``condition`` holds of them."""
    deadline = time.monotonic() + within
    while True:
        with contextlib.suppress(FileNotFoundError, ValueError):
            found: dict[str, Any] = json.loads(await asyncio.to_thread(path.read_text))
            if condition(found):
                return found
        if time.monotonic() > deadline:
            raise RuntimeError("the SMSC simulator's counters did not get there")
        await asyncio.sleep(POLL_S)
