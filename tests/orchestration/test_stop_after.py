"""`stop_after`, the time limit of `kpi query`: the stop comes once the limit has passed, again
at its interval while the statement goes on (Spark Connect loses an interrupt that comes
before its operation runs), never before the limit."""

from __future__ import annotations

import threading

from kpi_pipeline.orchestration.query_limits import stop_after

HANG_GUARD_SECONDS = 30  # only a broken watcher waits this long


class Stops:
    """A `stop` that counts its calls and says when it has been called `wanted` times."""

    def __init__(self, wanted: int) -> None:
        self.calls, self.wanted, self.reached = 0, wanted, threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        if self.calls >= self.wanted:
            self.reached.set()


def test_the_stop_is_repeated_until_the_block_ends() -> None:
    stops = Stops(wanted=3)
    with stop_after(0.01, stops, again_every=0.01) as fired:
        assert stops.reached.wait(HANG_GUARD_SECONDS)
    assert fired.is_set() and stops.calls >= 3


def test_without_an_interval_the_stop_comes_once() -> None:
    stops = Stops(wanted=1)
    with stop_after(0.01, stops) as fired:
        assert stops.reached.wait(HANG_GUARD_SECONDS)
    assert fired.is_set() and stops.calls == 1


def test_a_statement_within_its_limit_is_never_stopped() -> None:
    stops = Stops(wanted=1)
    with stop_after(HANG_GUARD_SECONDS, stops, again_every=0.01) as fired:
        pass
    assert not fired.is_set() and stops.calls == 0
