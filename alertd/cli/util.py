"""Small pieces every CLI command module uses: output, argument types, sub-command wiring."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from alertd import jsonable
from alertd.config import Config
from alertd.logs import mask_message

__all__ = ["mask_message"]  # moved to alertd.logs, so that the API masks its problems the same way

Handler = Callable[[argparse.Namespace, Config], Awaitable[int]]


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def out_json(value: object) -> None:
    """One JSON line: the domain's dataclasses (or a dict around them) through alertd.jsonable."""
    sys.stdout.write(jsonable.dumps(value) + "\n")


def table(rows: Iterable[Sequence[object]], headers: Sequence[str]) -> None:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        out("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def command(sub: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> Any:
    """The sub-commands of a command group (``alertd alert send``: ``send`` of ``alert``)."""
    group = parser.add_subparsers(dest=f"{parser.prog.split()[-1]}_command", metavar="COMMAND")
    group.required = True
    return group
