"""With each agency's own credentials, everything outside its lane is denied by the broker.

The matrix tries, for a sample of agencies of different kinds and countries: reading
other agencies' delivery topics, the inbound, audit, dead-letter, link and
acknowledgement topics; writing to delivery, audit and dead-letter topics; and joining
another agency's consumer group. Every cell must be DENIED; the matrix is printed.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from corridor.connection import Connection
from corridor.kafka_clients import SILENT_LOGGER
from corridor.topics import ACKS_INBOUND, AUDIT, DLQ, INBOUND, LINKS, delivery_topic
from tests.chaos.tally import Tally
from tests.conftest import Network

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

SAMPLE = ["AT-BKA", "RO-ANITP", "MD-ASSIST", "DE-FKS"]
DENIED_CODES = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
}


def _read(conn: Connection, topic: str, group: str) -> str:
    """Consume through a group (so group ACLs apply too); ALLOWED if anything or nothing
    came back without an authorisation error."""
    cons = Consumer(
        {
            **conn.librdkafka(),
            "logger": SILENT_LOGGER,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        cons.subscribe([topic])
        for _ in range(20):
            msg = cons.poll(0.5)
            if msg is None:
                continue
            err = msg.error()
            if err is None:
                return "ALLOWED"
            if err.code() in DENIED_CODES:
                return "DENIED"
        # Nothing at all: try a direct fetch on partition 0, which needs topic READ.
        cons.unsubscribe()
        cons.assign([TopicPartition(topic, 0, 0)])
        for _ in range(10):
            msg = cons.poll(0.5)
            if msg is None:
                continue
            error = msg.error()
            if error is None:
                return "ALLOWED"
            if error.code() in DENIED_CODES:
                return "DENIED"
        return "NO-ANSWER"
    finally:
        cons.close()


def _write(conn: Connection, topic: str) -> str:
    prod = Producer({**conn.librdkafka(), "logger": SILENT_LOGGER, "message.timeout.ms": 8000})
    result: list[KafkaError | None] = []
    prod.produce(topic, value=b"probe", on_delivery=lambda err, _m: result.append(err))
    prod.flush(12)
    if not result:
        return "NO-ANSWER"
    err = result[0]
    if err is None:
        return "ALLOWED"
    return "DENIED" if err.code() in DENIED_CODES else f"ERROR:{err.name()}"


def _attempts(agency: str) -> list[tuple[str, Callable[[Connection], str]]]:
    others = [a for a in SAMPLE if a != agency][:2]
    own_group = f"{agency}.matrix"
    tries: list[tuple[str, Callable[[Connection], str]]] = []
    for topic in [*(delivery_topic(o) for o in others), INBOUND, AUDIT, DLQ, LINKS, ACKS_INBOUND]:
        tries.append((f"read {topic}", partial(_read, topic=topic, group=own_group)))
    for topic in [delivery_topic(others[0]), delivery_topic(agency), AUDIT, DLQ]:
        tries.append((f"write {topic}", partial(_write, topic=topic)))
    # Its own delivery topic, but through another agency's group.
    tries.append(
        (
            f"join group {others[0]}.consumer",
            lambda c: _read(c, delivery_topic(agency), f"{others[0]}.consumer"),
        )
    )
    return tries


def test_agencies_are_denied_everything_outside_their_lane(
    network: Network, chaos_tally: Tally
) -> None:
    cells: list[tuple[str, str, Callable[[Connection], str], Connection]] = []
    for agency in SAMPLE:
        conn = network.workspace.agency_connection(agency)
        cells += [(agency, what, attempt, conn) for what, attempt in _attempts(agency)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda cell: cell[2](cell[3]), cells))
    print("\naccess matrix (agency credentials):")
    for (agency, what, _, _), outcome in zip(cells, outcomes, strict=True):
        print(f"  {agency:<10} {what:<48} {outcome}")
    unexpected = [
        (a, w, o) for (a, w, _, _), o in zip(cells, outcomes, strict=True) if o != "DENIED"
    ]
    reads = [w for _, w, _, _ in cells if not w.startswith("write")]
    chaos_tally.add("bad inputs tried", "reads, writes, joins outside an agency's lane", len(cells))
    chaos_tally.add(
        "unauthorised reads",
        "reads or joins the broker allowed",
        sum(1 for _, w, _ in unexpected if not w.startswith("write")),
        f"{len(reads)} tried by {len(SAMPLE)} agencies",
    )
    chaos_tally.add(
        "unauthorised reads",
        "writes the broker allowed",
        sum(1 for _, w, _ in unexpected if w.startswith("write")),
        f"{len(cells) - len(reads)} tried",
    )
    assert unexpected == []
    assert len(outcomes) == len(SAMPLE) * 12


def test_an_agency_can_read_its_own_delivery_topic(network: Network) -> None:
    """The control: the same probe is not simply failing for everyone."""
    conn = network.workspace.agency_connection("AT-BKA")
    assert _read(conn, delivery_topic("AT-BKA"), "AT-BKA.matrix-control") in {
        "ALLOWED",
        "NO-ANSWER",
    }
    assert _write(conn, INBOUND) == "ALLOWED"
