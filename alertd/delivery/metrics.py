"""The daemon's Prometheus metrics (issue 15): what the process counts as it goes (submissions,
receipts, gateway latency) and, at each scrape, what the database says (outbox by state, the
oldest queued, in doubt, alerts by state, subscribers by status) — read then with a few cheap
queries rather than kept in step by hooks everywhere.

Conventions: the ``alertd_`` prefix, base units (seconds), ``_total`` for counters. Label values
are gateway names from the configuration and words from fixed lists, never anything a resident
or a provider wrote: a value outside its list is counted as ``other`` (no phone number can ever
become a label). The dispatcher calls ``observe_submit`` and the receipt consumer
``observe_receipt``.
"""

from __future__ import annotations

import collections
import enum
import json
import platform
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

import alertd
from alertd.store.types import Queryable
from gateways.base import Outcome, ReceiptStatus

# Our own registry, not prometheus_client's global one: each daemon (and each test) in a process
# exposes exactly alertd's metrics.
REGISTRY = CollectorRegistry(auto_describe=True)
OUTCOMES = (*(o.value for o in Outcome), "other")
RECEIPTS = (*(r.value for r in ReceiptStatus), "other")
DELIVERY_STATES = ("queued", "sending", "submitted", "delivered", "failed", "cancelled")
BREAKER_STATES = ("closed", "half_open", "open")

SUBMISSIONS = Counter(
    "alertd_gateway_submissions",
    "Messages handed to a gateway, by gateway and outcome.",
    ["gateway", "outcome"],
    registry=REGISTRY,
)
RECEIPTS_TOTAL = Counter(
    "alertd_gateway_receipts",
    "Delivery receipts received, by gateway and status.",
    ["gateway", "status"],
    registry=REGISTRY,
)
SUBMIT_SECONDS = Histogram(
    "alertd_gateway_submit_seconds",
    "Time a gateway took to answer a submission.",
    ["gateway"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
BUILD = Info("alertd_build", "The running alertd.", registry=REGISTRY)
BUILD.info({"version": alertd.__version__, "python": platform.python_version()})


def _word(value: str | enum.Enum, allowed: Sequence[str]) -> str:
    word = value.value if isinstance(value, enum.Enum) else value
    return word if word in allowed else "other"


def observe_submit(gateway: str, outcome: Outcome | str, seconds: float) -> None:
    """One message submitted to ``gateway`` (a configured name): its outcome (gateways.base's
    Outcome) and how long the gateway took to answer the submission it was part of."""
    SUBMISSIONS.labels(gateway, _word(outcome, OUTCOMES)).inc()
    SUBMIT_SECONDS.labels(gateway).observe(max(seconds, 0.0))


def observe_submits(gateway: str, outcomes: Iterable[Outcome], seconds: float) -> None:
    """One submit call of several messages: each message's outcome counted (one increment per
    outcome, not per message: this is on the dispatcher's hot path), the call's time observed
    once."""
    for outcome, n in collections.Counter(outcomes).items():
        SUBMISSIONS.labels(gateway, _word(outcome, OUTCOMES)).inc(n)
    SUBMIT_SECONDS.labels(gateway).observe(max(seconds, 0.0))


def observe_receipt(gateway: str, status: ReceiptStatus | str) -> None:
    """One delivery receipt from ``gateway``: its status (gateways.base's ReceiptStatus)."""
    RECEIPTS_TOTAL.labels(gateway, _word(status, RECEIPTS)).inc()


@dataclass(frozen=True, slots=True)
class DatabaseFigures:
    """What a scrape reads from the database."""

    deliveries: Mapping[str, int] = field(default_factory=dict)  # by state
    in_doubt: int = 0
    oldest_queued_s: float = 0.0  # 0: nothing queued
    alerts: Mapping[str, int] = field(default_factory=dict)  # by status
    subscribers: Mapping[str, int] = field(default_factory=dict)  # by status
    # Each daemon's share of each gateway's contract (issue 18): (gateway, worker) -> (segments a
    # second, binds).
    shares: Mapping[tuple[str, str], tuple[float, int]] = field(default_factory=dict)


_FIGURES = """
SELECT (SELECT coalesce(jsonb_object_agg(status, n), '{}') FROM (
            SELECT status, sum(n)::bigint AS n FROM delivery_counts GROUP BY status) d)
           AS deliveries,
       (SELECT coalesce(sum(n), 0)::bigint FROM delivery_counts WHERE in_doubt) AS in_doubt,
       (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
          FROM deliveries WHERE status = 'queued') AS oldest_queued_s,
       (SELECT coalesce(jsonb_object_agg(status, n), '{}') FROM (
            SELECT status, count(*) AS n FROM alerts GROUP BY status) a) AS alerts,
       (SELECT coalesce(jsonb_object_agg(status, n), '{}') FROM (
            SELECT status, count(*) AS n FROM subscribers GROUP BY status) s) AS subscribers,
       (SELECT coalesce(jsonb_agg(jsonb_build_array(gateway, worker, part * contract_rate, binds)),
                        '[]')
          FROM gateway_shares WHERE expires_at > now()) AS shares
"""


async def read_figures(conn: Queryable) -> DatabaseFigures:
    row = await conn.fetchrow(_FIGURES)
    assert row is not None  # noqa: S101 - one row
    return DatabaseFigures(
        _counts(row["deliveries"]),
        int(row["in_doubt"]),
        float(row["oldest_queued_s"]),
        _counts(row["alerts"]),
        _counts(row["subscribers"]),
        _shares(row["shares"]),
    )


def _shares(value: Any) -> dict[tuple[str, str], tuple[float, int]]:
    data = json.loads(value) if isinstance(value, str) else value
    return {(str(g), str(w)): (float(rate), int(binds)) for g, w, rate, binds in data}


def _counts(value: Any) -> dict[str, int]:
    """A jsonb object of counts (asyncpg gives jsonb as text unless a codec is set)."""
    data = json.loads(value) if isinstance(value, str) else value
    return {str(k): int(v) for k, v in dict(data).items()}


class ScrapeCollector(Collector):
    """The figures of one scrape (database, circuit breakers) as gauges."""

    def __init__(
        self,
        figures: DatabaseFigures,
        breakers: Mapping[str, str],
        index: tuple[bool, int] | None = None,  # the subscriber index: loaded, subscribers
    ) -> None:
        self.figures = figures
        self.breakers = breakers
        self.index = index

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        outbox = GaugeMetricFamily(
            "alertd_outbox_messages", "Deliveries in the outbox, by state.", labels=["state"]
        )
        for state in sorted({*DELIVERY_STATES, *f.deliveries}):
            outbox.add_metric([state], f.deliveries.get(state, 0))
        yield outbox
        yield GaugeMetricFamily(
            "alertd_outbox_in_doubt_messages",
            "Deliveries that may have reached a gateway without a record of it.",
            value=f.in_doubt,
        )
        yield GaugeMetricFamily(
            "alertd_outbox_oldest_queued_age_seconds",
            "Age of the oldest queued delivery (0 when none is queued).",
            value=f.oldest_queued_s,
        )
        yield _by("alertd_alerts", "Alerts, by state.", "state", f.alerts)
        yield _by("alertd_subscribers", "Subscribers, by status.", "status", f.subscribers)
        breaker = GaugeMetricFamily(
            "alertd_gateway_circuit_state",
            "Each gateway's circuit breaker: 1 for its current state.",
            labels=["gateway", "state"],
        )
        for gateway, state in sorted(self.breakers.items()):
            for known in BREAKER_STATES:
                breaker.add_metric([gateway, known], 1.0 if state == known else 0.0)
        yield breaker
        rate = GaugeMetricFamily(
            "alertd_gateway_share_rate",
            "Segments a second each live daemon (host:pid) holds of a gateway's contract.",
            labels=["gateway", "worker"],
        )
        binds = GaugeMetricFamily(
            "alertd_gateway_share_binds",
            "Binds each live daemon (host:pid) holds of a gateway's account (0: no binds).",
            labels=["gateway", "worker"],
        )
        for (gateway, worker), (per_second, held) in sorted(f.shares.items()):
            rate.add_metric([gateway, worker], per_second)
            binds.add_metric([gateway, worker], held)
        yield rate
        yield binds
        if self.index is not None:
            loaded, size = self.index
            yield GaugeMetricFamily(
                "alertd_subscriber_index_loaded",
                "1 when the daemon's in-memory subscriber index is loaded.",
                value=1.0 if loaded else 0.0,
            )
            yield GaugeMetricFamily(
                "alertd_subscriber_index_subscribers",
                "Subscribers who can receive an alert, in the daemon's index.",
                value=size,
            )


def _by(name: str, doc: str, label: str, counts: Mapping[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, n in sorted(counts.items()):
        family.add_metric([key], n)
    return family
