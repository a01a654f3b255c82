"""Publishing many alerts at once, with a summary that accounts for every record.

Each input record ends in exactly one place of the :class:`BulkSummary`: published
(the broker acknowledged it), failed (with its line, reason code and message) or not
attempted (the run stopped first). A bad record does not stop the others unless
``strict``: then the whole input is checked before anything is sent, nothing is sent
if any record fails, and sending stops at the first delivery failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from producers.exceptions import AlertRejectedError, FailureCode, ProducerError
from producers.input import InputRecord
from producers.publisher import UNKNOWN_LABEL, Delivery, Publisher, alert_labels

__all__ = [
    "KEEP_PUBLISHED",
    "BulkSummary",
    "CorridorTally",
    "Failure",
    "Published",
    "publish_all",
]


@dataclass(frozen=True, slots=True)
class Failure:
    line: int
    code: str
    corridor: str
    message: str


@dataclass(frozen=True, slots=True)
class Published:
    """Where one alert landed; the summary keeps the first few for display."""

    line: int
    alert_id: str
    corridor: str
    partition: int | None
    offset: int | None
    recipients: tuple[str, ...]


#: How many published alerts a summary remembers individually.
KEEP_PUBLISHED = 20


@dataclass(slots=True)
class CorridorTally:
    published: int = 0
    failed: int = 0


@dataclass
class BulkSummary:
    """Counts of one run; updated from the delivery thread too, hence the lock."""

    dry_run: bool = False
    submitted: int = 0
    published: int = 0
    not_attempted: int = 0
    stopped: str | None = None
    failures: list[Failure] = field(default_factory=list)
    first_published: list[Published] = field(default_factory=list)
    corridors: dict[str, CorridorTally] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def finish(self) -> None:
        """Stop the clock: call once every delivery has been answered (after close)."""
        if self.finished is None:
            self.finished = time.monotonic()

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def ok(self) -> bool:
        return not self.failures and self.stopped is None and self.not_attempted == 0

    def delivered(self, line: int, delivery: Delivery) -> None:
        with self._lock:
            tally = self.corridors.setdefault(delivery.corridor, CorridorTally())
            if delivery.error is None:
                self.published += 1
                tally.published += 1
                if len(self.first_published) < KEEP_PUBLISHED:
                    self.first_published.append(
                        Published(
                            line,
                            delivery.alert_id,
                            delivery.corridor,
                            delivery.partition,
                            delivery.offset,
                            delivery.recipients,
                        )
                    )
            else:
                self._fail(line, delivery.error.code.value, delivery.corridor, str(delivery.error))

    def fail(self, line: int, code: str, corridor: str, message: str) -> None:
        with self._lock:
            self._fail(line, code, corridor, message)

    def _fail(self, line: int, code: str, corridor: str, message: str) -> None:
        self.failures.append(Failure(line, code, corridor, message))
        self.corridors.setdefault(corridor, CorridorTally()).failed += 1

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for failure in self.failures:
            counts[failure.code] = counts.get(failure.code, 0) + 1
        return dict(sorted(counts.items()))

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "dry_run": self.dry_run,
                "published": self.published,
                "failed": self.failed,
                "not_attempted": self.not_attempted,
                "stopped": self.stopped,
                "seconds": round(self.elapsed, 3),
                "reasons": self.reasons(),
                "corridors": {
                    key: {"published": t.published, "failed": t.failed}
                    for key, t in sorted(self.corridors.items())
                },
                "first_published": [
                    {
                        "line": p.line,
                        "alert_id": p.alert_id,
                        "corridor": p.corridor,
                        "partition": p.partition,
                        "offset": p.offset,
                        "recipients": list(p.recipients),
                    }
                    for p in sorted(self.first_published, key=lambda p: p.line)
                ],
                "failures": [
                    {"line": f.line, "code": f.code, "corridor": f.corridor, "error": f.message}
                    for f in sorted(self.failures, key=lambda f: f.line)
                ],
            }


Progress = Callable[[BulkSummary], None]


def _corridor(alert: Mapping[str, Any] | None) -> str:
    return UNKNOWN_LABEL if alert is None else alert_labels(alert)[0]


def _precheck(publisher: Publisher, records: list[InputRecord], summary: BulkSummary) -> bool:
    """Check every record without sending; True when all pass."""
    for record in records:
        if record.alert is None:
            summary.fail(record.line, FailureCode.MALFORMED.value, UNKNOWN_LABEL, str(record.error))
            continue
        try:
            publisher.check(record.alert)
        except AlertRejectedError as exc:
            summary.fail(record.line, exc.code.value, _corridor(record.alert), str(exc))
    if summary.failures:
        summary.stopped = f"--strict: {summary.failed} record(s) failed the checks; nothing sent"
        summary.not_attempted = len(records) - summary.failed
        summary.finish()
        return False
    return True


def _recorder(summary: BulkSummary, line: int) -> Callable[[Delivery], None]:
    return lambda delivery: summary.delivered(line, delivery)


def _stop(summary: BulkSummary, reason: str, remaining: Iterator[InputRecord]) -> None:
    summary.stopped = reason
    summary.not_attempted = 1 + sum(1 for _ in remaining)


def publish_all(
    publisher: Publisher,
    records: Iterable[InputRecord],
    *,
    strict: bool = False,
    progress: Progress | None = None,
) -> BulkSummary:
    """Publish every record; returns once each is queued or refused.

    Deliveries still arrive after this returns: close the publisher, call
    :meth:`BulkSummary.finish`, then read the summary. Rejections, delivery failures
    and malformed lines are recorded with their line numbers; a broker that stops
    taking alerts ends the run, and the records after it count as not attempted.
    """
    summary = BulkSummary(dry_run=publisher.dry_run)
    if strict:
        records = list(records)
        if not _precheck(publisher, records, summary):
            return summary
    iterator = iter(records)
    for record in iterator:
        if strict and summary.failures:
            first = min(f.line for f in summary.failures)
            _stop(summary, f"--strict: stopped after the failure of line {first}", iterator)
            break
        if record.alert is None:
            summary.fail(record.line, FailureCode.MALFORMED.value, UNKNOWN_LABEL, str(record.error))
        else:
            try:
                publisher.publish(record.alert, on_delivery=_recorder(summary, record.line))
                summary.submitted += 1
            except AlertRejectedError as exc:
                summary.fail(record.line, exc.code.value, _corridor(record.alert), str(exc))
            except ProducerError as exc:  # the broker stopped taking alerts, or closed
                _stop(summary, str(exc), iterator)
                break
        if progress is not None:
            progress(summary)
    return summary
