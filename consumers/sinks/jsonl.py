"""A JSON-lines file: one line per delivery, appended and fsynced, never twice.

Each line is ``{"idempotency_key": ..., **document}``. On opening, the keys already in
the file are read back, and a last line cut short by a crash (no trailing newline) is
cut off, so a delivery that was being written when the process died is written again
whole, and one that was written is not written twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from consumers.documents import Delivery, to_json_bytes
from consumers.exceptions import SinkError
from consumers.sinks.base import Outcome

__all__ = ["JsonlSink"]


class JsonlSink:
    name = "jsonl"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[str] = set()
        self._broken = False
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise SinkError(f"cannot open {path}: {exc.strerror}", retriable=False) from exc
        self._file = os.fdopen(fd, "a+b")
        self._recover()

    def _recover(self) -> None:
        self._file.seek(0)
        data = self._file.read()
        complete = data.rfind(b"\n") + 1
        if complete != len(data):
            self._file.truncate(complete)
            os.fsync(self._file.fileno())
        for number, line in enumerate(data[:complete].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                key = json.loads(line)["idempotency_key"]
            except (ValueError, KeyError, TypeError) as exc:
                raise SinkError(
                    f"{self.path} line {number} is not a delivery of ours", retriable=False
                ) from exc
            self._seen.add(str(key))

    def deliver(self, items: Sequence[Delivery]) -> list[Outcome]:
        if self._broken:
            raise SinkError(f"{self.path} holds a half-written line; restart", retriable=False)
        outcomes: list[Outcome] = []
        lines: list[bytes] = []
        batch: set[str] = set()
        for item in items:
            key = item.idempotency_key
            if key in self._seen or key in batch:
                outcomes.append(Outcome.DUPLICATE)
                continue
            batch.add(key)
            lines.append(to_json_bytes({"idempotency_key": key, **item.document}) + b"\n")
            outcomes.append(Outcome.DELIVERED)
        if lines:
            size = os.fstat(self._file.fileno()).st_size
            try:
                self._file.write(b"".join(lines))
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError as exc:
                self._undo(size)
                raise SinkError(f"cannot append to {self.path}: {exc.strerror}") from exc
            self._seen |= batch
        return outcomes

    def _undo(self, size: int) -> None:
        """Cut a half-written batch off again, so the next one starts on a clean line."""
        try:
            os.ftruncate(self._file.fileno(), size)
        except OSError:
            # The next open cuts the partial line off; until then nothing more is added.
            self._broken = True

    def maintain(self) -> None:
        return None

    def parked(self) -> int:
        return 0

    def close(self) -> None:
        self._file.close()
