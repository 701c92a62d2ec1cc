"""Issue 14, case 13: the embedded PostgreSQL stops when the last CLI process ends, however it
ended: a signal unwinds the command; a process killed outright is forgotten by the next one,
which then stops the server as its last live user."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertd.store.database import USERS_FILE, EmbeddedPostgres
from tests.support.cli import alertd

FAKE = '[gateways.bench]\nkind = "fake"\n'


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "pg"
    yield folder
    if (folder / "postmaster.pid").exists():  # a failed test must not leave a server running
        server = EmbeddedPostgres(folder)
        server.start()
        server.stop()


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and "ALERTD_" not in k}


def _serving(data_dir: Path, toml: Path) -> subprocess.Popen[str]:
    """`alertd serve` on the embedded server of data_dir, once it says it runs."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "alertd",
            "--log-format",
            "json",
            "--data-dir",
            str(data_dir),
            "--config",
            str(toml),
            "serve",
            "--allow-fake-gateway",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "serve.started" in line:
            return proc
    proc.wait(30)
    raise AssertionError(f"serve did not start (exit {proc.returncode})")


def _server_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def test_a_hangup_unwinds_the_command_and_stops_the_server(data_dir: Path, tmp_path: Path) -> None:
    toml = tmp_path / "alertd.toml"
    toml.write_text(FAKE)
    proc = _serving(data_dir, toml)
    assert _server_pid(data_dir) is not None
    proc.send_signal(signal.SIGHUP)  # the terminal closed, the ssh session dropped
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert _server_pid(data_dir) is None
    assert (data_dir / USERS_FILE).read_text() == "[]"


def test_after_a_kill_9_the_next_command_stops_the_server(data_dir: Path, tmp_path: Path) -> None:
    toml = tmp_path / "alertd.toml"
    toml.write_text(FAKE)
    proc = _serving(data_dir, toml)
    proc.kill()
    proc.communicate(timeout=30)
    # Nobody is left to stop it…
    assert _server_pid(data_dir) is not None
    # …until the next command, which forgets the dead user and, as the last one, stops it.
    status = alertd("--data-dir", str(data_dir), "db", "status", env=_env())
    assert status.returncode == 0, status.stderr
    assert _server_pid(data_dir) is None


def test_sigterm_unwinds_any_command_even_with_sigint_ignored(data_dir: Path) -> None:
    """A background job of a script starts with SIGINT ignored: SIGTERM still unwinds it."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "alertd",
            "--data-dir",
            str(data_dir),
            "demo",
            "--subscribers",
            "30000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # the database is up and the world being built
        if "communes" in line:
            break
    assert _server_pid(data_dir) is not None
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "alertd: interrupted" in err and "Traceback" not in err
    assert _server_pid(data_dir) is None
