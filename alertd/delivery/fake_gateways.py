"""Fake gateways in a deployment: refused unless asked for, and then said everywhere.

``alertd serve`` refuses a configured ``kind = "fake"`` gateway unless it runs with
``--allow-fake-gateway``; when allowed, it records the fake gateways' names in the database so
that every alert's status can say its messages never left this machine.
"""

from __future__ import annotations

from collections.abc import Sequence

from alertd.config.gateways import GatewayConfig
from alertd.errors import ConfigError
from alertd.store.types import Queryable

FAKE_NOTE = "sent through a FAKE gateway: nothing left this machine"
TRAINING_NOTE = (
    "a test token's alert: taken by the in-process training gateway, nothing left this machine"
)


def refuse_unless_allowed(gateways: Sequence[GatewayConfig], *, allowed: bool) -> list[str]:
    """The names of the fake gateways; ConfigError when there are some and they are not allowed."""
    fakes = [g.name for g in gateways if g.kind == "fake"]
    if fakes and not allowed:
        names = ", ".join(f"gateways.{n}" for n in fakes)
        raise ConfigError(
            f'config: {names}: kind = "fake" sends nothing to anyone; remove it from the '
            "configuration of a deployment, or run `alertd serve --allow-fake-gateway` on a "
            "test bench"
        )
    return fakes


async def record(
    conn: Queryable, *, fakes: Sequence[str], real: Sequence[str], worker: str
) -> None:
    """What this daemon runs: its fake gateways are listed, its real ones taken off the list."""
    await conn.execute("DELETE FROM fake_gateways WHERE name = ANY($1::text[])", list(real))
    await conn.execute(
        "INSERT INTO fake_gateways (name, worker) SELECT unnest($1::text[]), $2 "
        "ON CONFLICT (name) DO UPDATE SET worker = EXCLUDED.worker, seen_at = now()",
        list(fakes),
        worker,
    )


async def fake_note(conn: Queryable, alert_id: int) -> str | None:
    """FAKE_NOTE when a message of the alert or of its follow-ups went through a fake gateway.

    For `alert status` (and the API): call it with the alert's id, print the note when not None.
    """
    through_fake = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM deliveries d JOIN fake_gateways f ON f.name = d.gateway "
        "               JOIN alerts a ON a.id = d.alert_id "
        "               WHERE a.id = $1 OR a.parent_id = $1)",
        alert_id,
    )
    return FAKE_NOTE if through_fake else None


async def reach_note(conn: Queryable, alert_id: int) -> str | None:
    """Said wherever an alert's status is read, when nothing of it reached a phone: a training
    alert (a test token's), or messages that went through a fake gateway."""
    training = await conn.fetchval(
        "SELECT training FROM alerts WHERE id = (SELECT coalesce(parent_id, id) FROM alerts "
        "WHERE id = $1)",
        alert_id,
    )
    return TRAINING_NOTE if training else await fake_note(conn, alert_id)
