"""Sinks without a broker: idempotency, crash recovery, parking and the HMAC header."""

from __future__ import annotations

import io
import json
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from consumers.documents import Delivery, DeliveryKind
from consumers.exceptions import InboxError, SinkSpecError
from consumers.sinks import (
    JsonlSink,
    Outcome,
    SinkObserver,
    SqliteInbox,
    StdoutSink,
    open_sink,
    parse_sink_spec,
)
from consumers.sinks.http import SIGNATURE_HEADER, HttpSink, HttpSinkConfig, sign, verify_signature
from consumers.sinks.retry_store import RetryStore
from corridor.config import ConsumerSettings

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _alert(n: int, kind: DeliveryKind = DeliveryKind.ALERT) -> Delivery:
    alert_id = f"00000000-0000-4000-8000-{n:012d}"
    opened = kind is DeliveryKind.ALERT
    document = {
        "kind": kind.value,
        "alert_id": alert_id,
        "issuer": "RO-ANITP",
        "corridor": "RO>AT",
        "metadata": {"issuer": "RO-ANITP", "alert_type": "REFERRAL_REQUEST", "priority": "URGENT"},
        "body": {"narrative": f"case {n}"} if opened else None,
    }
    return Delivery(kind, alert_id, alert_id, NOW, document, b"body" if opened else None)


def _ack(n: int) -> Delivery:
    document = {"kind": "acknowledgement", "from_agency": "AT-BKA", "status": "RECEIVED"}
    return Delivery(DeliveryKind.ACKNOWLEDGEMENT, f"ack-{n}", f"alert-{n}", NOW, document)


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


# -- specs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "kind", "target"),
    [
        ("sqlite", "sqlite", ""),
        ("sqlite:/x/inbox.db", "sqlite", "/x/inbox.db"),
        ("jsonl:out.jsonl", "jsonl", "out.jsonl"),
        ("stdout", "stdout", ""),
        ("http:https://cases.example/a", "http", "https://cases.example/a"),
        ("https://cases.example/a", "http", "https://cases.example/a"),
    ],
)
def test_sink_specs(spec: str, kind: str, target: str) -> None:
    parsed = parse_sink_spec(spec)
    assert (parsed.kind, parsed.target) == (kind, target)


@pytest.mark.parametrize(
    "spec", ["jsonl", "jsonl:", "kafka:x", "http:ftp://x", "http:", "stdout:x"]
)
def test_bad_sink_specs_are_refused(spec: str) -> None:
    with pytest.raises(SinkSpecError):
        parse_sink_spec(spec)


def test_the_http_sink_needs_a_secret(tmp_path: Path) -> None:
    with pytest.raises(SinkSpecError, match="http_secret"):
        open_sink(
            "http:http://127.0.0.1:9/x",
            default_inbox=tmp_path / "i.sqlite",
            state_dir=tmp_path,
            settings=ConsumerSettings(),
        )


# -- sqlite ---------------------------------------------------------------------------------


def test_the_inbox_keeps_each_alert_once_and_completes_a_metadata_only_one(tmp_path: Path) -> None:
    path = tmp_path / "box" / "inbox.sqlite"
    inbox = SqliteInbox(path)
    assert (
        inbox.deliver([_alert(1), _alert(2, DeliveryKind.SEALED_FOR_OTHERS), _ack(1)])
        == [Outcome.DELIVERED] * 3
    )
    assert _private(path)
    assert inbox.deliver([_alert(1), _ack(1)]) == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert inbox.deliver([_alert(2)]) == [Outcome.DELIVERED]  # now sealed for us
    assert inbox.deliver([_alert(2, DeliveryKind.SEALED_FOR_OTHERS)]) == [Outcome.DUPLICATE]
    inbox.close()

    again = SqliteInbox(path, create=False)
    first, second = again.alert(_alert(1).alert_id), again.alert(_alert(2).alert_id)
    assert first is not None
    assert second is not None
    assert first.times_received == 2
    assert first.body == b"body"
    assert second.kind == "alert"
    assert second.body == b"body"
    assert second.document["body"] == {"narrative": "case 2"}
    assert again.count() == 2
    assert again.count(DeliveryKind.ACKNOWLEDGEMENT) == 1
    assert again.documents(DeliveryKind.ACKNOWLEDGEMENT, "alert-1")[0]["status"] == "RECEIVED"
    assert again.alert_ids() == {_alert(1).alert_id, _alert(2).alert_id}
    again.close()


def test_an_inbox_that_does_not_exist_is_not_created_for_reading(tmp_path: Path) -> None:
    with pytest.raises(InboxError, match="nothing was received"):
        SqliteInbox(tmp_path / "missing.sqlite", create=False)


# -- jsonl ----------------------------------------------------------------------------------


def test_jsonl_appends_each_delivery_once_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = JsonlSink(path)
    assert sink.deliver([_alert(1), _alert(1), _ack(1)]) == [
        Outcome.DELIVERED,
        Outcome.DUPLICATE,
        Outcome.DELIVERED,
    ]
    sink.close()
    assert _private(path)
    sink = JsonlSink(path)
    assert sink.deliver([_alert(1), _alert(2)]) == [Outcome.DUPLICATE, Outcome.DELIVERED]
    sink.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["idempotency_key"] for line in lines] == [
        f"alert:{_alert(1).alert_id}",
        "acknowledgement:ack-1",
        f"alert:{_alert(2).alert_id}",
    ]
    assert lines[0]["body"] == {"narrative": "case 1"}


def test_jsonl_cuts_off_a_line_half_written_by_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    sink = JsonlSink(path)
    sink.deliver([_alert(1)])
    sink.close()
    with path.open("ab") as handle:
        handle.write(b'{"idempotency_key": "alert:00000000-0000-4000-8000-0000000')
    sink = JsonlSink(path)
    assert sink.deliver([_alert(2)]) == [Outcome.DELIVERED]
    sink.close()
    keys = [json.loads(line)["idempotency_key"] for line in path.read_text().splitlines()]
    assert keys == [f"alert:{_alert(1).alert_id}", f"alert:{_alert(2).alert_id}"]


def test_stdout_prints_one_json_line_per_delivery() -> None:
    out = io.StringIO()
    assert StdoutSink(out).deliver([_alert(1), _ack(2)]) == [Outcome.DELIVERED] * 2
    assert [json.loads(line)["kind"] for line in out.getvalue().splitlines()] == [
        "alert",
        "acknowledgement",
    ]


# -- http -----------------------------------------------------------------------------------


class _Server:
    def __init__(self) -> None:
        self.status = 503
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.calls = 0


@pytest.fixture
def server() -> Iterator[tuple[_Server, str]]:
    state = _Server()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.calls += 1
            ok = state.status == 200 and verify_signature(
                b"k", self.headers[SIGNATURE_HEADER], body
            )
            if ok:
                state.received.append((self.headers["Idempotency-Key"], json.loads(body)))
            self.send_response(200 if ok else state.status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield state, f"http://127.0.0.1:{httpd.server_address[1]}/in"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _Counting(SinkObserver):
    def __init__(self) -> None:
        self.retries = 0
        self.parked: list[int] = []
        self.late = 0

    def retried(self) -> None:
        self.retries += 1

    def parked_now(self, count: int) -> None:
        self.parked.append(count)

    def delivered_later(self, latency_seconds: float) -> None:
        self.late += 1


def _http(url: str, store: RetryStore, observer: SinkObserver) -> HttpSink:
    config = HttpSinkConfig(url=url, secret=b"k", timeout=5, max_attempts=2, retry_interval=0)
    return HttpSink(config, store, observer=observer, jitter=lambda cap: 0.0)


def test_http_parks_what_fails_keeps_order_and_never_posts_twice(
    server: tuple[_Server, str], tmp_path: Path
) -> None:
    state, url = server
    observer = _Counting()
    store_path = tmp_path / "retry.sqlite"
    sink = _http(url, RetryStore(store_path), observer)
    assert sink.deliver([_alert(1), _alert(2)]) == [Outcome.PARKED, Outcome.PARKED]
    assert state.calls == 2  # two attempts for the first, the second queued behind it
    assert observer.retries == 2
    assert sink.parked() == 2
    assert _private(store_path)
    sink.maintain()  # still failing: the head is postponed, nothing is lost
    assert sink.parked() == 2
    sink.close()

    state.status = 200
    sink = _http(url, RetryStore(store_path), observer)  # a restart finds them again
    assert sink.parked() == 2
    sink.maintain()
    assert sink.parked() == 0
    assert observer.late == 2
    assert sink.deliver([_alert(3), _alert(1)]) == [Outcome.DELIVERED, Outcome.DUPLICATE]
    sink.close()
    assert [key for key, _ in state.received] == [f"alert:{_alert(n).alert_id}" for n in (1, 2, 3)]
    assert state.received[0][1]["body"] == {"narrative": "case 1"}


def test_the_signature_header_checks_body_secret_and_age() -> None:
    body = b'{"a": 1}'
    header = sign(b"k", 1_700_000_000, body)
    assert verify_signature(b"k", header, body, now=1_700_000_010)
    assert not verify_signature(b"other", header, body, now=1_700_000_010)
    assert not verify_signature(b"k", header, body + b" ", now=1_700_000_010)
    assert not verify_signature(b"k", header, body, now=1_700_001_000)
    assert not verify_signature(b"k", "garbage", body, now=1_700_000_010)
