"""The running pipeline of a chaos test: a publishing stream, consumer processes, an audit.

Processors run as ``corridor process`` workers (tests/processor_running.py); consumers
run here as ``corridor consume`` processes, so either can be killed with SIGKILL and
started again on the same group, inbox and state. The audit compares what the
publisher had acknowledged by the brokers with what each recipient holds at the end:
an acknowledged alert missing from its recipient's sink is lost; a second copy of an
alert in a sink is a duplicate delivered.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corridor.codec import Codec
from corridor.codec_errors import CodecError
from corridor.config import Settings
from corridor.connection import Connection
from corridor.records import alert_from_record
from producers import AlertRejectedError, Delivery, ProducerError, open_publisher
from tests.consumer_running import fresh_group
from tests.processor_running import CORRIDOR, ProcessorGroup, Record, TopicWindow

#: Environment of the chaos tests' processor workers. ``corridor process`` hosts the
#: operations page by default, whose poller re-reads the audit, acknowledgement and
#: dead-letter topics every few seconds in the worker's own process: on a shared
#: two-core machine that takes a large share of the CPU from routing. These tests are
#: about routing; the page is switched off (the data-at-rest test keeps it on).
NO_PAGE = {"CORRIDOR_PROCESSOR_WEB_PORT": "0"}


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def settle(
    done: Callable[[], bool], *, timeout: float, tick: Callable[[], None] = lambda: None
) -> bool:
    """Poll ``done`` (calling ``tick`` between polls) until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        tick()
        if done():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def settle_while_moving(
    done: Callable[[], bool],
    progress: Callable[[], int],
    *,
    stall: float = 120.0,
    limit: float = 900.0,
    tick: Callable[[], None] = lambda: None,
) -> bool:
    """Like :func:`settle`, but waits as long as ``progress`` keeps growing: a slow,
    shared machine is not a failure; ``stall`` seconds without any progress is."""
    deadline = time.monotonic() + limit
    last, moved = progress(), time.monotonic()
    while not settle(done, timeout=5.0, tick=tick):
        now, current = time.monotonic(), progress()
        if current != last:
            last, moved = current, now
        if now - moved > stall or now > deadline:
            return False
    return True


@dataclass
class ConsumerProcess:
    """One agency's ``corridor consume`` process with a sqlite inbox or a jsonl file."""

    home: Path
    agency: str
    group: str
    folder: Path
    sink: str = "sqlite"
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _starts: int = 0
    _read_to: int = 0
    _lines: Counter[str] = field(default_factory=Counter)

    @property
    def path(self) -> Path:
        return self.folder / ("inbox.sqlite" if self.sink == "sqlite" else "deliveries.jsonl")

    @property
    def log(self) -> Path:
        return self.folder / "consume.log"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._starts += 1
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    CORRIDOR,
                    "--home",
                    str(self.home),
                    "consume",
                    "--as",
                    self.agency,
                    "--sink",
                    f"{self.sink}:{self.path}",
                    "--group",
                    self.group,
                    "--state-dir",
                    str(self.folder / "state"),
                    "--metrics-port",
                    "0",
                    "--batch-size",
                    "200",
                    "--instance-id",
                    f"{self.group}-1",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
            )

    def exited(self) -> int | None:
        """The exit code once the process has ended on its own (None while it runs)."""
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def started(self) -> bool:
        """The latest start has reached the consume loop (its log says so)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count("consumer_started") >= self._starts

    def stop(self) -> int:
        """SIGTERM: the consumer finishes its batch, commits and exits (0).

        A process just (re)started is first let reach its consume loop: what is under
        test is the stop of a running consumer, not of an interpreter still importing.
        """
        assert self.process is not None
        deadline = time.monotonic() + 60
        while self.process.poll() is None and not self.started() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -signal.SIGKILL

    def holdings(self) -> Counter[str]:
        """Alert id -> copies held: one per inbox row (the alert id is its key), one per
        line of the jsonl file (nothing but the sink's own bookkeeping prevents two)."""
        if self.sink == "sqlite":
            return Counter(self.receptions().keys())
        if not self.path.exists():
            return Counter()
        with self.path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size < self._read_to:
                self._read_to, self._lines = 0, Counter()  # never expected: start again
            handle.seek(self._read_to)
            data = handle.read()
        complete = data.rfind(b"\n") + 1  # a line being written stays for the next call
        for line in data[:complete].splitlines():
            kind, _, alert_id = str(json.loads(line)["idempotency_key"]).partition(":")
            if kind == "alert":
                self._lines[alert_id] += 1
        self._read_to += complete
        return Counter(self._lines)

    def receptions(self) -> dict[str, int]:
        """sqlite only: alert id -> ``times_received`` (the sink saw it that often)."""
        if not self.path.exists():
            return {}
        db = sqlite3.connect(self.path, timeout=30.0)
        try:
            rows = db.execute("SELECT alert_id, times_received FROM alerts").fetchall()
        except sqlite3.OperationalError:  # the consumer has not created its tables yet
            return {}
        finally:
            db.close()
        return {str(alert_id): int(times) for alert_id, times in rows}


def consumer_processes(
    home: Path, admin: Connection, sinks: Mapping[str, str], logs: Path
) -> dict[str, ConsumerProcess]:
    """One consumer per agency of ``sinks`` (agency -> sink), each in a fresh group
    at the end of its delivery topic, logging under ``logs/<agency>``."""
    return {
        agency: ConsumerProcess(home, agency, fresh_group(admin, agency), logs / agency, sink=sink)
        for agency, sink in sinks.items()
    }


@contextmanager
def running(
    consumers: Mapping[str, ConsumerProcess], stream: AlertStream | None = None
) -> Iterator[None]:
    """Start the consumers; whatever happens, stop the stream and every consumer after."""
    for consumer in consumers.values():
        consumer.start()
    try:
        yield
    finally:
        if stream is not None:
            stream.stop()
        for consumer in consumers.values():
            if consumer.process is not None and consumer.process.poll() is None:
                consumer.stop()


@dataclass
class AlertStream:
    """Publishes alerts from one issuer in a thread; remembers every broker answer."""

    settings: Settings
    issuer: str
    alerts: Iterable[dict[str, Any]]
    #: Alerts per second at most (0: as fast as the publisher goes).
    rate: float = 0.0
    acked: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unacked: dict[str, tuple[str, ...]] = field(default_factory=dict)
    refused: int = 0
    errors: list[BaseException] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> AlertStream:
        self._thread = threading.Thread(target=self._run, name="alert-stream", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float = 600.0) -> None:
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError("the alert stream did not finish")
        if self.errors:
            raise self.errors[0]

    def stop(self) -> None:
        """Stop publishing (a failed test must not leave the stream going)."""
        self._stop.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def progress(self) -> int:
        with self._lock:
            return len(self.acked)

    def _done(self, delivery: Delivery) -> None:
        with self._lock:
            target = self.acked if delivery.ok else self.unacked
            target[delivery.alert_id] = delivery.recipients

    def _run(self) -> None:
        try:
            with open_publisher(self.settings, self.issuer) as publisher:
                started = time.monotonic()
                for n, alert in enumerate(self.alerts, start=1):
                    if self._stop.is_set():
                        return
                    try:
                        publisher.publish(alert, on_delivery=self._done)
                    except AlertRejectedError:
                        self.refused += 1
                    except ProducerError:  # the send queue stayed full: not acknowledged
                        self.refused += 1
                    ahead = n / self.rate - (time.monotonic() - started) if self.rate else 0
                    if ahead > 0:
                        time.sleep(ahead)
        except BaseException as exc:
            self.errors.append(exc)

    def expected(self) -> dict[str, set[str]]:
        """Agency -> acknowledged alert ids it must end up holding."""
        with self._lock:
            acked = list(self.acked.items())
        out: dict[str, set[str]] = {}
        for alert_id, recipients in acked:
            for agency in recipients:
                out.setdefault(agency, set()).add(alert_id)
        return out

    def possible(self) -> dict[str, set[str]]:
        """Agency -> every alert id of this stream it may hold (acked or not)."""
        out = self.expected()
        with self._lock:
            unacked = list(self.unacked.items())
        for alert_id, recipients in unacked:
            for agency in recipients:
                out.setdefault(agency, set()).add(alert_id)
        return out

    def ids(self) -> set[str]:
        with self._lock:
            return set(self.acked) | set(self.unacked)


@dataclass
class Audit:
    """What the recipients hold of one stream, against what they must hold."""

    expected: int
    lost: dict[str, set[str]]
    duplicated: dict[str, dict[str, int]]
    foreign: dict[str, set[str]]
    redeliveries: int

    @property
    def lost_count(self) -> int:
        return sum(len(ids) for ids in self.lost.values())

    @property
    def duplicate_count(self) -> int:
        return sum(n - 1 for copies in self.duplicated.values() for n in copies.values())

    def summary(self) -> str:
        return (
            f"expected {self.expected}, lost {self.lost_count}, duplicates "
            f"{self.duplicate_count}, misrouted {sum(map(len, self.foreign.values()))}, "
            f"redeliveries absorbed {self.redeliveries}"
        )


def audit(stream: AlertStream, consumers: Mapping[str, ConsumerProcess]) -> Audit:
    expected, possible, ours = stream.expected(), stream.possible(), stream.ids()
    lost: dict[str, set[str]] = {}
    duplicated: dict[str, dict[str, int]] = {}
    foreign: dict[str, set[str]] = {}
    redeliveries = 0
    for agency, consumer in consumers.items():
        held = consumer.holdings()
        mine = {alert_id: n for alert_id, n in held.items() if alert_id in ours}
        lost[agency] = expected.get(agency, set()) - set(mine)
        duplicated[agency] = {alert_id: n for alert_id, n in mine.items() if n > 1}
        foreign[agency] = set(mine) - possible.get(agency, set())
        if consumer.sink == "sqlite":
            redeliveries += sum(
                n - 1 for alert_id, n in consumer.receptions().items() if alert_id in ours
            )
    unserved = set(expected) - set(consumers)
    assert not unserved, f"no consumer runs for {sorted(unserved)}"
    total = sum(len(ids) for ids in expected.values())
    return Audit(total, lost, duplicated, foreign, redeliveries)


def held_count(stream: AlertStream, consumers: Mapping[str, ConsumerProcess]) -> int:
    """How many (agency, acknowledged alert) deliveries are in the sinks so far."""
    expected = stream.expected()
    return sum(
        len(expected.get(agency, set()) & set(consumer.holdings()))
        for agency, consumer in consumers.items()
    )


@dataclass
class Supervisor:
    """Restarts a worker or consumer that exits on its own, as a service manager would."""

    group: ProcessorGroup
    consumers: Mapping[str, ConsumerProcess]
    restarts: list[str] = field(default_factory=list)

    def tick(self) -> None:
        for name, worker in list(self.group.workers.items()):
            code = worker.process.poll()
            if code is not None:
                self.restarts.append(f"processor {name} exited with {code}")
                self.group.workers.pop(name)
                self.group.start(name)
        for agency, consumer in self.consumers.items():
            code = consumer.exited()
            if code is not None:
                self.restarts.append(f"consumer {agency} exited with {code}")
                consumer.start()


def alert_id_of(value: bytes, codec: Codec) -> str | None:
    """The alert id of CaseAlert bytes, None if they are not a well-formed alert."""
    try:
        return alert_from_record(codec.decode_as("CaseAlert", value)).metadata.alert_id
    except CodecError:
        return None


def alert_ids_in(records: Iterable[Record], codec: Codec) -> Counter[str]:
    """Alert id -> copies among delivery-topic records (other events are skipped)."""
    copies: Counter[str] = Counter()
    for record in records:
        alert_id = alert_id_of(record.value, codec) if record.event == "CaseAlert" else None
        if alert_id is not None:
            copies[alert_id] += 1
    return copies


def where_lost(result: Audit, window: TopicWindow, codec: Codec) -> dict[str, str]:
    """For a failed audit: were the lost alerts routed (on the delivery topic) at all?"""
    on_topic: dict[str, Counter[str]] = {}
    for record in window.read():
        agency = record.topic.removeprefix("corridor.deliver.")
        on_topic.setdefault(agency, Counter()).update(alert_ids_in([record], codec))
    return {
        agency: f"{len(ids)} lost, {len(ids & set(on_topic.get(agency, {})))} of them routed"
        for agency, ids in result.lost.items()
        if ids
    }


@dataclass
class Watch:
    """Calls the supervisor; every ``every`` seconds notes the stream's progress."""

    supervisor: Supervisor
    stream: AlertStream
    consumers: Mapping[str, ConsumerProcess]
    every: float = 10.0
    notes: list[str] = field(default_factory=list)
    _started: float = field(default_factory=time.monotonic)
    _last: float = 0.0

    def __call__(self) -> None:
        self.supervisor.tick()
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            expected = self.stream.expected()
            held = {
                agency: len(expected.get(agency, set()) & set(consumer.holdings()))
                for agency, consumer in self.consumers.items()
            }
            note = f"{now - self._started:4.0f}s acked {self.stream.progress()} held {held}"
            self.notes.append(note)
            print(note, flush=True)

    def settle_all(self) -> tuple[bool, float]:
        """Once the stream has ended: wait, as long as the sinks keep progressing, until
        they hold every acknowledged delivery; whether they do, and when it was (the
        monotonic clock)."""
        self.stream.join()
        total = sum(len(ids) for ids in self.stream.expected().values())
        settled = settle_while_moving(
            lambda: held_count(self.stream, self.consumers) >= total,
            lambda: held_count(self.stream, self.consumers),
            tick=self,
        )
        return settled, time.monotonic()
