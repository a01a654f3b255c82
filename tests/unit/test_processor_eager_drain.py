"""The eager hand-over gives faust's consumer the outcomes faust's own ``wait_first``
gives, with a real mode service underneath: a callback that does not wait finishes
in place; one that waits is raced against the suspension as before; a suspension
cancels it; anything else goes to faust unchanged."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import pytest
from mode import Service
from mode.services import WaitResults

from processors.eager_drain import eager_wait_first, install_eager_drain, resume


class Recorder:
    """Counts the calls that reach faust's own ``wait_first``."""

    def __init__(self, service: Service) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._service = service

    async def __call__(self, *coros: Any, timeout: float | None = None) -> WaitResults:
        self.calls.append(coros)
        wait_first: Any = Service.wait_first
        result: WaitResults = await wait_first(self._service, *coros, timeout=timeout)
        return result


def _eager() -> tuple[Service, Recorder, Callable[..., Awaitable[WaitResults]]]:
    service = Service()
    original = Recorder(service)
    return service, original, eager_wait_first(service, original)


async def _never(event: asyncio.Event) -> None:
    await event.wait()


def test_a_callback_that_does_not_wait_finishes_in_place() -> None:
    log: list[str] = []

    async def callback() -> str:
        log.append("ran")
        return "delivered"

    async def scenario() -> WaitResults:
        _, original, wait_first = _eager()
        suspension = _never(asyncio.Event())
        results = await wait_first(callback(), suspension)
        # Closed, never started: no "never awaited" warning, nothing left pending.
        assert inspect.getcoroutinestate(suspension) == inspect.CORO_CLOSED
        assert original.calls == []
        return results

    results = asyncio.run(scenario())
    assert log == ["ran"]
    assert results.results == ["delivered"]
    assert not results.stopped


def test_a_callback_that_waits_is_raced_as_before_and_gets_its_values() -> None:
    async def scenario() -> tuple[list[Any], int]:
        _, original, wait_first = _eager()
        room: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        seen: list[Any] = []

        async def callback() -> str:
            seen.append("started")
            seen.append(await room)  # a full buffer: waits for room
            await asyncio.sleep(0)
            seen.append("put")
            return "delivered"

        asyncio.get_running_loop().call_later(0.01, room.set_result, 7)
        results = await wait_first(callback(), _never(asyncio.Event()))
        assert results.results == ["delivered"]
        return seen, len(original.calls)

    seen, calls = asyncio.run(scenario())
    assert seen == ["started", 7, "put"]
    assert calls == 1


def test_a_suspension_cancels_a_waiting_callback_as_faust_does() -> None:
    async def scenario() -> list[str]:
        _, original, wait_first = _eager()
        suspend = asyncio.Event()
        log: list[str] = []

        async def callback() -> None:
            try:
                await asyncio.Event().wait()  # never any room
            except asyncio.CancelledError:
                log.append("cancelled")
                raise
            finally:
                log.append("cleaned up")

        asyncio.get_running_loop().call_later(0.01, suspend.set)
        await wait_first(callback(), suspend.wait())
        await asyncio.sleep(0.01)  # the cancelled rest runs its handlers
        assert len(original.calls) == 1
        return log

    assert asyncio.run(scenario()) == ["cancelled", "cleaned up"]


def test_an_error_in_the_eager_part_is_raised_and_the_suspension_closed() -> None:
    async def callback() -> None:
        raise ValueError("bad record")

    async def scenario() -> None:
        _, original, wait_first = _eager()
        suspension = _never(asyncio.Event())
        with pytest.raises(ValueError, match="bad record"):
            await wait_first(callback(), suspension)
        assert inspect.getcoroutinestate(suspension) == inspect.CORO_CLOSED
        assert original.calls == []

    asyncio.run(scenario())


@pytest.mark.parametrize("shape", ["one", "timeout", "event", "stopped"])
def test_every_other_call_goes_to_faust_unchanged(shape: str) -> None:
    async def quick() -> str:
        return "done"

    async def scenario() -> WaitResults:
        service, original, wait_first = _eager()
        if shape == "one":
            results = await wait_first(quick())
        elif shape == "timeout":
            results = await wait_first(quick(), _never(asyncio.Event()), timeout=5)
        elif shape == "event":
            results = await wait_first(quick(), asyncio.Event())
        else:
            service._stopped.set()
            results = await wait_first(quick(), _never(asyncio.Event()))
        assert len(original.calls) == 1
        return results

    results = asyncio.run(scenario())
    if shape == "stopped":
        assert results.stopped
    else:
        assert results.results[:1] == ["done"]


class Point:
    """An awaitable that hands itself to whoever drives the coroutine, once."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __await__(self) -> Generator[Point, Any, Any]:
        return (yield self)


def test_resume_passes_every_value_and_error_on_as_a_task_would() -> None:
    async def inner() -> tuple[Any, ...]:
        first = await Point("p1")
        try:
            await Point("p2")
        except KeyError as exc:
            return (first, "caught", exc.args[0])
        return (first, "not caught")

    coro = inner()
    p1 = coro.send(None)  # what the eager step does
    rest = resume(coro, p1)
    assert rest.send(None) is p1  # the task first sees what the eager step stopped at
    p2 = rest.send("A")
    assert isinstance(p2, Point)
    assert p2.name == "p2"
    with pytest.raises(StopIteration) as stop:
        rest.throw(KeyError("k"))
    assert stop.value.value == ("A", "caught", "k")


def test_install_replaces_the_consumers_wait_first() -> None:
    service = Service()
    install_eager_drain(service)
    assert service.wait_first.__qualname__.startswith("eager_wait_first")


def test_each_hand_over_gives_the_loop_a_turn() -> None:
    """A stream takes one event per turn of the loop: a hand-over that kept the loop
    would fill the stream's buffer and make faust pause the partition."""

    async def callback() -> None:
        return None

    async def scenario() -> tuple[int, int]:
        _, _, wait_first = _eager()
        turns = 0
        done = False

        async def count_turns() -> None:
            nonlocal turns
            while not done:
                turns += 1
                await asyncio.sleep(0)

        counter = asyncio.ensure_future(count_turns())
        await asyncio.sleep(0)
        before = turns
        for _ in range(50):
            await wait_first(callback(), _never(asyncio.Event()))
        done = True
        await counter
        return before, turns

    before, after = asyncio.run(scenario())
    assert after - before >= 50
