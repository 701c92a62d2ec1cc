"""How live daemons divide one gateway's contract (pure): never more than the contract between
them at any instant, whatever the order of their renewals, joins and deaths; an even split once
they have all renewed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.delivery.shares import Decision, Held, decide, fair_binds, to_write


def test_alone_a_daemon_has_the_whole_contract() -> None:
    assert decide("a", [], 0) == Decision(1.0, 0)
    assert decide("a", [], 4) == Decision(1.0, 4)


def test_a_joiner_waits_until_the_others_have_shrunk() -> None:
    held = [Held("a", 1.0, 0)]
    assert decide("b", held, 0).part == 0  # a holds it all until its next renewal
    a = decide("a", [*held, Held("b", 0.0, 0)], 0)
    assert a.part == 0.5
    assert decide("b", [Held("a", 0.5, 0), Held("b", 0.0, 0)], 0).part == 0.5


def test_binds_are_split_as_evenly_as_whole_binds_allow_the_oldest_first() -> None:
    assert [fair_binds(4, rank, 3) for rank in range(3)] == [2, 1, 1]
    assert [fair_binds(4, rank, 2) for rank in range(2)] == [2, 2]
    assert [fair_binds(2, rank, 3) for rank in range(3)] == [1, 1, 0]


def test_binds_still_open_stay_counted_until_they_are_closed() -> None:
    decided = Decision(0.5, 2)
    assert to_write(decided, Decision(1.0, 4), 4) == Decision(1.0, 4)
    assert to_write(decided, Decision(0.0, 0), 4) == decided
    assert to_write(Decision(0.25, 0), Decision(1.0, 0), 0) == Decision(0.25, 0)


STEP = st.tuples(st.sampled_from(["renew", "die", "join"]), st.integers(0, 4))


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(STEP, min_size=1, max_size=40), binds=st.sampled_from([0, 1, 4, 5]))
def test_the_shares_in_force_never_exceed_the_contract(
    steps: list[tuple[str, int]], binds: int
) -> None:
    """Daemons renew one at a time (the lock); a renewal writes what it decided, binds being
    closed only after (so the row keeps them until the next renewal); a death drops the row
    (its lease expired). At every instant the rows add up to the contract at most."""
    rows: dict[str, Held] = {}
    in_force: dict[str, Decision] = {}  # what each daemon applies (binds open) after renewing
    born = 0
    alive: list[str] = []
    for action, pick in steps:
        if action == "join" or not alive:
            alive.append(f"d{born}")
            born += 1
            continue
        who = alive[pick % len(alive)]
        if action == "die":
            alive.remove(who)
            rows.pop(who, None)
            continue
        decided = decide(who, list(rows.values()), binds)
        written = to_write(decided, in_force.get(who, Decision(0.0, 0)), binds)
        rows[who] = Held(who, written.part, written.binds)
        in_force[who] = decided
        assert sum(h.part for h in rows.values()) <= 1.0 + 1e-9
        if binds:
            assert sum(h.binds for h in rows.values()) <= binds
        # what is open never exceeds what the rows say: no other daemon may take it meanwhile
        for w, d in in_force.items():
            if w in rows:
                assert d.binds <= rows[w].binds
                assert d.part <= rows[w].part + 1e-9


def test_once_everyone_has_renewed_twice_the_split_is_even() -> None:
    rows: dict[str, Held] = {}
    workers = ["a", "b", "c"]
    for _ in range(3):
        for w in workers:
            decided = decide(w, list(rows.values()), 0)
            rows[w] = Held(w, decided.part, 0)
    assert [rows[w].part for w in workers] == pytest.approx([1 / 3] * 3)
