"""The sign-up pages in headless chromium: a resident signs up, the code arrives through the fake
gateway, they confirm, change language, leave; wrong code, expired code, rate limit; the keyboard
alone works; axe-core finds no WCAG 2.1 A or AA violation on any page.

Screenshots: ALERTD_SCREENSHOTS=docs/screenshots (see `make screenshots`) writes them there."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from alertd.config import Config
from tests.web.site import Site, site

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
  });
  return result.violations.map(
    v => `${v.id}: ${v.help} at ${v.nodes.map(n => n.target).join(', ')}`);
}"""
PHONE = "+33612345678"
SHOTS = os.environ.get("ALERTD_SCREENSHOTS", "")
if SHOTS:
    Path(SHOTS).mkdir(parents=True, exist_ok=True)


@pytest.fixture
async def signup(config: Config, loaded: asyncpg.Pool) -> AsyncIterator[Site]:
    async with site(config, loaded) as s:
        yield s


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport={"width": 800, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(10_000)
    yield page
    await context.close()


async def checked(page: Any, shot: str | None = None) -> None:
    """No axe violation at level A or AA on the page as it is; a screenshot if asked."""
    # Through the DevTools protocol, not a <script> tag: the pages' CSP forbids every script.
    await page.evaluate(AXE)
    violations = await page.evaluate(AXE_RUN)
    assert violations == [], f"{page.url}: {violations}"
    if SHOTS and shot:
        await page.screenshot(path=str(Path(SHOTS) / f"{shot}.png"), full_page=True)


async def _to_code(page: Any, signup: Site, lang: str = "fr") -> None:
    await page.goto(f"{signup.url}/{lang}/subscribe")
    await page.fill("#phone", "06 12 34 56 78")
    await page.fill("#postcode", "59140")
    await page.click("button[type=submit]")
    await page.check("#consent")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/code")


async def test_a_resident_signs_up_changes_language_and_leaves(page: Any, signup: Site) -> None:
    await page.goto(f"{signup.url}/fr/")
    assert await page.get_attribute("html", "lang") == "fr"
    await checked(page, "1-home")
    await page.click("text=M'inscrire")
    await page.fill("#phone", "06 12 34 56 78")
    await page.fill("#postcode", "59140")
    await checked(page, "2-subscribe")
    await page.click("button[type=submit]")
    await page.check("#topic-dechets")
    await page.check("#consent")
    await checked(page, "3-choices")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/fr/code")
    await checked(page, "4-code")
    code = await signup.phones.code_for(PHONE, 0)
    await page.fill("#code", code)
    await page.click("text=Valider")
    await page.wait_for_url("**/fr/done")
    await checked(page, "5-done")
    await page.click("text=Voir ou changer mon inscription")
    await page.wait_for_url("**/fr/account")
    await page.check("#language-en")
    await page.click("text=Enregistrer")
    await page.wait_for_url("**/fr/account?saved=1")
    await checked(page, "6-account")
    assert await signup.pool.fetchval("SELECT language FROM subscribers") == "en"
    await page.click("a[hreflang=en]")
    assert await page.get_attribute("html", "lang") == "en"
    await page.click("button.danger")
    await page.wait_for_url("**/en/left")
    await checked(page, "7-left")
    assert await signup.pool.fetchval("SELECT status FROM subscribers") == "stopped"


async def test_errors_are_summed_up_with_focus_and_said_next_to_each_field(
    page: Any, signup: Site
) -> None:
    await page.goto(f"{signup.url}/en/subscribe")
    await page.fill("#phone", "12")
    await page.click("button[type=submit]")
    await page.wait_for_selector(".error-summary")
    focused = await page.evaluate("document.activeElement.className")
    assert focused == "error-summary"
    assert await page.get_attribute("#phone", "aria-describedby") == "phone-hint phone-error"
    assert await page.get_attribute("#phone", "aria-invalid") == "true"
    assert (await page.title()).startswith("Error:")
    await checked(page, "8-errors")


async def test_the_keyboard_alone_signs_up(page: Any, signup: Site) -> None:
    await page.goto(f"{signup.url}/fr/subscribe")
    await page.keyboard.press("Tab")  # the skip link
    await page.keyboard.press("Tab")  # the site's name
    await page.keyboard.press("Tab")  # the language switch
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "phone"
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
    await page.keyboard.type("0612345678")
    await page.keyboard.press("Tab")
    await page.keyboard.type("59140")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#consent")
    await page.focus("#consent")
    await page.keyboard.press("Space")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/fr/code")


async def test_a_wrong_code_then_an_expired_one_then_a_new_one(page: Any, signup: Site) -> None:
    await _to_code(page, signup)
    code = await signup.phones.code_for(PHONE, 0)
    await page.fill("#code", f"{(int(code) + 1) % 1_000_000:06d}")
    await page.click("text=Valider")
    assert "Il vous reste 4 essai" in await page.inner_text("#code-error")
    await checked(page, "9-wrong-code")
    signup.clock.advance(601)
    await page.fill("#code", code)
    await page.click("text=Valider")
    assert "expiré" in await page.inner_text("#code-error")
    await page.click("text=Recevoir un nouveau code")
    await page.wait_for_url("**/fr/code?new=1")
    fresh = await signup.phones.code_for(PHONE, 1)
    await page.fill("#code", fresh)
    await page.click("text=Valider")
    await page.wait_for_url("**/fr/done")


async def test_too_many_codes_are_refused(page: Any, config: Config, loaded: asyncpg.Pool) -> None:
    async with site(config, loaded, per_number_hour=1) as limited:
        await _to_code(page, limited)
        await page.click("text=Recevoir un nouveau code")
        assert "Trop de codes" in await page.inner_text(".error-summary")
        await checked(page, "10-limited")
        assert len(limited.phones.to(PHONE)) == 1
