"""The choices page, the step every resident passes, is rendered once per place and filled in
with what it echoes: the page a resident gets is, to the byte, the one rendered for them."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp.test_utils import make_mocked_request

from alertd.config import Config
from alertd.web.app import create_app
from alertd.web.pages import KEY, NONCE, RENDERED, page
from alertd.web.sender import CodeSender
from templates import Catalog

CONTEXT: dict[str, Any] = {
    "place_name": "Dunkerque",
    "communes": [("59183", "Dunkerque")],
    "offered": [("dechets", "Collecte des déchets")],
    "chosen": frozenset(),
}


def _page(app: Any, values: dict[str, str], *, kept: bool) -> str:
    request = make_mocked_request("POST", "/fr/subscribe", app=app)
    request[NONCE] = "nonce"
    if kept:
        answer = page(
            request,
            "choices.html",
            title="Choix",
            reusable=True,
            echoed=values,
            values=values,
            **CONTEXT,
        )
    else:
        answer = page(request, "choices.html", title="Choix", values=values, **CONTEXT)
    assert answer.text is not None
    return answer.text


async def test_each_resident_gets_the_page_rendered_for_them(
    config: Config, loaded: asyncpg.Pool
) -> None:
    app = create_app(config, loaded, CodeSender([], Catalog()))
    app[KEY] = b"k" * 32
    first = {"phone": "06 12 34 56 78", "postcode": "59140", "language": "fr"}
    # Not a phone the form lets through, but the escaping must match the template's all the same.
    odd = {"phone": "<b>\"06\" & '07'</b>", "postcode": "59240", "language": "en"}
    for values in (first, odd, first):
        assert _page(app, values, kept=True) == _page(app, values, kept=False)
    assert 'value="06 12 34 56 78"' in _page(app, first, kept=True)
    assert "&lt;b&gt;" in _page(app, odd, kept=True)
    assert "06 12 34 56 78" not in _page(app, odd, kept=True)
    assert len(app[RENDERED]) == 1  # one page kept for the place, whoever the resident
