"""Reading publish input (JSON, JSON lines) and accounting for every record in bulk."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from corridor.metrics import ProducerMetrics
from producers import (
    AlertValidationError,
    Publisher,
    StaticDirectory,
    count_lines,
    publish_all,
    read_alerts,
)
from producers.input import InputRecord
from tests.unit.publish_support import EXAMPLES, alert, network, now, preparer


def records(data: bytes) -> list[InputRecord]:
    return list(read_alerts(io.BytesIO(data)))


def jsonl(*items: Any) -> bytes:
    return b"".join((i if isinstance(i, bytes) else json.dumps(i).encode()) + b"\n" for i in items)


def test_json_lines_keep_their_line_numbers_and_skip_blank_lines() -> None:
    data = jsonl({"n": 1}, b"", b"   ", {"n": 2}, {"n": 3})
    found = records(data)
    assert [(r.line, r.alert) for r in found] == [(1, {"n": 1}), (4, {"n": 2}), (5, {"n": 3})]


def test_a_bad_line_is_an_error_of_that_line_only() -> None:
    data = jsonl({"n": 1}, b'{"n": 2,, }', b"[1, 2]", b"\xff\xfe{}", b"42", {"n": 6})
    found = records(data)
    assert [r.line for r in found] == [1, 2, 3, 4, 5, 6]
    assert found[0].alert == {"n": 1}
    assert found[1].error is not None
    assert found[1].error.startswith("not valid JSON: Expecting property name")
    assert found[2].error == "an alert must be a JSON object"
    assert found[3].error == "not valid UTF-8 (byte 1)"
    assert found[4].error == "an alert must be a JSON object"
    assert found[5].alert == {"n": 6}


def test_a_malformed_line_never_echoes_its_content() -> None:
    found = records(jsonl({"n": 1}, b'{"name": "Ioana Marinescu" "x"}'))
    assert found[1].error is not None
    assert "Ioana" not in found[1].error


def test_a_pretty_printed_document_is_one_alert() -> None:
    text = json.dumps(alert(), indent=2).encode()
    found = records(b"\n\n" + text)
    assert len(found) == 1
    assert found[0].line == 3
    assert found[0].alert == alert()


def test_a_byte_order_mark_is_ignored() -> None:
    assert records(b"\xef\xbb\xbf" + jsonl({"n": 1}))[0].alert == {"n": 1}


def test_a_json_array_is_refused_with_advice() -> None:
    found = records(json.dumps([alert(), alert()], indent=1).encode())
    assert len(found) == 1
    assert found[0].error is not None
    assert "JSON lines" in found[0].error


def test_a_broken_document_reports_where() -> None:
    found = records(b'{\n  "a": 1,\n  "b": \n}\n')
    assert found[0].error == "not valid JSON: Expecting value at line 4"


def test_count_lines_counts_json_lines_records_and_single_documents(tmp_path: Path) -> None:
    lines = tmp_path / "many.jsonl"
    lines.write_bytes(jsonl({"n": 1}, b"", {"n": 2}, b"oops"))
    assert count_lines(lines) == 3
    assert count_lines(EXAMPLES / "at-bka-presumed-victim.json") == 1


def test_every_example_file_is_readable() -> None:
    files = sorted(EXAMPLES.glob("*.json*"))
    assert len(files) >= 3
    for path in files:
        with path.open("rb") as handle:
            found = list(read_alerts(handle))
        assert found
        assert all(r.error is None for r in found), path


# -- bulk accounting (dry run: no broker) --------------------------------------------------


def dry_publisher(registry: CollectorRegistry | None = None) -> Publisher:
    return Publisher(
        preparer=preparer(),
        directory=StaticDirectory(network().directory),
        producer=None,
        metrics=ProducerMetrics.create(registry or CollectorRegistry()),
        delivery_timeout=5.0,
    )


MIXED = jsonl(
    alert(idempotency_key="k1"),
    b"{not json}",
    alert(
        idempotency_key="k3",
        corridor={"origin": "BG", "destination": "AT"},
        addressees=["BG-GDNP"],
        data_categories=["IDENTITY", "LOCATION", "EXPLOITATION_DETAILS"],
        body={"needs": []},
    ),
    alert(idempotency_key="k4", tlp="RED"),
    alert(idempotency_key="k5", person={"nationalities": ["XX"]}),
    alert(idempotency_key="k6"),
)


def test_a_bad_record_does_not_stop_the_others() -> None:
    registry = CollectorRegistry()
    with dry_publisher(registry) as publisher:
        summary = publish_all(publisher, read_alerts(io.BytesIO(MIXED)))
    summary.finish()
    assert summary.dry_run
    assert summary.published == 3
    assert [(f.line, f.code) for f in sorted(summary.failures, key=lambda f: f.line)] == [
        (2, "MALFORMED"),
        (4, "INVALID"),
        (5, "INVALID"),
    ]
    assert not summary.ok
    report = summary.to_json()
    assert report["corridors"] == {
        "BG>AT": {"published": 1, "failed": 0},
        "RO>AT": {"published": 2, "failed": 2},
        "unknown": {"published": 0, "failed": 1},
    }
    assert report["reasons"] == {"INVALID": 2, "MALFORMED": 1}
    assert [p["line"] for p in report["first_published"]] == [1, 3, 6]
    invalid = registry.get_sample_value(
        "corridor_alerts_published_total",
        {"corridor": "RO>AT", "alert_type": "PRESUMED_VICTIM_IDENTIFIED", "outcome": "invalid"},
    )
    delivered = registry.get_sample_value(
        "corridor_alerts_published_total",
        {"corridor": "RO>AT", "alert_type": "PRESUMED_VICTIM_IDENTIFIED", "outcome": "delivered"},
    )
    assert (invalid, delivered) == (2.0, 2.0)


def test_strict_sends_nothing_when_any_record_fails() -> None:
    with dry_publisher() as publisher:
        summary = publish_all(publisher, read_alerts(io.BytesIO(MIXED)), strict=True)
    assert summary.published == 0
    assert summary.failed == 3
    assert summary.not_attempted == 3
    assert summary.stopped is not None
    assert summary.stopped.startswith("--strict: 3 record(s) failed the checks")


def test_strict_publishes_everything_when_all_records_pass() -> None:
    data = jsonl(*(alert(idempotency_key=f"s{i}") for i in range(4)))
    with dry_publisher() as publisher:
        summary = publish_all(publisher, read_alerts(io.BytesIO(data)), strict=True)
    assert (summary.published, summary.failed, summary.ok) == (4, 0, True)


def test_publish_refuses_an_invalid_alert_synchronously() -> None:
    with dry_publisher() as publisher:
        with pytest.raises(AlertValidationError):
            publisher.publish(alert(tlp="RED"))
        delivery = publisher.publish(alert()).result(timeout=1)
    assert delivery.ok
    assert delivery.partition is None
    assert delivery.recipients == ("RO-ANITP", "RO-DGASPC-B", "RO-IGPR")


def test_every_example_alert_passes_the_checks_of_its_issuer() -> None:
    checked = 0
    for path in sorted(EXAMPLES.glob("*.json*")):
        with path.open("rb") as handle:
            for record in read_alerts(handle):
                assert record.alert is not None
                issuer = record.alert["issuer"]
                result = preparer(issuer).check(record.alert, network().directory, now())
                assert result.recipients.keys, (path.name, record.line)
                checked += 1
    assert checked == 9
