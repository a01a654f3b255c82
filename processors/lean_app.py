"""The worker's faust app: faust, less its per-event costs that nothing needs.

An empty faust agent costs about as much per event as an Ed25519 verification
(``corridor bench``, ``faust`` section), and that cost is part of every alert,
acknowledgement, sighting batch and sweep a worker handles. Profiled, most of it was
bookkeeping nobody reads (:mod:`processors.lean_sensors`), the hand-over of each record
through four short-lived tasks (:mod:`processors.eager_drain`) and, for raw topics, a
serializer chain that returns its input (:mod:`processors.raw_events`). :class:`LeanApp`
is ``faust.App`` with the first two cut; topics opt into the third with
:class:`~processors.raw_events.RawSchema`. Streams, tables, commits, rebalancing and
recovery are faust's, unchanged (decision 19).
"""

from __future__ import annotations

from typing import Any

import faust

from processors.eager_drain import install_eager_drain
from processors.lean_sensors import LeanMonitor, LeanSensorDelegate

__all__ = ["LeanApp"]


class LeanApp(faust.App):
    """``faust.App`` with lean sensors and the eager hand-over (module docstring)."""

    def __init__(self, id: str, **options: Any) -> None:
        super().__init__(id, Monitor=LeanMonitor, **options)
        # Before any stream or table exists: each keeps the hooks of the delegate it saw.
        self.sensors = LeanSensorDelegate(self)

    def _new_consumer(self) -> Any:
        consumer = super()._new_consumer()
        install_eager_drain(consumer)
        return consumer
