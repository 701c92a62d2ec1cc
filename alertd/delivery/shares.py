"""How the live daemons divide a gateway's contract between them (issue 18). Pure: the lease
keeper (``share_lease``) reads the shares in force and writes this daemon's, under a lock per
gateway; this module only decides.

The rule that keeps the sum within the contract at every instant: a daemon's fair part is an
even split between the live daemons (binds: as even as whole binds allow, the oldest holders
taking the odd ones, so that a joiner moves nothing but its own part), and it takes no more of
it than what the others' leases leave free. A daemon that must shrink does so before its new
lease is committed; one that may grow does so after. So a joiner waits until the others have
shrunk (one renewal period), and a dead daemon's part is free once its lease has expired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EPSILON = 1e-9  # float noise in a sum of thirds is not a share


@dataclass(frozen=True, slots=True)
class Held:
    """A share in force, as the table holds it; oldest holder first in a list."""

    worker: str
    part: float
    binds: int


@dataclass(frozen=True, slots=True)
class Decision:
    part: float  # of the contract's rate (for a gateway of binds: its binds over the account's)
    binds: int  # binds it may open (0 for a gateway without binds)


def fair_binds(total: int, rank: int, live: int) -> int:
    """Binds of the daemon of this rank (0: the oldest) when ``live`` daemons split ``total``."""
    return total // live + (1 if rank < total % live else 0)


def decide(worker: str, held: Sequence[Held], binds: int) -> Decision:
    """This daemon's share of a gateway, given the shares in force (``held``, oldest first, with
    or without this daemon's own) and the account's binds (0: a gateway without binds)."""
    workers = [h.worker for h in held]
    if worker not in workers:
        workers.append(worker)  # a joiner ranks last
    others = [h for h in held if h.worker != worker]
    live = len(workers)
    if binds > 0:
        fair = fair_binds(binds, workers.index(worker), live)
        free = binds - sum(h.binds for h in others)
        granted = max(0, min(fair, free))
        return Decision(granted / binds, granted)
    left = 1.0 - sum(h.part for h in others)
    part = max(0.0, min(1.0 / live, left))
    return Decision(part if part > EPSILON else 0.0, 0)


def to_write(decided: Decision, in_force: Decision, binds: int) -> Decision:
    """What this daemon's lease says: what it decided, except for binds still open that it is
    about to close (they stay counted until they are: no other daemon may open them before)."""
    if binds == 0 or decided.binds >= in_force.binds:
        return decided
    return Decision(in_force.binds / binds, in_force.binds)
