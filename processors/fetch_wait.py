"""How long a worker's fetch may wait at the broker for records that have not come.

faust builds its aiokafka consumer with ``fetch_max_wait_ms=1500`` and no way to change
it. aiokafka leaves out of a fetch every partition whose records the worker has not
consumed yet, and sends one fetch at a time to a broker. So when a fetch happened to
ask only for partitions with nothing new, it waited its full 1.5 s at the broker, and
records arriving meanwhile on the partitions left out waited as long: measured at 100
alerts/s, routing then fell into bursts every 1.5 s and stayed there (a route p50 of
1.3 s) once a disk stall had bunched the records up. A short wait caps that delay; a
fetch for partitions that do have records returns at once whatever the setting, and an
idle worker only asks the broker a little more often.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from processors.errors import ProcessorError

__all__ = ["install_fetch_wait"]

_FAUST_CREATE = AIOKafkaConsumerThread._create_worker_consumer


def install_fetch_wait(max_wait_ms: int) -> None:
    """Make every worker consumer created from now on wait at most ``max_wait_ms``."""
    if not 1 <= max_wait_ms <= 1500:
        raise ProcessorError(
            f"processor.fetch_max_wait_ms is {max_wait_ms}; it must be from 1 to 1500"
        )

    def create(self: Any, transport: Any) -> Any:
        consumer = _FAUST_CREATE(self, transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher.
        consumer._fetch_max_wait_ms = max_wait_ms
        return consumer

    setattr(AIOKafkaConsumerThread, "_create_worker_consumer", create)  # noqa: B010
