"""The http sink against a case system that fails its first calls: all arrive, once each."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from consumers.sinks.http import SIGNATURE_HEADER, verify_signature
from corridor.codec import Codec
from corridor.connection import Connection
from corridor.topics import delivery_topic
from tests.conftest import Network
from tests.consumer_factories import AlertFactory, deliver_alerts
from tests.consumer_running import fresh_group, running_consumer, topic_end, wait_for

pytestmark = pytest.mark.integration

AGENCY = "AT-IBF"
SECRET = "case-system-shared-secret"


@dataclass
class CaseSystem:
    """A stand-in for the agency's case system: refuses the first ``failures`` calls."""

    failures: int
    calls: int = 0
    accepted: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: Any, body: bytes) -> int:
        with self.lock:
            self.calls += 1
            if not verify_signature(SECRET.encode(), headers.get(SIGNATURE_HEADER, ""), body):
                self.bad_signatures += 1
                return 401
            if self.calls <= self.failures:
                return 503
            self.accepted.append(json.loads(body))
            self.keys.append(headers["Idempotency-Key"])
            return 200

    def alert_ids(self) -> list[str]:
        with self.lock:
            return [d["alert_id"] for d in self.accepted if d["kind"] == "alert"]


@pytest.fixture
def case_system() -> Iterator[tuple[CaseSystem, str]]:
    system = CaseSystem(failures=7)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(system.handle(self.headers, body))
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield system, f"http://127.0.0.1:{server.server_address[1]}/alerts"
    finally:
        server.shutdown()
        server.server_close()


def test_every_alert_reaches_the_case_system_once_despite_failures(
    network: Network,
    admin_conn: Connection,
    tmp_path: Path,
    case_system: tuple[CaseSystem, str],
) -> None:
    system, url = case_system
    factory = AlertFactory(network.workspace, network.directory, sealed_for=[AGENCY])
    cases = [factory.seal(n) for n in range(12)]
    start = topic_end(admin_conn, delivery_topic(AGENCY))
    group = fresh_group(admin_conn, AGENCY, at=start)
    deliver_alerts(admin_conn, AGENCY, cases)
    ids = {c.alert_id for c in cases}
    settings = replace(
        network.settings,
        consumer=replace(
            network.settings.consumer,
            http_secret=SECRET,
            http_max_attempts=3,
            http_backoff_seconds=0.02,
            parked_retry_seconds=0.2,
        ),
    )
    state_dir = tmp_path / "state"

    with running_consumer(
        network.workspace, settings, AGENCY, state_dir, sink=f"http:{url}", group=group
    ) as consumer:
        wait_for(lambda: ids <= set(system.alert_ids()), what="every alert at the case system")
        wait_for(lambda: consumer.app.sink.parked() == 0, what="the retry store to drain")
        parked = consumer.stats.parked
        retries = consumer.metric("corridor_delivery_retries_total", agency=AGENCY, sink="http")
        gauge = consumer.metric("corridor_deliveries_parked", agency=AGENCY, sink="http")

    assert parked >= 1  # the first alert used up its attempts and waited in the store
    assert retries >= 7
    assert gauge == 0
    assert system.bad_signatures == 0
    received = [i for i in system.alert_ids() if i in ids]
    assert sorted(received) == sorted(ids)  # everything, nothing twice
    codec = Codec()
    by_id = {d["alert_id"]: d for d in system.accepted if d["kind"] == "alert"}
    for case in cases:
        assert by_id[case.alert_id]["body"] == case.body
        assert codec.decode_as("AlertBody", case.body_bytes) == by_id[case.alert_id]["body"]
    assert len(set(system.keys)) == len(system.keys)

    # Read it all again: the retry store knows what the case system already has.
    calls_before = system.calls
    with running_consumer(
        network.workspace,
        settings,
        AGENCY,
        state_dir,
        sink=f"http:{url}",
        group=fresh_group(admin_conn, AGENCY, at=start),
    ) as again:
        wait_for(lambda: again.stats.duplicates >= len(ids), what="the replay")
    assert system.calls == calls_before
    assert sorted(i for i in system.alert_ids() if i in ids) == sorted(ids)
