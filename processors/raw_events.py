"""Events of raw-bytes topics, made without faust's serializer chain.

The worker reads its inbound topics as raw bytes and decodes them itself (the codec,
with its own checks and dead letters). faust's schema still runs every record through
its serializer registry, the ``raw`` codec, settings look-ups and a model
reconstruction check, to produce the very bytes it started from, at a cost per record
comparable to an empty agent's whole event (``corridor bench``, ``faust`` section).
:class:`RawSchema` hands the record's key and value to the event as they came.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import faust

__all__ = ["RawSchema"]


class RawSchema(faust.Schema[bytes | None, bytes | None]):
    """A raw-bytes schema whose decoder makes the event directly (module docstring)."""

    def __init__(self) -> None:
        super().__init__(key_serializer="raw", value_serializer="raw")

    def compile(
        self, app: Any, *, default_propagate: bool = False, **_: Any
    ) -> Callable[..., Awaitable[Any]]:
        # A raw key or value cannot fail to decode, so there are no error callbacks.
        event = app.conf.Event

        async def decode(message: Any, *, propagate: bool = default_propagate) -> Any:
            return event(app, message.key, message.value, message.headers, message)

        return decode
