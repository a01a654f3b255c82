"""Correlation, acknowledgements and deadlines in the processors, without a broker."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from corridor.domain import AckStatus, AgreementStatus, Priority
from corridor.topics import DLQ, LINKS, delivery_topic
from processors.correlation import link_id
from processors.dead_letters import DeadLetterReason
from processors.sweeper import ESCALATE, EXPIRE
from tests.processor_factories import token
from tests.unit.processor_world import World, world


@pytest.fixture
def w() -> World:
    return world()


def events_to(w: World, agency: str, name: str) -> list[dict[str, object]]:
    return [r for n, r in w.decoded(delivery_topic(agency)) if n == name]


# -- correlation ---------------------------------------------------------------------------


def test_two_issuers_reporting_the_same_person_each_get_one_link_notice(w: World) -> None:
    shared = (token(1), token(2), token(3))
    first = w.factory.alert("RO-ANITP", origin="RO", destination="AT", tokens=shared)
    second = w.factory.alert("AT-BKA", origin="RO", destination="AT", tokens=(token(2), token(3)))
    w.route(first)
    assert w.correlate() == []
    w.route(second)
    raised = w.correlate()
    # Two shared tokens, one link: only the smallest shared token raises it.
    assert raised == [link_id(first.alert_id, second.alert_id)]
    for issuer in ("RO-ANITP", "AT-BKA"):
        [notice] = events_to(w, issuer, "LinkNotice")
        assert str(notice["link_id"]) == raised[0]
        assert str(notice["first"]["alert_id"]) == first.alert_id  # type: ignore[index]
        assert str(notice["second"]["alert_id"]) == second.alert_id  # type: ignore[index]
        assert notice["second"]["case_ref"] == second.metadata.case_ref  # type: ignore[index]
    [copy] = [r for _, r in w.decoded(LINKS)]
    assert str(copy["link_id"]) == raised[0]


def test_a_replayed_sighting_repeats_the_same_link_never_a_new_one(w: World) -> None:
    first = w.factory.alert("RO-ANITP", tokens=(token(7),))
    second = w.factory.alert("AT-BKA", tokens=(token(7),))
    w.route(first)
    w.route(second)
    queued = list(w.queued)
    assert len(w.correlate()) == 1
    w.queued = queued[1:]  # the second alert's sighting, read again after a crash
    assert w.correlate() == [link_id(first.alert_id, second.alert_id)]


def test_sightings_stored_by_older_workers_still_link(w: World) -> None:
    # Older workers stored every token of the alert (``x``), not their refs (``r``).
    first = w.factory.alert("RO-ANITP", tokens=(token(4), token(5)))
    second = w.factory.alert("AT-BKA", tokens=(token(4), token(5)))
    w.route(first)
    for key, sighting in w.queued:
        legacy = {k: v for k, v in sighting.items() if k != "r"}
        legacy["x"] = sorted(key for key, _ in w.queued)
        w.tokens_table[key] = {"p": 0, "s": [legacy]}
    w.queued = []
    w.route(second)
    # Two shared tokens, one link: the refs of the old entries are compared, too.
    assert w.correlate() == [link_id(first.alert_id, second.alert_id)]


def test_no_link_within_one_issuer_or_without_an_agreement_in_force(w: World) -> None:
    own = (token(11),)
    w.route(w.factory.alert("RO-ANITP", tokens=own))
    w.route(w.factory.alert("RO-ANITP", tokens=own))
    assert w.correlate() == []
    # Italy and Romania: IT-RO-2019 is suspended; the regional TRM does link them.
    trm = w.directory.agreements["TRM-SEE-2024"]
    w.directory = dataclasses.replace(
        w.directory,
        agreements={
            **w.directory.agreements,
            "TRM-SEE-2024": dataclasses.replace(trm, status=AgreementStatus.SUSPENDED),
        },
    )
    tokens = (token(12),)
    w.route(w.factory.alert("RO-ANITP", origin="RO", destination="IT", tokens=tokens))
    w.route(w.factory.alert("IT-SCO", origin="RO", destination="IT", tokens=tokens))
    assert w.correlate() == []


def test_old_sightings_are_forgotten_by_the_sweep(w: World) -> None:
    built = w.factory.alert("RO-ANITP", tokens=(token(21),))
    w.route(built)
    w.correlate()
    assert w.tokens_table
    w.now = built.metadata.created_at + timedelta(days=31)
    plan = w.sweeper.plan({0}, {0})
    assert plan[0]["tokens"] == list(w.tokens_table)
    w.sweeper.apply(plan[0])
    assert w.tokens_table == {}


# -- acknowledgements ----------------------------------------------------------------------


def test_an_acknowledgement_from_a_recipient_goes_back_to_the_issuer(w: World) -> None:
    built = w.factory.alert("RO-ANITP", origin="RO", destination="AT")
    w.route(built)
    key, value, _ = w.factory.ack(built, "AT-BKA", AckStatus.ACCEPTED)
    assert w.acks.handle(w.source(key, value, topic="corridor.acks.inbound")) is None
    routed = w.sink.to(delivery_topic("RO-ANITP"))
    assert [s.value for s in routed] == [value]
    assert routed[0].headers["corridor-event"] == b"Acknowledgement"
    assert w.metrics.acks_routed.labels("ACCEPTED")._value.get() == 1


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("not-a-recipient", DeadLetterReason.NOT_A_RECIPIENT),
        ("unknown-alert", DeadLetterReason.UNKNOWN_ALERT),
        ("forged", DeadLetterReason.BAD_SIGNATURE),
        ("garbage", DeadLetterReason.UNDECODABLE),
        ("wrong-key", DeadLetterReason.KEY_MISMATCH),
    ],
)
def test_acknowledgements_that_cannot_be_trusted_are_dead_lettered(
    w: World, case: str, reason: DeadLetterReason
) -> None:
    built = w.factory.alert("RO-ANITP", origin="RO", destination="AT")
    if case != "unknown-alert":
        w.route(built)
    w.sink.clear()
    sender = "AT-BFA" if case == "not-a-recipient" else "AT-BKA"
    key, value, _ = w.factory.ack(built, sender)
    if case == "forged":
        value = value[:-5] + bytes([value[-5] ^ 1]) + value[-4:]
    elif case == "garbage":
        value = b"\xc3\x01" + bytes(20)
    elif case == "wrong-key":
        key = b"RO>DE"
    assert w.acks.handle(w.source(key, value, topic="corridor.acks.inbound")) is reason
    assert [s.topic for s in w.sink.sent] == [DLQ]


# -- deadlines -------------------------------------------------------------------------------


def test_a_missed_deadline_raises_one_escalation_per_silent_recipient(w: World) -> None:
    built = w.factory.alert("RO-ANITP", origin="RO", destination="AT", priority=Priority.IMMEDIATE)
    recipients = set(w.route(built).recipients)
    key, value, _ = w.factory.ack(built, "AT-BKA")
    w.acks.handle(w.source(key, value, topic="corridor.acks.inbound"))
    w.sink.clear()

    assert w.sweeper.plan({0}, {0}) == {}  # nothing due yet
    w.now = built.metadata.created_at + timedelta(hours=4, minutes=1)  # IMMEDIATE: PT4H
    plan = w.sweeper.plan({0}, {0})
    assert plan[0][ESCALATE] == [built.alert_id]
    assert w.sweeper.plan({0}, {1}) == w.sweeper.plan({0}, set())  # tokens on no partition
    assert w.sweeper.plan({1}, {1}) == {}  # another worker's partition
    w.sweeper.apply(plan[0])
    w.sweeper.apply(plan[0])  # a command sent twice finds nothing left to do

    escalations = events_to(w, "RO-ANITP", "Escalation")
    assert {e["recipient"] for e in escalations} == recipients - {"AT-BKA"}
    assert all(str(e["alert_id"]) == built.alert_id for e in escalations)
    assert all(e["priority"] == "IMMEDIATE" for e in escalations)
    assert w.sweeper.plan({0}, {0}) == {}


def test_a_record_processed_again_after_a_crash_keeps_the_answers_received(w: World) -> None:
    built = w.factory.alert("RO-ANITP", origin="RO", destination="AT", priority=Priority.IMMEDIATE)
    w.route(built, partition=3, offset=7)
    key, value, _ = w.factory.ack(built, "AT-BKA")
    w.acks.handle(w.source(key, value, topic="corridor.acks.inbound", partition=3))
    w.route(built, partition=3, offset=7)  # the alert's offset was not committed
    w.now = built.metadata.created_at + timedelta(hours=5)
    w.sink.clear()
    w.sweeper.apply(w.sweeper.plan({3}, set())[3])
    escalated = {e["recipient"] for e in events_to(w, "RO-ANITP", "Escalation")}
    assert escalated
    assert "AT-BKA" not in escalated


def test_state_past_its_time_to_live_is_removed(w: World) -> None:
    built = w.factory.alert("RO-ANITP", priority=Priority.ROUTINE)
    w.route(built)
    key, value, _ = w.factory.ack(built, "AT-BKA")
    w.now = built.metadata.created_at + timedelta(days=15)
    plan = w.sweeper.plan({0}, set())
    assert plan[0][EXPIRE] == [built.alert_id]
    w.sweeper.apply(plan[0])
    assert w.alerts_table == {}
    # An acknowledgement after that finds no alert to answer.
    w.now = None
    assert w.acks.handle(w.source(key, value)) is DeadLetterReason.UNKNOWN_ALERT
