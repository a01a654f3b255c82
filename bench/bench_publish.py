"""Bulk publish throughput on a real broker, next to the sign-and-seal bound.

Run from the project root: ``python bench/bench_publish.py [--home DIR] [--count N]``.
Without ``--home`` a temporary local cluster is started (and stopped afterwards) with
the sample network of examples/directory.json; with it, the cluster there is used and
must have that directory applied with local keys.

For 1 and 3 recipients per alert, in the same run:

* sign+seal bound: ``Sealer.seal`` alone (AES-GCM, one HPKE wrap per recipient, one
  Ed25519 signature) on the same metadata and body as the published alerts: no
  publisher can go faster on one core;
* prepare: parse, check, linkage tokens, policy, seal and encode, without Kafka
  (``--dry-run``'s path);
* publish: ``corridor publish``'s bulk path from JSON lines to acknowledged by the
  broker (acks=all, idempotent, TLS + SCRAM), timed until every alert is answered.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corridor.codec import Codec
from corridor.config import Settings
from corridor.directory_apply import apply_directory
from corridor.directory_topic import read_directory
from corridor.envelope import Sealer
from corridor.exceptions import CorridorError
from corridor.infra.cluster import LocalCluster
from corridor.workspace import Workspace
from producers import Preparer, open_publisher, publish_all, read_alerts
from producers.samples import sample_alerts

ISSUER = "AT-BKA"
SAMPLE_DIRECTORY = Path(__file__).resolve().parents[1] / "examples" / "directory.json"


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Operations per second of ``operation`` over at least ``seconds``."""
    operation()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(64):
            operation()
        done += 64
    return done / (time.perf_counter() - start)


def _apply_sample_directory(home: Path, attempts: int = 20) -> None:
    """Apply the sample network; a broker that has just started may not yet lead the
    directory partition, so retriable errors are retried for a while."""
    for attempt in range(attempts):
        try:
            apply_directory(
                Workspace(home), Settings(home=home), SAMPLE_DIRECTORY, use_local_keys=True
            )
            return
        except CorridorError as exc:
            if not exc.retriable or attempt == attempts - 1:
                raise
            time.sleep(1.0)


@contextmanager
def cluster_home(home: Path | None) -> Iterator[Path]:
    if home is not None:
        yield home
        return
    with tempfile.TemporaryDirectory(prefix="corridor-bench-") as folder:
        cluster = LocalCluster(Path(folder))
        try:
            cluster.up(nodes=1, base_port=0)
            _apply_sample_directory(cluster.home)
            yield cluster.home
        finally:
            cluster.down()


def jsonl(alerts: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(a) + "\n" for a in alerts).encode()


def measure(home: Path, recipients: int, count: int, seconds: float) -> dict[str, float]:
    settings = Settings(home=home)
    ws = Workspace(home)
    directory = read_directory(ws.agency_connection(ISSUER), ws.authority_public_key())
    keys = ws.agency_keys(ISSUER)
    preparer = Preparer(
        issuer=ISSUER,
        signing_key=keys.signing,
        linkage_keys=ws.linkage_keys(),
        codec=Codec(),
        max_body_bytes=settings.producer.max_body_bytes,
    )
    tag = f"bench-{uuid.uuid4().hex[:8]}-r{recipients}"
    now = datetime.now(UTC)
    sample = next(sample_alerts(1, key_prefix=f"{tag}-probe", recipients=recipients))
    checked = preparer.check(sample, directory, now)
    assert len(checked.recipients.keys) == recipients, checked.recipients.agency_ids
    sealer = Sealer()
    bound = rate(
        lambda: sealer.seal(checked.metadata, checked.body, checked.recipients.keys, keys.signing),
        seconds,
    )

    dry = list(sample_alerts(min(count, 5000), key_prefix=f"{tag}-dry", recipients=recipients))
    start = time.perf_counter()
    for item in dry:
        preparer.prepare(item, directory, now)
    prepare = len(dry) / (time.perf_counter() - start)

    data = jsonl(list(sample_alerts(count, key_prefix=tag, recipients=recipients)))
    with open_publisher(settings, ISSUER) as publisher:
        start = time.perf_counter()
        summary = publish_all(publisher, read_alerts(io.BytesIO(data)))
        publisher.close()
        elapsed = time.perf_counter() - start
    if summary.published != count:
        raise SystemExit(f"only {summary.published} of {count} alerts were published")
    return {
        "recipients": recipients,
        "sign_seal_bound_per_s": round(bound, 1),
        "prepare_per_s": round(prepare, 1),
        "publish_per_s": round(count / elapsed, 1),
        "alerts": count,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--home", type=Path, help="Corridor home of a running cluster")
    parser.add_argument("--count", type=int, default=20000, help="alerts per publish run")
    parser.add_argument("--seconds", type=float, default=2.0, help="time for the seal bound")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    with cluster_home(args.home) as home:
        results = [measure(home, n, args.count, args.seconds) for n in (1, 3)]
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return 0
    print(
        f"{'recipients':>10}  {'sign+seal bound':>16}  {'prepare':>10}  {'publish':>10}  {'of bound':>8}"
    )
    for r in results:
        share = r["publish_per_s"] / r["sign_seal_bound_per_s"]
        print(
            f"{r['recipients']:>10}  {r['sign_seal_bound_per_s']:>14,.0f}/s"
            f"  {r['prepare_per_s']:>8,.0f}/s  {r['publish_per_s']:>8,.0f}/s  {share:>8.0%}"
        )
    print(f"({results[0]['alerts']:,} alerts per publish run, acks=all, TLS + SCRAM)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
