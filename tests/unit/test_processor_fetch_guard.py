"""The fetch guard: when a fetcher that stays down ends the worker, and when it does not."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field

from processors.fetch_guard import EXIT_FETCHER_DOWN, FetchGuard, Look, look_at, watch_fetcher
from tests.guard_fakes import Calls, Clock


@dataclass
class Service:
    """A mode service as the guard sees it."""

    state: str = "running"


@dataclass
class App:
    """A faust app as the guard sees it."""

    _fetcher: Service = field(default_factory=Service)
    state: str = "running"
    rebalancing: bool = False


def test_a_running_fetcher_never_stalls() -> None:
    clock = Clock()
    guard = FetchGuard(grace=20, clock=clock)
    for _ in range(100):
        clock.now += 5
        assert not guard.stalled(fetching=True, expected=True)


def test_a_fetcher_down_for_the_whole_grace_stalls() -> None:
    clock = Clock()
    guard = FetchGuard(grace=20, max_gap=1000, clock=clock)
    assert not guard.stalled(fetching=True, expected=True)
    assert not guard.stalled(fetching=False, expected=True)
    clock.now = 19.9
    assert not guard.stalled(fetching=False, expected=True)
    clock.now = 20.0
    assert guard.stalled(fetching=False, expected=True)


def test_nothing_counts_before_the_fetcher_first_runs() -> None:
    # faust starts the fetcher once the group is joined, which may take long.
    clock = Clock()
    guard = FetchGuard(grace=20, clock=clock)
    for _ in range(10):
        clock.now += 60
        assert not guard.stalled(fetching=False, expected=True)


def test_a_rebalance_or_a_shutdown_stops_the_count() -> None:
    clock = Clock()
    guard = FetchGuard(grace=20, max_gap=1000, clock=clock)
    assert not guard.stalled(fetching=True, expected=True)
    assert not guard.stalled(fetching=False, expected=True)
    clock.now = 15
    assert not guard.stalled(fetching=False, expected=False)  # recovering its tables
    clock.now = 500
    assert not guard.stalled(fetching=False, expected=False)
    clock.now = 501
    assert not guard.stalled(fetching=False, expected=True)  # the count starts again
    clock.now = 520
    assert not guard.stalled(fetching=False, expected=True)
    clock.now = 521
    assert guard.stalled(fetching=False, expected=True)


def test_a_restart_within_the_grace_starts_the_count_again() -> None:
    clock = Clock()
    guard = FetchGuard(grace=20, max_gap=1000, clock=clock)
    assert not guard.stalled(fetching=True, expected=True)
    assert not guard.stalled(fetching=False, expected=True)
    clock.now = 15
    assert not guard.stalled(fetching=True, expected=True)
    clock.now = 16
    assert not guard.stalled(fetching=False, expected=True)
    clock.now = 35
    assert not guard.stalled(fetching=False, expected=True)
    clock.now = 36
    assert guard.stalled(fetching=False, expected=True)


def test_a_process_paused_as_a_whole_starts_the_count_again() -> None:
    clock = Clock()
    guard = FetchGuard(grace=20, clock=clock)  # a look over a third of the grace late
    assert not guard.stalled(fetching=True, expected=True)
    for _ in range(15):
        clock.now += 1
        assert not guard.stalled(fetching=False, expected=True)
    clock.now += 3600  # suspended: the count starts at the first look after it
    for _ in range(20):
        assert not guard.stalled(fetching=False, expected=True)
        clock.now += 1
    assert guard.stalled(fetching=False, expected=True)


def test_what_the_guard_sees_of_an_app() -> None:
    assert look_at(App()) == Look(fetching=True, expected=True, fetcher_state="running")
    # A supervisor's restart that never finished leaves the fetcher reset, not crashed.
    assert look_at(App(Service("init"))) == Look(False, True, "init")
    assert look_at(App(Service("crashed"), state="crashed")) == Look(False, True, "crashed")
    assert not look_at(App(Service("init"), rebalancing=True)).expected
    assert not look_at(App(Service("stopping"), state="stopping")).expected
    assert not look_at(App(Service("shutdown"), state="shutdown")).expected


def test_the_thread_reports_a_fetcher_that_stays_down() -> None:
    app = App()
    calls = Calls()
    stop = watch_fetcher(
        lambda: look_at(app), FetchGuard(grace=0.05, max_gap=60), on_stalled=calls, interval=0.01
    )
    try:
        assert not calls.called.wait(0.2)
        app._fetcher.state = "init"
        assert calls.called.wait(5)
    finally:
        stop.set()
    assert calls.reasons == ["fetcher init"]


def test_the_thread_looks_no_more_once_stopped() -> None:
    app = App()
    calls = Calls()
    stop = watch_fetcher(
        lambda: look_at(app), FetchGuard(grace=0.0, max_gap=60), on_stalled=calls, interval=0.01
    )
    assert not calls.called.wait(0.2)
    stop.set()
    app._fetcher.state = "crashed"
    assert not calls.called.wait(0.2)


def test_ending_the_process_says_why_and_exits_with_a_failure() -> None:
    code = (
        "from corridor.logs import configure_logging; configure_logging(); "
        "from processors.fetch_guard import end_process; end_process('fetcher init')"
    )
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, check=False, capture_output=True, timeout=60)
    assert done.returncode == EXIT_FETCHER_DOWN
    assert b"fetcher_down_exiting" in done.stderr
    assert b"fetcher init" in done.stderr  # flushed before the exit
