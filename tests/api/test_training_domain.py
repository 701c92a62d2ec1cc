"""A test token's rule is decided in the domain, so the CLI (ALERTD_OPERATOR_TOKEN) obeys it
as the API does: a test token sends training alerts only."""

from __future__ import annotations

import dataclasses

import asyncpg
import pytest

from alertd.alerts import followups, lifecycle
from alertd.errors import ForbiddenError
from tests.support.alert_world import DUNKERQUE, build_world, circle, draft


async def test_a_test_token_cannot_send_a_live_alert_from_the_cli_either(
    loaded: asyncpg.Pool,
) -> None:
    world = await build_world(loaded)
    trainee = dataclasses.replace(world.officer, token_kind="test")
    alert = await lifecycle.create(world.ctx, world.officer, draft(circle(DUNKERQUE, 300)), "t")
    with pytest.raises(ForbiddenError, match="a live token sends it"):
        await lifecycle.send(world.ctx, trainee, alert, "t")
    await lifecycle.send(world.ctx, world.officer, alert, "t")
    with pytest.raises(ForbiddenError, match="a live token sends it"):
        await followups.all_clear(world.ctx, trainee, alert, params={}, actor="t")
    # Previewing is not sending: a test token previews anything.
    await followups.preview_all_clear(world.ctx, trainee, alert, params={})
