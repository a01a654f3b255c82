"""The issuer of the latency stage: publishes sample alerts on a fixed schedule.

It runs as its own process, so that publishing (check, seal, sign: most of a core at
1,000 alerts/s) and the consumer in the benchmark process do not share one GIL::

    python -m corridor.cli.benchmarks.pacer --home H --rate R --seconds S \\
        --partitions P --tag T --out F

One alert is published and acknowledged first, off the clock (the idempotent
producer fetches its id then). Then ``R * S`` alerts follow on schedule; ``F`` gets,
as JSON, when ``publish`` was called for each (``time.time()``, by alert id), the rate
achieved, how far behind schedule the publisher fell at worst, and the CPU time the
process spent from the first scheduled alert to the last one's acknowledgement. Its settings are
read as any ``corridor`` command reads them (``CORRIDOR_CONFIG``, ``./corridor.toml``,
``CORRIDOR_<SECTION>_<KEY>``), with ``--home`` for the cluster.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from corridor.config import load_settings
from producers import make_alert_id, open_publisher

from .workload import ISSUER, alerts

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    count = max(1, int(args.rate * args.seconds))
    drafts = list(alerts(count + 1, tag=args.tag, partitions=args.partitions))
    ids = [make_alert_id(ISSUER, draft["idempotency_key"]) for draft in drafts]
    sent: dict[str, float] = {}
    behind = 0.0
    with open_publisher(load_settings(home=args.home), ISSUER) as publisher:
        publisher.publish(drafts[0]).result(30)
        begin, cpu = time.perf_counter(), time.process_time()
        for n, (draft, alert_id) in enumerate(zip(drafts[1:], ids[1:], strict=True)):
            delay = begin + n / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                behind = max(behind, -delay)
            sent[alert_id] = time.time()
            publisher.publish(draft)
        published_in = time.perf_counter() - begin
        publisher.flush(30)
        cpu = time.process_time() - cpu
    result = {
        "sent": sent,
        "warm_up": ids[0],
        "achieved_rate_per_s": round(count / published_in, 1),
        "publisher_behind_ms": round(behind * 1000, 1),
        "cpu_s": round(cpu, 3),
    }
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
