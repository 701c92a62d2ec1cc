"""The CLI through the API (issue 15, item 7): a duty officer's workstation with ALERTD_URL and a
token, and no DATABASE_URL, drives a live `alertd serve`."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from alertd.cli import serve as serve_command
from alertd.config import Config, load_config
from alertd.delivery import daemon
from alertd.delivery.dispatch import DispatchSettings
from gateways.fake import FakeGateway
from tests.api.conftest import Tokens, seed
from tests.support.alert_world import DUNKERQUE, PARAMS
from tests.support.cli import alertd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def tokens(loaded: asyncpg.Pool) -> Tokens:
    return await seed(loaded)


@pytest.fixture
async def api_url(config: Config, loaded: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[str]:
    """A live `alertd serve` with its API on loopback and a fake gateway."""
    port = _free_port()
    toml = tmp_path / "serve.toml"
    toml.write_text(f'[serve]\napi_listen = "127.0.0.1:{port}"\napi_rate = 1000\n')
    assert config.database.url is not None
    cfg = load_config({"DATABASE_URL": config.database.url}, toml)
    stop = asyncio.Event()
    task = asyncio.create_task(
        daemon.serve(
            cfg,
            stop=stop,
            signals=False,
            settings=DispatchSettings(idle_s=0.05),
            gateways=[FakeGateway("primary")],
            listeners=serve_command.listeners(cfg),
        )
    )
    for _ in range(200):  # until the listener is up
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
        else:
            writer.close()
            break
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) is None


async def cli(url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as run on a workstation: ALERTD_URL and a token, no DATABASE_URL."""
    env = {"ALERTD_URL": url, "ALERTD_OPERATOR_TOKEN": token}
    return await asyncio.to_thread(alertd, *args, dsn=None, env=env)


def _params() -> list[str]:
    return [a for k, v in PARAMS.items() for a in ("--param", f"{k}={v}")]


CIRCLE = f"{DUNKERQUE[0]},{DUNKERQUE[1]},300"


async def test_an_alert_created_previewed_sent_and_followed_through_the_api(
    api_url: str, tokens: Tokens, loaded: asyncpg.Pool, tmp_path: Path
) -> None:
    data_dir = tmp_path / "pg"  # where an embedded PostgreSQL would start: it never does
    created = await cli(
        api_url,
        tokens.officer,
        "--data-dir",
        str(data_dir),
        "alert",
        "create",
        "--template",
        "submersion",
        "--circle",
        CIRCLE,
        *_params(),
    )
    assert created.returncode == 0, created.stderr
    assert not data_dir.exists()
    assert (
        "draft alert 1 created by Officier" in created.stdout
        and "recipients" in created.stdout.lower()
    )
    preview = await cli(api_url, tokens.officer, "alert", "preview", "1", "--json")
    assert preview.returncode == 0, preview.stderr
    assert json.loads(preview.stdout)["recipients"] == 40
    sent = await cli(api_url, tokens.officer, "alert", "send", "1", "--yes")
    assert sent.returncode == 0, sent.stderr
    assert "alert 1 sent to the outbox: 40 recipients" in sent.stdout
    followed = await cli(api_url, tokens.officer, "alert", "status", "1", "--follow", "--json")
    assert followed.returncode == 0, followed.stderr
    assert json.loads(followed.stdout.strip().splitlines()[-1])["progress"]["delivered"] == 40
    update = await cli(
        api_url,
        tokens.officer,
        "alert",
        "update",
        "1",
        "--yes",
        "--param",
        "message=Restez chez vous.",
    )
    assert update.returncode == 0, update.stdout + update.stderr
    cleared = await cli(api_url, tokens.officer, "alert", "all-clear", "1", "--yes", "--json")
    assert cleared.returncode == 0, cleared.stdout + cleared.stderr
    assert json.loads(cleared.stdout)["all_clear_recipients"] == 40
    listed = await cli(api_url, tokens.officer, "alert", "list")
    assert listed.returncode == 0 and "3 alert(s), of which 0 exercise(s)" in listed.stdout
    assert "all_clear" in listed.stdout and "update" in listed.stdout
    # Done by the API: the audit log names the operator, not a shell account.
    actors = {r["actor"] for r in await loaded.fetch("SELECT actor FROM audit_log")}
    assert not any(a.startswith("cli:") for a in actors)


async def test_a_retried_send_sends_once(
    api_url: str, tokens: Tokens, loaded: asyncpg.Pool
) -> None:
    from alertd.cli.remote import Remote

    created = await cli(
        api_url,
        tokens.officer,
        "alert",
        "create",
        "--template",
        "submersion",
        "--circle",
        CIRCLE,
        *_params(),
        "--json",
    )
    alert = json.loads(created.stdout)["alert"]
    async with Remote(api_url, tokens.officer) as api:
        first = await api.post(f"/alerts/{alert}/send", sends=True)
        again = await api.post(f"/alerts/{alert}/send", sends=True)  # the same key: a retry
    assert first == again and first["written"] == 40
    assert await loaded.fetchval("SELECT count(*) FROM deliveries WHERE alert_id = $1", alert) == 40


@pytest.mark.parametrize(
    ("who", "args", "code", "words"),
    [
        ("nobody", ("alert", "list"), 77, "unknown"),
        ("officer", ("alert", "status", "999"), 66, "alert 999 does not exist"),
        ("officer", ("alert", "create", "--template", "nope", "--circle", CIRCLE), 65, "nope"),
        ("viewer", ("alert", "create", "--template", "submersion", "--circle", CIRCLE), 77, "role"),
    ],
)
async def test_problems_become_the_clis_exit_codes(
    api_url: str, tokens: Tokens, who: str, args: tuple[str, ...], code: int, words: str
) -> None:
    token = "alertd_unknown" if who == "nobody" else getattr(tokens, who)
    result = await cli(api_url, token, *args)
    assert result.returncode == code, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alertd: error:") and words in lines[0]


async def test_an_unreachable_api_is_one_line_and_69(tokens: Tokens) -> None:
    result = await cli(f"http://127.0.0.1:{_free_port()}", tokens.officer, "alert", "list")
    assert result.returncode == 69, result.stderr
    assert result.stderr.count("\n") == 1 and "cannot reach the alertd API" in result.stderr


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 65), (401, 77), (403, 77), (404, 66), (409, 65), (422, 65), (500, 69)],
)
def test_each_problem_status_has_the_exit_code_of_the_readme(status: int, code: int) -> None:
    from alertd.cli.remote import problem_error

    error = problem_error(status, {"detail": "what went wrong"})
    assert error.exit_code == code and "what went wrong" in error.message


async def test_a_rate_limit_is_waited_out_and_retried_with_the_same_key() -> None:
    from aiohttp import web

    from alertd.cli.remote import Remote

    seen: list[str | None] = []

    async def send(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Idempotency-Key"))
        if len(seen) == 1:
            return web.json_response({"status": 429}, status=429, headers={"Retry-After": "0"})
        return web.json_response({"sent": True})

    app = web.Application()
    app.router.add_post("/v1/alerts/1/send", send)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port := _free_port())
    await site.start()
    try:
        async with Remote(f"http://127.0.0.1:{port}", "alertd_x") as api:
            assert await api.post("/alerts/1/send", sends=True) == {"sent": True}
    finally:
        await runner.cleanup()
    assert len(seen) == 2 and seen[0] == seen[1] and seen[0] is not None


async def test_zones_and_templates_through_the_api_print_what_the_direct_path_prints(
    api_url: str, tokens: Tokens, db_dsn: str, tmp_path: Path
) -> None:
    circle = await cli(
        api_url,
        tokens.officer,
        "zones",
        "circle",
        "--lon",
        str(DUNKERQUE[0]),
        "--lat",
        str(DUNKERQUE[1]),
        "--radius-m",
        "300",
        "--name",
        "Digue",
        "--tenant",
        "59183",
    )
    assert circle.returncode == 0, circle.stderr
    assert circle.stdout.startswith("zone 1 'Digue' (industrial, tenant 59183)")
    square = tmp_path / "square.geojson"
    lon, lat = DUNKERQUE
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]
    square.write_text(json.dumps({"type": "Polygon", "coordinates": [ring]}))
    imported = await cli(
        api_url,
        tokens.officer,
        "zones",
        "import",
        str(square),
        "--kind",
        "flood",
        "--tenant",
        "59183",
    )
    assert imported.returncode == 0, imported.stderr
    assert "zone 2 'square' (flood, tenant 59183)" in imported.stdout
    for args in (("zones", "list"), ("zones", "show", "1"), ("templates", "list")):
        remote = await cli(api_url, tokens.officer, *args)
        direct = await asyncio.to_thread(alertd, *args, dsn=db_dsn)
        assert remote.returncode == 0 and direct.returncode == 0, remote.stderr + direct.stderr
        assert remote.stdout == direct.stdout
    preview = ("templates", "preview", "submersion", "--lang", "en", *_params())
    remote = await cli(api_url, tokens.officer, *preview, "--recipients", "3")
    direct = await asyncio.to_thread(alertd, *preview, "--recipients", "3", dsn=db_dsn)
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout.splitlines()[0] == direct.stdout.splitlines()[0]
    assert "segment(s)" in remote.stdout


async def test_an_approver_returns_an_alert_to_its_author_through_the_api_and_directly(
    api_url: str, tokens: Tokens, loaded: asyncpg.Pool, db_dsn: str
) -> None:
    await loaded.execute("UPDATE tenants SET approval_threshold = 10 WHERE code = '59183'")
    draft = ("alert", "create", "--template", "submersion", "--circle", CIRCLE, *_params())
    for alert in (1, 2):
        assert (await cli(api_url, tokens.officer, *draft)).returncode == 0
        waiting = await cli(api_url, tokens.officer, "alert", "send", str(alert), "--yes")
        assert "a second operator must approve it" in waiting.stdout, waiting.stderr
    back = await cli(
        api_url, tokens.approver, "alert", "return", "1", "--reason", "zone trop large"
    )
    assert back.returncode == 0, back.stderr
    assert back.stdout == "alert 1 returned to its author, a draft again: zone trop large\n"
    env = {"ALERTD_OPERATOR_TOKEN": tokens.approver}
    direct = await asyncio.to_thread(
        alertd, "alert", "return", "2", "--reason", "zone trop large", dsn=db_dsn, env=env
    )
    assert direct.stdout == back.stdout.replace("alert 1", "alert 2"), direct.stderr
    statuses = await loaded.fetch("SELECT status FROM alerts ORDER BY id")
    assert [r["status"] for r in statuses] == ["draft", "draft"]
    # Returned by its own author: refused, as approving one's own alert is (77).
    own = await cli(api_url, tokens.officer, "alert", "return", "1", "--reason", "x")
    assert own.returncode == 77, own.stderr
    # Sent again, and approved by the second person through the API: sent at once.
    assert (await cli(api_url, tokens.officer, "alert", "send", "1", "--yes")).returncode == 0
    approved = await cli(api_url, tokens.approver, "alert", "approve", "1", "--yes")
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.splitlines()[-1] == "alert 1 approved by Adjoint and sent: 40 recipients"


async def test_server_commands_on_a_workstation_are_refused_not_run_on_an_empty_database(
    tokens: Tokens, tmp_path: Path
) -> None:
    data_dir = tmp_path / "pg"
    url = f"http://127.0.0.1:{_free_port()}"
    result = await cli(url, tokens.admin, "--data-dir", str(data_dir), "tenants", "list")
    assert result.returncode == 78, result.stderr
    assert result.stderr.count("\n") == 1 and "runs on the server" in result.stderr
    assert not data_dir.exists()
