"""Processor workers and consumers SIGKILLed at random points: nothing lost, nothing twice.

Two processor workers and two ``corridor consume`` processes (RO-IGPR with the sqlite
inbox, BG-GDNP with a jsonl file) carry a stream of alerts from AT-BKA. At random
points of the stream's progress one of the four is killed with SIGKILL and started
again after a random pause, at least six times, each of them at least once. At the end
every acknowledged alert is in its recipient's sink exactly once, in nobody else's,
and none was dead-lettered: a record read again after a crash is routed again, not
refused as a replay. The seed is printed; CORRIDOR_CHAOS_SEED replays a run.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from pathlib import Path

import pytest

from corridor.codec import Codec
from corridor.infra.cluster import LocalCluster
from corridor.topics import DLQ, delivery_topic
from producers.samples import sample_alerts
from tests.chaos.pipeline import (
    NO_PAGE,
    AlertStream,
    Supervisor,
    Watch,
    alert_id_of,
    alert_ids_in,
    audit,
    consumer_processes,
    held_count,
    running,
    settle_while_moving,
    where_lost,
)
from tests.chaos.tally import Tally
from tests.conftest import Network
from tests.processor_running import TopicWindow, processor_group

pytestmark = [pytest.mark.system, pytest.mark.chaos]

ALERTS = int(os.environ.get("CORRIDOR_CHAOS_CRASH_ALERTS", "2000"))
KILLS = 6
RATE = 150.0
ISSUER = "AT-BKA"
ROUTES = {"RO>AT": ("RO-IGPR",), "BG>AT": ("BG-GDNP",)}
SINKS = {"RO-IGPR": "sqlite", "BG-GDNP": "jsonl"}
WORKERS = ("w1", "w2")
CODEC = Codec()


def _plan(rng: random.Random) -> list[tuple[float, str, float]]:
    """(fraction of deliveries held, victim, pause before restart), in stream order."""
    victims = [*WORKERS, *SINKS]
    victims += [rng.choice(victims) for _ in range(KILLS - len(victims))]
    rng.shuffle(victims)
    points = sorted(rng.uniform(0.05, 0.85) for _ in victims)
    return [(at, victim, rng.uniform(0.2, 3.0)) for at, victim in zip(points, victims, strict=True)]


def test_processes_killed_at_random_lose_and_repeat_nothing(
    network: Network,
    kafka_cluster: LocalCluster,
    chaos_logs: Path,
    chaos_tally: Tally,
) -> None:
    seed = int(os.environ.get("CORRIDOR_CHAOS_SEED", str(random.SystemRandom().randrange(10**6))))
    plan = _plan(random.Random(seed))
    print(f"\nprocess crashes: seed {seed}, plan {[(round(a, 2), v) for a, v, _ in plan]}")
    admin = network.workspace.admin_connection()
    logs = chaos_logs / f"crashes-{uuid.uuid4().hex[:6]}"
    logs.mkdir()
    consumers = consumer_processes(kafka_cluster.home, admin, SINKS, logs)
    window = TopicWindow.open(admin, [DLQ, *(delivery_topic(a) for a in SINKS)])
    stream = AlertStream(
        network.settings,
        ISSUER,
        sample_alerts(ALERTS, key_prefix=f"chaos-crashes-{uuid.uuid4()}", routes=ROUTES),
        rate=RATE,
    )
    killed: list[str] = []
    partitions = network.settings.topics.partitions
    with (
        processor_group(
            kafka_cluster.home, admin, logs, list(WORKERS), partitions, **NO_PAGE
        ) as group,
        running(consumers, stream),
    ):
        supervisor = Supervisor(group, consumers)
        watch = Watch(supervisor, stream, consumers)
        started = time.monotonic()
        stream.start()
        for at, victim, pause in plan:
            target = at * ALERTS
            reached = settle_while_moving(
                lambda: held_count(stream, consumers) >= target,  # noqa: B023 - used at once
                lambda: held_count(stream, consumers),
                tick=watch,
            )
            assert reached, f"the stream stalled before {at:.0%}: {watch.notes[-3:]}"
            if victim in consumers:
                consumers[victim].kill()
                time.sleep(pause)
                consumers[victim].start()
            else:
                group.kill(victim)
                time.sleep(pause)
                group.start(victim)
            killed.append(f"{victim}@{held_count(stream, consumers)}")
        settled, settled_at = watch.settle_all()
        elapsed = settled_at - started
        total = sum(len(ids) for ids in stream.expected().values())
        codes = {agency: consumer.stop() for agency, consumer in consumers.items()}
        assert group.alive(), "a processor worker died at the end of the run"

    result = audit(stream, consumers)
    records = window.read()
    dead_letters = [CODEC.decode(r.value).record for r in records if r.topic == DLQ]
    ours = stream.ids()
    refused = [
        letter["reason"]
        for letter in dead_letters
        if alert_id_of(letter["original_value"], CODEC) in ours
    ]
    routed = alert_ids_in([r for r in records if r.topic != DLQ], CODEC)
    copies_on_topics = sum(n for alert_id, n in routed.items() if alert_id in ours)
    print(f"process crashes: {len(stream.acked)} acked; {result.summary()}")
    print(f"  kills: {killed}; unplanned restarts: {supervisor.restarts}")
    print(f"  {copies_on_topics} copies routed for {total} deliveries; settled in {elapsed:.0f}s")

    workers = sum(1 for k in killed if k.split("@")[0] in WORKERS)
    chaos_tally.add(
        "load held",
        "alerts acked, routed through process kills",
        len(stream.acked),
        f"seed {seed}, settled in {elapsed:.0f} s",
    )
    chaos_tally.add("faults injected", "processor workers SIGKILLed, restarted", workers)
    chaos_tally.add("faults injected", "consumers SIGKILLed, restarted", len(killed) - workers)
    chaos_tally.add("alerts lost", "acked, missing from inbox (process kills)", result.lost_count)
    chaos_tally.add(
        "duplicates delivered", "second copies in a sink (process kills)", result.duplicate_count
    )
    chaos_tally.add(
        "also seen",
        "repeated copies on delivery topics (process kills)",
        copies_on_topics - len({a for a in routed if a in ours}),
    )
    chaos_tally.add(
        "also seen", "redeliveries absorbed by inboxes (process kills)", result.redeliveries
    )
    chaos_tally.add("also seen", "genuine alerts dead-lettered (process kills)", len(refused))
    chaos_tally.add("also seen", "unplanned restarts (process kills)", len(supervisor.restarts))

    assert len(killed) >= 5
    assert settled, f"not all arrived: {result.summary()}; {where_lost(result, window, CODEC)}"
    assert result.lost_count == 0, {a: sorted(ids)[:5] for a, ids in result.lost.items() if ids}
    assert result.duplicate_count == 0, result.duplicated
    assert not any(result.foreign.values()), result.foreign
    assert refused == [], refused
    assert codes == dict.fromkeys(SINKS, 0), codes
