"""The alert lifecycle on a real PostgreSQL: roles, territories, approval, updates, all-clear,
cancellation and exercises, with the fake gateway where something is sent."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest

from alertd.alerts import followups, lifecycle, status
from alertd.delivery import outbox
from alertd.delivery.dispatch import Dispatcher, DispatchSettings
from alertd.errors import ConflictError, ForbiddenError, InputError
from alertd.jsonable import jsonable_object
from gateways.fake import FakeGateway
from tests.support.alert_world import DUNKERQUE, PARAMS, World, build_world, circle, draft

NEAR_ZONE = circle(DUNKERQUE, 500)  # the near residents
WIDE_ZONE = circle(DUNKERQUE, 2_500)  # near and ring
NOW = DispatchSettings(backoff_base_s=0, backoff_max_s=0)


@pytest.fixture
async def world(loaded: asyncpg.Pool) -> World:
    return await build_world(loaded)


async def recipients_of(pool: asyncpg.Pool, alert_id: int) -> set[int]:
    rows = await pool.fetch("SELECT subscriber_id FROM deliveries WHERE alert_id = $1", alert_id)
    return {r["subscriber_id"] for r in rows}


async def sent(w: World, zone: dict[str, object] | None = None, **changes: object) -> int:
    alert_id = await lifecycle.create(w.ctx, w.officer, draft(zone or NEAR_ZONE, **changes), "t")
    result = await lifecycle.send(w.ctx, w.officer, alert_id, "t")
    assert result.status == "sent"
    return alert_id


async def test_preview_counts_texts_cost_and_time(world: World) -> None:
    prices = {"ovh": Decimal("0.045")}
    ctx = lifecycle.Context(world.ctx.pool, world.ctx.catalog, None, prices, rate=20.0)
    alert_id = await lifecycle.create(ctx, world.officer, draft(NEAR_ZONE), "t")
    report = await lifecycle.preview(ctx, world.officer, alert_id)
    assert (report.recipients, report.by_address, report.by_postcode) == (40, 40, 0)
    assert report.by_language == {"en": 4, "fr": 36}
    texts = {t.lang: t for t in report.texts}
    assert texts["fr"].text.startswith("ALERTE SUBMERSION MARINE Dunkerque")
    assert texts["en"].text != texts["fr"].text
    segments = 36 * texts["fr"].segments + 4 * texts["en"].segments
    assert report.segments == segments
    assert report.eta_seconds == round(segments / 20, 1)
    assert report.cost_eur == {"ovh": str((Decimal("0.045") * segments).quantize(Decimal("0.01")))}
    assert report.needs_approval is False
    assert await world.ctx.pool.fetchval("SELECT status FROM deliveries LIMIT 1") is None


async def test_roles_and_territories_are_enforced(world: World) -> None:
    with pytest.raises(ForbiddenError, match="needs the operator role"):
        await lifecycle.create(world.ctx, world.viewer, draft(NEAR_ZONE), "t")
    with pytest.raises(ForbiddenError, match="cannot alert the residents of Dunkerque"):
        await lifecycle.create(
            world.ctx, world.gravelines, draft(NEAR_ZONE, tenant_code="59183"), "t"
        )
    alert_id = await sent(world)
    with pytest.raises(ForbiddenError, match="outside the territory"):
        await status.status(world.ctx, world.gravelines, alert_id)
    assert await status.list_alerts(world.ctx, world.gravelines, 10) == []
    # Gravelines draws a zone over Dunkerque: it still reaches only Gravelines' residents
    # (nobody: refused, since nothing would be sent).
    with pytest.raises(InputError, match="would reach nobody"):
        await lifecycle.create(world.ctx, world.gravelines, draft(WIDE_ZONE), "t")
    # The intercommunality reaches everyone and reads every alert.
    assert (await status.status(world.ctx, world.cud, alert_id)).recipients == 40


async def test_status_and_list_json_keys_stay_those_the_readme_shows(world: World) -> None:
    alert_id = await sent(world)
    await followups.update(world.ctx, world.officer, alert_id, params={"message": "m"}, actor="t")
    shown = jsonable_object(await status.status(world.ctx, world.officer, alert_id))
    assert list(shown) == [
        "alert",
        "kind",
        "parent",
        "tenant",
        "hazard",
        "severity",
        "exercise",
        "status",
        "recipients",
        "created_by",
        "approved_by",
        "sent_at",
        "expires_at",
        "progress",
        "followups",
        "enqueue",
        "written",
        "daemons",
        "timezone",
        "cancelled_at",
        "note",
    ]
    assert shown["note"] is None  # no fake gateway here
    assert shown["progress"] == {"queued": 40, "in_doubt": 0, "rerouted": 0}
    assert shown["followups"] == [
        {
            "id": alert_id + 1,
            "message_kind": "update",
            "status": "sent",
            "recipients": 40,
            "progress": {"queued": 40, "in_doubt": 0, "rerouted": 0},
        }
    ]
    line = jsonable_object((await status.list_alerts(world.ctx, world.officer, 1))[0])
    assert list(line) == [
        "id",
        "parent_id",
        "message_kind",
        "hazard",
        "severity",
        "exercise",
        "status",
        "recipients",
        "created_at",
        "sent_at",
        "tenant_code",
        "sent",
        "timezone",
    ]
    assert line["sent"] == "0"  # numeric in PostgreSQL: text in JSON, as it always was


async def test_a_communes_zone_is_not_anothers(world: World) -> None:
    zone_id = await world.ctx.pool.fetchval(
        "INSERT INTO zones (tenant_id, kind, name, geometry) "
        "VALUES ((SELECT id FROM tenants WHERE code = '59273'), 'flood', 'Aa', $1) RETURNING id",
        circle(DUNKERQUE, 500),
    )
    spec = lifecycle.Draft(template="submersion", params=PARAMS, zone_ids=[zone_id])
    with pytest.raises(ForbiddenError, match="another territory"):
        await lifecycle.create(world.ctx, world.officer, spec, "t")


async def test_above_the_threshold_a_second_operator_approves(world: World) -> None:
    pool = world.ctx.pool
    await pool.execute("UPDATE tenants SET approval_threshold = 10 WHERE code = '59183'")
    alert_id = await lifecycle.create(world.ctx, world.approver, draft(NEAR_ZONE), "t")
    asked = await lifecycle.send(world.ctx, world.approver, alert_id, "t")
    assert (asked.status, asked.recipients) == ("pending_approval", 40)
    assert await recipients_of(pool, alert_id) == set()
    with pytest.raises(ForbiddenError, match="nobody approves their own alert"):
        await lifecycle.approve(world.ctx, world.approver, alert_id, "t")
    with pytest.raises(ForbiddenError, match="needs the approver role"):
        await lifecycle.approve(world.ctx, world.officer, alert_id, "t")
    done = await lifecycle.approve(world.ctx, world.cud, alert_id, "t")
    assert done is not None and done.written == 40
    assert await recipients_of(pool, alert_id) == set(world.near)
    actions = [
        r["action"]
        for r in await pool.fetch(
            "SELECT action FROM audit_log WHERE target = $1 ORDER BY id", f"alert:{alert_id}"
        )
    ]
    assert actions == ["alert.create", "alert.approval_requested", "alert.approve", "alert.send"]


async def test_an_update_reaches_exactly_the_original_recipients(world: World) -> None:
    alert_id = await sent(world)
    await world.ctx.pool.execute(
        "UPDATE subscribers SET status = 'stopped' WHERE id = $1", world.near[0]
    )  # said STOP after the alert
    result = await followups.update(
        world.ctx, world.officer, alert_id, params={"message": "la digue tient"}, actor="t"
    )
    assert result.update_id is not None
    assert await recipients_of(world.ctx.pool, result.update_id) == set(world.near[1:])
    assert (result.all_clear_id, result.newcomers) == (None, 0)


async def test_an_enlarged_zone_reaches_only_the_newcomers_with_the_alert(world: World) -> None:
    alert_id = await sent(world)
    result = await followups.update(
        world.ctx,
        world.officer,
        alert_id,
        params={"message": "la zone s'étend"},
        geometry=WIDE_ZONE,
        actor="t",
    )
    assert result.newcomers == len(world.ring)
    assert await recipients_of(world.ctx.pool, alert_id) == set(world.near + world.ring)
    assert result.update_id is not None
    assert await recipients_of(world.ctx.pool, result.update_id) == set(world.near)


async def test_a_shrunk_zone_releases_those_outside_with_an_all_clear(world: World) -> None:
    alert_id = await sent(world, WIDE_ZONE)
    result = await followups.update(
        world.ctx,
        world.officer,
        alert_id,
        params={"message": "la zone se réduit"},
        geometry=NEAR_ZONE,
        actor="t",
    )
    assert result.all_clear_id is not None and result.update_id is not None
    assert await recipients_of(world.ctx.pool, result.all_clear_id) == set(world.ring)
    assert await recipients_of(world.ctx.pool, result.update_id) == set(world.near)
    # The final all-clear goes to those still holding the alert, not twice to the released.
    await world.ctx.pool.execute("UPDATE deliveries SET status = 'delivered'")
    final = await followups.all_clear(world.ctx, world.officer, alert_id, params={}, actor="t")
    assert final.all_clear_id is not None
    assert await recipients_of(world.ctx.pool, final.all_clear_id) == set(world.near)


async def test_the_all_clear_reaches_the_same_set_and_closes_the_alert(world: World) -> None:
    alert_id = await sent(world)
    fake = FakeGateway("fake")
    await Dispatcher(world.ctx.pool, [fake], worker="w", settings=NOW).drain()
    result = await followups.all_clear(world.ctx, world.officer, alert_id, params={}, actor="t")
    assert result.all_clear_id is not None
    await Dispatcher(world.ctx.pool, [fake], worker="w", settings=NOW).drain()
    first, second = fake.received[:40], fake.received[40:]
    assert {m.to for m in first} == {m.to for m in second}
    assert all(m.text.startswith(("FIN D'ALERTE", "ALL CLEAR")) for m in second)
    closed = await status.status(world.ctx, world.officer, alert_id)
    assert closed.status == "closed"
    with pytest.raises(ConflictError, match="only a sent \\(or cancelled\\) alert"):
        await followups.update(
            world.ctx, world.officer, alert_id, params={"message": "x"}, actor="t"
        )


async def test_each_gets_their_language_or_french(world: World) -> None:
    await sent(world, languages=["fr"])  # no English text: English speakers get French
    await sent(world, hazard="submersion-2")
    fake = FakeGateway("fake")
    await Dispatcher(world.ctx.pool, [fake], worker="w", settings=NOW).drain()
    english = {
        r["phone"]
        for r in await world.ctx.pool.fetch("SELECT phone FROM subscribers WHERE language = 'en'")
    }
    texts = [(m.to in english, m.text.split()[0]) for m in fake.received]
    assert texts.count((True, "ALERTE")) == 4  # the French-only alert, fallen back
    assert texts.count((True, "MARINE")) == 4  # the other, in English
    assert {t for e, t in texts if not e} == {"ALERTE"}


async def test_a_cancelled_alert_stops_sending_at_once(world: World) -> None:
    alert_id = await sent(world, WIDE_ZONE)
    result = await followups.cancel(world.ctx, world.officer, alert_id, "t")
    assert result == followups.Cancelled(alerts=1, deliveries_stopped=60)
    fake = FakeGateway("fake")
    assert await Dispatcher(world.ctx.pool, [fake], worker="w", settings=NOW).drain() == 0
    assert fake.received == []
    assert (await outbox.progress(world.ctx.pool, alert_id))["cancelled"] == 60
    with pytest.raises(ConflictError, match="already cancelled"):
        await followups.cancel(world.ctx, world.officer, alert_id, "t")


async def test_an_exercise_never_reaches_a_non_participant(world: World) -> None:
    alert_id = await sent(world, WIDE_ZONE, exercise=True)
    participants = {
        r["id"] for r in await world.ctx.pool.fetch("SELECT id FROM subscribers WHERE exercise")
    }
    reached = await recipients_of(world.ctx.pool, alert_id)
    assert reached and reached <= participants
    fake = FakeGateway("fake")
    await Dispatcher(world.ctx.pool, [fake], worker="w", settings=NOW).drain()
    assert all(m.text.startswith("EXERCICE") for m in fake.received)
    result = await followups.update(
        world.ctx, world.officer, alert_id, params={"message": "fin"}, actor="t"
    )
    assert result.update_id is not None
    assert await recipients_of(world.ctx.pool, result.update_id) <= participants
    listed = await status.list_alerts(world.ctx, world.officer, 10)
    assert [a.exercise for a in listed if a.id == alert_id] == [True]


async def test_bad_drafts_say_what_is_wrong_and_store_nothing(world: World) -> None:
    with pytest.raises(InputError, match="needs --param for: commune"):
        await lifecycle.create(
            world.ctx, world.officer, lifecycle.Draft("submersion", {}, geometry=NEAR_ZONE), "t"
        )
    with pytest.raises(InputError, match="give the alert a zone"):
        await lifecycle.create(world.ctx, world.officer, lifecycle.Draft("submersion", PARAMS), "t")
    with pytest.raises(InputError, match="no template 'tsunami'"):
        await lifecycle.create(
            world.ctx, world.officer, lifecycle.Draft("tsunami", PARAMS, geometry=NEAR_ZONE), "t"
        )
    assert await world.ctx.pool.fetchval("SELECT count(*) FROM alerts") == 0


async def test_a_bad_follow_up_sends_nothing(world: World) -> None:
    alert_id = await sent(world, WIDE_ZONE)
    with pytest.raises(InputError, match="needs --param for: message"):
        await followups.update(world.ctx, world.officer, alert_id, params={}, actor="t")
    with pytest.raises(InputError, match="no template 'tsunami'"):
        await followups.update(
            world.ctx, world.officer, alert_id, params={}, template="tsunami", actor="t"
        )
    with pytest.raises(InputError, match="needs --param for: message"):  # shrinking, too
        await followups.update(
            world.ctx, world.officer, alert_id, params={}, geometry=NEAR_ZONE, actor="t"
        )
    assert await world.ctx.pool.fetchval("SELECT count(*) FROM alerts") == 1
    assert await recipients_of(world.ctx.pool, alert_id) == set(world.near + world.ring)


async def test_an_alert_to_nobody_or_already_expired_is_refused(world: World) -> None:
    with pytest.raises(InputError, match="expiry must be in the future"):
        await lifecycle.create(world.ctx, world.officer, draft(NEAR_ZONE, expires_in_s=0), "t")
    empty_sea = circle((2.30, 51.20), 500)  # off the coast: nobody lives there
    with pytest.raises(InputError, match="would reach nobody"):
        await lifecycle.create(world.ctx, world.officer, draft(empty_sea), "t")
    assert await world.ctx.pool.fetchval("SELECT count(*) FROM alerts") == 0  # nothing stored
