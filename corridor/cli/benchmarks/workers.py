"""Processor workers as the benchmark runs them: real ``corridor process`` subprocesses.

Each worker gets a metrics port, from which the benchmark reads how many alerts it
has consumed and how many inbound partitions it holds; its CPU time is read from
``/proc``. A :class:`DeliveryTail` follows a delivery topic and notes when each
distinct alert arrives there: the end of the processors' work as a recipient sees it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from confluent_kafka import Message, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from corridor.connection import Connection
from corridor.kafka_clients import consumer
from producers.prepare import ALERT_ID_HEADER

from .baseline import next_batch
from .workload import proc_cpu_seconds

__all__ = ["DeliveryTail", "WorkerPool", "new_app_id", "value_digest"]

CONSUMED = "corridor_alerts_consumed_total"
ASSIGNED = "corridor_processor_partitions_assigned"
CORRELATED = "corridor_sightings_correlated_total"


def new_app_id() -> str:
    """A fresh processor application id: its own group, tables and internal topics."""
    return f"corridor-processor-bench{uuid.uuid4().hex[:8]}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scrape(port: int) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            text = answer.read().decode()
    except OSError:
        return {}
    found = {CONSUMED: 0.0, ASSIGNED: 0.0, CORRELATED: 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in found:
                found[sample.name] += sample.value
    return found


class WorkerPool:
    """``count`` processor workers of one application id, stopped on exit.

    They run without the live operations page by default (``--dashboard-port 0``): the
    page polls Kafka from inside the worker, which is an operator's choice, not part of
    routing (docs/performance.md measures what it costs).
    """

    def __init__(
        self,
        home: Path,
        app_id: str,
        count: int,
        logs: Path,
        *,
        entry: Sequence[str] = ("-m", "corridor"),
        options: Sequence[str] = ("--dashboard-port", "0"),
    ) -> None:
        self.home = home
        self.entry = list(entry)
        self.options = list(options)
        self.app_id = app_id
        self.logs = logs
        self.ports = [_free_port() for _ in range(count)]
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> WorkerPool:
        env = {
            **os.environ,
            "CORRIDOR_PROCESSOR_APP_ID": self.app_id,
            "CORRIDOR_LOG_LEVEL": "WARNING",
        }
        self.logs.mkdir(parents=True, exist_ok=True)
        for n, port in enumerate(self.ports):
            command = [sys.executable, *self.entry, "--home", str(self.home), "process"]
            command += ["--metrics-port", str(port), "--processor-id", f"{self.app_id}-w{n}"]
            command += self.options
            with open(self.logs / f"{self.app_id}-w{n}.log", "wb") as log:
                self.procs.append(
                    subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
                )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def check_alive(self) -> None:
        for n, proc in enumerate(self.procs):
            if proc.poll() is not None:
                log = self.logs / f"{self.app_id}-w{n}.log"
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                raise RuntimeError(f"processor worker {n} exited ({proc.returncode}): {tail}")

    def consumed(self) -> list[float]:
        return [_scrape(port).get(CONSUMED, 0.0) for port in self.ports]

    def correlated(self) -> float:
        """Linkage-token sightings the workers have correlated so far."""
        return sum(_scrape(port).get(CORRELATED, 0.0) for port in self.ports)

    def assigned(self) -> list[float]:
        return [_scrape(port).get(ASSIGNED, 0.0) for port in self.ports]

    def cpu(self) -> list[float]:
        return [proc_cpu_seconds(proc.pid) for proc in self.procs]

    def wait_assigned(self, partitions: int, timeout: float) -> None:
        """Until every worker holds inbound partitions and together they hold all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            held = self.assigned()
            if all(held) and sum(held) >= partitions:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the processor workers did not share the partitions in {timeout:g}s")


def value_digest(value: bytes) -> bytes:
    """What a :class:`DeliveryTail` knows a record value by."""
    return hashlib.blake2b(value, digest_size=16).digest()


class DeliveryTail:
    """Follows a topic from given offsets; for each distinct record value, when it
    arrived here, its Kafka timestamp (when its producer produced it) and its
    ``corridor-alert-id`` header, if any.

    The processors copy an alert's bytes unchanged to each recipient, so one value is
    one alert, whichever worker routed it and however often, and the same value on the
    inbound and a delivery topic is the same alert.

    A tail asks for every record as soon as it is written, so that ``arrivals`` is
    exact; that costs the broker about one fetch per record. A ``batched`` tail, for
    callers that read only the producers' timestamps, lets the broker gather records
    for up to 100 ms: it then costs the broker ten fetches a second, where the
    pipeline it measures makes about two per alert.
    """

    def __init__(
        self, conn: Connection, start: Sequence[TopicPartition], *, batched: bool = False
    ) -> None:
        gather = {"fetch.wait.max.ms": 100, "fetch.min.bytes": 1 << 20} if batched else {}
        self._consumer = consumer(conn, "corridor-bench-tail", quiet=True, **gather)
        self._consumer.assign(list(start))
        self.arrivals: dict[bytes, float] = {}
        self.produced_ms: dict[bytes, int] = {}
        self.alert_ids: dict[bytes, str] = {}
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="topic-tail", daemon=True)

    def start(self) -> DeliveryTail:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                batch = next_batch(self._consumer, 500, 0.1)
                now = time.perf_counter()
                with self._lock:
                    for msg in batch:
                        if msg.error() is None:
                            self._note(msg, now)
                    self._lock.notify_all()
        finally:
            self._consumer.close()

    def _note(self, msg: Message, now: float) -> None:
        digest = value_digest(msg.value() or b"")
        if digest in self.arrivals:
            return
        self.arrivals[digest] = now
        self.produced_ms[digest] = msg.timestamp()[1]
        headers = msg.headers() or []
        for name, value in headers.items() if isinstance(headers, dict) else headers:
            if name == ALERT_ID_HEADER and isinstance(value, bytes):
                self.alert_ids[digest] = value.decode("ascii", "replace")

    def wait_for(self, count: int, timeout: float) -> bool:
        """Whether ``count`` distinct values have arrived, waiting up to ``timeout``."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.arrivals) >= count, timeout)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
