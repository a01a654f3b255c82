"""The sample network in memory, with fresh keys, and the processors' logic wired to lists.

Unit tests of the processors run the real routing code (codec, envelope, policy,
tables as dicts) and read what it would have written to Kafka from a list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from corridor.codec import Codec
from corridor.directory import load_directory
from corridor.domain import Agency, Directory, PublicKey
from corridor.keys import AgencyKeys, generate_agency_keys
from corridor.metrics import ProcessorMetrics
from processors.ack_router import AckRouter
from processors.alerts import AlertRouter, Limits
from processors.correlation import Correlator, sightings
from processors.emitter import Emitter, Headers, Source
from processors.sweeper import Sweeper
from tests.processor_factories import AlertFactory, Built

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "directory.json"
KEYS_FROM = datetime.now(UTC) - timedelta(days=30)
INBOUND = "corridor.alerts.inbound"


@dataclass(frozen=True)
class Sent:
    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


@dataclass
class ListSink:
    sent: list[Sent] = field(default_factory=list)

    def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers | None = None
    ) -> None:
        self.sent.append(Sent(topic, key, value, dict(headers or ())))

    def to(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]

    def topics(self) -> set[str]:
        return {s.topic for s in self.sent}

    def clear(self) -> None:
        self.sent.clear()


def _with_keys(agency: Agency, keys: AgencyKeys) -> Agency:
    return dataclasses.replace(
        agency,
        signing_keys=(PublicKey(keys.signing.key_id, keys.signing.public_bytes(), KEYS_FROM),),
        encryption_keys=(
            PublicKey(keys.encryption.key_id, keys.encryption.public_bytes(), KEYS_FROM),
        ),
    )


def sample_network() -> tuple[Directory, dict[str, AgencyKeys]]:
    directory = load_directory(SAMPLE)
    keys = {a: generate_agency_keys(a, now=KEYS_FROM) for a in directory.agencies}
    agencies = {a: _with_keys(agency, keys[a]) for a, agency in directory.agencies.items()}
    return dataclasses.replace(directory, agencies=agencies), keys


_NETWORK = sample_network()


@dataclass
class World:
    """Routers sharing one sink, one codec, one set of tables, one mutable directory."""

    directory: Directory
    keys: dict[str, AgencyKeys]
    sink: ListSink = field(default_factory=ListSink)
    #: Where the audit trail, dead letters and link records go, when not to ``sink``.
    trail: ListSink | None = None
    codec: Codec = field(default_factory=Codec)
    alerts_table: dict[str, Any] = field(default_factory=dict)
    tokens_table: dict[str, Any] = field(default_factory=dict)
    limits: Limits = field(
        default_factory=lambda: Limits(timedelta(days=7), timedelta(minutes=5), timedelta(days=14))
    )
    now: datetime | None = None
    offset: int = 0

    def __post_init__(self) -> None:
        self.metrics = ProcessorMetrics.create(CollectorRegistry())
        self.emitter = Emitter(self.sink, self.codec, "test-processor", trail=self.trail)
        self.factory = AlertFactory(self.directory, self.keys.__getitem__, self.codec)
        self.queued: list[tuple[str, dict[str, Any]]] = []
        common: dict[str, Any] = {
            "directory": lambda: self.directory,
            "emitter": self.emitter,
            "metrics": self.metrics,
            "clock": self.clock,
        }
        self.router = AlertRouter(
            codec=self.codec,
            limits=self.limits,
            state=self.alerts_table,
            on_accepted=lambda m: self.queued.extend(sightings(m)),
            **common,
        )
        self.acks = AckRouter(
            codec=self.codec, limits=self.limits, state=self.alerts_table, **common
        )
        self.correlator = Correlator(table=self.tokens_table, window=timedelta(days=30), **common)
        self.sweeper = Sweeper(
            alerts=self.alerts_table,
            correlator=self.correlator,
            emitter=self.emitter,
            metrics=self.metrics,
            ttl=self.limits.dedup_ttl,
            clock=self.clock,
        )

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    def source(
        self,
        key: bytes | None,
        value: bytes | None,
        *,
        topic: str = INBOUND,
        partition: int = 0,
        offset: int | None = None,
    ) -> Source:
        if offset is None:
            self.offset += 1
            offset = self.offset
        return Source(topic, partition, offset, key, value)

    def route(self, built: Built, **kwargs: Any) -> Any:
        return self.router.handle(self.source(built.key, built.value, **kwargs))

    def correlate(self) -> list[str]:
        """Run the queued sightings through correlation (as the internal topic would)."""
        raised: list[str] = []
        queued, self.queued = self.queued, []
        for token, sighting in queued:
            raised += self.correlator.handle(token, sighting, partition=0)
        return raised

    def decoded(self, topic: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for sent in self.sink.to(topic):
            result = self.codec.decode(sent.value)
            yield result.name, result.record


def world() -> World:
    directory, keys = _NETWORK
    return World(directory, keys)
