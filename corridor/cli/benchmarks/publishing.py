"""The producer stage: the publishing SDK from an alert to the broker's acknowledgement.

``count`` sample alerts (already in memory, in the publishing input format) go through
``Publisher.publish`` (check, policy, linkage tokens, seal, sign, encode, produce)
and ``flush``; the rate runs from the first call to the last acknowledgement
(acks=all, idempotent, TLS + SCRAM). The alerts stay on the inbound topic as the
processor stage's backlog.
"""

from __future__ import annotations

from typing import Any

from corridor.config import Settings
from corridor.topics import INBOUND
from corridor.workspace import Workspace
from producers import open_publisher

from .processing import Backlog
from .workload import ISSUER, CpuClock, alerts, end_offsets, micros, per_second

__all__ = ["run_publisher"]


def run_publisher(
    settings: Settings, *, recipients: int, count: int, partitions: int, tag: str
) -> tuple[dict[str, Any], Backlog]:
    """Publish ``count`` alerts for ``recipients`` agencies each; their rate and where
    they are on the inbound topic."""
    drafts = list(alerts(count, tag=tag, partitions=partitions, recipients=recipients))
    admin = Workspace(settings.home).admin_connection()
    start = end_offsets(admin, [INBOUND])
    with open_publisher(settings, ISSUER) as publisher:
        # One alert first: the idempotent producer fetches its id before the clock runs.
        publisher.publish(drafts[0]).result(30)
        clock = CpuClock().start()
        for draft in drafts[1:]:
            publisher.publish(draft)
        remaining = publisher.flush(60)
        wall, cpu = clock.stop()
    if remaining:
        raise RuntimeError(f"{remaining} alerts were not acknowledged by the broker")
    timed = count - 1
    result = {
        "recipients": recipients,
        "alerts": count,
        "per_s": per_second(timed, wall),
        "cpu_us": micros(cpu, timed),
    }
    end = end_offsets(admin, [INBOUND])
    return result, Backlog(tuple(start), count, tuple(end))
