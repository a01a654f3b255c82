"""Ends a worker whose fetcher crashed and did not come back.

A faust worker reads every record through one Fetcher service. When it crashes (an
exception out of the consumer's drain loop, such as a batch the client cannot
decompress), faust usually stops the whole worker, which exits with code 1 and is
restarted by its supervisor. Not always: seen here with faust-streaming 0.15.3 in
about two crashes of five under load, faust resets the fetcher for a restart that never
completes (a commit waits meanwhile; faust warns of it after five minutes). The worker
stays up, a live member of the group holding its partitions, routing nothing, until
someone restarts it by hand. No other worker takes those partitions while it lives.

:class:`FetchGuard` ends the process when the fetcher has stayed down for longer than
a grace period while the worker is neither rebalancing (faust stops the fetcher until
the tables are recovered) nor shutting down. Down means not running: crashed, or reset
by faust's supervisor for a restart that never came, which is what the stuck case
looks like. The grace is long enough for faust's own exit after a crash. The guard
runs on a thread of its own, not as a faust timer, so that it still acts when the event
loop is stuck. Ending the process abruptly keeps at-least-once: offsets
are committed only after the outputs of their records were acknowledged (decision 17),
so whatever this worker had not committed is processed again by the worker that takes
its partitions, and the alert-id deduplication absorbs repeats (decision 11). It is the
same as a SIGKILL, which ``tests/system/test_processor_crash.py`` covers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from corridor.logs import log_event
from processors.stall_clock import StallClock

__all__ = [
    "EXIT_FETCHER_DOWN",
    "GRACE_SECONDS",
    "FetchGuard",
    "Look",
    "end_process",
    "look_at",
    "watch_fetcher",
]

LOG = logging.getLogger("corridor.processor")
#: How long the fetcher may stay down before the worker ends itself.
GRACE_SECONDS = 20.0
#: How often the guard looks.
CHECK_SECONDS = 1.0
#: The worker's exit status when the guard ends it (``EX_SOFTWARE``): a failure, so
#: ``Restart=on-failure`` starts it again.
EXIT_FETCHER_DOWN = 70


class FetchGuard:
    """Decides, from successive looks at the worker, when to give up on it."""

    def __init__(
        self,
        *,
        grace: float = GRACE_SECONDS,
        max_gap: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._has_run = False
        self._down = StallClock(grace=grace, max_gap=max_gap, clock=clock)

    def stalled(self, *, fetching: bool, expected: bool) -> bool:
        """True once the fetcher has been down, while it should run, for the whole grace.

        ``fetching``: the fetcher runs. ``expected``: the worker is neither rebalancing
        (faust stops the fetcher until the tables are recovered) nor shutting down.
        Before the fetcher first runs (the group is still being joined) nothing counts.
        """
        if fetching:
            self._has_run = True
        return self._down.held_for_grace(not fetching and expected and self._has_run)


@dataclass(frozen=True)
class Look:
    """What the guard sees of a faust app at one moment."""

    fetching: bool
    expected: bool
    fetcher_state: str


def look_at(app: Any) -> Look:
    """The fetcher's state and whether faust should be fetching (module docstring)."""
    fetcher_state = str(app._fetcher.state)
    # A crashed app counts: its clean-up is what may hang.
    expected = not app.rebalancing and app.state in ("running", "crashed")
    return Look(fetcher_state == "running", expected, fetcher_state)


def end_process(reason: str, *, event: str = "fetcher_down_exiting") -> NoReturn:
    """Logs why and exits at once, without the clean-up that is stuck."""
    log_event(LOG, event, level=logging.CRITICAL, reason=reason)
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(EXIT_FETCHER_DOWN)


def watch_fetcher(
    look: Callable[[], Look],
    guard: FetchGuard,
    *,
    on_stalled: Callable[[str], object] = end_process,
    interval: float = CHECK_SECONDS,
) -> threading.Event:
    """Calls ``look`` every ``interval`` on a daemon thread, until the event is set.

    ``on_stalled`` gets the fetcher's state when the guard gives up.
    """
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            seen = look()
            if guard.stalled(fetching=seen.fetching, expected=seen.expected):
                on_stalled(f"fetcher {seen.fetcher_state}")
                return

    threading.Thread(target=run, name="corridor-fetch-guard", daemon=True).start()
    return stop
