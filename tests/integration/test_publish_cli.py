"""``corridor publish`` as a user runs it, on the real broker."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from corridor.connection import Connection
from corridor.envelope import verify_alert
from corridor.records import alert_from_record
from corridor.schema_registry import codec_for
from producers import make_alert_id
from producers.samples import sample_alerts
from tests.conftest import Network
from tests.integration.publish_helpers import (
    alert_id_of,
    high_watermarks,
    ours,
    read_between,
    run_cli,
)
from tests.unit.publish_support import alert

pytestmark = pytest.mark.integration

BULK = 100_000


def write_jsonl(path: Path, items: list[Any]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(item if isinstance(item, str) else json.dumps(item))
            handle.write("\n")
    return path


def test_a_100k_alert_file_publishes_with_progress_and_every_alert_lands(
    network: Network, admin_conn: Connection, new_group: Callable[[], str], tmp_path: Path
) -> None:
    prefix = f"bulk-{uuid.uuid4().hex[:10]}"
    source = tmp_path / "bulk.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        for item in sample_alerts(BULK, key_prefix=prefix):
            handle.write(json.dumps(item) + "\n")
    expected = {make_alert_id("AT-BKA", f"{prefix}/{n}") for n in range(BULK)}
    before = high_watermarks(admin_conn, new_group())

    result = run_cli(network.workspace.home, "publish", "--as", "AT-BKA", "--json", str(source))

    assert result.returncode == 0, result.stderr.decode()[-2000:]
    progress = [
        line for line in result.stderr.decode().splitlines() if line.startswith("progress: ")
    ]
    assert len(progress) >= 2
    assert progress[-1].startswith(f"progress: {BULK:,}/{BULK:,} read, {BULK:,} answered")
    summary = json.loads(result.stdout)
    assert (summary["published"], summary["failed"], summary["not_attempted"]) == (BULK, 0, 0)

    after = high_watermarks(admin_conn, new_group())
    landed = ours(read_between(admin_conn, new_group(), before, after), expected)
    assert len(landed) == BULK
    assert {alert_id_of(m) for m in landed} == expected
    per_corridor = Counter((m.key() or b"").decode() for m in landed)
    assert per_corridor == {c: t["published"] for c, t in summary["corridors"].items()}
    issuer = network.directory.agencies["AT-BKA"]
    codec = codec_for(network.workspace.admin_connection())  # a registry may be running
    for msg in landed[:: BULK // 20]:
        sealed = alert_from_record(codec.decode_as("CaseAlert", msg.value() or b""))
        verify_alert(sealed, issuer)
        assert sealed.metadata.alert_id == alert_id_of(msg)


def test_bad_records_are_reported_by_line_and_do_not_stop_the_others(
    network: Network, admin_conn: Connection, new_group: Callable[[], str], tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:10]
    items: list[Any] = [
        alert(idempotency_key=f"{tag}-1"),
        '{"idempotency_key": "broken",',
        alert(idempotency_key=f"{tag}-3", corridor={"origin": "RO", "destination": "ZZ"}),
        alert(idempotency_key=f"{tag}-4", addressees=["RO-IGPR"]),
        alert(idempotency_key=f"{tag}-5", body={"narrative": "x" * 300_000}),
    ]
    source = write_jsonl(tmp_path / "mixed.jsonl", items)
    before = high_watermarks(admin_conn, new_group())
    result = run_cli(network.workspace.home, "publish", "--as", "AT-BKA", str(source))
    assert result.returncode == 1
    out = result.stdout.decode()
    assert "published 2 of 5 alert(s)" in out
    assert "failures by reason: INVALID 1, MALFORMED 1, TOO_LARGE 1" in out
    assert "  line 2: MALFORMED: not valid JSON" in out
    assert "  line 3: INVALID: corridor.destination 'ZZ' is not an ISO 3166-1" in out
    assert "  line 5: TOO_LARGE: the body encodes to" in out
    assert "  RO>AT" in out
    good = {make_alert_id("AT-BKA", f"{tag}-{n}") for n in (1, 4)}
    after = high_watermarks(admin_conn, new_group())
    landed = ours(
        read_between(admin_conn, new_group(), before, after),
        good | {make_alert_id("AT-BKA", f"{tag}-{n}") for n in (3, 5)},
    )
    assert {alert_id_of(m) for m in landed} == good


def test_dry_run_and_strict_send_nothing(
    network: Network, admin_conn: Connection, new_group: Callable[[], str], tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:10]
    valid = write_jsonl(
        tmp_path / "valid.jsonl", [alert(idempotency_key=f"{tag}-{n}") for n in range(3)]
    )
    one_bad = write_jsonl(
        tmp_path / "one-bad.jsonl",
        [alert(idempotency_key=f"{tag}-s{n}", tlp="RED" if n == 2 else "AMBER") for n in range(4)],
    )
    before = high_watermarks(admin_conn, new_group())
    home = network.workspace.home
    dry = run_cli(home, "publish", "--as", "AT-BKA", "--dry-run", "--json", str(valid))
    strict = run_cli(home, "publish", "--as", "AT-BKA", "--strict", "--json", str(one_bad))
    assert dry.returncode == 0, dry.stderr.decode()
    dry_summary = json.loads(dry.stdout)
    assert (dry_summary["dry_run"], dry_summary["published"]) == (True, 3)
    assert strict.returncode == 1
    strict_summary = json.loads(strict.stdout)
    assert (strict_summary["published"], strict_summary["not_attempted"]) == (0, 3)
    assert [f["line"] for f in strict_summary["failures"]] == [3]
    assert "must name its addressees" in strict_summary["failures"][0]["error"]
    after = high_watermarks(admin_conn, new_group())
    tried = {make_alert_id("AT-BKA", f"{tag}-{n}") for n in range(3)}
    tried |= {make_alert_id("AT-BKA", f"{tag}-s{n}") for n in range(4)}
    assert ours(read_between(admin_conn, new_group(), before, after), tried) == []


def test_one_alert_from_stdin(network: Network) -> None:
    key = f"stdin-{uuid.uuid4().hex}"
    data = json.dumps(alert(idempotency_key=key), indent=2).encode()
    result = run_cli(network.workspace.home, "publish", "--as", "AT-BKA", "-", stdin=data)
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert f"alert {make_alert_id('AT-BKA', key)} (RO>AT) -> partition" in out
    assert "sealed for RO-ANITP, RO-DGASPC-B, RO-IGPR" in out
    assert "progress:" not in result.stderr.decode()
