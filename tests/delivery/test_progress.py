"""The progress line and the pace, without a database: counts in, text out."""

from __future__ import annotations

from alertd.delivery.progress import Pace, bar, from_counts, line


def test_counts_become_a_progress_line() -> None:
    state = from_counts(
        {
            "queued": 40,
            "sending": 10,
            "submitted": 20,
            "delivered": 25,
            "failed": 3,
            "expired": 2,
            "in_doubt": 1,
            "rerouted": 4,
        },
        per_second=25.0,
    )
    assert (state.total, state.queued, state.failed, state.handed) == (100, 50, 5, 50)
    assert state.eta_s == 2.0 and not state.done
    assert bar(state, 10) == "[##+++.....]"  # 25 % delivered, 25 % more handed over
    text = line(state, 10)
    assert "50.0 %" in text and "in doubt 1" in text and "25/s" in text and "ETA 2 s" in text


def test_a_single_look_has_no_rate_and_a_finished_alert_is_done() -> None:
    assert "-/s  ETA ?" in line(from_counts({"queued": 5}))
    done = from_counts({"delivered": 7, "in_doubt": 0, "rerouted": 0})
    assert done.done and done.settled and line(done).endswith("done")
    assert not from_counts({"submitted": 1}).settled  # its receipt is still to come
    assert bar(from_counts({}), 4) == "[    ]"


def test_the_pace_is_over_the_last_window() -> None:
    pace = Pace(window_s=10)
    assert pace.update(0.0, 0) is None
    assert pace.update(5.0, 500) == 100.0
    assert pace.update(10.0, 1000) == 100.0
    # The burst of the first seconds leaves the window; the slow last ones remain.
    assert pace.update(20.0, 1100) == 10.0
