"""How long a worker has been stuck, counted only over time it had to run.

Both guards (:mod:`processors.fetch_guard`, :mod:`processors.progress_guard`) look at
the worker every few seconds and end it once a condition has held for a grace period.
Wall time alone would misjudge a process that was paused as a whole (a suspended
machine, a stopped container): on resuming, the condition seen before the pause would
seem to have held for the whole pause. A look that comes much later than the one
before it therefore starts the count again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["StallClock"]


class StallClock:
    """Counts how long a condition has held over successive looks."""

    def __init__(
        self,
        *,
        grace: float,
        max_gap: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``max_gap``: a look this long after the previous one starts the count again
        (default: a third of the grace)."""
        self.grace = grace
        self._max_gap = grace / 3 if max_gap is None else max_gap
        self._clock = clock
        self._since: float | None = None
        self._last: float | None = None

    def held_for_grace(self, holding: bool) -> bool:
        """Record one look; True once the condition has held for the whole grace."""
        now = self._clock()
        late = self._last is not None and now - self._last > self._max_gap
        self._last = now
        if not holding:
            self._since = None
            return False
        if self._since is None or late:
            self._since = now
        return now - self._since >= self.grace
