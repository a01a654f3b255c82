"""Two processor workers on the real broker: routing, refusals, links, acknowledgements,
and directory changes taken up without a restart.

Every delivery topic is read as the admin and filtered to the records this module
sent, so "no one else received it" is checked against the whole platform.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path

import pytest
from confluent_kafka import Message
from prometheus_client import CollectorRegistry

from corridor.codec import Codec
from corridor.directory import encode_signed_entry
from corridor.directory_apply import apply_directory
from corridor.directory_topic import read_directory_state
from corridor.domain import AckStatus, AlertType, ConsentScope, DataCategory, Directory, Priority
from corridor.infra.cluster import LocalCluster
from corridor.policy import decide_all
from corridor.topics import ACKS_INBOUND, AUDIT, DIRECTORY, DLQ, INBOUND, LINKS, delivery_topic
from processors.errors import ProcessorError
from processors.kafka_sink import KafkaSink
from producers import open_publisher
from tests.conftest import SAMPLE_DIRECTORY, Network
from tests.kafka_helpers import produce_all
from tests.processor_factories import AlertFactory, Built, random_tokens
from tests.processor_running import (
    ProcessorGroup,
    Record,
    TopicWindow,
    metric,
    processor_group,
    wait_for,
    wait_processed,
)
from tests.unit.publish_support import alert as sample_alert

pytestmark = pytest.mark.integration

CODEC = Codec()
#: As the producers and consumers write: alerts and acknowledgements of one corridor
#: land on the same partition number, where one worker holds the alert's state.
PARTITIONER = "murmur2_random"


@pytest.fixture(scope="module")
def workers(
    network: Network, kafka_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProcessorGroup]:
    admin = network.workspace.admin_connection()
    logs = tmp_path_factory.mktemp("processor-logs")
    partitions = network.settings.topics.partitions
    with processor_group(kafka_cluster.home, admin, logs, ["w1", "w2"], partitions) as group:
        yield group


@pytest.fixture(scope="module")
def factory(network: Network) -> AlertFactory:
    return AlertFactory(network.directory, network.workspace.agency_keys, CODEC)


@pytest.fixture(scope="module")
def deliveries(network: Network) -> list[str]:
    return [delivery_topic(agency) for agency in network.directory.agencies]


def send(network: Network, topic: str, records: list[tuple[str, bytes, bytes]]) -> list[Message]:
    """Produce (as agency, key, value) records, each as its agency's principal."""
    delivered: list[Message] = []
    for agency, batch in groupby(records, key=lambda r: r[0]):
        conn = network.workspace.agency_connection(agency)
        batch_records = [(key, value) for _, key, value in batch]
        delivered += produce_all(conn, topic, batch_records, partitioner=PARTITIONER)
    return delivered


def publish(network: Network, workers: ProcessorGroup, built: list[Built]) -> list[Message]:
    delivered = send(network, INBOUND, [(b.metadata.issuer, b.key, b.value) for b in built])
    wait_processed(network.workspace.admin_connection(), workers.app_id, delivered)
    return delivered


def events(records: list[Record], name: str) -> list[Record]:
    return [r for r in records if r.event == name]


def test_two_workers_share_the_inbound_partitions(workers: ProcessorGroup) -> None:
    held = [
        metric(w.port, "corridor_processor_partitions_assigned") for w in workers.workers.values()
    ]
    assert len(held) == 2
    assert all(count > 0 for count in held)


def test_each_alert_reaches_exactly_the_authorised_recipients(
    network: Network, workers: ProcessorGroup, factory: AlertFactory, deliveries: list[str]
) -> None:
    built = [
        factory.alert("RO-ANITP", origin="RO", destination="AT"),
        factory.alert("UA-NPU", origin="UA", destination="DE"),
        factory.alert(
            "MD-CCTP",
            origin="MD",
            destination="UA",
            alert_type=AlertType.SUSPECT_INFORMATION,
            categories=(DataCategory.SUSPECT_INFORMATION, DataCategory.CRIMINAL_INTELLIGENCE),
            consent=ConsentScope.NONE,
        ),
        factory.alert(
            "DE-BKA",
            origin="RO",
            destination="DE",
            categories=(DataCategory.LOCATION, DataCategory.EXPLOITATION_DETAILS),
            consent=ConsentScope.FULL,
        ),
    ]
    expected = {b.alert_id: factory.allowed(b.metadata) for b in built}
    assert all(expected.values())
    window = TopicWindow.open(network.workspace.admin_connection(), [*deliveries, AUDIT])
    publish(network, workers, built)

    read = window.read()
    by_value = {b.value: b for b in built}
    received: dict[str, list[str]] = {b.alert_id: [] for b in built}
    for msg in events(read, "CaseAlert"):
        mine = by_value.get(msg.value)
        if mine is not None:
            received[mine.alert_id].append(msg.topic.removeprefix("corridor.deliver."))
            assert msg.key == mine.key
            assert msg.headers.get("corridor-agreement")
    for b in built:
        assert sorted(received[b.alert_id]) == sorted(expected[b.alert_id]), b.metadata.corridor
    audits = [CODEC.decode(m.value).record for m in read if m.topic == AUDIT]
    for b in built:
        decided = [a for a in audits if str(a["alert_id"]) == b.alert_id]
        allowed = {a["recipient"] for a in decided if a["outcome"] == "ALLOW"}
        assert allowed == expected[b.alert_id]
        assert len(decided) > len(allowed)  # denials are audited too


def test_hostile_input_ends_in_the_dead_letter_topic_and_the_worker_goes_on(
    network: Network, workers: ProcessorGroup, factory: AlertFactory, deliveries: list[str]
) -> None:
    replayed = factory.alert("RO-ANITP")
    changed = factory.alert("RO-ANITP")
    ghost = factory.unknown_issuer()
    hostile = {
        "forged signature": (b"RO>AT", factory.forged().value, "BAD_SIGNATURE"),
        "changed byte": (b"RO>AT", factory.changed_byte(changed), "BAD_SIGNATURE"),
        "unknown issuer": (ghost.key, ghost.value, "UNKNOWN_ISSUER"),
        "expired": (b"RO>AT", factory.expired(timedelta(days=8)).value, "EXPIRED"),
        "future": (b"RO>AT", factory.future(timedelta(hours=2)).value, "CREATED_IN_FUTURE"),
        "undecodable": (b"RO>AT", b"\xc3\x01" + bytes(40), "UNDECODABLE"),
        "not avro at all": (b"RO>AT", b'{"alert": "json?"}', "UNDECODABLE"),
    }
    window = TopicWindow.open(network.workspace.admin_connection(), [*deliveries, DLQ])
    records = [("RO-ANITP", key, value) for key, value, _ in hostile.values()]
    records.insert(0, ("RO-ANITP", replayed.key, replayed.value))
    records.append(("RO-ANITP", replayed.key, replayed.value))
    delivered = send(network, INBOUND, records)
    wait_processed(network.workspace.admin_connection(), workers.app_id, delivered)

    read = window.read()
    letters = {}
    for msg in read:
        if msg.topic == DLQ:
            letter = CODEC.decode(msg.value).record
            letters[(letter["source_partition"], letter["source_offset"])] = letter
    sent = [Record.of(m) for m in delivered]
    where = {r.value: (r.partition, r.offset) for r in sent}
    for what, (_, value, reason) in hostile.items():
        found = letters.get(where[value])
        assert found is not None, f"{what} was not dead-lettered"
        assert found["reason"] == reason, what
        assert found["original_value"] == value
    first_copy, second_copy = sorted(
        (r.partition, r.offset) for r in sent if r.value == replayed.value
    )
    assert first_copy not in letters
    assert letters[second_copy]["reason"] == "DUPLICATE"

    refused = {value for _, value, _ in hostile.values()}
    copies = [m for m in read if m.topic != DLQ and m.value in refused]
    assert copies == []
    # The replayed alert went out once per recipient: the first copy only.
    first = [m for m in events(read, "CaseAlert") if m.value == replayed.value]
    assert sorted(m.topic for m in first) == sorted(
        delivery_topic(a) for a in factory.allowed(replayed.metadata)
    )
    assert workers.alive()
    after = factory.alert("RO-ANITP")
    publish(network, workers, [after])
    assert workers.alive()


@pytest.mark.parametrize("compression", ["gzip", "snappy", "lz4", "zstd"])
def test_alerts_their_producer_compressed_are_routed(
    network: Network,
    workers: ProcessorGroup,
    factory: AlertFactory,
    deliveries: list[str],
    compression: str,
) -> None:
    # Agencies publish with their own Kafka clients, which may compress with any codec
    # Kafka knows. A worker that cannot read one stops reading for good, and it would
    # meet the same batch again after every restart.
    built = [factory.alert("RO-ANITP", origin="RO", destination="AT") for _ in range(3)]
    window = TopicWindow.open(network.workspace.admin_connection(), deliveries)
    conn = network.workspace.agency_connection("RO-ANITP")
    records = [(b.key, b.value) for b in built]
    delivered = produce_all(
        conn, INBOUND, records, partitioner=PARTITIONER, **{"compression.type": compression}
    )
    wait_processed(network.workspace.admin_connection(), workers.app_id, delivered)

    received = events(window.read(), "CaseAlert")
    for b in built:
        assert sorted(m.topic for m in received if m.value == b.value) == sorted(
            delivery_topic(a) for a in factory.allowed(b.metadata)
        )
    assert workers.alive()


def test_two_agencies_reporting_the_same_person_each_get_a_link_notice(
    network: Network, workers: ProcessorGroup, factory: AlertFactory
) -> None:
    tokens = random_tokens(3)
    first = factory.alert("RO-ANITP", origin="RO", destination="AT", tokens=tokens)
    second = factory.alert("AT-BKA", origin="RO", destination="AT", tokens=tokens[1:])
    topics = [delivery_topic("RO-ANITP"), delivery_topic("AT-BKA"), LINKS]
    window = TopicWindow.open(network.workspace.admin_connection(), topics)
    publish(network, workers, [first])
    publish(network, workers, [second])

    pair = {first.alert_id, second.alert_id}

    def notices(read: list[Record]) -> list[tuple[str, dict[str, object]]]:
        found = []
        for msg in read:
            if msg.topic == LINKS or msg.event == "LinkNotice":
                record = CODEC.decode_as("LinkNotice", msg.value)
                ids = {str(record["first"]["alert_id"]), str(record["second"]["alert_id"])}
                if ids == pair:
                    found.append((msg.topic, record))
        return found

    read = window.read_until(lambda r: len({t for t, _ in notices(r)}) == 3)
    found = notices(read)
    assert sorted(t for t, _ in found) == sorted(topics)  # one notice each, one on the links topic
    record = found[0][1]
    assert str(record["first"]["alert_id"]) == first.alert_id  # type: ignore[index]
    assert record["second"]["issuer"] == "AT-BKA"  # type: ignore[index]
    assert len({str(r["link_id"]) for _, r in found}) == 1


@pytest.mark.parametrize(
    ("written_by_ro", "written_by_at"),
    [("Elena Schäfer", "Elena Schaefer"), ("Елена Щерева", "Elena Shtereva")],
)
def test_names_two_agencies_spell_differently_still_link(
    network: Network, workers: ProcessorGroup, written_by_ro: str, written_by_at: str
) -> None:
    # Through the publishers, as agencies publish: the tokens are made from the body.
    run = uuid.uuid4().hex[:8]
    given, family = written_by_ro.split()
    ro_alert = sample_alert(
        idempotency_key=f"RO-ANITP/link/{run}",
        person={"given_names": [given], "family_names": [family]},
    )
    given, family = written_by_at.split()
    at_alert = sample_alert(
        idempotency_key=f"AT-BKA/link/{run}",
        person={"given_names": [given], "family_names": [family]},
    )
    topics = [delivery_topic("RO-ANITP"), delivery_topic("AT-BKA"), LINKS]
    window = TopicWindow.open(network.workspace.admin_connection(), topics)
    ids = set()
    for issuer, data in (("RO-ANITP", ro_alert), ("AT-BKA", at_alert)):
        with open_publisher(network.settings, issuer, registry=CollectorRegistry()) as publisher:
            ids.add(publisher.publish(data).result(timeout=60).alert_id)

    def notices(read: list[Record]) -> set[str]:
        found = set()
        for msg in read:
            if msg.topic == LINKS or msg.event == "LinkNotice":
                record = CODEC.decode_as("LinkNotice", msg.value)
                pair = {str(record["first"]["alert_id"]), str(record["second"]["alert_id"])}
                if pair == ids:
                    found.add(msg.topic)
        return found

    read = window.read_until(lambda r: notices(r) == set(topics))
    assert notices(read) == set(topics)


def test_acknowledgements_are_routed_to_the_issuer_only_from_recipients(
    network: Network, workers: ProcessorGroup, factory: AlertFactory
) -> None:
    built = factory.alert("RO-ANITP", origin="RO", destination="AT")
    assert "AT-BFA" not in factory.allowed(built.metadata)
    publish(network, workers, [built])
    window = TopicWindow.open(
        network.workspace.admin_connection(), [delivery_topic("RO-ANITP"), DLQ]
    )
    key, good, _ = factory.ack(built, "AT-BKA", AckStatus.ACCEPTED)
    _, intruder, _ = factory.ack(built, "AT-BFA", AckStatus.RECEIVED)
    delivered = send(network, ACKS_INBOUND, [("AT-BKA", key, good), ("AT-BFA", key, intruder)])
    wait_processed(network.workspace.admin_connection(), workers.app_id, delivered)

    read = window.read()
    routed = [m.value for m in events(read, "Acknowledgement")]
    assert routed == [good]
    letters = [CODEC.decode(m.value).record for m in read if m.topic == DLQ]
    reasons = [letter["reason"] for letter in letters if letter["original_value"] == intruder]
    assert reasons == ["NOT_A_RECIPIENT"]


def test_an_output_that_cannot_be_written_fails_the_flush(network: Network) -> None:
    sink = KafkaSink(network.workspace.processor_connection(), {"message.timeout.ms": "1500"})
    sink.send(delivery_topic("XX-NO-SUCH-AGENCY"), b"RO>AT", b"lost")
    with pytest.raises(ProcessorError) as caught:
        sink.flush(timeout=10)
    assert caught.value.retriable
    sink.flush(timeout=10)  # the failure was reported once; the sink goes on


def test_a_commit_waits_for_the_records_of_its_epoch_on_the_broker(network: Network) -> None:
    """What a commit waits for (decision 17), against the broker: a written record
    completes its epoch; one that cannot be written fails it."""
    sink = KafkaSink(network.workspace.processor_connection(), {"message.timeout.ms": "1500"})
    sink.send(delivery_topic("RO-ANITP"), b"RO>AT", b"written")
    written = sink.close_epoch()
    asyncio.run(sink.wait_delivered(written, timeout=10))
    assert sink.delivered(written)
    sink.send(delivery_topic("XX-NO-SUCH-AGENCY"), b"RO>AT", b"lost")
    lost = sink.close_epoch()
    with pytest.raises(ProcessorError, match="XX-NO-SUCH-AGENCY"):
        asyncio.run(sink.wait_delivered(lost, timeout=10))


def test_a_directory_entry_with_a_bad_signature_is_ignored_and_counted(
    network: Network, workers: ProcessorGroup, factory: AlertFactory
) -> None:
    admin = network.workspace.admin_connection()
    state = read_directory_state(admin)
    key = "agreement:RO-AT-POLICE-2022"
    entry = state.records[key]
    forged = dataclasses.replace(
        entry, signature=bytes([entry.signature[0] ^ 1]) + entry.signature[1:]
    )
    before = {
        w.name: metric(w.port, "corridor_directory_entries_rejected_total")
        for w in workers.workers.values()
    }
    version = {
        w.name: metric(w.port, "corridor_directory_version") for w in workers.workers.values()
    }
    try:
        produce_all(admin, DIRECTORY, [(key.encode(), encode_signed_entry(forged))])
        wait_for(
            lambda: all(
                metric(w.port, "corridor_directory_entries_rejected_total") > before[w.name]
                for w in workers.workers.values()
            ),
            what="every worker to count the forged directory entry",
        )
        built = factory.alert("RO-ANITP", origin="RO", destination="AT")
        window = TopicWindow.open(admin, [delivery_topic("AT-BKA")])
        publish(network, workers, [built])
        assert built.value in [m.value for m in window.read()]
        assert {
            w.name: metric(w.port, "corridor_directory_version") for w in workers.workers.values()
        } == version
    finally:
        apply_directory(network.workspace, network.settings, SAMPLE_DIRECTORY, use_local_keys=True)


# -- directory changes: keep these last, they publish a modified directory -----------------


@pytest.fixture(scope="module")
def changed_directory(
    network: Network, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Directory]:
    """The sample directory with TRM-SEE-2024 suspended and 2-second IMMEDIATE deadlines."""
    data = json.loads(SAMPLE_DIRECTORY.read_text())
    for agreement in data["agreements"]:
        agreement["response_deadlines"]["IMMEDIATE"] = "PT2S"
        if agreement["id"] == "TRM-SEE-2024":
            agreement["status"] = "SUSPENDED"
    path = Path(tmp_path_factory.mktemp("directory")) / "directory.json"
    path.write_text(json.dumps(data))
    result = apply_directory(network.workspace, network.settings, path, use_local_keys=True)
    try:
        yield result.directory
    finally:
        apply_directory(network.workspace, network.settings, SAMPLE_DIRECTORY, use_local_keys=True)


def test_suspending_an_agreement_stops_delivery_without_a_restart(
    network: Network, workers: ProcessorGroup, factory: AlertFactory, request: pytest.FixtureRequest
) -> None:
    # Ukraine and Germany are linked by TRM-SEE-2024 only (DE-UA-2020 has expired).
    before = factory.alert("UA-NPU", origin="UA", destination="DE")
    window = TopicWindow.open(
        network.workspace.admin_connection(), [delivery_topic("DE-BKA"), AUDIT]
    )
    publish(network, workers, [before])
    pids = {name: w.process.pid for name, w in workers.workers.items()}

    version = request.getfixturevalue("changed_directory").version
    wait_for(
        lambda: all(
            metric(w.port, "corridor_directory_version") == version
            for w in workers.workers.values()
        ),
        what="every worker to apply the new directory",
    )
    after = factory.alert("UA-NPU", origin="UA", destination="DE")
    publish(network, workers, [after])

    read = window.read()
    to_de = [m.value for m in events(read, "CaseAlert")]
    assert before.value in to_de
    assert after.value not in to_de
    audits = [CODEC.decode(m.value).record for m in read if m.topic == AUDIT]
    [denial] = [
        a for a in audits if str(a["alert_id"]) == after.alert_id and a["recipient"] == "DE-BKA"
    ]
    assert denial["reason"] == "AGREEMENT_NOT_IN_FORCE"
    assert {n: w.process.pid for n, w in workers.workers.items()} == pids  # no restart


def test_unanswered_alerts_raise_escalations_to_the_issuer(
    network: Network,
    workers: ProcessorGroup,
    factory: AlertFactory,
    changed_directory: Directory,
) -> None:
    built = factory.alert("RO-ANITP", origin="RO", destination="AT", priority=Priority.IMMEDIATE)
    window = TopicWindow.open(network.workspace.admin_connection(), [delivery_topic("RO-ANITP")])
    publish(network, workers, [built])
    recipients = {
        agency.id
        for agency, decision in decide_all(built.metadata, changed_directory, datetime.now(UTC))
        if decision.allowed
    }
    assert recipients

    def escalated(read: list[Record]) -> set[str]:
        found = set()
        for msg in events(read, "Escalation"):
            record = CODEC.decode_as("Escalation", msg.value)
            if str(record["alert_id"]) == built.alert_id:
                found.add(str(record["recipient"]))
        return found

    read = window.read_until(lambda r: escalated(r) == recipients)
    assert len(events(read, "Escalation")) >= len(recipients)
    assert (
        workers.total(
            "corridor_escalations_total", priority="IMMEDIATE", agreement="RO-AT-POLICE-2022"
        )
        >= 1
    )
