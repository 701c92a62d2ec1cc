"""The ``alertd`` command line.

``main`` builds the configuration once, configures logging once, runs one command, and turns every
alertd error into one line on stderr and an exit code. No traceback reaches the person at the
keyboard; ``--debug`` shows it to the engineer who asks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from alertd import __version__, commands
from alertd.config import Config, load_config
from alertd.errors import AlertdError, DatabaseError
from alertd.logs import configure_logging, mask_text

EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # EX_SOFTWARE


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


def build_parser() -> argparse.ArgumentParser:
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
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"))
    parser.add_argument("--log-format", choices=("auto", "json", "console"))
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of unexpected errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    commands.register(sub)
    return parser


def _config(args: argparse.Namespace) -> Config:
    return load_config(
        os.environ,
        args.config,
        overrides={
            ("database", "data_dir"): args.data_dir,
            ("log", "level"): args.log_level,
            ("log", "format"): args.log_format,
        },
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = _config(args)
        configure_logging(config.log)
        return int(asyncio.run(args.handler(args, config)) or 0)
    except AlertdError as exc:
        sys.stderr.write(f"alertd: error: {mask_text(' '.join(exc.message.split()))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("alertd: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0  # `alertd … | head` closed the pipe; nothing went wrong
    except asyncpg.PostgresError as exc:
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(f"alertd: error: the database refused: {_one_line(exc)}\n")
        return DatabaseError.exit_code
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(
            f"alertd: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(run again with --debug for details, and report it)\n"
        )
        return EXIT_INTERNAL


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return mask_text(text[0] if text else type(exc).__name__)[:300]
