"""A worker's three producers (decision 25): what agencies wait for goes on its own,
the trail nobody waits for is gathered longer, and every one of them is committed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import processors.kafka_sink as kafka_sink
from corridor.connection import Connection
from corridor.topics import AUDIT, DLQ, LINKS, delivery_topic
from processors.errors import ProcessorError
from processors.kafka_sink import MAX_TRAIL_LINGER_MS, open_outputs
from tests.processor_factories import token
from tests.unit.processor_world import ListSink, World, sample_network

CONN = Connection("127.0.0.1:1", Path("/nonexistent/ca.pem"), "processor", "secret")


@pytest.fixture
def w() -> World:
    directory, keys = sample_network()
    return World(directory, keys, trail=ListSink())


def test_deliveries_go_to_the_prompt_producer_and_the_audit_trail_to_the_other(
    w: World,
) -> None:
    assert w.trail is not None
    built = w.factory.alert("RO-ANITP", origin="RO", destination="AT")
    w.route(built)
    delivered = {s.topic for s in w.sink.sent}
    assert delivered == {delivery_topic(a) for a in w.factory.allowed(built.metadata)}
    assert all(s.value == built.value for s in w.sink.sent)
    assert w.trail.topics() == {AUDIT}
    # One audit record per candidate recipient, allowed or not.
    assert len(w.trail.sent) >= len(w.sink.sent)


def test_dead_letters_go_with_the_trail(w: World) -> None:
    assert w.trail is not None
    w.router.handle(w.source(b"RO>AT", b"not an alert"))
    assert w.sink.sent == []
    assert w.trail.topics() == {DLQ}


def test_a_link_goes_to_its_issuers_promptly_and_to_the_links_topic_with_the_trail(
    w: World,
) -> None:
    assert w.trail is not None
    shared = (token(1), token(2))
    w.route(w.factory.alert("RO-ANITP", origin="RO", destination="AT", tokens=shared))
    w.route(w.factory.alert("AT-BKA", origin="RO", destination="AT", tokens=shared))
    w.sink.clear()
    w.trail.clear()
    assert len(w.correlate()) == 1
    assert w.sink.topics() == {delivery_topic("RO-ANITP"), delivery_topic("AT-BKA")}
    assert w.trail.topics() == {LINKS}


class _Producer:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[_Producer]:
    producers: list[_Producer] = []

    def producer(conn: Connection, **settings: Any) -> _Producer:
        producers.append(_Producer(settings))
        return producers[-1]

    monkeypatch.setattr(kafka_sink, "producer", producer)
    return producers


def test_only_the_trail_gathers_longer(made: list[_Producer]) -> None:
    outputs = open_outputs(CONN, {"linger.ms": "5", "compression.type": "lz4"}, trail_linger_ms=80)
    assert len(made) == 3
    deliveries, trail, internal = (p.settings for p in made)
    assert deliveries["linger.ms"] == internal["linger.ms"] == "5"
    assert trail["linger.ms"] == 80
    # The rest of [kafka.producer], and what at-least-once rests on, apply to all three.
    for settings in (deliveries, trail, internal):
        assert settings["compression.type"] == "lz4"
        assert settings["enable.idempotence"] is True
        assert settings["acks"] == "all"
    # A commit waits for all three.
    assert outputs.all == (outputs.deliveries, outputs.trail, outputs.internal)
    assert len({id(sink) for sink in outputs.all}) == 3


@pytest.mark.parametrize("linger", [-1, MAX_TRAIL_LINGER_MS + 1])
def test_a_trail_linger_out_of_range_is_refused_before_any_producer(
    made: list[_Producer], linger: int
) -> None:
    with pytest.raises(ProcessorError, match=r"processor\.trail_linger_ms"):
        open_outputs(CONN, {}, trail_linger_ms=linger)
    assert made == []
