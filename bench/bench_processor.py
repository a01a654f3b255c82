"""Benchmark of a processor worker, next to the bounds of its own per-alert work.

Run from the project root, with a cluster up and the sample directory applied
(``corridor infra up`` then ``corridor directory apply examples/directory.json
--use-local-keys``)::

    python bench/bench_processor.py [--home .corridor] [--alerts 5000] [--workers 1]
                                    [--json]

Three figures from the same sealed alerts, in the same run:

* verify-only bound: decode the CaseAlert bytes, rebuild the alert, verify its
  signature against the directory; one thread, in process. No processor can route
  faster than it verifies, so this is the ceiling per core;
* routing bound: the processors' whole per-alert logic (verification, deduplication,
  policy for every candidate, audit records, deliveries) on an in-memory sink, without
  Kafka or faust: what the worker does per alert, minus the stream machinery;
* worker throughput: ``--alerts`` alerts are written to the inbound topic first, then
  ``--workers`` ``corridor process`` workers (a fresh application id, starting at
  those alerts) route them; alerts per second per worker from the first alert
  consumed to the last, read from the workers' metrics endpoints.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import TopicPartition
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from corridor.codec import Codec
from corridor.config import load_settings
from corridor.connection import Connection
from corridor.directory_topic import read_directory
from corridor.domain import (
    AlertMetadata,
    AlertType,
    ConsentScope,
    Corridor,
    DataCategory,
    Directory,
    HandlingCode,
    Priority,
    Tlp,
    TrmPhase,
)
from corridor.envelope import RecipientKey, Sealer, verify_alert
from corridor.kafka_clients import consumer, producer
from corridor.metrics import ProcessorMetrics
from corridor.policy import decide_all
from corridor.records import alert_from_record, alert_to_record
from corridor.topics import ACKS_INBOUND, INBOUND
from corridor.workspace import Workspace
from processors.alerts import AlertRouter, Limits
from processors.emitter import Emitter, Headers, Source

ISSUER = "RO-ANITP"
CORRIDOR = Corridor("RO", "AT")
BODY = bytes(2048)


class NullSink:
    def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers | None = None
    ) -> None:
        return None


def seal_alerts(workspace: Workspace, directory: Directory, count: int) -> list[bytes]:
    """``count`` CaseAlert records RO>AT, sealed for every recipient the policy allows."""
    now = datetime.now(UTC)
    template = AlertMetadata(
        alert_id=str(uuid.uuid4()),
        case_ref="RO-BENCH-1",
        issuer=ISSUER,
        corridor=CORRIDOR,
        alert_type=AlertType.PRESUMED_VICTIM_IDENTIFIED,
        phase=TrmPhase.IDENTIFICATION,
        priority=Priority.URGENT,
        handling=HandlingCode.H1,
        tlp=Tlp.AMBER,
        data_categories=frozenset({DataCategory.IDENTITY, DataCategory.EXPLOITATION_DETAILS}),
        involves_minor=False,
        best_interests_assessed=False,
        consent=ConsentScope.ASSISTANCE,
        created_at=now,
    )
    allowed = [a for a, d in decide_all(template, directory, now) if d.allowed]
    recipients = [RecipientKey.for_agency(agency, now) for agency in allowed]
    signer = workspace.agency_keys(ISSUER).signing
    codec, sealer = Codec(), Sealer()
    out = []
    for _ in range(count):
        metadata = replace(template, alert_id=str(uuid.uuid4()), created_at=datetime.now(UTC))
        out.append(
            codec.encode(
                "CaseAlert", alert_to_record(sealer.seal(metadata, BODY, recipients, signer))
            )
        )
    return out


def verify_only(values: Sequence[bytes], directory: Directory) -> float:
    codec = Codec()
    issuer = directory.agencies[ISSUER]
    started = time.perf_counter()
    for value in values:
        alert = alert_from_record(codec.decode_as("CaseAlert", value))
        verify_alert(alert, issuer)
    return len(values) / (time.perf_counter() - started)


def routing_only(values: Sequence[bytes], directory: Directory) -> float:
    codec = Codec()
    router = AlertRouter(
        codec=codec,
        directory=lambda: directory,
        emitter=Emitter(NullSink(), codec, "bench"),
        metrics=ProcessorMetrics.create(CollectorRegistry()),
        limits=Limits(timedelta(days=7), timedelta(minutes=5), timedelta(days=14)),
        state={},
    )
    key = CORRIDOR.key.encode()
    started = time.perf_counter()
    for offset, value in enumerate(values):
        result = router.handle(Source(INBOUND, 0, offset, key, value))
        assert result.rejected is None, result.rejected
    return len(values) / (time.perf_counter() - started)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _consumed(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return 0.0
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "corridor_alerts_consumed_total":
                total += sample.value
    return total


def _start_at_end(admin: Connection, group: str) -> None:
    cons = consumer(admin, group, quiet=True)
    try:
        offsets = []
        for topic in (INBOUND, ACKS_INBOUND):
            for p in cons.list_topics(topic, timeout=10).topics[topic].partitions:
                _, high = cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                offsets.append(TopicPartition(topic, p, high))
        cons.commit(offsets=offsets, asynchronous=False)
    finally:
        cons.close()


def worker_throughput(
    home: Path, workspace: Workspace, values: Sequence[bytes], workers: int
) -> float:
    app_id = f"corridor-processor-bench{uuid.uuid4().hex[:6]}"
    _start_at_end(workspace.admin_connection(), app_id)
    prod = producer(
        workspace.agency_connection(ISSUER),
        quiet=True,
        **{"linger.ms": 20, "partitioner": "murmur2_random"},
    )
    for value in values:
        while True:
            try:
                prod.produce(INBOUND, value, CORRIDOR.key.encode())
                break
            except BufferError:
                prod.poll(0.1)
    prod.flush(60)
    corridor = str(Path(sys.executable).with_name("corridor"))
    env = {**os.environ, "CORRIDOR_PROCESSOR_APP_ID": app_id}
    ports = [_free_port() for _ in range(workers)]
    logs = tempfile.mkdtemp(prefix="bench-processor-")
    procs = []
    for n, port in enumerate(ports):
        with open(os.path.join(logs, f"w{n}.log"), "wb") as log:
            procs.append(
                subprocess.Popen(
                    [
                        corridor,
                        "--home",
                        str(home),
                        "process",
                        "--metrics-port",
                        str(port),
                        "--dashboard-port",
                        "0",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
    try:
        deadline = time.monotonic() + 600
        first = None
        while True:
            done = sum(_consumed(port) for port in ports)
            now = time.monotonic()
            if first is None and done > 0:
                first = (now, done)
            if done >= len(values):
                break
            if now > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"the workers did not finish; see {logs}")
            time.sleep(0.05)
        assert first is not None
        return (len(values) - first[1]) / (now - first[0]) / workers
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)


def run(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(args.home)
    workspace = Workspace(home)
    load_settings(home=home)
    directory = read_directory(workspace.admin_connection(), workspace.authority_public_key())
    values = seal_alerts(workspace, directory, args.alerts)
    bound = verify_only(values, directory)
    logic = routing_only(values, directory)
    worker = worker_throughput(home, workspace, values, args.workers)
    return {
        "alerts": args.alerts,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "verify_only_per_core": round(bound),
        "routing_logic_per_core": round(logic),
        "worker_alerts_per_second": round(worker),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--home", default=os.environ.get("CORRIDOR_HOME", ".corridor"))
    parser.add_argument("--alerts", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"alerts: {result['alerts']} (RO>AT, sealed for every allowed recipient)")
    print(f"verify-only bound, 1 core:   {result['verify_only_per_core']:>7,} alerts/s")
    print(f"routing logic bound, 1 core: {result['routing_logic_per_core']:>7,} alerts/s")
    print(
        f"worker throughput ({result['workers']} worker(s)): "
        f"{result['worker_alerts_per_second']:>7,} alerts/s per worker"
    )


if __name__ == "__main__":
    main()
