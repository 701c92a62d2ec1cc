"""What the pages keep between requests for speed: placements and topics (a few seconds, never
longer), pages with nothing typed in them (never another browser's CSRF field), the code's SMS
text (the same as rendered afresh)."""

from __future__ import annotations

import asyncpg
import pytest

from alertd.config import Config
from alertd.subscribers import enrol
from alertd.web.places import Places
from alertd.web.sender import CodeSender
from templates import Catalog
from tests.web.client import Resident
from tests.web.site import site


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _topics_of(pool: asyncpg.Pool, code: str, topics: list[str]) -> int:
    return int(
        await pool.fetchval(
            "UPDATE tenants SET topics = $2 WHERE code = $1 RETURNING id", code, topics
        )
    )


async def test_topics_and_placements_are_kept_for_the_ttl_and_no_longer(
    loaded: asyncpg.Pool,
) -> None:
    ticks = Ticks()
    places = Places(loaded, ttl_s=10.0, clock=ticks)
    placed = await places.place("59140")
    assert placed == await enrol.place(loaded, "59140")
    before = await places.topics(placed.tenant_id)
    assert await _topics_of(loaded, placed.tenant_code, ["eau"]) == placed.tenant_id
    ticks.now += 9.0
    assert await places.topics(placed.tenant_id) == before  # kept, within the TTL
    ticks.now += 1.5
    assert await places.topics(placed.tenant_id) == ("eau",)  # read again after it


async def test_a_postcode_not_served_is_looked_up_again_each_time(loaded: asyncpg.Pool) -> None:
    places = Places(loaded, clock=Ticks())
    with pytest.raises(enrol.NotServedError) as first:
        await places.place("75001")
    assert "59140" in first.value.served
    await loaded.execute(
        "UPDATE tenants SET postcodes = postcodes || '{75001}' WHERE code = '59183'"
    )
    assert (await places.place("75001")).tenant_code == "59183"  # served now: no wait


async def test_shared_postcodes_are_placed_as_the_core_places_them(loaded: asyncpg.Pool) -> None:
    places = Places(loaded, clock=Ticks())
    for postcode, commune in [("59279", None), ("59279", "loon plage"), ("59820", "Paris")]:
        assert await places.place(postcode, commune) == await enrol.place(loaded, postcode, commune)
    assert await places.place(" 59 279") == await places.place("59279")  # one entry, kept


async def test_a_kept_page_carries_each_browser_its_own_csrf_field(
    config: Config, loaded: asyncpg.Pool
) -> None:
    async with site(config, loaded) as s:
        one, two = Resident(s.url), Resident(s.url)
        try:
            status_one, page_one = await one.get("/fr/subscribe")
            status_two, page_two = await two.get("/fr/subscribe")
            assert status_one == status_two == 200
            assert one.csrf and two.csrf and one.csrf != two.csrf
            assert page_one.replace(one.csrf, "") == page_two.replace(two.csrf, "")
            assert "@@" not in page_one
            # Each browser's field is the one its own form needs.
            form = {"phone": "06 12 34 56 78", "postcode": "59140", "language": "fr"}
            assert (await two.post("/fr/subscribe", form))[0] == 200
            one.csrf = two.csrf
            assert (await one.post("/fr/subscribe", form))[0] == 403
        finally:
            await one.close()
            await two.close()


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("sender", ["Dunkerque", "Téteghem-Coudekerque-Village", "Loon § 1"])
def test_the_code_sms_is_the_text_rendered_afresh(
    config: Config, language: str, sender: str
) -> None:
    catalog = Catalog(config.templates.directory)
    sender_ = CodeSender([], catalog)
    for code in ("042917", "999999", "000000"):
        fresh = catalog.get("subscription_code", language).render({"code": code, "sender": sender})
        assert sender_.text(code, language, sender) == fresh.to_send
