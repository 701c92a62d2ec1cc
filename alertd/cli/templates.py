"""CLI commands for message templates: list them, preview one with real parameters."""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import Any

from alertd.cli.util import command, out, out_json, positive_int, subcommands, table
from alertd.config import Config, TemplatesConfig
from alertd.errors import InputError
from templates import Catalog, Rendered, TemplateError, analyse, costs


def catalog(config: TemplatesConfig) -> Catalog:
    try:
        return Catalog(config.directory)
    except TemplateError as exc:
        raise InputError(str(exc)) from None


def parse_params(items: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise InputError(f"--param {item!r}: expected name=value, e.g. commune=Dunkerque")
        params[name.strip()] = value
    return params


def describe(rendered: Rendered, recipients: int, prices: dict[str, Decimal]) -> dict[str, Any]:
    info = rendered.info
    plain = rendered.alternative
    plain_segments = analyse(plain.text).segments if plain else None
    return {
        "name": rendered.template.name,
        "lang": rendered.template.lang,
        "severity": rendered.template.severity,
        "text": rendered.text,
        "encoding": info.encoding,
        "units": info.units,
        "segments": info.segments,
        "max_segments": rendered.template.max_segments,
        "ucs2_chars": list(info.ucs2_chars),
        "extension_chars": list(info.extension_chars),
        "transliterated_text": plain.text if plain else None,
        "transliterated_segments": plain_segments,
        "replacements": [list(r) for r in plain.replaced] if plain else [],
        "to_send": rendered.to_send,
        "segments_to_send": rendered.segments_to_send,
        "over_limit": rendered.over_limit,
        "recipients": recipients,
        "cost_eur": {
            k: str(v) for k, v in costs(rendered.segments_to_send, recipients, prices).items()
        },
    }


async def templates_list(args: argparse.Namespace, config: Config) -> int:
    found = catalog(config.templates)
    if args.json:
        out_json(
            [
                {
                    "name": t.name,
                    "lang": t.lang,
                    "event": t.event,
                    "severity": t.severity,
                    "max_segments": t.max_segments,
                    "params": list(t.params),
                    "description": t.description,
                }
                for t in found
            ]
        )
        return 0
    rows = [
        (
            name,
            ",".join(found.languages(name)),
            found.get(name, "fr").severity,
            found.get(name, "fr").max_segments,
            ", ".join(found.get(name, "fr").params),
        )
        for name in found.names()
    ]
    table(rows, ("NAME", "LANGUAGES", "SEVERITY", "MAX SEGMENTS", "PARAMETERS"))
    return 0


async def templates_preview(args: argparse.Namespace, config: Config) -> int:
    try:
        template = catalog(config.templates).get(args.name, args.lang)
        rendered = template.render(parse_params(args.param))
    except TemplateError as exc:
        raise InputError(str(exc)) from None
    prices = {g.name: g.price_eur for g in config.gateways}
    report = describe(rendered, args.recipients, prices)
    if args.json:
        out_json(report)
        return 0
    _print(report, template.lang != args.lang)
    return 0


def _print(report: dict[str, Any], fell_back: bool) -> None:
    if fell_back:
        out(f"(no {report['name']} template in that language: the French one is shown)")
    out(report["text"])
    out("")
    unit = "septets" if report["encoding"] == "GSM-7" else "UTF-16 units"
    out(
        f"{report['encoding']}, {report['units']} {unit}, {report['segments']} segment(s) "
        f"(the template allows {report['max_segments']})"
    )
    if report["ucs2_chars"]:
        out(f"UCS-2 because of: {' '.join(report['ucs2_chars'])}")
    if report["extension_chars"]:
        out(f"two septets each: {' '.join(report['extension_chars'])}")
    if report["transliterated_text"]:
        out(
            f"transliterated to GSM-7, {report['transliterated_segments']} segment(s) "
            "(this is what would be sent):"
        )
        out(report["transliterated_text"])
    if report["over_limit"]:
        out(
            f"TOO LONG: {report['segments_to_send']} segments, the template allows "
            f"{report['max_segments']}: shorten the parameters"
        )
    for gateway, eur in report["cost_eur"].items():
        out(f"cost through {gateway}: {eur} EUR for {report['recipients']} recipient(s)")


def register(parser: argparse.ArgumentParser) -> None:
    ts = subcommands(parser)
    p = command(ts, "list", templates_list, "list the templates, their languages and parameters")
    p.add_argument("--json", action="store_true")
    p = command(
        ts,
        "preview",
        templates_preview,
        "render a template: text, encoding, segments, transliteration, cost",
    )
    p.add_argument("name")
    p.add_argument("--lang", default="fr", help="two-letter language (default fr)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter value; repeat for each",
    )
    p.add_argument(
        "--recipients", type=positive_int, default=1, help="recipients, for the cost (default 1)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object")
