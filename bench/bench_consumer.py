"""Benchmark of an agency's consumer on a running local cluster.

Run from the project root, with a cluster up and the sample directory applied
(``corridor infra up`` then ``corridor directory apply examples/directory.json
--use-local-keys``)::

    python bench/bench_consumer.py [--home .corridor] [--alerts 2000] [--rate 200]
                                   [--seconds 10] [--sink sqlite] [--pipeline] [--json]

Two figures, both as the processors would feed the consumer (sealed CaseAlert bytes
written to ``corridor.deliver.<AGENCY>`` by the admin, which stands in for them):

* throughput: ``--alerts`` alerts are written first, then the consumer (its own fresh
  group, starting after everything older) verifies, opens, stores and acknowledges
  them; alerts per second from its first to its last confirmed batch;
* latency at a fixed rate: alerts are sealed and written at ``--rate`` per second for
  ``--seconds``; each alert's latency runs from its ``created_at`` (set as it is
  sealed, just before it is written) to the sink's confirmation; p50, p99 and max.

With ``--pipeline`` the fixed-rate phase goes the whole way instead: the issuer
publishes with the producers SDK to ``corridor.alerts.inbound``, a ``corridor process``
worker (its own application id, started after everything older) routes, and the
latency runs from the publisher's ``created_at`` to the consumer's sink.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import TopicPartition

from consumers import ConsumerOptions, Delivery, DeliveryKind, build_consumer
from consumers.sinks.base import Outcome
from corridor.codec import Codec
from corridor.config import Settings, load_settings
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
from corridor.envelope import RecipientKey, Sealer, SigningKey
from corridor.kafka_clients import consumer, producer
from corridor.records import alert_to_record
from corridor.topics import ACKS_INBOUND, INBOUND, delivery_topic
from corridor.workspace import Workspace
from producers import open_publisher

ISSUER = "RO-ANITP"
AGENCY = "AT-BKA"
CODEC = Codec()
BODY: dict[str, Any] = {
    "person": {
        "given_names": ["Ana"],
        "family_names": ["Popescu"],
        "date_of_birth": "1999-04-12",
        "gender": "FEMALE",
        "nationalities": ["RO"],
        "documents": [{"kind": "PASSPORT", "number": "051234567", "issuing_country": "RO"}],
        "languages": ["ro", "de"],
    },
    "exploitation_types": ["LABOUR"],
    "locations": [{"role": "EXPLOITATION", "country": "AT", "place": "Wien"}],
    "needs": ["SAFE_ACCOMMODATION", "LEGAL_ASSISTANCE"],
    "narrative": "Seasonal farm work; documents withheld by the employer. " * 20,
}


class Sealing:
    """Seals alerts from the issuer to the agency as a publisher would."""

    def __init__(self, workspace: Workspace, directory: Directory) -> None:
        self._signer: SigningKey = workspace.agency_keys(ISSUER).signing
        self._recipient = directory.agencies[AGENCY]
        self._body = CODEC.encode("AlertBody", BODY)
        self._sealer = Sealer()

    def alert(self) -> tuple[bytes, bytes]:
        now = datetime.now(UTC)
        meta = AlertMetadata(
            alert_id=str(uuid.uuid4()),
            case_ref="bench",
            issuer=ISSUER,
            corridor=Corridor("RO", "AT"),
            alert_type=AlertType.REFERRAL_REQUEST,
            phase=TrmPhase.FIRST_ASSISTANCE_AND_PROTECTION,
            priority=Priority.URGENT,
            handling=HandlingCode.H1,
            tlp=Tlp.AMBER,
            data_categories=frozenset({DataCategory.IDENTITY, DataCategory.ASSISTANCE_NEEDS}),
            involves_minor=False,
            best_interests_assessed=False,
            consent=ConsentScope.FULL,
            created_at=now,
        )
        recipient = RecipientKey.for_agency(self._recipient, now)
        sealed = self._sealer.seal(meta, self._body, [recipient], self._signer)
        return b"RO>AT", CODEC.encode("CaseAlert", alert_to_record(sealed))


class Recorder:
    """Confirmation time of every alert, from the subscriber's callback."""

    def __init__(self) -> None:
        self.confirmed: dict[str, tuple[float, datetime]] = {}
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def __call__(self, deliveries: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
        now = time.time()
        with self.lock:
            for delivery, outcome in zip(deliveries, outcomes, strict=True):
                if delivery.kind is DeliveryKind.ALERT and outcome is Outcome.DELIVERED:
                    self.confirmed[delivery.alert_id] = (now, delivery.occurred_at)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.lock:
            return self.changed.wait_for(lambda: len(self.confirmed) >= count, timeout)


def commit_end(admin: Connection, group: str, topics: Sequence[str]) -> None:
    """Commit the current end of ``topics`` for ``group``: it sees only what follows."""
    cons = consumer(admin, group, quiet=True)
    try:
        offsets = []
        for topic in topics:
            for p in cons.list_topics(topic, timeout=10).topics[topic].partitions:
                _, high = cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                offsets.append(TopicPartition(topic, p, high))
        cons.commit(offsets=offsets, asynchronous=False)
    finally:
        cons.close()


def draft(n: int) -> dict[str, Any]:
    """An alert in the publishing input format (docs/publish-format.md)."""
    return {
        "idempotency_key": f"bench/{uuid.uuid4()}",
        "case_ref": f"BENCH-{n}",
        "corridor": {"origin": "RO", "destination": "AT"},
        "alert_type": "REFERRAL_REQUEST",
        "phase": "FIRST_ASSISTANCE_AND_PROTECTION",
        "priority": "URGENT",
        "handling": "H1",
        "tlp": "AMBER",
        "consent": "FULL",
        "data_categories": [
            "ASSISTANCE_NEEDS",
            "EXPLOITATION_DETAILS",
            "IDENTITY",
            "LOCATION",
            "TRAVEL_DOCUMENTS",
        ],
        "addressees": [AGENCY],
        "body": BODY,
    }


def paced_pipeline(
    args: argparse.Namespace, settings: Settings, admin: Connection, recorder: Recorder
) -> tuple[int, float]:
    """Publish at the fixed rate through a processor worker; (how many, when it began)."""
    app_id = f"corridor-processor-bench{uuid.uuid4().hex[:8]}"
    commit_end(admin, app_id, [INBOUND, ACKS_INBOUND])
    env = {**os.environ, "CORRIDOR_PROCESSOR_APP_ID": app_id, "CORRIDOR_LOG_LEVEL": "WARNING"}
    corridor = str(Path(sys.executable).with_name("corridor"))
    worker = subprocess.Popen(
        [corridor, "--home", str(settings.home), "process", "--metrics-port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    count = int(args.rate * args.seconds)
    try:
        with open_publisher(settings, ISSUER) as publisher:
            before = len(recorder.confirmed)
            publisher.publish(draft(-1)).result()  # warm-up: the worker has its partitions
            if not recorder.wait_for(before + 1, timeout=180):
                raise SystemExit("the processor worker did not route the warm-up alert")
            interval, begin, began = 1.0 / args.rate, time.perf_counter(), time.time()
            for i in range(count):
                delay = begin + i * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                publisher.publish(draft(i))
            publisher.flush(60)
        if not recorder.wait_for(before + 1 + count, timeout=180):
            raise SystemExit("the pipeline did not deliver every paced alert")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    return count, began


def paced_direct(
    args: argparse.Namespace, admin: Connection, sealing: Sealing, recorder: Recorder
) -> tuple[int, float]:
    """Seal and write to the delivery topic at the fixed rate; (how many, when it began)."""
    # Connected before timing starts; not idempotent, which would first fetch a
    # producer id and hold the first alerts back while it does.
    prod = producer(admin, quiet=True, **{"linger.ms": 0, "enable.idempotence": False})
    prod.list_topics(delivery_topic(AGENCY), timeout=10)
    before = len(recorder.confirmed)
    count = int(args.rate * args.seconds)
    interval, begin, began = 1.0 / args.rate, time.perf_counter(), time.time()
    for i in range(count):
        delay = begin + i * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        key, value = sealing.alert()
        prod.produce(delivery_topic(AGENCY), key=key, value=value)
        prod.poll(0)
    prod.flush(60)
    if not recorder.wait_for(before + count, timeout=120):
        raise SystemExit("the consumer did not keep up with the fixed-rate phase")
    return count, began


def produce(admin: Connection, records: Sequence[tuple[bytes, bytes]]) -> None:
    prod = producer(admin, quiet=True, **{"linger.ms": 5})
    for key, value in records:
        prod.produce(delivery_topic(AGENCY), key=key, value=value)
        prod.poll(0)
    prod.flush(60)


def run(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(args.home)
    workspace = Workspace(home)
    settings = load_settings(home=home)
    admin = workspace.admin_connection()
    directory = read_directory(admin, workspace.authority_public_key())
    sealing = Sealing(workspace, directory)
    group = f"{AGENCY}.bench-{uuid.uuid4().hex[:8]}"
    commit_end(admin, group, [delivery_topic(AGENCY)])

    backlog = [sealing.alert() for _ in range(args.alerts)]
    produce(admin, backlog)

    recorder = Recorder()
    with tempfile.TemporaryDirectory(prefix="corridor-bench-") as tmp:
        sink = f"sqlite:{tmp}/inbox.sqlite" if args.sink == "sqlite" else f"jsonl:{tmp}/out.jsonl"
        options = ConsumerOptions(
            agency_id=AGENCY, sink=sink, group_id=group, state_dir=Path(tmp) / "state"
        )
        app = build_consumer(settings, workspace, options, on_confirmed=recorder)
        thread = threading.Thread(target=app.run, daemon=True)
        started = time.time()
        thread.start()
        if not recorder.wait_for(args.alerts, timeout=300):
            raise SystemExit("the consumer did not deliver the backlog within 300 s")
        times = sorted(t for t, _ in recorder.confirmed.values())
        first_batch, backlog_done = min(times), max(times)
        # The first batch's own work happened before its timestamp: count from it on.
        after_first = sum(1 for t in times if t > first_batch)
        if not after_first:
            raise SystemExit("the backlog fit in one batch: use a larger --alerts")

        if args.pipeline:
            count, paced_from = paced_pipeline(args, settings, admin, recorder)
        else:
            count, paced_from = paced_direct(args, admin, sealing, recorder)
        app.stop.set()
        thread.join(60)

    with recorder.lock:
        items = list(recorder.confirmed.values())
    paced = sorted(
        (confirmed - created.timestamp()) * 1000
        for confirmed, created in items
        if created.timestamp() >= paced_from
    )
    if len(paced) != count:
        raise SystemExit(f"{len(paced)} paced alerts confirmed, {count} sent")
    quantiles = statistics.quantiles(paced, n=100)
    return {
        "sink": args.sink,
        "paced_path": "publish-process-consume" if args.pipeline else "delivery-topic-consume",
        "backlog_alerts": args.alerts,
        "throughput_alerts_per_s": round(after_first / (backlog_done - first_batch), 1),
        "startup_to_backlog_done_s": round(backlog_done - started, 2),
        "rate_per_s": args.rate,
        "paced_alerts": count,
        "latency_ms_p50": round(quantiles[49], 1),
        "latency_ms_p99": round(quantiles[98], 1),
        "latency_ms_max": round(max(paced), 1),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=os.environ.get("CORRIDOR_HOME", ".corridor"))
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sink", choices=["sqlite", "jsonl"], default="sqlite")
    parser.add_argument("--pipeline", action="store_true", help="publish and process too")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"sink {result['sink']}: {result['throughput_alerts_per_s']} alerts/s over a backlog of "
        f"{result['backlog_alerts']}; {result['paced_path']} at {result['rate_per_s']:g}/s: "
        f"latency p50 "
        f"{result['latency_ms_p50']} ms, p99 {result['latency_ms_p99']} ms, "
        f"max {result['latency_ms_max']} ms ({result['paced_alerts']} alerts)"
    )


if __name__ == "__main__":
    main()
