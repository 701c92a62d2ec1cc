"""What a preview shows before anything is sent: recipients by how they were found and by
language, the text per language, segments, cost, time, and until when it is valid. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import asyncpg

from alertd.alerts.texts import Text, estimate
from alertd.delivery import enqueue
from alertd.store.types import Queryable
from templates import analyse


class Matcher(Protocol):
    """Who a zone reaches, as ``enqueue.match`` answers it: the database path (the CLI's), or
    the daemon's in-memory index (the API's, set on the lifecycle's Context)."""

    async def __call__(
        self,
        conn: Queryable,
        *,
        tenant_id: int,
        geometries: Sequence[Mapping[str, Any]],
        life_safety: bool,
        topics: Sequence[str],
        exercise: bool,
    ) -> enqueue.Matched: ...


@dataclass(frozen=True, slots=True)
class Preview:
    """Who an alert reaches (by address, by postcode, by language), its texts, cost and time."""

    alert: int
    tenant: str
    hazard: str
    severity: str
    exercise: bool
    status: str
    recipients: int
    by_address: int
    by_postcode: int
    by_language: Mapping[str, int]
    texts: tuple[Text, ...]
    segments: int
    cost_eur: Mapping[str, str]  # per gateway, if everything went through it
    eta_seconds: float | None  # at the primary gateway's rate; None: no rate configured
    approval_threshold: int
    needs_approval: bool
    # Until when what is not sent yet may still go out: counted from the send (from now, for a
    # draft); shown in the tenant's time zone.
    expires_at: datetime | None = None
    timezone: str = "Europe/Paris"
    # Residents of the territory known by their postcode only, who cannot be matched because no
    # postcode areas were imported: they would not be alerted, and the preview says so.
    postcode_only_unmatched: int = 0


def build(
    alert: asyncpg.Record,
    found: enqueue.Matched,
    prices: Mapping[str, Decimal],
    rate: float,
    now: datetime,
) -> Preview:
    texts = stored_texts(alert)
    by_language = found.languages()
    cost = estimate(texts, fallen_back(by_language, texts), prices, rate)
    recipients = len(found.ids())
    return Preview(
        alert=alert["id"],
        tenant=alert["tenant_code"],
        hazard=alert["hazard"],
        severity=alert["severity"],
        exercise=alert["exercise"],
        status=alert["status"],
        recipients=recipients,
        by_address=len(found.by_address),
        by_postcode=len(found.by_postcode),
        by_language=dict(sorted(by_language.items())),
        texts=tuple(texts.values()),
        segments=cost.segments,
        cost_eur=cost.cost_eur,
        eta_seconds=cost.seconds,
        approval_threshold=alert["approval_threshold"],
        needs_approval=recipients > alert["approval_threshold"] and alert["approved_by"] is None,
        expires_at=expires_at(alert, now),
        timezone=alert["timezone"],
        postcode_only_unmatched=found.unplaced,
    )


def expires_at(alert: asyncpg.Record, now: datetime) -> datetime | None:
    if alert["expires_at"] is not None:
        return alert["expires_at"]  # type: ignore[no-any-return]
    if alert["expires_in_s"] is None:
        return None
    return now + timedelta(seconds=alert["expires_in_s"])


def stored_texts(alert: asyncpg.Record) -> dict[str, Text]:
    texts: dict[str, str] = dict(alert["texts"])
    infos = {lang: analyse(text) for lang, text in sorted(texts.items())}
    return {
        lang: Text(lang, texts[lang], info.encoding, info.segments) for lang, info in infos.items()
    }


def fallen_back(by_language: Mapping[str, int], texts: Mapping[str, Text]) -> dict[str, int]:
    """Recipients per text actually sent: a language without a text counts as French."""
    counts: dict[str, int] = {}
    for lang, n in by_language.items():
        key = lang if lang in texts else "fr"
        counts[key] = counts.get(key, 0) + n
    return counts
