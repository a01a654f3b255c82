"""Processor workers as real subprocesses (``corridor process``), and ways to watch them.

Each test module gets its own application id, so its consumer group, tables and
internal topics are its own; the group's offsets are set to the end of the inbound
topics before the workers start, so they process only what the module sends. A
record is known to be fully processed once the group has committed an offset past
it: the workers flush every output before they commit.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Message, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from corridor.connection import Connection
from corridor.kafka_clients import consumer
from corridor.topics import ACKS_INBOUND, INBOUND

CORRIDOR = str(Path(sys.executable).with_name("corridor"))


def wait_for(condition: Callable[[], bool], *, timeout: float = 60.0, what: str = "") -> None:
    """Poll ``condition`` until true; fail with ``what`` if it never becomes true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what or 'a condition'}")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a metrics endpoint, keyed by (name, sorted labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric(port: int, name: str, **labels: str) -> float:
    """One sample, 0 when absent or when the endpoint does not answer (yet)."""
    try:
        return scrape(port).get((name, tuple(sorted(labels.items()))), 0.0)
    except OSError:
        return 0.0


def start_at_end(admin: Connection, group: str, topics: Sequence[str]) -> None:
    """Commit the end of ``topics`` for ``group`` so a new group skips older records."""
    cons = consumer(admin, group, quiet=True)
    try:
        offsets = []
        for topic in topics:
            partitions = cons.list_topics(topic, timeout=10).topics[topic].partitions
            for p in partitions:
                _, high = cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                offsets.append(TopicPartition(topic, p, high))
        cons.commit(offsets=offsets, asynchronous=False)
    finally:
        cons.close()


@dataclass(frozen=True)
class Record:
    """A record read back from Kafka, with its optional parts settled."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]

    @property
    def event(self) -> str | None:
        """The ``corridor-event`` header: which event the value holds."""
        name = self.headers.get("corridor-event")
        return name.decode() if name is not None else None

    @classmethod
    def of(cls, msg: Message) -> Record:
        raw = msg.headers() or []
        pairs = raw.items() if isinstance(raw, dict) else raw
        headers = {
            k: v if isinstance(v, bytes) else str(v).encode() for k, v in pairs if v is not None
        }
        return cls(
            topic=str(msg.topic()),
            partition=int(msg.partition() or 0),
            offset=int(msg.offset() or 0),
            key=msg.key(),
            value=msg.value() or b"",
            headers=headers,
        )


def wait_processed(
    admin: Connection, group: str, messages: Iterable[Message], timeout: float = 90.0
) -> None:
    """Wait until ``group`` committed past every one of ``messages`` (outputs flushed)."""
    needed: dict[tuple[str, int], int] = {}
    for record in map(Record.of, messages):
        tp = (record.topic, record.partition)
        needed[tp] = max(needed.get(tp, -1), record.offset + 1)
    cons = consumer(admin, group, quiet=True)
    try:

        def done() -> bool:
            asked = [TopicPartition(t, p) for t, p in needed]
            committed = cons.committed(asked, timeout=10)
            return all(tp.offset >= needed[(tp.topic, tp.partition)] for tp in committed)

        wait_for(
            done, timeout=timeout, what=f"group {group} to commit past {len(needed)} partitions"
        )
    finally:
        cons.close()


@dataclass
class TopicWindow:
    """Records written to some topics after a starting point, read as the admin."""

    admin: Connection
    topics: Sequence[str]
    start: dict[tuple[str, int], int] = field(default_factory=dict)

    @classmethod
    def open(cls, admin: Connection, topics: Sequence[str]) -> TopicWindow:
        window = cls(admin, list(topics))
        window.start = window._ends()
        return window

    def _ends(self) -> dict[tuple[str, int], int]:
        cons = consumer(self.admin, f"test.window.{uuid.uuid4().hex[:8]}", quiet=True)
        try:
            ends = {}
            metadata = cons.list_topics(timeout=10)
            for topic in self.topics:
                for p in metadata.topics[topic].partitions:
                    _, high = cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                    ends[(topic, p)] = high
            return ends
        finally:
            cons.close()

    def read(self) -> list[Record]:
        """Everything from the start up to the current end of every topic."""
        ends = self._ends()
        wanted = {tp: end for tp, end in ends.items() if end > self.start.get(tp, 0)}
        if not wanted:
            return []
        cons = consumer(self.admin, f"test.window.{uuid.uuid4().hex[:8]}", quiet=True)
        out: list[Record] = []
        try:
            cons.assign([TopicPartition(t, p, self.start.get((t, p), 0)) for t, p in wanted])
            deadline = time.monotonic() + 120
            position = {tp: self.start.get(tp, 0) for tp in wanted}
            while any(position[tp] < end for tp, end in wanted.items()):
                if time.monotonic() > deadline:
                    raise AssertionError("reading the topics took over 120 s")
                for msg in cons.consume(1000, 0.5):
                    if msg.error() is not None:
                        continue
                    record = Record.of(msg)
                    tp = (record.topic, record.partition)
                    if tp in wanted and record.offset < wanted[tp]:
                        out.append(record)
                    position[tp] = record.offset + 1
        finally:
            cons.close()
        return out

    def read_until(
        self, condition: Callable[[list[Record]], bool], timeout: float = 60.0
    ) -> list[Record]:
        """Read again and again until ``condition`` holds for what was read."""
        found: list[Record] = []

        def check() -> bool:
            found[:] = self.read()
            return condition(found)

        wait_for(check, timeout=timeout, what=f"records on {', '.join(self.topics)[:80]}")
        return found


@dataclass
class Worker:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class ProcessorGroup:
    """Workers of one application id on the test cluster."""

    home: Path
    admin: Connection
    logs: Path
    app_id: str = field(default_factory=lambda: f"corridor-processor-t{uuid.uuid4().hex[:8]}")
    env: dict[str, str] = field(default_factory=dict)
    workers: dict[str, Worker] = field(default_factory=dict)

    def prepare(self) -> None:
        start_at_end(self.admin, self.app_id, [INBOUND, ACKS_INBOUND])

    def start(self, name: str) -> Worker:
        port = free_port()
        log = self.logs / f"{self.app_id}-{name}.log"
        env = {
            **os.environ,
            "CORRIDOR_PROCESSOR_APP_ID": self.app_id,
            "CORRIDOR_PROCESSOR_SWEEP_INTERVAL_SECONDS": "1",
            "CORRIDOR_PROCESSOR_COMMIT_INTERVAL_SECONDS": "1",
            **self.env,
        }
        with log.open("ab") as out:
            process = subprocess.Popen(
                [
                    CORRIDOR,
                    "--home",
                    str(self.home),
                    "process",
                    "--metrics-port",
                    str(port),
                    "--processor-id",
                    name,
                    # The operations page reads the whole audit topic: not for these tests.
                    "--dashboard-port",
                    "0",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        worker = Worker(name, port, process, log)
        self.workers[name] = worker
        return worker

    def wait_ready(self, partitions: int, timeout: float = 90.0) -> None:
        """Until the running workers together hold every inbound partition."""

        def ready() -> bool:
            for worker in self.workers.values():
                if worker.process.poll() is not None:
                    raise AssertionError(
                        f"worker {worker.name} exited:\n{worker.log.read_text()[-3000:]}"
                    )
            held = [
                metric(w.port, "corridor_processor_partitions_assigned")
                for w in self.workers.values()
            ]
            return sum(held) == partitions and all(held)

        wait_for(ready, timeout=timeout, what="the workers to share the inbound partitions")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        worker = self.workers.pop(name)
        worker.process.send_signal(sig)
        worker.process.wait(timeout=60)

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers.values():
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
        self.workers.clear()

    def alive(self) -> bool:
        return all(w.process.poll() is None for w in self.workers.values())

    def total(self, name: str, **labels: str) -> float:
        return sum(metric(w.port, name, **labels) for w in self.workers.values())


@contextmanager
def processor_group(
    home: Path, admin: Connection, logs: Path, names: Sequence[str], partitions: int, **env: str
) -> Iterator[ProcessorGroup]:
    group = ProcessorGroup(home, admin, logs, env=dict(env))
    group.prepare()
    try:
        for name in names:
            group.start(name)
        group.wait_ready(partitions)
        yield group
    finally:
        group.stop()
