"""The worker's faust app: per-event hooks reach only the sensors that use them, the
stream-stopped check still has its figure, and raw topics give events the record's own
key, value and headers, as faust's schema does."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from faust.types import TP

from processors.commit_barrier import CommitBarrier
from processors.lean_app import LeanApp
from processors.lean_sensors import PER_EVENT_HOOKS, LeanMonitor, LeanSensorDelegate
from processors.raw_events import RawSchema

TP0 = TP("corridor.inbound", 0)
#: Stands for the consumer, stream, event or message a hook is given and does not use.
NOTHING: Any = None


class Counting(faust.Sensor):
    """A sensor that uses two per-event hooks and the commit hook."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> Any:
        self.calls.append("in")
        return f"state {offset}"

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        self.calls.append(f"out with {state}")

    def on_commit_initiated(self, consumer: Any) -> Any:
        self.calls.append("commit")
        return "commit state"


@pytest.fixture
def app() -> LeanApp:
    return LeanApp("corridor-lean-test", broker="kafka://localhost:1", web_enabled=False)


def test_the_app_has_the_lean_monitor_and_delegate(app: LeanApp) -> None:
    assert isinstance(app.sensors, LeanSensorDelegate)
    assert isinstance(app.monitor, LeanMonitor)


def test_per_event_hooks_reach_only_the_sensors_that_define_them(app: LeanApp) -> None:
    counting, plain, monitor = Counting(), faust.Sensor(), LeanMonitor()
    for sensor in (counting, plain, monitor):
        app.sensors.add(sensor)
    delegate = app.sensors
    assert isinstance(delegate, LeanSensorDelegate)
    assert set(delegate.sensors_for("on_stream_event_in")) == {counting, monitor}
    assert delegate.sensors_for("on_stream_event_out") == (counting,)
    for hook in ("on_message_in", "on_message_out", "on_table_get", "on_table_set"):
        assert delegate.sensors_for(hook) == ()

    state = delegate.on_stream_event_in(TP0, 41, None, None)
    delegate.on_stream_event_out(TP0, 41, None, None, state)
    assert counting.calls == ["in", "out with state 41"]
    assert TP0 in monitor.stream_inbound_time
    # Every other hook still reaches every sensor.
    commit = delegate.on_commit_initiated(NOTHING)
    assert set(commit) == {counting, plain, monitor}
    assert counting.calls[-1] == "commit"

    delegate.remove(counting)
    assert delegate.sensors_for("on_stream_event_out") == ()
    assert delegate.on_stream_event_in(TP0, 42, None, None) is not None  # the monitor's


def test_the_commit_barrier_takes_no_per_event_call(app: LeanApp) -> None:
    delegate = LeanSensorDelegate(app)
    delegate.add(CommitBarrier(()))
    assert all(delegate.sensors_for(hook) == () for hook in PER_EVENT_HOOKS)
    assert delegate.on_stream_event_in(TP0, 1, None, None) is None
    delegate.on_stream_event_out(TP0, 1, None, None, None)
    delegate.on_message_in(TP0, 1, None)
    delegate.on_table_set(None, "key", "value")


def test_the_lean_monitor_keeps_only_the_time_faust_checks() -> None:
    monitor = LeanMonitor()
    monitor.on_message_in(TP0, 5, NOTHING)
    monitor.on_stream_event_in(TP0, 5, NOTHING, NOTHING)
    monitor.on_stream_event_out(TP0, 5, NOTHING, NOTHING, None)
    monitor.on_message_out(TP0, 5, NOTHING)
    assert set(monitor.stream_inbound_time) == {TP0}
    assert monitor.events_total == 0
    assert monitor.messages_received_total == 0


class _Message:
    def __init__(self, key: bytes | None, value: bytes | None) -> None:
        self.key = key
        self.value = value
        self.headers = [("corridor-event", b"CaseAlert")]


@pytest.mark.parametrize(
    ("key", "value"),
    [(b"RO>AT", b"\xc3\x01 alert"), (None, b"v"), (b"k", None), (b"", b"")],
)
def test_raw_events_carry_what_faust_raw_schema_gives(
    app: LeanApp, key: bytes | None, value: bytes | None
) -> None:
    message: Any = _Message(key, value)
    stock: faust.Schema[Any, Any] = faust.Schema(key_serializer="raw", value_serializer="raw")

    async def decode() -> tuple[Any, Any]:
        ours = await RawSchema().compile(app)(message)
        theirs = await stock.compile(app)(message)
        return ours, theirs

    ours, theirs = asyncio.run(decode())
    assert (ours.key, ours.value, ours.headers) == (theirs.key, theirs.value, theirs.headers)
    assert ours.message is message
    assert ours.value is value  # handed over, not copied
