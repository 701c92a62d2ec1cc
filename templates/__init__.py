"""Alert message templates and the SMS text rules (GSM-7/UCS-2, segments, transliteration, cost).
Pure; never imports alertd."""

from templates.catalog import FALLBACK_LANGUAGE, Catalog
from templates.cost import cost, costs
from templates.render import Rendered, Template, TemplateError, parse_template
from templates.sms import GSM7, UCS2, TextInfo, analyse, segments, split
from templates.translit import Transliteration, transliterate

__all__ = [
    "FALLBACK_LANGUAGE",
    "GSM7",
    "UCS2",
    "Catalog",
    "Rendered",
    "Template",
    "TemplateError",
    "TextInfo",
    "Transliteration",
    "analyse",
    "cost",
    "costs",
    "parse_template",
    "segments",
    "split",
    "transliterate",
]
