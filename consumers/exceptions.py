"""Errors of the consumer: each says whether the same call may work later."""

from __future__ import annotations

from corridor.exceptions import CorridorError

__all__ = ["AckSendError", "ConsumerError", "InboxError", "SinkError", "SinkSpecError"]


class ConsumerError(CorridorError):
    """Root of the consumer's errors."""


class SinkSpecError(ConsumerError):
    """A ``--sink`` value that names no sink or a sink that cannot be configured."""


class SinkError(ConsumerError):
    """A sink could not take a batch; nothing of it was confirmed, so it is read again."""

    retriable = True


class AckSendError(ConsumerError):
    """An acknowledgement did not reach the broker."""

    retriable = True


class InboxError(ConsumerError):
    """The inbox or the consumer's local state cannot answer (missing, unknown alert)."""
