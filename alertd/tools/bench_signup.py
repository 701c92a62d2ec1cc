"""``alertd bench signup``: residents signing up on the pages at a target rate (200 a second),
in a scratch database: each one loads the form, submits where and what, waits for the code's SMS
at the fake gateway, types it, and lands on "you are signed up". Figures: sign-ups completed per
second, errors, p50/p99 of the time from the form submitted to the code's SMS handed to the
gateway (target: under 1 s), and of a whole sign-up.

The residents (HTTP clients) run in a process of their own, as they would on their phones: the
pages' process is measured, not the load generator. The fake gateway tells them each code over a
pipe. Baseline, same run, same client and server: round trips per second for the pages'
stylesheet, this machine's HTTP floor (a sign-up is six requests, the redirects
followed).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import multiprocessing
import os
import re
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import asyncpg

from alertd.config import Config, with_overrides
from alertd.delivery import service_queue
from alertd.store.database import dsn_for, open_database
from alertd.tenants import load_territory
from alertd.tools.bench_import import scratch_database
from alertd.tools.plain_http import Client, Jar
from alertd.web import server, workers
from gateways.base import Message, SubmitResult
from gateways.fake import FakeGateway

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CODE = re.compile(r"\b([0-9]{6})\b")
BASELINE_REQUESTS = 2000
CLIENT_CONNECTIONS = 100
CODE_WAIT_S = 30.0


class _Phones(FakeGateway):
    """The fake gateway, telling the residents' process each code and when it was handed over
    (CLOCK_MONOTONIC: the same clock in both processes)."""

    def __init__(self, pipe: Connection) -> None:
        super().__init__("bench", receipts=False)
        self.pipe = pipe

    async def submit(self, messages: Sequence[Message]) -> list[SubmitResult]:
        results = await super().submit(messages)
        at = time.monotonic()
        for m in messages:
            match = CODE.search(m.text)
            if match:
                self.pipe.send((m.to, at, match[1]))
        return results


async def signup_benchmark(
    config: Config, signups: int, rate: float, workers: int | None = None
) -> dict[str, Any]:
    """``workers``: page processes (the configuration's ``[serve] signup_workers`` by default);
    0: the pages in this process's loop, their codes handed to the gateway directly."""
    count = config.serve.signup_workers if workers is None else workers
    name = f"alertd_bench_signup_{os.getpid()}"
    async with (
        open_database(config, migrate_now=False) as admin,
        scratch_database(admin.dsn, name),
    ):
        scratch = with_overrides(
            config,
            database={"url": dsn_for(admin.dsn, name), "pool_max": 10},
            serve={"signup_listen": "127.0.0.1:0", "signup_workers": count},
            # One client address and one tenant for every resident here: the limits would
            # measure themselves.
            signup={"per_ip_hour": 10_000_000, "per_tenant_hour": 10_000_000},
        )
        async with open_database(scratch) as db:
            await load_territory(db.pool, "bench")
            spawn = multiprocessing.get_context("spawn")
            codes_out, codes_in = spawn.Pipe()
            result_in, result_out = spawn.Pipe(duplex=False)
            phones = _Phones(codes_in)
            await phones.start()
            async with _pages(scratch, db.pool, phones, count) as (address, pages):
                residents = spawn.Process(
                    target=_residents_main,
                    args=(f"http://{address}", signups, rate, codes_out, result_out),
                    name="alertd-bench-residents",
                )
                residents.start()
                try:
                    floor: dict[str, Any] = await asyncio.to_thread(result_in.recv)
                    # CPU of the pages' processes, and of this one (the daemon's side: the
                    # codes' queue and the fake gateway; the pages too when in its loop), per
                    # sign-up: what bounds the rate whatever else the machine runs.
                    before, pages_before = os.times(), _cpu(pages())
                    run: dict[str, Any] = await asyncio.to_thread(result_in.recv)
                    after, pages_after = os.times(), _cpu(pages())
                finally:
                    await asyncio.to_thread(residents.join, 30)
            await phones.close()
            active = await db.pool.fetchval(
                "SELECT count(*) FROM subscribers "
                "WHERE status = 'active' AND consent_channel = 'web'"
            )
    here_s = after.user + after.system - before.user - before.system
    kernel_s = after.system - before.system
    pages_s = (pages_after[0] - pages_before[0]) if count else here_s
    pages_kernel_s = (pages_after[1] - pages_before[1]) if count else kernel_s
    return {
        "benchmark": "signup",
        "signups": signups,
        "target_per_s": rate,
        "page_workers": count,
        **run,
        "baseline": {"what": "GET /static/style.css round trips", **floor},
        # All the page processes together (or this one, with none).
        "pages_cpu_ms_per_signup": round(pages_s * 1000 / signups, 2),
        # Of which in the kernel: sockets (HTTP, PostgreSQL, the codes' pipe) more than anything.
        "pages_kernel_ms_per_signup": round(pages_kernel_s * 1000 / signups, 2),
        # The daemon's side (this process): the codes' queue and gateway (with page processes),
        # or everything (without).
        "daemon_cpu_ms_per_signup": round(here_s * 1000 / signups, 2),
        "active_subscribers": active,
        # The machine's load (1, 5, 15 min) as the run ended: a shared machine's figures say it.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


@contextlib.asynccontextmanager
async def _pages(
    config: Config, pool: asyncpg.Pool, phones: _Phones, count: int
) -> AsyncIterator[tuple[str, Callable[[], list[int]]]]:
    """The pages as serve runs them: in ``count`` page processes with the daemon's service SMS
    task sending their codes here, or in this loop (0). Yields their address and their pids."""
    if not count:
        async with server.serving(config, pool, [phones], dsn=config.database.url) as address:
            yield address, list
        return
    stop = asyncio.Event()
    async with workers.running(config, pool, count) as pages:
        consumer = asyncio.create_task(
            service_queue.run(pool, [phones], stop, worker="bench"), name="service_sms"
        )
        try:
            yield pages.address, pages.pids
        finally:
            stop.set()
            await consumer


def _cpu(pids: list[int]) -> tuple[float, float]:
    """CPU seconds (all, in the kernel) of these running processes, from /proc: os.times()
    counts children only once reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            # utime and stime: fields 14 and 15 of proc(5), 12 and 13 after the command's ")".
            user, system = user + int(fields[11]), system + int(fields[12])
    return (user + system) / tick, system / tick


def _residents_main(
    base: str, signups: int, rate: float, codes: Connection, result: Connection
) -> None:
    """The residents' process: sends the baseline's figures, then the run's."""
    asyncio.run(_residents(base, signups, rate, codes, result))


class _Inbox:
    """Codes arriving from the gateway's process, read by a thread, awaited by the residents."""

    def __init__(self, pipe: Connection, loop: asyncio.AbstractEventLoop) -> None:
        self.pipe, self.loop = pipe, loop
        self.arrived: dict[str, tuple[float, str]] = {}
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                phone, at, code = self.pipe.recv()
                self.loop.call_soon_threadsafe(self._arrive, phone, at, code)

    def _arrive(self, phone: str, at: float, code: str) -> None:
        self.arrived.setdefault(phone, (at, code))
        waiter = self.waiting.pop(phone, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def code_for(self, phone: str) -> tuple[float, str]:
        if phone not in self.arrived:
            waiter = self.waiting.setdefault(phone, self.loop.create_future())
            await asyncio.wait_for(waiter, CODE_WAIT_S)
        return self.arrived[phone]


def _ms(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"p50_ms": 0.0, "p99_ms": 0.0}
    ordered = sorted(seconds)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
    }


async def _residents(
    base: str, signups: int, rate: float, codes: Connection, result: Connection
) -> None:
    inbox = _Inbox(codes, asyncio.get_running_loop())
    client = Client(base, CLIENT_CONNECTIONS)
    try:
        result.send(await _baseline(client))
        result.send(await _run(client, inbox, signups, rate))
    finally:
        await client.aclose()


async def _baseline(client: Client) -> dict[str, Any]:
    jar = Jar()

    async def one() -> None:
        answer = await client.request("GET", "/static/style.css", jar)
        if answer.status != 200:
            raise RuntimeError(f"GET /static/style.css: HTTP {answer.status}")

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(BASELINE_REQUESTS)))
    elapsed = time.monotonic() - started
    return {"requests": BASELINE_REQUESTS, "per_s": round(BASELINE_REQUESTS / elapsed, 1)}


async def _run(client: Client, inbox: _Inbox, signups: int, rate: float) -> dict[str, Any]:
    code_latency: list[float] = []
    whole: list[float] = []
    errors: list[str] = []

    async def resident(i: int) -> None:
        phone = f"+3361{i:07d}"
        started = time.monotonic()
        jar = Jar()
        token = await _step(client, jar, "GET", "/fr/subscribe", None)
        where = {"phone": f"061{i:07d}", "postcode": "59140", "language": "fr"}
        token = await _step(client, jar, "POST", "/fr/subscribe", {**where, "csrf": token})
        asked_at = time.monotonic()
        what = {**where, "csrf": token, "consent": "yes", "topics": "dechets"}
        token = await _step(client, jar, "POST", "/fr/subscribe/choices", what)
        handed_at, code = await inbox.code_for(phone)
        code_latency.append(handed_at - asked_at)
        await _step(
            client, jar, "POST", "/fr/code", {"code": code, "csrf": token}, lands="/fr/done"
        )
        whole.append(time.monotonic() - started)

    async def guarded(i: int) -> None:
        try:
            await resident(i)
        except (RuntimeError, TimeoutError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:200])

    tasks = []
    cpu_before = time.process_time()
    started = time.monotonic()
    for i in range(signups):
        # Open loop: residents arrive at the target rate whether or not the last ones are done.
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(guarded(i)))
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    cpu_s = time.process_time() - cpu_before
    return {
        "completed": len(whole),
        "errors": len(errors),
        "first_errors": errors[:3],
        "seconds": round(elapsed, 2),
        "signups_per_s": round(len(whole) / elapsed, 1),
        "code_handed_to_gateway": _ms(code_latency),
        "codes_within_1s": sum(1 for x in code_latency if x < 1.0),
        "signup": _ms(whole),
        # The residents' own CPU (one process, one core at most): were it near 1000/rate, the
        # client, not the pages, would bound the rate.
        "client_cpu_ms_per_signup": round(cpu_s * 1000 / signups, 2),
    }


async def _step(
    client: Client,
    jar: Jar,
    method: str,
    path: str,
    form: dict[str, str] | None,
    *,
    lands: str | None = None,
) -> str:
    """One page, its status checked; the CSRF field of the page it lands on."""
    answer = await client.request(method, path, jar, form)
    if answer.status != 200:
        raise RuntimeError(f"{method} {path}: HTTP {answer.status}")
    if lands is not None and answer.path != lands:
        raise RuntimeError(f"{method} {path}: landed on {answer.path}")
    match = CSRF.search(answer.text())
    return html.unescape(match[1]) if match else ""
