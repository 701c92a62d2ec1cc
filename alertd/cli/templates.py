"""CLI commands for message templates: list them, preview one with real parameters."""

from __future__ import annotations

import argparse

from alertd.alerts.texts import TemplateLine, TemplatePreview, describe, template_lines
from alertd.cli.util import command, out, out_json, positive_int, subcommands, table
from alertd.config import Config, TemplatesConfig
from alertd.errors import InputError
from templates import Catalog, TemplateError


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


async def templates_list(args: argparse.Namespace, config: Config) -> int:
    found = catalog(config.templates)
    if args.json:
        out_json(template_lines(found))
        return 0
    print_template_lines(template_lines(found))
    return 0


def print_template_lines(lines: list[TemplateLine]) -> None:
    """One row per template, its languages together; severity and parameters of the French."""
    names = sorted({t.name for t in lines})
    langs = {n: sorted(t.lang for t in lines if t.name == n) for n in names}
    french = {t.name: t for t in lines if t.lang == "fr"}
    rows = [
        (
            n,
            ",".join(langs[n]),
            french[n].severity,
            french[n].max_segments,
            ", ".join(french[n].params),
        )
        for n in names
    ]
    table(rows, ("NAME", "LANGUAGES", "SEVERITY", "MAX SEGMENTS", "PARAMETERS"))


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
    print_template_preview(report, template.lang != args.lang)
    return 0


def print_template_preview(report: TemplatePreview, fell_back: bool) -> None:
    if fell_back:
        out(f"(no {report.name} template in that language: the French one is shown)")
    out(report.text)
    out("")
    unit = "septets" if report.encoding == "GSM-7" else "UTF-16 units"
    out(
        f"{report.encoding}, {report.units} {unit}, {report.segments} segment(s) "
        f"(the template allows {report.max_segments})"
    )
    if report.ucs2_chars:
        out(f"UCS-2 because of: {' '.join(report.ucs2_chars)}")
    if report.extension_chars:
        out(f"two septets each: {' '.join(report.extension_chars)}")
    if report.transliterated_text:
        out(
            f"transliterated to GSM-7, {report.transliterated_segments} segment(s) "
            "(this is what would be sent):"
        )
        out(report.transliterated_text)
    if report.over_limit:
        out(
            f"TOO LONG: {report.segments_to_send} segments, the template allows "
            f"{report.max_segments}: shorten the parameters"
        )
    for gateway, eur in report.cost_eur.items():
        out(f"cost through {gateway}: {eur} EUR for {report.recipients} recipient(s)")


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
