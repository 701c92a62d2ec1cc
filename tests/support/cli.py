"""Running the alertd command as a person does: a subprocess, with a chosen database."""

from __future__ import annotations

import os
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
