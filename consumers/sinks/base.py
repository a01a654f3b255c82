"""The contract every sink keeps with the subscriber.

``deliver`` returns only once each item is durably in the sink's custody, delivered,
recognised as a duplicate, or parked for a later retry, because the subscriber commits
the Kafka offset right after; it raises :class:`consumers.exceptions.SinkError`
when it could not take the batch, and then nothing of the batch counts as confirmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from consumers.documents import Delivery

__all__ = ["Outcome", "Sink", "SinkObserver"]


class Outcome(StrEnum):
    DELIVERED = "delivered"
    DUPLICATE = "duplicate"
    PARKED = "parked"


class SinkObserver:
    """What a sink reports beyond outcomes: retries, its parked count, late deliveries.

    The subscriber passes one that feeds :class:`corridor.metrics.ConsumerMetrics`;
    this base class ignores everything, for tests and tools.
    """

    def retried(self) -> None:
        """One attempt failed and another follows (or the item is parked)."""

    def parked_now(self, count: int) -> None:
        """The number of parked deliveries changed to ``count``."""

    def delivered_later(self, latency_seconds: float) -> None:
        """A parked delivery reached its destination ``latency_seconds`` after its event."""


class Sink(Protocol):
    #: Metric label and log name: sqlite, jsonl, http or stdout.
    name: str

    def deliver(self, items: Sequence[Delivery]) -> list[Outcome]:
        """Take a batch; one outcome per item, in order."""
        ...

    def maintain(self) -> None:
        """Periodic work between batches (retrying parked deliveries); cheap when idle."""
        ...

    def parked(self) -> int:
        """How many deliveries wait in the local retry store."""
        ...

    def close(self) -> None: ...
