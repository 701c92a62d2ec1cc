"""Small pieces every CLI command module uses: output, argument types, sub-command wiring."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from alertd import jsonable
from alertd.config import Config
from alertd.logs import mask_phone, mask_text

Handler = Callable[[argparse.Namespace, Config], Awaitable[int]]
# A phone number quoted in a message ("phone '06 12 34 56 7' is not a valid number"): masked
# whatever its shape, since a refused number is often one the log patterns do not recognise.
_QUOTED_PHONE = re.compile(r"(phone\s+)('[^']*'|\"[^\"]*\")", re.IGNORECASE)


def mask_message(text: str) -> str:
    """A message for stderr with phone numbers masked as in the logs, malformed ones included."""
    text = _QUOTED_PHONE.sub(lambda m: m.group(1) + mask_phone(m.group(2)), text)
    return mask_text(text)


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
