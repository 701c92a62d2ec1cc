"""The ``alertd`` command line.

``main`` builds the configuration once, configures logging once, runs one command, and turns every
alertd error into one line on stderr and an exit code. No traceback reaches the person at the
keyboard; ``--debug`` shows it to the engineer who asks.

The commands are listed in ``COMMANDS`` with their help; the module that defines one is imported
only when it is the command being run, so ``alertd --help`` or ``alertd alert status`` never load
the benchmarks, the demo, numpy or aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alertd import __version__
from alertd.cli.util import mask_message
from alertd.config import LOG_FORMATS, LOG_LEVELS, Config, load_config
from alertd.errors import AlertdError, ConfigError, DatabaseError, InputError, NotFoundError
from alertd.logs import configure_logging

EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # EX_SOFTWARE
_FILE_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (plus the usage) and exit code 2, and no
    abbreviated options (a sub-command's --log must not be read as the global --log-level)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


@dataclass(frozen=True, slots=True)
class Command:
    """A top-level command: ``register(parser)`` in ``module`` adds its arguments and handlers."""

    name: str
    module: str  # under alertd.cli
    help: str
    register: str = "register"


COMMANDS = (
    Command(
        "demo",
        "demo",
        "a marine-submersion alert end to end, then its all-clear, on the embedded (or given) "
        "database and fake gateways",
    ),
    Command("db", "db", "database schema"),
    Command("tenants", "tenants", "the intercommunality and its communes"),
    Command("operators", "operators", "people who draft, approve and send alerts"),
    Command("subscribers", "subscribers", "residents who receive alerts"),
    Command(
        "serve",
        "serve",
        "the daemon: send what is queued, take receipts and STOP; SIGTERM stops it cleanly",
    ),
    Command("zones", "zones", "hazard zones: flood, submersion, industrial, waste sectors"),
    Command("templates", "templates", "message templates and their SMS cost"),
    Command("gateways", "gateways", "SMS gateways"),
    Command(
        "fake-provider",
        "gateways",
        "a fake SMS provider on loopback (Twilio dialect) that logs what it accepts",
        register="register_fake_provider",
    ),
    Command("alert", "alerts", "alerts from draft to all-clear (as ALERTD_OPERATOR_TOKEN)"),
    Command("schedule", "schedules", "scheduled and recurring notices (as ALERTD_OPERATOR_TOKEN)"),
    Command("audit", "audit", "the audit log: verify its hash chain"),
    Command("config", "config", "configuration"),
    Command("bench", "bench", "benchmarks (one JSON line each)"),
)


def build_parser(load: str | None = None) -> argparse.ArgumentParser:
    """The parser; the command named ``load`` gets its real arguments (all when "*"), the others
    only their name and help."""
    parser = _Parser(
        prog="alertd",
        description="Population alert and crisis dispatcher: hazard zones to SMS.",
        epilog="Configuration: environment (ALERTD_*, DATABASE_URL) and --config FILE; "
        "see ops/alertd.example.toml.",
    )
    parser.add_argument("--version", action="version", version=f"alertd {__version__}")
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="data folder of the embedded PostgreSQL (when DATABASE_URL is unset)",
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS)
    parser.add_argument("--log-format", choices=LOG_FORMATS)
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of unexpected errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for c in COMMANDS:
        if load in (c.name, "*"):
            p = sub.add_parser(c.name, help=c.help, description=c.help)
            module = importlib.import_module(f"alertd.cli.{c.module}")
            getattr(module, c.register)(p)
        else:
            sub.add_parser(c.name, help=c.help, add_help=False)
    return parser


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    # First pass with every command as a stub: finds which one runs (and answers --help,
    # --version and usage errors of the global options); the second loads only that one.
    chosen, _rest = build_parser().parse_known_args(argv)
    return build_parser(chosen.command).parse_args(argv)


# The commands that talk to the SMS gateways, and so need their secrets (and `config show`, the
# engineer's check that the configuration is complete); every other command (a duty officer's
# above all) runs where the secrets are not set.
_NEED_GATEWAY_SECRETS = {("serve", None), ("gateways", "check"), ("config", "show")}


def _needs_gateway_secrets(args: argparse.Namespace) -> bool:
    sub = getattr(args, f"{args.command}_command", None)
    return (args.command, sub) in _NEED_GATEWAY_SECRETS


def _config(args: argparse.Namespace) -> Config:
    return load_config(
        os.environ,
        args.config,
        overrides={
            ("database", "data_dir"): args.data_dir,
            ("log", "level"): args.log_level,
            ("log", "format"): args.log_format,
        },
        gateway_secrets=_needs_gateway_secrets(args),
    )


# The duty officer's commands that go through the API when ALERTD_URL (``[operator] url``) is set:
# the module holding, under the same names, the handlers that speak HTTP instead of SQL.
_REMOTE = {
    "alert": "alertd.cli.remote_alerts",
    "schedule": "alertd.cli.remote_schedules",
    "zones": "alertd.cli.remote_catalog",
    "templates": "alertd.cli.remote_catalog",
    "subscribers": "alertd.cli.remote_subscribers",  # only `register` (the desk)
}


# Commands that only run against a database: on a workstation set up for the API (ALERTD_URL and
# no DATABASE_URL) they would start an empty embedded PostgreSQL and work in it, silently apart
# from the real one; refused there instead.
_SERVER_ONLY = {"tenants", "operators", "subscribers", "db", "audit", "serve"}


def _handler(args: argparse.Namespace, config: Config) -> Any:
    module = _REMOTE.get(args.command)
    if config.operator.url and module is not None:
        remote = getattr(importlib.import_module(module), args.handler.__name__, None)
        if remote is not None:
            return remote
    if config.operator.url and config.database.url is None and args.command in _SERVER_ONLY:
        raise ConfigError(
            f"`alertd {args.command}` runs on the server, against its database (DATABASE_URL); "
            f"this shell is set up for the API (ALERTD_URL={config.operator.url}), through "
            "which only `alert`, `zones`, `templates` and `subscribers register` commands go"
        )
    return args.handler


def _interrupt_on_hangup_and_term() -> None:
    """SIGTERM and SIGHUP (a closed terminal, a killed ssh session) end a command like Ctrl-C:
    the command unwinds, so the embedded PostgreSQL is let go of (and stopped by the last
    process using it), instead of the process vanishing with the server still running.
    ``alertd serve`` installs its own handler for SIGTERM (a clean stop)."""

    def interrupt(signum: int, _frame: object) -> None:
        # Whoever handles SIGINT: asyncio.run cancels the command, serve stops cleanly.
        signal.raise_signal(signal.SIGINT)

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # A background job of a script starts with SIGINT ignored: asyncio.run would then not
        # handle it, and SIGTERM with it. Unwinding cleanly is what every signal here asks.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    _interrupt_on_hangup_and_term()
    try:
        config = _config(args)
        configure_logging(config.log)
        return int(asyncio.run(_handler(args, config)(args, config)) or 0)
    except AlertdError as exc:
        sys.stderr.write(f"alertd: error: {mask_message(' '.join(exc.message.split()))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("alertd: interrupted\n")
        return EXIT_INTERRUPTED
    except RecursionError:
        # Only input nested thousands of levels deep gets here (json.loads of such a GeoJSON):
        # bad input, not a bug.
        sys.stderr.write(
            "alertd: error: the input is nested too deeply to be read (a GeoJSON or JSON "
            "file with thousands of nested arrays?); nothing was changed\n"
        )
        return InputError.exit_code
    except BrokenPipeError:
        return 0  # `alertd … | head` closed the pipe; nothing went wrong
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if args.debug:
            traceback.print_exc()
        if isinstance(exc, _FILE_ERRORS) and exc.filename is not None:
            # A file named on the command line that cannot be read: the person's to fix.
            sys.stderr.write(f"alertd: error: cannot read {exc.filename}: {exc.strerror}\n")
            not_found = isinstance(exc, FileNotFoundError)
            return NotFoundError.exit_code if not_found else InputError.exit_code
        if _refused_by_database(exc):
            sys.stderr.write(f"alertd: error: the database refused: {_one_line(exc)}\n")
            return DatabaseError.exit_code
        sys.stderr.write(
            f"alertd: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(run again with --debug for details, and report it)\n"
        )
        return EXIT_INTERNAL


def _refused_by_database(exc: BaseException) -> bool:
    # asyncpg is imported by the commands that use the database, not by the CLI itself (it costs
    # a quarter of `alertd --help`): if it was never imported, the error cannot be one of its.
    asyncpg = sys.modules.get("asyncpg")
    return asyncpg is not None and isinstance(exc, asyncpg.PostgresError)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return mask_message(text[0] if text else type(exc).__name__)[:300]
