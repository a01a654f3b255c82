"""Guards against two faust faults that break at-least-once around rebalances.

Seen here with faust-streaming 0.15.3 and aiokafka 0.14, by killing and restarting a
worker in the middle of a stream (``tests/system/test_processor_crash.py``):

* around a rebalance the stream can skip a record without acknowledging it (it arrives
  while the flow is paused, or from the previous generation), and faust does not fetch
  it again. Faust commits from its committed offset up to the first hole in the
  acknowledged offsets, but tolerates a hole of exactly one record at the head: it then
  commits past a record nobody processed, which is lost;
* with a larger hole it never commits that partition again: processing goes on, the
  group's lag grows without end, and a restart would replay all of it.

:func:`install_strict_commits` makes faust refuse to commit past any hole at the head
(unless faust itself knows those offsets do not exist), turning the first fault into
the second; :class:`CommitWatchdog` then heals the second by seeking the partition
back to its committed offset, so the hole is processed again (repeats are absorbed by
the alert-id idempotence, decision 11). Records that retention deleted before anyone
processed them cannot come back: those are skipped, and logged.

Both read or replace faust internals (``Consumer._new_offset``, ``_acked``,
``_committed_offset``, ``_gap``, ``_read_offset``), so faust is pinned and the crash
test guards them.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from faust.transport.consumer import Consumer

from corridor.logs import log_event

__all__ = ["CommitWatchdog", "head_hole", "install_strict_commits"]

LOG = logging.getLogger("corridor.processor.commits")
_FAUST_NEW_OFFSET = Consumer._new_offset


def head_hole(consumer: Any, tp: Any) -> int | None:
    """The committed offset of ``tp`` if records from it on were skipped, else None.

    A hole at the head: offsets were acknowledged past the committed one, the committed
    one was not, and faust does not know it to be missing from the log (its gaps).
    """
    acked = consumer._acked.get(tp)
    committed = consumer._committed_offset.get(tp)
    if not acked or committed is None or min(acked) <= committed:
        return None
    if consumer._gap[tp].overlaps(committed):
        return None
    return int(committed)


def _strict_new_offset(self: Any, tp: Any) -> int | None:
    if head_hole(self, tp) is not None:
        return None  # never commit past a record that was not processed
    result: int | None = _FAUST_NEW_OFFSET(self, tp)
    return result


def install_strict_commits() -> None:
    """Make faust's consumers refuse to commit past a hole (idempotent)."""
    setattr(Consumer, "_new_offset", _strict_new_offset)  # noqa: B010 - patching a class


class CommitWatchdog:
    """Call :meth:`check` periodically; it heals partitions whose commits are stuck."""

    def __init__(self, app: Any, *, patience: int = 3) -> None:
        self._app = app
        self._patience = patience
        self._strikes: Counter[Any] = Counter()
        self.healed = 0

    def stuck(self) -> dict[Any, int]:
        """Partitions that cannot commit now, with their committed offset."""
        consumer = self._app.consumer
        found = {}
        for tp in list(consumer._acked):
            committed = head_hole(consumer, tp)
            if committed is not None:
                found[tp] = committed
        return found

    async def check(self) -> None:
        stuck = self.stuck()
        for tp in list(self._strikes):
            if tp not in stuck:
                del self._strikes[tp]
        for tp, committed in stuck.items():
            self._strikes[tp] += 1
            if self._strikes[tp] < self._patience:
                continue
            del self._strikes[tp]
            await self._heal(tp, committed)

    async def _heal(self, tp: Any, committed: int) -> None:
        consumer = self._app.consumer
        first = min(consumer._acked.get(tp) or [committed])
        earliest = (await consumer.earliest_offsets(tp)).get(tp)
        fields = {"topic": tp.topic, "partition": tp.partition, "committed": committed}
        if earliest is not None and earliest > committed:
            # Deleted by retention before anyone processed them: nothing to fetch again.
            consumer._gap[tp].addi(committed, earliest)
            log_event(
                LOG, "records_expired_unprocessed", level=logging.ERROR, **fields, next=earliest
            )
            return
        log_event(
            LOG, "commit_stall_healed", level=logging.WARNING, **fields, first_processed=first
        )
        # In the consumer's own thread. faust's ``seek`` calls aiokafka from this one,
        # which drops the partition's fetched records while that thread may be draining
        # them: aiokafka then fails on them (KeyError) and faust's fetcher is gone.
        try:
            await consumer.seek_wait({tp: committed})
        except Exception as exc:  # the next checks find the hole again and retry
            log_event(
                LOG, "commit_stall_heal_failed", level=logging.WARNING, **fields, error=repr(exc)
            )
            return
        # What faust's ``seek`` also does: records from the new position are read again.
        consumer._read_offset[tp] = committed or None
        self.healed += 1
