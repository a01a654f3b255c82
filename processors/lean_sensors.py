"""faust's per-event bookkeeping, cut to what something reads.

Every event a faust agent handles passes through its sensors four times (message in,
stream event in and out, message out) and every table read or write once more. faust
always installs its :class:`~faust.sensors.Monitor` among them, which on each call
counts, times and files the event in several dictionaries and a deque, for faust's
web statistics pages. A worker runs without faust's web server and exports its own
Prometheus metrics, so none of that is ever read, except one figure: the time a
partition last handed an event to its stream (``stream_inbound_time``), which faust's
consumer checks to warn that a stream has stopped.

:class:`LeanMonitor` keeps that one figure and nothing else per event.
:class:`LeanSensorDelegate` calls each per-event hook only on the sensors that define
it (the worker's :class:`~processors.commit_barrier.CommitBarrier` defines none), so
an event with nothing to record costs a loop over an empty tuple. Every other hook
(commits, rebalances, assignments, sends) still reaches every sensor.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

import faust
from faust.sensors import Monitor, SensorDelegate

__all__ = ["PER_EVENT_HOOKS", "LeanMonitor", "LeanSensorDelegate"]

#: The hooks faust calls for every event or table access.
PER_EVENT_HOOKS = (
    "on_message_in",
    "on_stream_event_in",
    "on_stream_event_out",
    "on_message_out",
    "on_table_get",
    "on_table_set",
    "on_table_del",
)


class LeanMonitor(Monitor):
    """faust's Monitor without its per-event statistics (see the module docstring).

    The hooks it does not need are faust's base sensor's own no-ops again, so that
    :class:`LeanSensorDelegate` knows to skip them."""

    on_message_in = faust.Sensor.on_message_in
    on_stream_event_out = faust.Sensor.on_stream_event_out
    on_message_out = faust.Sensor.on_message_out
    on_table_get = faust.Sensor.on_table_get
    on_table_set = faust.Sensor.on_table_set
    on_table_del = faust.Sensor.on_table_del

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        # faust's aiokafka driver reads this to log a stream that stopped processing.
        self.stream_inbound_time[tp] = monotonic()


def _defines(sensor: Any, hook: str) -> bool:
    """Whether ``sensor``'s class does something in ``hook`` (faust's base does not)."""
    return getattr(type(sensor), hook, None) is not getattr(faust.Sensor, hook)


class LeanSensorDelegate(SensorDelegate):
    """faust's sensor delegate, calling per-event hooks only where they are defined."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._by_hook: dict[str, tuple[Any, ...]] = dict.fromkeys(PER_EVENT_HOOKS, ())

    def add(self, sensor: Any) -> None:
        super().add(sensor)
        self._index()

    def remove(self, sensor: Any) -> None:
        super().remove(sensor)
        self._index()

    def _index(self) -> None:
        self._by_hook = {
            hook: tuple(s for s in self._sensors if _defines(s, hook)) for hook in PER_EVENT_HOOKS
        }

    def sensors_for(self, hook: str) -> tuple[Any, ...]:
        """The sensors a per-event hook reaches (for tests and diagnostics)."""
        return self._by_hook[hook]

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        for sensor in self._by_hook["on_message_in"]:
            sensor.on_message_in(tp, offset, message)

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> Any:
        sensors = self._by_hook["on_stream_event_in"]
        if not sensors:
            return None
        return {s: s.on_stream_event_in(tp, offset, stream, event) for s in sensors}

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        states = state or {}
        for sensor in self._by_hook["on_stream_event_out"]:
            sensor.on_stream_event_out(tp, offset, stream, event, states.get(sensor))

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        for sensor in self._by_hook["on_message_out"]:
            sensor.on_message_out(tp, offset, message)

    def on_table_get(self, table: Any, key: Any) -> None:
        for sensor in self._by_hook["on_table_get"]:
            sensor.on_table_get(table, key)

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        for sensor in self._by_hook["on_table_set"]:
            sensor.on_table_set(table, key, value)

    def on_table_del(self, table: Any, key: Any) -> None:
        for sensor in self._by_hook["on_table_del"]:
            sensor.on_table_del(table, key)
