"""The sign-up pages over HTTP (no browser): subscribe, codes, limits, CSRF, manage, leave."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import asyncpg
import pytest
from structlog.testing import capture_logs

from alertd.config import Config
from tests.web.client import Resident
from tests.web.site import Site, site

PHONE = "+33612345678"
OTHER = "+33698765432"


@pytest.fixture
async def signup(config: Config, loaded: asyncpg.Pool) -> AsyncIterator[Site]:
    async with site(config, loaded) as s:
        yield s


@pytest.fixture
async def resident(signup: Site) -> AsyncIterator[Resident]:
    r = Resident(signup.url)
    yield r
    await r.close()


async def _ask_code(r: Resident, phone: str = "06 12 34 56 78", **choices: str) -> str:
    await r.get("/fr/subscribe")
    status, body, _ = await r.post(
        "/fr/subscribe", {"phone": phone, "postcode": "59140", "language": "fr"}
    )
    assert status == 200, body
    form = {"phone": phone, "postcode": "59140", "language": "fr", "consent": "yes"}
    form.update(choices)
    status, body, path = await r.post("/fr/subscribe/choices", form)
    assert (status, path) == (200, "/fr/code"), body
    return body


async def test_a_resident_subscribes_with_the_code_sent_by_sms(
    signup: Site, resident: Resident
) -> None:
    with capture_logs() as logs:
        await _ask_code(resident, topics="dechets")
        code = await signup.phones.code_for(PHONE, 0)
        status, body, path = await resident.post("/fr/code", {"code": code})
    assert (status, path) == (200, "/fr/done"), body
    assert "Dunkerque" in body
    row = await signup.pool.fetchrow(
        "SELECT status, consent_channel, consent_at, topics, postcode FROM subscribers "
        "WHERE phone = $1",
        PHONE,
    )
    assert row is not None
    assert row["status"] == "active"
    assert row["consent_channel"] == "web"
    assert row["consent_at"] == signup.clock.now
    assert row["topics"] == ["dechets"]
    assert row["postcode"] == "59140"
    confirmation = await signup.phones.next_to(PHONE, 1)
    assert "STOP" in confirmation.text
    printed = repr(logs)
    assert code not in printed
    assert "612345678" not in printed


async def test_the_code_is_stored_hashed(signup: Site, resident: Resident) -> None:
    await _ask_code(resident)
    code = await signup.phones.code_for(PHONE, 0)
    stored = await signup.pool.fetchrow("SELECT * FROM signup_flows")
    assert stored is not None
    assert code.encode() not in b"".join(
        v if isinstance(v, bytes) else str(v).encode() for v in stored.values()
    )


async def test_five_wrong_codes_kill_it_and_a_new_code_works(
    signup: Site, resident: Resident
) -> None:
    await _ask_code(resident)
    code = await signup.phones.code_for(PHONE, 0)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        status, body, _ = await resident.post("/fr/code", {"code": wrong})
        assert status == 422
        assert f"Il vous reste {left} essai" in body
    status, body, _ = await resident.post("/fr/code", {"code": wrong})
    assert "Trop d'essais" in body
    status, body, _ = await resident.post("/fr/code", {"code": code})
    assert status == 422 and "Trop d'essais" in body
    assert await signup.pool.fetchval("SELECT count(*) FROM subscribers") == 0
    status, body, path = await resident.post("/fr/code/new", {})
    assert (status, path) == (200, "/fr/code") and "Un nouveau code a été envoyé" in body
    fresh = await signup.phones.code_for(PHONE, 1)
    status, _, path = await resident.post("/fr/code", {"code": fresh})
    assert path == "/fr/done"


async def test_a_code_expires_after_ten_minutes(signup: Site, resident: Resident) -> None:
    await _ask_code(resident)
    code = await signup.phones.code_for(PHONE, 0)
    signup.clock.advance(600)
    status, body, _ = await resident.post("/fr/code", {"code": code})
    assert status == 422 and "a expiré" in body
    assert await signup.pool.fetchval("SELECT count(*) FROM subscribers") == 0


async def test_codes_per_number_are_limited(signup: Site, resident: Resident) -> None:
    for _ in range(5):
        await _ask_code(resident)
    form = {"phone": PHONE, "postcode": "59140", "language": "fr", "consent": "yes"}
    status, body, _ = await resident.post("/fr/subscribe/choices", form)
    assert status == 429 and "Trop de codes" in body
    assert len(signup.phones.to(PHONE)) <= 5
    signup.clock.advance(3600)
    await _ask_code(resident)


async def test_a_form_without_its_token_is_refused(signup: Site, resident: Resident) -> None:
    await resident.get("/fr/subscribe")
    resident.csrf = "forged"
    form = {"phone": PHONE, "postcode": "59140", "language": "fr", "consent": "yes"}
    status, body, _ = await resident.post("/fr/subscribe/choices", form)
    assert status == 403 and "un autre site" in body
    assert await signup.pool.fetchval("SELECT count(*) FROM signup_flows") == 0


async def test_a_body_that_is_no_form_is_refused_in_words(signup: Site, resident: Resident) -> None:
    await resident.get("/fr/subscribe")
    headers = {"Content-Type": "multipart/form-data; boundary=x", "Origin": resident.base}
    async with resident.session.post(
        resident.base + "/fr/subscribe", data=b"\x00\xff no boundary here", headers=headers
    ) as response:
        body = await response.text()
    assert response.status == 400 and "Rechargez la page" in html.unescape(body)
    assert await signup.pool.fetchval("SELECT count(*) FROM signup_flows") == 0


async def test_bad_input_is_said_next_to_the_field(signup: Site, resident: Resident) -> None:
    await resident.get("/en/subscribe")
    status, body, _ = await resident.post(
        "/en/subscribe", {"phone": "01 02", "postcode": "99999", "language": "en"}
    )
    assert status == 422
    assert 'aria-describedby="phone-hint phone-error"' in body
    assert "Enter a mobile number" in body
    assert "This postcode is not covered" in body and "59140" in body
    assert 'class="error-summary"' in body


async def test_a_shared_postcode_asks_for_the_commune(signup: Site, resident: Resident) -> None:
    await resident.get("/fr/subscribe")
    form = {"phone": PHONE, "postcode": "59279", "language": "fr"}
    status, body, _ = await resident.post("/fr/subscribe", form)
    assert status == 200 and 'name="commune"' in body
    status, body, _ = await resident.post("/fr/subscribe/choices", {**form, "consent": "yes"})
    assert status == 422 and "Choisissez votre commune" in body


async def test_manage_answers_the_same_whether_or_not_the_number_is_subscribed(
    signup: Site, resident: Resident
) -> None:
    await _ask_code(resident)
    await resident.post("/fr/code", {"code": await signup.phones.code_for(PHONE, 0)})
    answers = []
    for phone in (PHONE, OTHER):
        other = Resident(signup.url)
        await other.get("/fr/manage")
        status, body, path = await other.post("/fr/manage", {"phone": phone})
        answers.append((status, path, body.replace(other.csrf, "")))
        await other.close()
    assert answers[0] == answers[1]
    assert "Étape" not in answers[0][2]  # managing is not the sign-up's third step
    assert len(signup.phones.to(OTHER)) == 1  # only its owner learns it is not subscribed


async def test_manage_change_language_download_and_leave(signup: Site, resident: Resident) -> None:
    await _ask_code(resident)
    await resident.post("/fr/code", {"code": await signup.phones.code_for(PHONE, 0)})
    status, body, path = await resident.post(
        "/fr/account", [("postcode", "59140"), ("language", "en"), ("topics", "travaux")]
    )
    assert (status, path) == (200, "/fr/account") and "enregistrés" in body
    row = await signup.pool.fetchrow("SELECT language, topics FROM subscribers")
    assert row is not None and (row["language"], row["topics"]) == ("en", ["travaux"])
    status, held = await resident.get("/fr/account/data.json")
    assert status == 200 and PHONE in held
    status, body, path = await resident.post("/fr/account/leave", {})
    assert path == "/fr/left"
    assert await signup.pool.fetchval("SELECT status FROM subscribers") == "stopped"
    goodbye = signup.phones.to(PHONE)[-1]
    assert "STOP" not in goodbye.text or "no longer" in goodbye.text or goodbye.text
    status, _ = await resident.get("/fr/account")
    assert status == 401


async def test_pages_carry_security_headers(signup: Site, resident: Resident) -> None:
    async with resident.session.get(signup.url + "/fr/") as response:
        csp = response.headers["Content-Security-Policy"]
        assert "script-src" not in csp and "default-src 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
    status, body = await resident.get("/fr/nowhere")
    assert status == 404 and "introuvable" in body


async def test_codes_per_address_and_per_tenant_are_limited(
    config: Config, loaded: asyncpg.Pool
) -> None:
    async with site(config, loaded, per_ip_hour=2) as s:
        r = Resident(s.url)
        await _ask_code(r, "06 11 11 11 11")
        await _ask_code(r, "06 22 22 22 22")
        form = {"phone": "0633333333", "postcode": "59140", "language": "fr", "consent": "yes"}
        status, body, _ = await r.post("/fr/subscribe/choices", form)
        assert status == 429 and "Trop de codes" in body
        await r.close()
        assert s.phones.to("+33633333333") == []
    async with site(config, loaded, per_tenant_hour=1) as s:
        r = Resident(s.url)
        await _ask_code(r, "06 44 44 44 44")
        form = {"phone": "0655555555", "postcode": "59140", "language": "fr", "consent": "yes"}
        status, _, _ = await r.post("/fr/subscribe/choices", form)
        assert status == 429
        await r.close()


async def test_the_code_goes_through_the_next_gateway_when_the_first_is_down(
    config: Config, loaded: asyncpg.Pool
) -> None:
    async with site(config, loaded, down_first=True) as s:
        r = Resident(s.url)
        await _ask_code(r)
        code = await s.phones.code_for(PHONE, 0)
        status, _, path = await r.post("/fr/code", {"code": code})
        await r.close()
    assert (status, path) == (200, "/fr/done")
