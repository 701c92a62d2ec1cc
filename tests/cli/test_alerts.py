"""The duty officer's session through the real command line: draft, confirm, send, status,
all-clear; clear one-line refusals for what their token does not allow."""

from __future__ import annotations

import json

import asyncpg
import pytest

from alertd import operators
from alertd.delivery.dispatch import Dispatcher
from gateways.fake import FakeGateway
from tests.support.alert_world import DUNKERQUE, PARAMS, build_world
from tests.support.cli import alertd

CIRCLE = f"{DUNKERQUE[0]},{DUNKERQUE[1]},500"


async def token_for(pool: asyncpg.Pool, code: str, role: str) -> str:
    new = await operators.create_operator(
        pool,
        tenant_code=code,
        name=f"{role} {code}",
        role=role,
        email=f"{role}.{code}@example.org",
        actor="test",
    )
    return new.token


@pytest.mark.slow
async def test_a_duty_officers_session(loaded: asyncpg.Pool, db_dsn: str) -> None:
    await build_world(loaded)
    mine = {"ALERTD_OPERATOR_TOKEN": await token_for(loaded, "59183", "operator")}
    params = [f"--param={k}={v}" for k, v in PARAMS.items()]
    created = alertd(
        "alert",
        "create",
        "--template",
        "submersion",
        *params,
        "--circle",
        CIRCLE,
        "--json",
        dsn=db_dsn,
        env=mine,
    )
    assert created.returncode == 0, created.stderr
    draft = json.loads(created.stdout)
    assert (draft["recipients"], draft["status"]) == (40, "draft")
    alert_id = str(draft["alert"])

    unasked = alertd("alert", "send", alert_id, dsn=db_dsn, env=mine)
    assert unasked.returncode == 65
    assert "add --yes" in unasked.stderr and "Traceback" not in unasked.stderr
    assert await loaded.fetchval("SELECT count(*) FROM deliveries") == 0

    sent = alertd("alert", "send", alert_id, "--yes", "--json", dsn=db_dsn, env=mine)
    assert json.loads(sent.stdout)["status"] == "sent", sent.stderr
    assert json.loads(sent.stdout)["daemons"] == 0
    await Dispatcher(loaded, [FakeGateway("fake")], worker="w").drain()
    followed = alertd("alert", "status", alert_id, "--follow", dsn=db_dsn, env=mine)
    assert followed.returncode == 0, followed.stderr
    assert "submitted 40" in followed.stdout and "done" in followed.stdout

    cleared = alertd("alert", "all-clear", alert_id, "--yes", dsn=db_dsn, env=mine)
    assert "all-clear" in cleared.stdout and "to 40 people" in cleared.stdout, cleared.stderr
    assert "no `alertd serve` is connected" in cleared.stderr  # nobody would send it
    listed = alertd("alert", "list", dsn=db_dsn, env=mine)
    assert "all_clear" in listed.stdout and "closed" in listed.stdout

    theirs = {"ALERTD_OPERATOR_TOKEN": await token_for(loaded, "59273", "operator")}
    refused = alertd("alert", "status", alert_id, dsn=db_dsn, env=theirs)
    assert refused.returncode == 77
    assert "outside the territory" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_without_a_valid_token_nothing_happens(db_dsn: str) -> None:
    missing = alertd("alert", "list", dsn=db_dsn)
    assert missing.returncode == 77 and "ALERTD_OPERATOR_TOKEN" in missing.stderr
    wrong = alertd("alert", "list", dsn=db_dsn, env={"ALERTD_OPERATOR_TOKEN": "alertd_" + "x" * 40})
    assert wrong.returncode == 77 and "unknown, rotated or disabled" in wrong.stderr
    bad_circle = alertd("alert", "create", "--template", "flood", "--circle", "2.3,51", dsn=db_dsn)
    assert bad_circle.returncode == 2 and "LON,LAT,RADIUS_M" in bad_circle.stderr


def test_the_operator_token_is_never_shown_whole(db_dsn: str) -> None:
    token = "alertd_" + "s3cr3t" * 7
    shown = alertd("config", "show", dsn=db_dsn, env={"ALERTD_OPERATOR_TOKEN": token})
    assert shown.returncode == 0, shown.stderr
    assert "operator.token = alertd_s3cr…" in shown.stdout
    assert token not in shown.stdout + shown.stderr
    bad = alertd("alert", "list", dsn=db_dsn, env={"ALERTD_OPERATOR_TOKEN": "hunter2"})
    # A malformed token is an unknown operator: 77, as the README's table says (issue 14).
    assert bad.returncode == 77 and "hunter2" not in bad.stderr


@pytest.mark.slow
async def test_follow_ups_are_previewed_and_approved_through_the_command_line(
    loaded: asyncpg.Pool, db_dsn: str
) -> None:
    """Issue 14, cases 1 and 8: `alert update` with a new zone showed no text, count or cost, and
    sent the alert to the newcomers without a second person."""
    await build_world(loaded)
    await loaded.execute("UPDATE tenants SET approval_threshold = 50 WHERE code = '59183'")
    mine = {"ALERTD_OPERATOR_TOKEN": await token_for(loaded, "59183", "operator")}
    params = [f"--param={k}={v}" for k, v in PARAMS.items()]
    created = alertd(
        "alert",
        "create",
        "--template",
        "submersion",
        *params,
        "--circle",
        CIRCLE,
        "--json",
        dsn=db_dsn,
        env=mine,
    )
    alert_id = str(json.loads(created.stdout)["alert"])
    assert alertd("alert", "send", alert_id, "--yes", dsn=db_dsn, env=mine).returncode == 0
    wide = f"{DUNKERQUE[0]},{DUNKERQUE[1]},2500"
    update = ["alert", "update", alert_id, "--param", "message=la zone s'étend", "--circle", wide]
    unasked = alertd(*update, dsn=db_dsn, env=mine)
    assert unasked.returncode == 65 and "add --yes" in unasked.stderr
    assert "to the 40 people who hold the alert" in unasked.stdout
    assert "the alert itself: to 20 people newly inside the zone" in unasked.stdout
    assert "SMS segments; cost:" in unasked.stdout and "[fr] GSM-7" in unasked.stdout
    assert "needs a second operator's approval: the alert would reach 60" in unasked.stdout
    pending = alertd(*update, "--yes", dsn=db_dsn, env=mine)
    assert pending.returncode == 0, pending.stderr
    assert "waits for a second operator's approval" in pending.stdout
    update_id = str(int(alert_id) + 1)
    previewed = alertd("alert", "preview", update_id, dsn=db_dsn, env=mine)
    assert previewed.returncode == 0, previewed.stderr
    assert "the alert itself: to 20 people" in previewed.stdout
    assert await loaded.fetchval("SELECT count(*) FROM deliveries") == 40
    second = {"ALERTD_OPERATOR_TOKEN": await token_for(loaded, "59183", "approver")}
    approved = alertd("alert", "approve", update_id, "--yes", dsn=db_dsn, env=second)
    assert approved.returncode == 0, approved.stderr
    assert f"update {update_id}: to the 40 people who hold it" in approved.stdout
    assert await loaded.fetchval("SELECT count(*) FROM deliveries") == 100  # 60 + 40
    shown = alertd("alert", "status", alert_id, dsn=db_dsn, env=mine)
    assert ": 60 recipients" in shown.stdout and "(Europe/Paris)" in shown.stdout
    assert "no daemon is connected" in shown.stdout
