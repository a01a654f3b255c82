"""Hostile records at a running processor: it stays up, routes genuine alerts, and
dead-letters every bad record with its reason, with bounded memory.

A few hundred records go straight to ``corridor.alerts.inbound`` with agencies'
credentials: random, truncated and bit-flipped bytes, large records, wrong schema ids
and fingerprints, other events, forgeries, replays, alerts of unknown issuers, expired,
future-dated and unsupported-suite alerts. Then, mid-stream, MD-CCTP's key is rotated
(alerts signed with the old key follow), MD-NRS's directory entry is overwritten twice
as the admin with a broken signature (alerts signed with the key the forgery names
follow), and MD-CCTP is revoked (its alerts follow, written with MD-NRS's credentials,
as a thief of its key would). Genuine alerts sent between the phases and at the end
must be routed.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message

from corridor.codec import Codec
from corridor.connection import Connection
from corridor.envelope import SigningKey
from corridor.infra.cluster import LocalCluster
from corridor.kafka_clients import producer
from corridor.topics import DLQ, INBOUND, delivery_topic
from processors.dead_letters import DeadLetterReason as R
from processors.emitter import MAX_DEAD_LETTER_KEY, MAX_DEAD_LETTER_ORIGINAL
from tests.chaos.directory_tricks import DirectoryTricks
from tests.chaos.hostile import Hostile, HostileFactory, md_alert, one
from tests.chaos.pipeline import NO_PAGE, rss_bytes
from tests.chaos.tally import Tally
from tests.conftest import Network
from tests.processor_factories import AlertFactory, Built
from tests.processor_running import (
    ProcessorGroup,
    Record,
    TopicWindow,
    metric,
    processor_group,
    wait_for,
    wait_processed,
)

pytestmark = [pytest.mark.system, pytest.mark.cluster, pytest.mark.chaos]

CODEC = Codec()
#: Growth of the worker's resident memory allowed over the whole hostile stream.
RSS_GROWTH = 128 << 20


@dataclass(frozen=True)
class Sent:
    hostile: Hostile
    message: Message


def send(conn: Connection, records: Sequence[tuple[bytes | None, bytes | None]]) -> list[Message]:
    """Produce in order; returns each record's delivery (same order); raises on failure."""
    prod = producer(
        conn, quiet=True, partitioner="murmur2_random", **{"message.max.bytes": 2_000_000}
    )
    delivered: list[Message | None] = [None] * len(records)
    errors: list[KafkaError] = []

    def report(index: int) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                errors.append(err)
            delivered[index] = msg

        return on_delivery

    for index, (key, value) in enumerate(records):
        prod.produce(INBOUND, key=key, value=value, on_delivery=report(index))
        prod.poll(0)
    assert prod.flush(60) == 0, "not every record was acknowledged"
    assert not errors, errors[0]
    return [msg for msg in delivered if msg is not None]


@pytest.fixture(scope="module")
def processor(
    network3: Network, cluster3: LocalCluster, chaos_logs: Path
) -> Iterator[ProcessorGroup]:
    admin = network3.workspace.admin_connection()
    partitions = network3.settings.topics.partitions
    with processor_group(cluster3.home, admin, chaos_logs, ["w1"], partitions, **NO_PAGE) as group:
        yield group


@pytest.fixture
def tricks(network3: Network, tmp_path: Path) -> Iterator[DirectoryTricks]:
    tricks = DirectoryTricks(network3, tmp_path)
    try:
        yield tricks
    finally:
        tricks.restore()


def _version_at_least(group: ProcessorGroup, version: int) -> None:
    port = group.workers["w1"].port
    wait_for(
        lambda: metric(port, "corridor_directory_version") >= version,
        what=f"the processor to apply directory version {version}",
    )


class Run:
    """What one test sends, and through whose credentials."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.hostile: list[Sent] = []
        self.genuine: list[tuple[Built, Message]] = []

    def conn(self, agency: str) -> Connection:
        return self.network.workspace.agency_connection(agency)

    def bad(self, agency: str, records: Sequence[Hostile]) -> None:
        messages = send(self.conn(agency), [(h.key, h.value) for h in records])
        self.hostile += [Sent(h, m) for h, m in zip(records, messages, strict=True)]

    def good(self, agency: str, alerts: Sequence[Built]) -> None:
        messages = send(self.conn(agency), [(b.key, b.value) for b in alerts])
        self.genuine += list(zip(alerts, messages, strict=True))

    def messages(self) -> list[Message]:
        return [s.message for s in self.hostile] + [m for _, m in self.genuine]


@dataclass
class Outcome:
    kinds: Counter[str]
    reasons: Counter[str]
    #: Hostile records without a dead letter, with the wrong reason, with their bytes
    #: not kept in the dead letter, or found on a delivery topic.
    missing: list[str]
    wrong: list[str]
    mangled: list[str]
    delivered: list[str]
    #: Genuine alerts not on exactly the delivery topics the policy allows.
    unrouted: list[str]

    def summary(self) -> str:
        return (
            f"dead letters by reason {dict(self.reasons.most_common())}; missing "
            f"{len(self.missing)}, wrong reason {len(self.wrong)}, delivered "
            f"{len(self.delivered)}, genuine unrouted {len(self.unrouted)}"
        )


def judge(run: Run, records: Sequence[Record], factory: AlertFactory) -> Outcome:
    letters: dict[tuple[int, int], dict[str, Any]] = {}
    for record in records:
        if record.topic == DLQ:
            dead = CODEC.decode(record.value).record
            if dead["source_topic"] == INBOUND:
                where = (int(dead["source_partition"]), int(dead["source_offset"]))
                letters.setdefault(where, dead)
    on_topics: dict[bytes, set[str]] = {}
    for record in records:
        if record.topic != DLQ:
            on_topics.setdefault(record.value, set()).add(record.topic)
    genuine = {built.value for built, _ in run.genuine}
    outcome = Outcome(Counter(), Counter(), [], [], [], [], [])
    for sent in run.hostile:
        h, msg = sent.hostile, sent.message
        outcome.kinds[h.kind] += 1
        at = f"{h.kind} at {msg.partition()}:{msg.offset()}"
        letter = letters.get((int(msg.partition() or 0), int(msg.offset() or 0)))
        if h.value is not None and h.value not in genuine and h.value in on_topics:
            outcome.delivered.append(f"{at} on {sorted(on_topics[h.value])}")
        if letter is None:
            outcome.missing.append(at)
            continue
        reason = str(letter["reason"])
        outcome.reasons[reason] += 1
        if reason not in h.reasons:
            outcome.wrong.append(f"{at}: {reason}, expected one of {sorted(h.reasons)}")
        # A dead letter keeps the record whole, up to the caps of processors.emitter.
        value = (h.value or b"")[:MAX_DEAD_LETTER_ORIGINAL]
        key = h.key[:MAX_DEAD_LETTER_KEY] if h.key is not None else None
        if letter["original_value"] != value or letter["original_key"] != key:
            outcome.mangled.append(at)
    for built, _ in run.genuine:
        expected = {delivery_topic(a) for a in factory.allowed(built.metadata)}
        found = on_topics.get(built.value, set())
        if not expected or found != expected:
            outcome.unrouted.append(
                f"{built.metadata.issuer} {built.alert_id}: on {sorted(found)}, "
                f"expected {sorted(expected)}"
            )
    return outcome


def test_hostile_input_is_dead_lettered_and_the_processor_keeps_routing(
    network3: Network,
    processor: ProcessorGroup,
    tricks: DirectoryTricks,
    chaos_tally: Tally,
) -> None:
    seed = int(os.environ.get("CORRIDOR_CHAOS_SEED", str(random.SystemRandom().randrange(10**6))))
    print(f"\nhostile input: seed {seed}")
    admin = network3.workspace.admin_connection()
    directory = network3.directory
    deliveries = [delivery_topic(agency) for agency in directory.agencies]
    window = TopicWindow.open(admin, [DLQ, *deliveries])
    factory = AlertFactory(directory, network3.workspace.agency_keys, CODEC)
    hostile = HostileFactory(factory, CODEC, seed)
    worker = processor.workers["w1"]
    run = Run(network3)

    run.good("RO-ANITP", [factory.alert() for _ in range(5)])
    wait_processed(admin, processor.app_id, run.messages())
    rss_before = rss_bytes(worker.process.pid)

    originals, attacks = hostile.attacks()
    run.good("RO-ANITP", originals)
    mixed = [*hostile.shapeless(), *hostile.mislabelled(), *attacks]
    random.Random(seed).shuffle(mixed)
    run.bad("RO-ANITP", mixed)

    # A key rotated mid-stream: alerts signed with the old key are refused.
    old_keys, rotated = tricks.rotate("MD-CCTP")
    _version_at_least(processor, rotated.version)
    run.bad(
        "MD-CCTP",
        hostile.signed_by(old_keys, "MD-CCTP", 10, "signed with a rotated-out key", R.UNKNOWN_KEY),
    )
    run.good("MD-CCTP", [md_alert(factory, "MD-CCTP")])

    # Directory entries with bad signatures, written as the admin.
    rejected = processor.total("corridor_directory_entries_rejected_total")
    tricks.forge("MD-NRS")
    wait_for(
        lambda: processor.total("corridor_directory_entries_rejected_total") > rejected,
        what="the processor to refuse the entry with a corrupted signature",
    )
    attacker = SigningKey.generate("MD-NRS-sig-attacker")
    tricks.forge("MD-NRS", attacker=attacker)
    run.bad(
        "MD-NRS",
        hostile.signed_by(
            attacker, "MD-NRS", 10, "signed with a key only a forged entry names", R.UNKNOWN_KEY
        ),
    )
    run.good("MD-CCTP", [md_alert(factory, "MD-CCTP")])

    # An agency revoked mid-stream; a thief of its key writes with other credentials.
    current_keys = network3.workspace.agency_keys("MD-CCTP")
    revoked = tricks.revoke("MD-CCTP")
    _version_at_least(processor, revoked.version)
    run.bad(
        "MD-NRS",
        hostile.signed_by(
            current_keys, "MD-CCTP", 10, "issuer revoked mid-stream", R.ISSUER_NOT_ACTIVE
        ),
    )
    run.good("RO-ANITP", [factory.alert()])

    wait_processed(admin, processor.app_id, run.messages(), timeout=180)
    rss_after = rss_bytes(worker.process.pid)
    records = window.read()
    log = worker.log.read_text(errors="replace")

    outcome = judge(run, records, factory)
    print(f"hostile input: {len(run.hostile)} records, {outcome.summary()}")
    print(f"  worker RSS {rss_before >> 20} MiB before, {rss_after >> 20} MiB after")

    chaos_tally.add(
        "bad inputs tried",
        "hostile records at the processor",
        len(run.hostile),
        f"{len(outcome.kinds)} kinds, seed {seed}",
    )
    chaos_tally.add("bad inputs tried", "forged directory entries", 2)
    chaos_tally.add("faults injected", "directory changes mid-stream (rotate, revoke)", 2)
    chaos_tally.add(
        "alerts lost", "genuine alerts not routed (hostile stream)", len(outcome.unrouted)
    )
    chaos_tally.add("also seen", "hostile records without a dead letter", len(outcome.missing))
    chaos_tally.add("also seen", "hostile records delivered to an agency", len(outcome.delivered))
    chaos_tally.add(
        "also seen", "processor RSS growth over hostile stream, MiB", (rss_after - rss_before) >> 20
    )

    assert processor.alive(), "the processor worker died"
    assert "Crashed" not in log, log[-3000:]
    assert "processing_failed" not in log, log[-3000:]
    assert outcome.missing == [], outcome.missing[:10]
    assert outcome.wrong == [], outcome.wrong[:10]
    assert outcome.mangled == [], outcome.mangled[:10]
    assert outcome.delivered == [], outcome.delivered[:10]
    assert outcome.unrouted == [], outcome.unrouted
    assert rss_after - rss_before < RSS_GROWTH, (rss_before, rss_after)


#: Under the broker's limit for one record (1,048,588 bytes with its batch), over
#: librdkafka's default ``message.max.bytes`` (1,000,000) once wrapped in a dead letter.
NEAR_LIMIT = 1_040_000


def test_a_record_near_the_broker_size_limit_is_dead_lettered(
    network3: Network, processor: ProcessorGroup, chaos_tally: Tally
) -> None:
    admin = network3.workspace.admin_connection()
    factory = AlertFactory(network3.directory, network3.workspace.agency_keys, CODEC)
    window = TopicWindow.open(
        admin, [DLQ, *(delivery_topic(a) for a in network3.directory.agencies)]
    )
    worker = processor.workers["w1"]
    seen = len(worker.log.read_bytes())
    run = Run(network3)
    big = random.Random(NEAR_LIMIT).randbytes(NEAR_LIMIT)
    kind = "record near the broker's size limit"
    run.bad("RO-ANITP", [Hostile(kind, b"RO>AT", big, one(R.UNDECODABLE))])
    run.good("RO-ANITP", [factory.alert()])  # same partition, after it
    wait_processed(admin, processor.app_id, run.messages())
    outcome = judge(run, window.read(), factory)
    log = worker.log.read_bytes()[seen:].decode(errors="replace")
    print(f"\nnear the size limit: {outcome.summary()}")

    chaos_tally.add(
        "bad inputs tried", "hostile records at the processor", 1, "1 near the size limit"
    )
    chaos_tally.add("also seen", "hostile records without a dead letter", len(outcome.missing))

    assert processor.alive(), "the processor worker died"
    assert outcome.unrouted == [], outcome.unrouted
    assert outcome.delivered == []
    assert outcome.missing == [], f"no dead letter for a {NEAR_LIMIT}-byte record: {log[-1500:]}"
    assert outcome.wrong == [], outcome.wrong
    assert outcome.mangled == [], "the dead letter does not hold the record's first bytes"
    assert "Crashed" not in log, log[-3000:]
