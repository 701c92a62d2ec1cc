"""Running the alertd command as a person does: a subprocess, with a chosen database."""

from __future__ import annotations

import os
import re
import subprocess
import sys


def alertd(
    *args: str,
    dsn: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("ALERTD_") and k != "DATABASE_URL"
    }
    if dsn:
        environ["DATABASE_URL"] = dsn
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "alertd", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )


def first_admin(dsn: str, tenant: str = "245900428") -> str:
    """The very first admin of a database with no operator yet (no token needed): their token,
    which every later administration command needs."""
    added = alertd(
        "operators",
        "add",
        "--tenant",
        tenant,
        "--name",
        "Admin",
        "--role",
        "admin",
        "--email",
        "admin@example.org",
        dsn=dsn,
    )
    found = re.search(r"alertd_\S+", added.stdout)
    assert found is not None, added.stdout + added.stderr
    return found.group(0)
