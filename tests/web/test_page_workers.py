"""``alertd serve`` with its sign-up pages in two processes of their own, as a real process: a
resident signs up and the code reaches the provider (through the service SMS queue and the
daemon's gateway); a page process killed is replaced; SIGTERM stops everything; kill -9 of the
daemon leaves no page process behind. The fake provider (its own process) is the outside witness
of what left; the daemon's JSON log says where it listens and which processes it started."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.support.serve_process import logged, serve_process
from tests.web.client import Resident

pytestmark = pytest.mark.slow
CONFIG = (
    '[serve]\nsignup_listen = "127.0.0.1:0"\nsignup_workers = 2\n'
    '[gateways.primary]\nkind = "twilio"\nbase_url = "http://127.0.0.1:{port}"\n'
    'account_sid = "ACtest"\nsender = "+33600000000"\n'
    'credentials_env = {{ auth_token = "TOKEN" }}\n'
)
PHONE = "+33612345678"
CODE = re.compile(r"\b([0-9]{6})\b")


async def _until(check: Callable[[], Any], within: float = 30.0) -> Any:
    """The first true answer of ``check``: another process's progress, polled."""
    deadline = time.monotonic() + within
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {check}"
        await asyncio.sleep(0.02)
    return value


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for whoever adopted it to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


class Served:
    def __init__(self, daemon: subprocess.Popen[bytes], log: Path) -> None:
        self.daemon, self.log = daemon, log

    def started(self) -> list[int]:
        return [int(e["pid"]) for e in logged(self.log, "signup.worker_started")]  # type: ignore[call-overload]

    async def url(self) -> str:
        [listening] = await _until(lambda: logged(self.log, "serve.signup"))
        return f"http://{listening['listen']}"

    async def ready(self, count: int) -> None:
        await _until(lambda: len(logged(self.log, "signup.worker_ready")) >= count)


@asynccontextmanager
async def served(
    db_dsn: str, fake_provider: tuple[int, Path], tmp_path: Path
) -> AsyncIterator[Served]:
    port, _ = fake_provider
    config = tmp_path / "alertd.toml"
    config.write_text(CONFIG.format(port=port))
    log = tmp_path / "serve.log"
    daemon = serve_process(config, db_dsn, log)
    try:
        yield Served(daemon, log)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(timeout=10)
        for pid in Served(daemon, log).started():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _codes(sent: Path, phone: str) -> list[str]:
    if not sent.exists():
        return []
    lines = [json.loads(x) for x in sent.read_text().split("\n")[:-1] if x.strip()]
    return [m[1] for line in lines if line["to"] == phone and (m := CODE.search(line["body"]))]


async def _sign_up(url: str, sent: Path, phone: str = PHONE) -> None:
    national = "0" + phone[3:]
    resident = Resident(url)
    try:
        assert (await resident.get("/fr/subscribe"))[0] == 200
        form = {"phone": national, "postcode": "59140", "language": "fr"}
        assert (await resident.post("/fr/subscribe", form))[0] == 200
        status, body, path = await resident.post(
            "/fr/subscribe/choices", {**form, "consent": "yes"}
        )
        assert (status, path) == (200, "/fr/code"), body
        [code] = await _until(lambda: _codes(sent, phone), within=10.0)
        status, body, path = await resident.post("/fr/code", {"code": code})
        assert (status, path) == (200, "/fr/done"), body
    finally:
        await resident.close()


async def test_a_resident_signs_up_on_page_processes_and_the_code_leaves_by_the_daemon(
    loaded: asyncpg.Pool, db_dsn: str, fake_provider: tuple[int, Path], tmp_path: Path
) -> None:
    _, sent = fake_provider
    async with served(db_dsn, fake_provider, tmp_path) as s:
        url = await s.url()
        await _sign_up(url, sent)
        # The code, then the confirmation, queued by the pages and sent by the daemon.
        sent_rows = "SELECT array_agg(purpose ORDER BY id) FROM service_sms WHERE status = 'sent'"
        two = ["signup_code", "signup_confirmed"]
        deadline = time.monotonic() + 10
        while await loaded.fetchval(sent_rows) != two:
            assert time.monotonic() < deadline, await loaded.fetchval(sent_rows)
            await asyncio.sleep(0.02)
        # SIGTERM: the page processes are stopped and reaped, the daemon exits 0.
        pages = s.started()
        assert len(pages) == 2 and s.daemon.pid not in pages
        s.daemon.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(s.daemon.wait, 30) == 0
        assert not [pid for pid in pages if _alive(pid)]
    status = await loaded.fetchval("SELECT status FROM subscribers WHERE phone = $1", PHONE)
    assert status == "active"
    assert len(_codes(sent, PHONE)) == 1


async def test_a_page_process_killed_is_replaced_and_the_pages_answer_again(
    loaded: asyncpg.Pool, db_dsn: str, fake_provider: tuple[int, Path], tmp_path: Path
) -> None:
    _, sent = fake_provider
    async with served(db_dsn, fake_provider, tmp_path) as s:
        url = await s.url()
        await s.ready(2)
        first, second = s.started()
        os.kill(first, signal.SIGKILL)
        [died] = await _until(lambda: logged(s.log, "signup.worker_died"))
        assert (died["pid"], died["exit_code"], died["level"]) == (first, -9, "error")
        await _until(lambda: len(s.started()) == 3)
        os.kill(second, signal.SIGKILL)  # only the new one is left to answer
        await _until(lambda: len(s.started()) == 4)
        await s.ready(4)
        async with aiohttp.ClientSession() as client, client.get(f"{url}/en/") as response:
            assert response.status == 200
        await _sign_up(url, sent)
        assert s.daemon.poll() is None  # the alerts never stopped


async def test_kill_nine_of_serve_leaves_no_page_process_behind(
    loaded: asyncpg.Pool, db_dsn: str, fake_provider: tuple[int, Path], tmp_path: Path
) -> None:
    async with served(db_dsn, fake_provider, tmp_path) as s:
        await s.url()
        await s.ready(2)
        pages = s.started()
        assert all(_alive(pid) for pid in pages)
        s.daemon.send_signal(signal.SIGKILL)
        await asyncio.to_thread(s.daemon.wait, 10)
        await _until(lambda: not [pid for pid in pages if _alive(pid)], within=20.0)
        stopping = logged(s.log, "signup.worker_stopping")
        assert {e["reason"] for e in stopping} == {"the daemon is gone"}
