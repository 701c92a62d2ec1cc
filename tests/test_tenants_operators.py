from __future__ import annotations

import asyncpg
import pytest

from alertd import operators, tenants
from alertd.errors import ConflictError, InputError, NotFoundError
from alertd.jsonable import jsonable_object


async def test_sample_territory_loads_once(pool: asyncpg.Pool) -> None:
    first = await tenants.load_territory(pool, "test")
    assert len(first["created"]) == 18
    second = await tenants.load_territory(pool, "test")
    assert second == {"created": [], "updated": [], "unchanged": first["created"]}
    dunkerque = await tenants.get_tenant(pool, "59183")
    assert dunkerque["name"] == "Dunkerque"
    assert dunkerque["parent_code"] == "245900428"
    assert "59140" in dunkerque["postcodes"]
    territory = await tenants.territory_postcodes(
        pool, (await tenants.get_tenant(pool, "245900428"))["id"]
    )
    assert {"59140", "59820", "59123", "59630"} <= territory


async def test_reload_keeps_a_tenant_threshold(pool: asyncpg.Pool) -> None:
    await tenants.load_territory(pool, "test")
    await tenants.update_tenant(pool, "59183", "test", approval_threshold=250)
    await tenants.load_territory(pool, "test")
    assert (await tenants.get_tenant(pool, "59183"))["approval_threshold"] == 250


async def test_create_commune_under_intercommunality(pool: asyncpg.Pool) -> None:
    parent = tenants.TenantSpec(code="245900428", kind="intercommunality", name="CUD")
    await tenants.create_tenant(pool, parent, "test")
    row = await tenants.create_tenant(
        pool,
        tenants.TenantSpec(
            code="59183",
            kind="commune",
            name="Dunkerque",
            parent_code="245900428",
            postcodes=("59140",),
            approval_threshold=2000,
        ),
        "test",
    )
    assert row.parent_id is not None and row.approval_threshold == 2000
    assert (row.code, row.kind, row.postcodes) == ("59183", "commune", ("59140",))
    with pytest.raises(ConflictError, match="already exists"):
        await tenants.create_tenant(pool, parent, "test")
    with pytest.raises(NotFoundError, match="parent tenant 245900000"):
        await tenants.create_tenant(
            pool,
            tenants.TenantSpec(
                code="59273", kind="commune", name="Gravelines", parent_code="245900000"
            ),
            "test",
        )
    actions = [r["action"] for r in await pool.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["tenant.create", "tenant.create"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"code": "5918", "kind": "commune"}, "not an INSEE code"),
        ({"code": "59183", "kind": "intercommunality"}, "not a SIREN"),
        ({"code": "59183", "kind": "village"}, "not one of"),
        ({"code": "59183", "kind": "commune", "postcodes": ("5914",)}, "not five digits"),
        ({"code": "59183", "kind": "commune", "name": " "}, "1 to 200 characters"),
    ],
)
def test_bad_tenant_specs(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        tenants.TenantSpec(**{"name": "X", **kwargs})  # type: ignore[arg-type]


async def test_operator_token_shown_once_stored_hashed(loaded: asyncpg.Pool) -> None:
    new = await operators.create_operator(
        loaded,
        tenant_code="59183",
        name="Astreinte",
        role="approver",
        email="person1@example.org",
        actor="test",
    )
    assert (new.name, new.role, new.tenant) == ("Astreinte", "approver", "59183")
    assert new.token.startswith("alertd_") and len(new.token) > 40
    stored = await loaded.fetchrow("SELECT * FROM operators WHERE id = $1", new.id)
    assert stored["token_hash"] == operators.hash_token(new.token)
    assert new.token not in str(dict(stored))
    who = await operators.authenticate(loaded, new.token)
    assert who is not None and (who.name, who.role, who.tenant_code) == (
        "Astreinte",
        "approver",
        "59183",
    )
    assert await operators.authenticate(loaded, new.token + "x") is None


async def test_rotate_and_disable(loaded: asyncpg.Pool) -> None:
    old = await operators.create_operator(
        loaded,
        tenant_code="59183",
        name="A",
        role="operator",
        email="person2@example.org",
        actor="test",
    )
    new = await operators.rotate_token(loaded, old.id, "test")
    assert await operators.authenticate(loaded, old.token) is None
    assert await operators.authenticate(loaded, new.token) is not None
    await operators.disable_operator(loaded, old.id, "test")
    assert await operators.authenticate(loaded, new.token) is None
    with pytest.raises(NotFoundError):
        await operators.disable_operator(loaded, old.id, "test")


async def test_list_json_keys_stay_those_the_readme_shows(loaded: asyncpg.Pool) -> None:
    await operators.create_operator(
        loaded,
        tenant_code="59183",
        name="A",
        role="operator",
        email="person3@example.org",
        actor="test",
    )
    (listed,) = await operators.list_operators(loaded, "59183")
    assert list(jsonable_object(listed)) == [
        "id",
        "tenant_code",
        "name",
        "email",
        "role",
        "token_prefix",
        "created_at",
        "last_used_at",
        "disabled_at",
    ]
    first = (await tenants.list_tenants(loaded))[0]
    assert jsonable_object(first) == {
        "code": "245900428",
        "kind": "intercommunality",
        "name": "Communauté urbaine de Dunkerque",
        "parent_code": None,
        "postcodes": [],
        "approval_threshold": 5000,
        "active_subscribers": 0,
        "operators": 0,
        "stop_words": [
            "STOP",
            "ARRET",
            "STOPSMS",
            "UNSUBSCRIBE",
            "DESABONNEMENT",
            "DESINSCRIPTION",
        ],
        "subscribe_words": ["ALERTE", "INSCRIPTION", "START"],
        "help_words": ["AIDE", "HELP", "INFO"],
        "language_words": ["LANGUE", "LANGUAGE"],
    }


async def test_operator_for_unknown_tenant_or_role(loaded: asyncpg.Pool) -> None:
    with pytest.raises(NotFoundError):
        await operators.create_operator(
            loaded,
            tenant_code="00000",
            name="A",
            role="operator",
            email="person4@example.org",
            actor="test",
        )
    with pytest.raises(InputError, match="role 'boss'"):
        await operators.create_operator(
            loaded,
            tenant_code="59183",
            name="A",
            role="boss",
            email="person5@example.org",
            actor="test",
        )
    assert await loaded.fetchval("SELECT count(*) FROM operators") == 0


def test_stop_words_are_normalised_and_stop_cannot_be_dropped() -> None:
    assert tenants.parse_stop_words(" stop, Arrêt,fin,, STOP") == ("ARRET", "FIN", "STOP")
    with pytest.raises(InputError, match="must include STOP"):
        tenants.parse_stop_words("arret,fin")
    with pytest.raises(InputError, match="'st0p' is not a word of letters only"):
        tenants.parse_stop_words("stop,st0p")
    with pytest.raises(InputError, match="letters only"):
        tenants.parse_stop_words("stop,fin merci")


async def test_a_tenant_stop_words_are_updated_listed_and_audited(pool: asyncpg.Pool) -> None:
    await tenants.load_territory(pool, "test")
    before = {t.code: t.stop_words for t in await tenants.list_tenants(pool)}
    assert before["59183"] == (
        "STOP",
        "ARRET",
        "STOPSMS",
        "UNSUBSCRIBE",
        "DESABONNEMENT",
        "DESINSCRIPTION",
    )
    row = await tenants.update_tenant(pool, "59183", "test", stop_words=("stop", "Fin"))
    assert row.stop_words == ("FIN", "STOP")
    after = {t.code: t.stop_words for t in await tenants.list_tenants(pool)}
    assert after["59183"] == ("FIN", "STOP") and after["59273"] == before["59273"]
    with pytest.raises(InputError, match="must include STOP"):
        await tenants.update_tenant(pool, "59183", "test", stop_words=("FIN",))
    details = await pool.fetchval(
        "SELECT details FROM audit_log WHERE action = 'tenant.update' ORDER BY id DESC LIMIT 1"
    )
    assert details["stop_words"] == ["FIN", "STOP"]


async def test_a_stop_word_that_is_a_keyword_is_refused_and_nothing_changes(
    pool: asyncpg.Pool,
) -> None:
    """ALERTE as a STOP word: a resident texting ALERTE 59140 to subscribe was unsubscribed
    (STOP is read first). The keywords' own change refused the clash; this path did not."""
    await tenants.load_territory(pool, "test")
    before = await pool.fetchval("SELECT stop_words FROM tenants WHERE code = '59183'")
    audited = await pool.fetchval("SELECT count(*) FROM audit_log")
    for word, lists in (("alerte", "subscribe"), ("Aide", "help")):
        with pytest.raises(InputError, match=rf"STOP word {word.upper()} is also one of .*{lists}"):
            await tenants.update_tenant(pool, "59183", "test", stop_words=("STOP", word))
    assert await pool.fetchval("SELECT stop_words FROM tenants WHERE code = '59183'") == before
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == audited


async def test_the_database_refuses_stop_words_without_stop_or_not_normalised(
    pool: asyncpg.Pool,
) -> None:
    await tenants.load_territory(pool, "test")
    for words in (["ARRET"], ["STOP", "arret"], ["STOP", "ARRÊT"], ["STOP", None], []):
        with pytest.raises(asyncpg.CheckViolationError):
            await pool.execute("UPDATE tenants SET stop_words = $1 WHERE code = '59183'", words)
