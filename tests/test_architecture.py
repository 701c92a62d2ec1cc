"""The architecture of DESIGN.md, checked.

The import contracts live in pyproject.toml (``[tool.importlinter]``): zones, gateways and
templates never import alertd nor each other; alertd's subpackages import only the layers below
them; nothing but the CLI imports the tools. import-linter builds its graph with grimp, which
reads every import statement, those inside functions too. Besides: importing the CLI stays cheap,
and only the CLI's main reads the environment.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("alertd", "zones", "gateways", "templates")
# What `alertd --help` and every light command must not pay for: loaded by the commands that need
# them (numpy and shapely for zones, aiohttp for gateways, the domain for alerts and sends).
HEAVY = ("numpy", "shapely", "pyproj", "aiohttp")
LAZY = ("alertd.tools", "alertd.alerts", "alertd.delivery", "alertd.subscribers")


def test_the_import_contracts_are_kept() -> None:
    lint = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    result = subprocess.run(
        [sys.executable, "-c", lint, "--config", "pyproject.toml", "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_graph_sees_imports_inside_functions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lazy_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f() -> None:\n    from lazy_probe import b\n")
    (package / "b.py").write_text("")
    monkeypatch.syspath_prepend(tmp_path)
    graph = grimp.build_graph("lazy_probe", cache_dir=None)
    assert graph.direct_import_exists(importer="lazy_probe.a", imported="lazy_probe.b")


def modules_loaded_by(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running code (its last line of output)."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def too_heavy(modules: set[str]) -> list[str]:
    def under(name: str, package: str) -> bool:
        return name == package or name.startswith(f"{package}.")

    return sorted(m for m in modules if any(under(m, p) for p in (*HEAVY, *LAZY)))


def test_importing_the_cli_loads_no_command() -> None:
    modules = modules_loaded_by("import alertd.cli")
    assert "alertd.cli.main" in modules
    assert too_heavy(modules) == []


def test_alertd_help_loads_no_command() -> None:
    help_and_exit = (
        "from alertd.cli import main\n"
        "try:\n    main(['--help'])\n"
        "except SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
    )
    modules = modules_loaded_by(help_and_exit)
    assert "alertd.cli.main" in modules
    assert too_heavy(modules) == []


def test_the_probe_sees_a_heavy_import() -> None:
    assert too_heavy(modules_loaded_by("import alertd.cli.bench")) != []


def reads_environment(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = {"environ", "environb", "getenv", "getenvb"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            return True
        if isinstance(node, ast.ImportFrom) and any(a.name in names for a in node.names):
            return True
    return False


def test_only_the_cli_main_reads_the_environment() -> None:
    files = [f for package in PACKAGES for f in sorted((ROOT / package).rglob("*.py"))]
    readers = [f.relative_to(ROOT).as_posix() for f in files if reads_environment(f)]
    assert readers == ["alertd/cli/main.py"]
