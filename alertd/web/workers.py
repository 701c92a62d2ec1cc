"""The sign-up pages in processes of their own (``[serve] signup_workers``), off the daemon's
event loop: a sign-up rush costs a few milliseconds of CPU per resident, which in the daemon's
loop would starve alert dispatch, SMPP timers and enquire_links.

The daemon binds ``[serve] signup_listen`` once (port 0 works; the address bound is logged as
``serve.signup``) and each page process accepts on that same socket, inherited. A page process
is started as ``python -m alertd.web.page_process``; it gets the configuration the daemon built
(never read again from an environment that could differ), over its stdin as JSON
(``alertd.config.transfer``: plain data, never a pickle). The gateways' settings (and their
secrets) are left out: a page process faces the internet and sends nothing itself; its SMS go
through the durable service SMS queue, which the daemon sends.

Supervision: a page process that dies is logged (``signup.worker_died``, its exit code) and
started again after a growing pause; one that dies ``MAX_DEATHS`` times within ``WINDOW_S``
makes serve stop (the task ``signup_workers`` dies). On stop: SIGTERM, then SIGKILL after
``GRACE_S``, every process reaped. Each page process holds the read end of a pipe whose write
end only the daemon holds: when the daemon dies, even by kill -9, the pipe ends and the page
process stops by itself (no orphan keeps the port)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg

from alertd.config import Config, OperatorConfig, transfer
from alertd.errors import ConfigError, ProcessesDied
from alertd.logs import get_logger
from alertd.web import server

log = get_logger(__name__)
MAX_DEATHS = 5  # deaths of one page process within WINDOW_S that stop serve
WINDOW_S = 60.0
FIRST_PAUSE_S = 0.5
MAX_PAUSE_S = 10.0
GRACE_S = 10.0  # a page process's own stop lets requests and queued SMS finish (5 s each)
BACKLOG = 1024  # connections waiting for a page process to accept them: a rush's burst


@dataclass
class Restarts:
    """When to start a dead page process again, or give up: pure, the time passed in."""

    max_deaths: int = MAX_DEATHS
    window_s: float = WINDOW_S
    deaths: deque[float] = field(default_factory=deque)

    def died(self, now: float) -> float | None:
        """The pause before starting it again; None: it died too often, give up."""
        while self.deaths and self.deaths[0] <= now - self.window_s:
            self.deaths.popleft()
        self.deaths.append(now)
        if len(self.deaths) >= self.max_deaths:
            return None
        return min(FIRST_PAUSE_S * 2.0 ** (len(self.deaths) - 1), MAX_PAUSE_S)


def bind(listen: str) -> socket.socket:
    """The pages' listening socket, on ``host:port`` (port 0: the system picks one)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, int(port)), family=family, backlog=BACKLOG)
    except OSError as exc:
        raise ConfigError(
            f"serve.signup_listen {listen}: cannot listen there ({exc.strerror or exc}): "
            "choose a free address"
        ) from None


def for_pages(config: Config) -> Config:
    """What a page process is told: no gateway, no operator token (it needs neither)."""
    return dataclasses.replace(config, gateways=(), operator=OperatorConfig())


@dataclass
class _Slot:
    index: int
    process: asyncio.subprocess.Process | None = None
    life: int | None = None  # the write end of the pipe the page process watches
    restarts: Restarts = field(default_factory=Restarts)


class PageWorkers:
    """``count`` page processes accepting on ``sock``, kept running until ``stop``."""

    def __init__(self, config: Config, sock: socket.socket, count: int, *, address: str) -> None:
        self.config = config
        self.sock = sock
        self.address = address
        self.watch: asyncio.Task[None] | None = None
        self.slots = [_Slot(i) for i in range(count)]
        self._stopping = asyncio.Event()
        self._keepers: list[asyncio.Task[None]] = []
        self._payload = transfer.dumps(for_pages(config))

    def pids(self) -> list[int]:
        return [s.process.pid for s in self.slots if s.process and s.process.returncode is None]

    async def start(self) -> asyncio.Task[None]:
        """Every page process started; the task that fails when one keeps dying (``watch``)."""
        for slot in self.slots:
            await self._spawn(slot)
        self._keepers = [
            asyncio.create_task(self._keep(slot), name=f"signup-worker-{slot.index}")
            for slot in self.slots
        ]
        self.watch = asyncio.create_task(self._watch(), name="signup_workers")
        return self.watch

    async def _spawn(self, slot: _Slot) -> None:
        read, write = os.pipe()
        listen = self.sock.fileno()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "alertd.web.page_process",
                str(slot.index),
                str(listen),
                str(read),
                stdin=asyncio.subprocess.PIPE,
                pass_fds=(listen, read),
                # Ctrl-C on a terminal reaches the daemon only, which stops them in order.
                start_new_session=True,
            )
        except OSError:
            os.close(write)
            raise
        finally:
            os.close(read)
        slot.process, slot.life = process, write
        assert process.stdin is not None  # noqa: S101 - asked for above
        # A process dead before it read its configuration is seen dead by its keeper.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.write(self._payload)
            await process.stdin.drain()
        process.stdin.close()
        log.info("signup.worker_started", worker=slot.index, pid=process.pid)

    async def _keep(self, slot: _Slot) -> None:
        """Start it again each time it dies, until stop; raises when it keeps dying."""
        while True:
            assert slot.process is not None  # noqa: S101 - started before its keeper
            code = await slot.process.wait()
            self._close_life(slot)
            if self._stopping.is_set():
                return
            pause = slot.restarts.died(time.monotonic())
            log.error(
                "signup.worker_died",
                worker=slot.index,
                pid=slot.process.pid,
                exit_code=code,
                restart_in_s=pause,
            )
            if pause is None:
                raise ProcessesDied(
                    f"sign-up page process {slot.index} died {MAX_DEATHS} times within "
                    f"{WINDOW_S:g} s (last exit code {code})"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)
            if self._stopping.is_set():
                return
            await self._spawn(slot)

    async def _watch(self) -> None:
        done, _ = await asyncio.wait(self._keepers, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()

    def _close_life(self, slot: _Slot) -> None:
        if slot.life is not None:
            os.close(slot.life)
            slot.life = None

    async def stop(self) -> None:
        """SIGTERM to each, SIGKILL to those still there after GRACE_S; all reaped."""
        self._stopping.set()
        running = [s.process for s in self.slots if s.process and s.process.returncode is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        waits = [asyncio.ensure_future(p.wait()) for p in running]
        if waits:
            await asyncio.wait(waits, timeout=GRACE_S)
            for process in running:
                if process.returncode is None:
                    log.warning("signup.worker_killed", pid=process.pid, grace_s=GRACE_S)
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
            await asyncio.gather(*waits)
        tasks = [*self._keepers, *([self.watch] if self.watch else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ProcessesDied, OSError):
                await task
        for slot in self.slots:
            self._close_life(slot)


@contextlib.asynccontextmanager
async def running(config: Config, pool: asyncpg.Pool, count: int) -> AsyncIterator[PageWorkers]:
    """The pages in ``count`` processes while the block runs; ``watch`` is the task that fails
    when one keeps dying (the daemon watches it). ``pool``: the daemon's, for the hourly purge
    of old codes (once here, not in every page process)."""
    sock = bind(config.serve.signup_listen)
    host, port = sock.getsockname()[:2]
    workers = PageWorkers(config, sock, count, address=f"{host}:{port}")
    log.info("serve.signup", listen=workers.address, workers=count)
    try:
        await workers.start()
        async with server.purging(pool):
            yield workers
    finally:
        await workers.stop()
        sock.close()
