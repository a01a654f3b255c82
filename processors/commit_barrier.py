"""Commits wait for the brokers' acknowledgements without holding the event loop.

A commit may only count an event as processed once every record produced for it is
on the brokers (decision 11). Flushing the producers inside faust's synchronous
``on_commit_initiated`` gave that, but held the event loop for the whole round trip:
when the broker was slow to append (a disk stall of 50 ms per request, one request per
partition), every event behind the commit waited as long, often for several hundred
milliseconds.

:class:`CommitBarrier` splits the commit in two. When faust starts a commit, it sends
what waits in memory (sightings, the tables' changes) and closes each producer's
current epoch, synchronously, before faust picks the offsets: every event those
offsets count was handled before the close, so its records belong to a closed epoch.
Then, in the commit's own coroutine and before the offsets go to the broker, it waits
until those epochs are acknowledged; events go on being routed meanwhile, into the next
epoch, and the next commit counts them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import faust

from corridor.logs import log_event
from processors.kafka_sink import KafkaSink

__all__ = ["SLOW_COMMIT_SECONDS", "CommitBarrier"]

LOG = logging.getLogger("corridor.processor")
#: A commit whose sending or waiting takes longer than this is logged
#: (``commit_flush_slow``).
SLOW_COMMIT_SECONDS = 0.2
_INSTALLED = "_corridor_commit_barrier"


class CommitBarrier(faust.Sensor):
    """Closes the producers' epochs when faust starts a commit, and makes the commit
    wait for them before its offsets are sent (see the module docstring)."""

    def __init__(
        self,
        sinks: Sequence[KafkaSink],
        pending: Callable[[], None] = lambda: None,
        *,
        timeout: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._sinks = tuple(sinks)
        self._pending = pending
        self._timeout = timeout
        self._closed: tuple[int, ...] | None = None
        self._send_seconds = 0.0

    def on_commit_initiated(self, consumer: Any) -> Any:
        install(consumer, self.until_acknowledged)
        started = time.perf_counter()
        self._pending()
        # faust picks the offsets right after this returns, without yielding.
        self._closed = tuple(sink.close_epoch() for sink in self._sinks)
        self._send_seconds = time.perf_counter() - started
        return None

    async def until_acknowledged(self) -> None:
        """Until every record of the epochs closed by the latest commit start is
        acknowledged. A later start only closes later epochs: waiting for those covers
        the earlier ones too."""
        closed = self._closed
        if closed is None:
            return
        started = time.perf_counter()
        waits = (
            sink.wait_delivered(e, self._timeout)
            for sink, e in zip(self._sinks, closed, strict=True)
        )
        await asyncio.gather(*waits)
        waited = time.perf_counter() - started
        if max(waited, self._send_seconds) >= SLOW_COMMIT_SECONDS:
            log_event(
                LOG,
                "commit_flush_slow",
                level=logging.WARNING,
                # The event loop was held for the sending, not for the waiting.
                send_ms=round(self._send_seconds * 1000, 1),
                wait_ms=round(waited * 1000, 1),
            )


def install(consumer: Any, wait: Callable[[], Awaitable[None]]) -> None:
    """Make ``consumer`` await ``wait`` after it has picked a commit's offsets and
    before it sends them (once per consumer).

    faust's ``Consumer._commit_tps`` picks the offsets, then awaits
    ``_handle_attached(offsets)`` (faust's own attached messages), then commits them:
    the wait goes in front of that step. faust is pinned and the processor's crash
    tests guard this.
    """
    if getattr(consumer, _INSTALLED, False):
        return
    original: Callable[[Mapping[Any, int]], Awaitable[None]] = consumer._handle_attached

    async def handle_attached(commit_offsets: Mapping[Any, int]) -> None:
        await wait()
        await original(commit_offsets)

    consumer._handle_attached = handle_attached
    setattr(consumer, _INSTALLED, True)
