"""The processors' alert path without a broker: routing, audit, refusals, duplicates."""

from __future__ import annotations

import dataclasses
import hashlib
import random
from datetime import timedelta

import pytest

from corridor.domain import AgencyStatus, AgreementStatus, ConsentScope, DataCategory
from corridor.topics import AUDIT, DLQ, delivery_topic
from processors.dead_letters import DeadLetterReason
from processors.emitter import MAX_DEAD_LETTER_KEY, MAX_DEAD_LETTER_ORIGINAL
from tests.unit.processor_world import World, world


@pytest.fixture
def w() -> World:
    return world()


def delivered_to(w: World) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for sent in w.sink.sent:
        if sent.topic.startswith("corridor.deliver."):
            found.setdefault(sent.topic.removeprefix("corridor.deliver."), []).append(sent.value)
    return found


def dead_reasons(w: World) -> list[str]:
    return [record["reason"] for _, record in w.decoded(DLQ)]


def test_an_alert_goes_unchanged_to_exactly_the_recipients_the_policy_allows(w: World) -> None:
    built = w.factory.alert("RO-ANITP", origin="RO", destination="AT")
    expected = w.factory.allowed(built.metadata)
    assert {"AT-BKA", "RO-IGPR"} <= expected  # the sample network's agreements allow them
    assert "AT-BFA" not in expected  # migration authorities get no exploitation details

    result = w.route(built)

    assert result.rejected is None
    assert set(result.recipients) == expected
    deliveries = delivered_to(w)
    assert set(deliveries) == expected
    assert all(values == [built.value] for values in deliveries.values())
    first = w.sink.to(delivery_topic("AT-BKA"))[0]
    assert first.key == b"RO>AT"
    assert first.headers["corridor-event"] == b"CaseAlert"
    audit = next(r for _, r in w.decoded(AUDIT) if r["recipient"] == "AT-BKA")
    assert first.headers["corridor-agreement"] == audit["agreement_id"].encode()
    assert first.headers["corridor-policy-version"]


def test_every_candidate_gets_an_audit_record_allow_or_deny(w: World) -> None:
    built = w.factory.alert("RO-ANITP", origin="RO", destination="AT")
    w.route(built)
    audits = [record for _, record in w.decoded(AUDIT)]
    by_recipient = {a["recipient"]: a for a in audits}
    expected = w.factory.allowed(built.metadata)
    assert {r for r, a in by_recipient.items() if a["outcome"] == "ALLOW"} == expected
    denied = {r for r, a in by_recipient.items() if a["outcome"] == "DENY"}
    assert "AT-BFA" in denied
    assert by_recipient["AT-BFA"]["reason"] == "CATEGORY_OUT_OF_SCOPE"
    assert "RO-ANITP" not in by_recipient  # the issuer is never a candidate
    assert all(str(a["alert_id"]) == built.alert_id for a in audits)
    assert all(a["priority"] == built.metadata.priority.value for a in audits)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda w: w.factory.forged().value, DeadLetterReason.BAD_SIGNATURE),
        (lambda w: w.factory.changed_byte(w.factory.alert()), DeadLetterReason.BAD_SIGNATURE),
        (lambda w: w.factory.unknown_issuer().value, DeadLetterReason.UNKNOWN_ISSUER),
        (lambda w: w.factory.expired(timedelta(days=8)).value, DeadLetterReason.EXPIRED),
        (lambda w: w.factory.future(timedelta(hours=1)).value, DeadLetterReason.CREATED_IN_FUTURE),
        (lambda w: b"\xc3\x01garbage", DeadLetterReason.UNDECODABLE),
        (lambda w: b"not even framed", DeadLetterReason.UNDECODABLE),
        (lambda w: b"", DeadLetterReason.UNDECODABLE),
    ],
)
def test_hostile_input_is_dead_lettered_with_its_reason_and_never_delivered(
    w: World, make: object, reason: DeadLetterReason
) -> None:
    value = make(w)  # type: ignore[operator]
    key = b"LU>AT" if reason is DeadLetterReason.UNKNOWN_ISSUER else b"RO>AT"
    result = w.router.handle(w.source(key, value, partition=2, offset=41))
    assert result.rejected is reason
    assert delivered_to(w) == {}
    assert w.sink.to(AUDIT) == []
    [(name, letter)] = list(w.decoded(DLQ))
    assert name == "DeadLetter"
    assert letter["reason"] == reason.value
    assert letter["original_value"] == value
    assert letter["original_key"] == key
    assert (letter["source_partition"], letter["source_offset"]) == (2, 41)
    assert letter["detail"]
    assert letter["component"].startswith("processor:")


def test_a_record_too_big_to_dead_letter_whole_keeps_its_first_bytes_and_digest(
    w: World,
) -> None:
    value = random.Random(7).randbytes(MAX_DEAD_LETTER_ORIGINAL + 140_000)
    key = b"RO>AT" * 100
    result = w.router.handle(w.source(key, value, partition=1, offset=9))
    assert result.rejected is DeadLetterReason.UNDECODABLE
    [(_, letter)] = list(w.decoded(DLQ))
    assert letter["original_value"] == value[:MAX_DEAD_LETTER_ORIGINAL]
    assert letter["original_key"] == key[:MAX_DEAD_LETTER_KEY]
    assert f"of {len(value)} bytes" in letter["detail"]
    assert hashlib.sha256(value).hexdigest() in letter["detail"]
    assert f"of {len(key)} bytes" in letter["detail"]
    [dlq] = w.sink.to(DLQ)
    assert len(dlq.value) < 1_000_000  # librdkafka's default message.max.bytes
    assert dlq.key == key[:MAX_DEAD_LETTER_KEY]


def test_an_alert_under_another_event_name_is_an_unexpected_event(w: World) -> None:
    key, value, _ = w.factory.ack(w.factory.alert(), "AT-BKA")
    assert w.router.handle(w.source(key, value)).rejected is DeadLetterReason.UNEXPECTED_EVENT


def test_a_key_that_is_not_the_corridor_is_refused(w: World) -> None:
    built = w.factory.alert(origin="RO", destination="AT")
    result = w.router.handle(w.source(b"RO>DE", built.value))
    assert result.rejected is DeadLetterReason.KEY_MISMATCH


def test_a_replayed_alert_id_is_refused_but_a_reread_record_is_routed_again(w: World) -> None:
    built = w.factory.alert()
    assert w.route(built, partition=1, offset=10).rejected is None
    w.sink.clear()
    # The same record read again after a crash: processed again, not a duplicate.
    again = w.route(built, partition=1, offset=10)
    assert again.rejected is None
    assert set(delivered_to(w)) == set(again.recipients)
    w.sink.clear()
    # The same alert as a new record: a replay.
    assert w.route(built, partition=1, offset=11).rejected is DeadLetterReason.DUPLICATE
    # Re-sealed by its issuer (new signature, same id): still the same alert.
    resent = w.factory.build(built.metadata)
    assert w.route(resent, partition=1, offset=12).rejected is DeadLetterReason.DUPLICATE
    assert delivered_to(w) == {}
    assert dead_reasons(w) == ["DUPLICATE", "DUPLICATE"]


def test_another_issuer_reusing_an_alert_id_is_refused(w: World) -> None:
    first = w.factory.alert("RO-ANITP")
    w.route(first)
    other = w.factory.build(w.factory.metadata("RO-IGPR", alert_id=first.alert_id))
    assert w.route(other).rejected is DeadLetterReason.ALERT_ID_REUSED


def test_an_alert_id_is_forgotten_after_the_time_to_live(w: World) -> None:
    short = World(
        w.directory, w.keys, limits=dataclasses.replace(w.limits, dedup_ttl=timedelta(hours=1))
    )
    built = short.factory.alert()
    assert short.route(built).rejected is None
    assert short.route(built).rejected is DeadLetterReason.DUPLICATE
    short.now = built.metadata.created_at + timedelta(hours=2)
    assert short.route(built).rejected is None


def test_a_suspended_issuer_is_refused_after_a_valid_signature(w: World) -> None:
    built = w.factory.alert("RO-ANITP")
    issuer = w.directory.agencies["RO-ANITP"]
    w.directory = dataclasses.replace(
        w.directory,
        agencies={
            **w.directory.agencies,
            "RO-ANITP": dataclasses.replace(issuer, status=AgencyStatus.SUSPENDED),
        },
    )
    assert w.route(built).rejected is DeadLetterReason.ISSUER_NOT_ACTIVE


def test_a_suspended_agreement_stops_delivery_from_the_next_alert_on(w: World) -> None:
    # Ukraine and Germany are linked only by TRM-SEE-2024 (DE-UA-2020 has expired).
    before = w.factory.alert("UA-NPU", origin="UA", destination="DE")
    assert any(r.startswith("DE-") for r in w.route(before).recipients)
    trm = w.directory.agreements["TRM-SEE-2024"]
    w.directory = dataclasses.replace(
        w.directory,
        agreements={
            **w.directory.agreements,
            "TRM-SEE-2024": dataclasses.replace(trm, status=AgreementStatus.SUSPENDED),
        },
    )
    w.sink.clear()
    after = w.factory.alert("UA-NPU", origin="UA", destination="DE")
    result = w.route(after)
    assert not any(r.startswith("DE-") for r in result.recipients)
    reasons = {a["recipient"]: a["reason"] for _, a in w.decoded(AUDIT)}
    assert reasons["DE-BKA"] == "AGREEMENT_NOT_IN_FORCE"


def test_routing_counts_metrics_per_corridor(w: World) -> None:
    built = w.factory.alert("RO-ANITP", origin="RO", destination="AT")
    w.route(built)
    w.route(built)  # duplicate
    consumed = w.metrics.consumed.labels("RO>AT")._value.get()
    assert consumed == 2
    assert w.metrics.duplicates.labels("RO>AT")._value.get() == 1
    assert w.metrics.routed.labels("RO>AT", "AT-BKA")._value.get() == 1
    assert w.metrics.dead_letters.labels("processor", "DUPLICATE")._value.get() == 1


def test_only_the_categories_in_scope_reach_a_labour_inspectorate(w: World) -> None:
    labour = w.factory.alert(
        "RO-ANITP",
        origin="RO",
        destination="DE",
        categories=(DataCategory.LOCATION, DataCategory.EXPLOITATION_DETAILS),
        consent=ConsentScope.FULL,
    )
    result = w.route(labour)
    assert "DE-FKS" in result.recipients
