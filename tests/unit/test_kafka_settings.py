"""``[kafka]`` properties reach every client; ``[kafka.producer]`` and
``[kafka.consumer]`` reach one kind only, so a producer's tuning never makes every
consumer log that it ignores it."""

from __future__ import annotations

import logging
import tomllib
from typing import Any

import pytest
from confluent_kafka import Consumer

from consumers.app import ConsumerOptions, ack_producer_config, consumer_config
from corridor.config import parse_settings
from corridor.exceptions import ConfigError

TUNED = """
[kafka]
"socket.keepalive.enable" = true
"client.rack" = "rack-a"

[kafka.producer]
"linger.ms" = 20
"client.rack" = "rack-p"

[kafka.consumer]
"fetch.wait.max.ms" = 50
"""


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _librdkafka_warnings(config: dict[str, Any]) -> list[str]:
    """What librdkafka logs while a consumer with ``config`` is created."""
    logger = logging.getLogger("tests.kafka_settings")
    lines = _Lines()
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    try:
        consumer = Consumer(
            {
                **config,
                "bootstrap.servers": "127.0.0.1:9",
                "group.id": "tests.kafka-settings",
                "logger": logger,
            }
        )
        consumer.poll(0.1)
        consumer.close()
    finally:
        logger.removeHandler(lines)
    return [line for line in lines.lines if "CONFWARN" in line]


def test_each_kind_of_client_gets_the_common_properties_and_its_own() -> None:
    settings = parse_settings(tomllib.loads(TUNED))
    assert settings.producer_kafka() == {
        "socket.keepalive.enable": "true",
        "client.rack": "rack-p",  # the producer's own value wins
        "linger.ms": "20",
    }
    assert settings.consumer_kafka() == {
        "socket.keepalive.enable": "true",
        "client.rack": "rack-a",
        "fetch.wait.max.ms": "50",
    }


def test_the_consumer_gets_no_producer_property_and_the_acknowledger_no_consumer_one() -> None:
    settings = parse_settings(tomllib.loads(TUNED))
    consumer = consumer_config(settings, ConsumerOptions(agency_id="AT-BKA"))
    assert "linger.ms" not in consumer
    assert consumer["fetch.wait.max.ms"] == "50"
    assert consumer["enable.auto.commit"] is False
    acks = ack_producer_config(settings)
    assert acks["linger.ms"] == "20"
    assert "fetch.wait.max.ms" not in acks


def test_what_the_settings_may_not_weaken_stays_as_set() -> None:
    settings = parse_settings({"kafka": {"producer": {"acks": "1", "enable.idempotence": False}}})
    acks = ack_producer_config(settings)
    assert acks["acks"] == "all"
    assert acks["enable.idempotence"] is True


def test_a_producer_property_in_its_own_table_keeps_consumers_quiet() -> None:
    common = parse_settings({"kafka": {"linger.ms": 20}})
    # The problem this table solves: given to every client, librdkafka complains.
    assert _librdkafka_warnings(common.consumer_kafka())
    own = parse_settings({"kafka": {"producer": {"linger.ms": 20}}})
    assert _librdkafka_warnings(own.consumer_kafka()) == []
    assert own.producer_kafka() == {"linger.ms": "20"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kafka": {"admin": {"x": 1}}}, r"unknown table\(s\) in \[kafka\]: admin"),
        ({"kafka": {"producer": {"deep": {"x": 1}}}}, r"\[kafka.producer\] holds the table"),
        ({"kafka": {"consumer": "fetch.wait.max.ms=5"}}, r"\[kafka.consumer\] must be a table"),
        ({"kafka": "linger.ms=5"}, r"\[kafka\] must be a table"),
    ],
)
def test_malformed_kafka_tables_are_refused_by_name(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings(data)
