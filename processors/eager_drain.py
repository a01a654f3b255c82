"""The hand-over of each fetched record to its stream, without four tasks per record.

faust's consumer hands every record to the topics' callback through
``wait_first(callback(message), suspend_flow.wait())``: the callback may block on a full
stream buffer, and a rebalance must be able to abandon it. mode's ``wait_first`` wraps
both coroutines and the consumer's ``stopped`` and ``crashed`` events in four tasks,
waits for the first with ``asyncio.wait`` and cancels the other three: half a dozen
event-loop rounds for a callback that, almost always, finishes without waiting for
anything (the record is decoded and put in a buffer with room).

:func:`eager_wait_first` runs the callback at once, in the caller's task, up to the
first time it would wait (what Python 3.12's eager tasks do). If it finishes there, the
suspension coroutine is closed unstarted and the result is returned: the outcome
faust gets when the callback wins the race, which it always does when it does not
wait. If it has to wait, the rest of it becomes a task and faust's own ``wait_first``
races it against the suspension exactly as before. Only this two-coroutine call of a
running consumer takes the shortcut; every other call goes to faust unchanged.

Either way the hand-over yields to the event loop once per record. A stream takes one
event per turn of the loop, so a hand-over that did not yield would fill the streams'
buffers a hundred records at a time; a full buffer makes faust pause its partitions
until the stream has drained it, and a partition paused across a rebalance was seen
never to resume (the process-crash chaos test lost the rest of a partition that way).
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

from mode.services import WaitResults

__all__ = ["eager_wait_first", "install_eager_drain", "resume"]

WaitFirst = Callable[..., Awaitable[WaitResults]]


@types.coroutine
def resume(coro: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, Any, Any]:
    """The rest of ``coro``, which has already run up to yielding ``pending`` to the
    event loop: yields that first, then passes every resumption (a value, or the
    exception a cancellation throws in) on to ``coro``."""
    while True:
        try:
            sent = yield pending
        except BaseException as exc:  # a task's cancellation arrives here; pass it on
            try:
                pending = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                pending = coro.send(sent)
            except StopIteration as stop:
                return stop.value


def eager_wait_first(service: Any, original: WaitFirst) -> WaitFirst:
    """``service.wait_first`` with the shortcut of the module docstring."""

    async def wait_first(*coros: Any, timeout: float | None = None) -> WaitResults:
        if (
            len(coros) != 2
            or timeout is not None
            or not all(asyncio.iscoroutine(c) for c in coros)
            or service._stopped.is_set()
            or service._crashed.is_set()
        ):
            return await original(*coros, timeout=timeout)
        first, other = coros
        try:
            pending = first.send(None)
        except StopIteration as done:
            other.close()
            # One turn of the loop per record, as faust's tasks gave: without it the
            # drain would hand over a whole fetch while each stream takes one event per
            # turn, and the full buffers would pause the partitions (see below).
            await asyncio.sleep(0)
            return WaitResults([first], [done.value], False)
        except BaseException:
            other.close()
            raise
        rest = asyncio.ensure_future(resume(first, pending))
        return await original(rest, other)

    return wait_first


def install_eager_drain(consumer: Any) -> None:
    """Gives ``consumer`` (a faust consumer, before it starts) the eager hand-over."""
    consumer.wait_first = eager_wait_first(consumer, consumer.wait_first)
