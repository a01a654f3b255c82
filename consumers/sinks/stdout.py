"""Print each delivery as one JSON line, for a person watching; keeps nothing."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from consumers.documents import Delivery, to_json_bytes
from consumers.sinks.base import Outcome

__all__ = ["StdoutSink"]


class StdoutSink:
    name = "stdout"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout

    def deliver(self, items: Sequence[Delivery]) -> list[Outcome]:
        for item in items:
            self._stream.write(to_json_bytes(item.document).decode("utf-8") + "\n")
        self._stream.flush()
        return [Outcome.DELIVERED] * len(items)

    def maintain(self) -> None:
        return None

    def parked(self) -> int:
        return 0

    def close(self) -> None:
        self._stream.flush()
