"""Privacy-preserving correlation: alerts of two issuers that carry the same linkage token.

Each accepted alert is re-keyed by its linkage tokens onto an internal topic (one
record per partition its tokens hash to), so all sightings of one token meet on one
partition, where the ``tokens`` table keeps the recent alerts that carried it. When a new sighting matches an alert of another
issuer, and an agreement in force links the two issuers' countries, both issuers get a
:class:`LinkNotice` (and ``corridor.links`` gets a copy). The processors only compare
opaque tokens; they never hold the linkage key and learn nothing about the person.

Two alerts sharing several tokens meet on several partitions; only the partition of
the smallest shared token raises the link, and the link id is derived from the two
alert ids, so a replay after a crash repeats the same notice, never a new one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.partitioner import murmur2

from corridor.domain import AgencyStatus, AlertMetadata, Directory
from corridor.metrics import ProcessorMetrics
from corridor.policy import policy_index
from processors.emitter import Emitter

__all__ = [
    "Correlator",
    "link_id",
    "sighting_records",
    "sighting_tokens",
    "sightings",
    "token_partition",
]

#: Namespace of link ids: uuid5 of the two alert ids, so one pair has one link.
LINK_NAMESPACE = uuid.UUID("2f6b1c9e-8d4a-5e3f-a1b7-c0d9e8f7a6b5")
#: Most alerts remembered per token; a token shared by more is not a person any more.
MAX_PER_TOKEN = 64

Sighting = dict[str, Any]


def link_id(first_alert: str, second_alert: str) -> str:
    low, high = sorted((first_alert, second_alert))
    return str(uuid.uuid5(LINK_NAMESPACE, f"{low}|{high}"))


def sightings(metadata: AlertMetadata) -> Iterator[tuple[str, Sighting]]:
    """(token key, sighting) for every distinct linkage token of an accepted alert."""
    tokens = sorted({f"{t.epoch}:{t.value.hex()}" for t in metadata.linkage_tokens})
    corridor = metadata.corridor
    sighting: Sighting = {
        "a": metadata.alert_id,
        "i": metadata.issuer,
        "c": metadata.case_ref,
        "o": corridor.origin,
        "d": corridor.destination,
        "t": list(corridor.transit),
        "at": metadata.created_at.timestamp(),
        "x": tokens,
    }
    for token in tokens:
        yield token, sighting


def token_partition(token: str, partitions: int) -> int:
    """The partition of the internal topics, and of the ``tokens`` table, for a token:
    Kafka's default partitioner (murmur2), so every worker picks the same one."""
    return int(murmur2(token.encode()) & 0x7FFFFFFF) % partitions


def sighting_records(metadata: AlertMetadata, partitions: int) -> list[tuple[int, bytes, bytes]]:
    """(partition, key, value) of the sighting records of an accepted alert.

    One record per partition its tokens fall on, not one per token: the key lists
    those tokens (comma-separated; a token is ``epoch:hex``), the value is the
    sighting, encoded once.
    """
    by_partition: dict[int, list[str]] = {}
    value = b""
    for token, sighting in sightings(metadata):
        value = value or json.dumps(sighting, separators=(",", ":")).encode()
        by_partition.setdefault(token_partition(token, partitions), []).append(token)
    return [(p, ",".join(tokens).encode(), value) for p, tokens in by_partition.items()]


def sighting_tokens(key: bytes) -> list[str]:
    """The tokens a sighting record's key lists (one, in records of older workers)."""
    return key.decode().split(",")


def _linked(directory: Directory, first: str, second: str, now: datetime) -> bool:
    """Whether both issuers are active and an agreement in force links their countries."""
    a, b = directory.agencies.get(first), directory.agencies.get(second)
    if a is None or b is None:
        return False
    if a.status is not AgencyStatus.ACTIVE or b.status is not AgencyStatus.ACTIVE:
        return False
    agreements = policy_index(directory).agreements_between(a.country, b.country)
    return any(agreement.in_force_at(now) for agreement in agreements)


def _side(sighting: Sighting) -> dict[str, str]:
    return {"alert_id": sighting["a"], "issuer": sighting["i"], "case_ref": sighting["c"]}


class Correlator:
    """Matches sightings of one token against the ones remembered for it."""

    def __init__(
        self,
        *,
        directory: Callable[[], Directory],
        emitter: Emitter,
        metrics: ProcessorMetrics,
        table: MutableMapping[str, Any],
        window: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._directory = directory
        self._emitter = emitter
        self._metrics = metrics
        self._table = table
        self._window = window.total_seconds()
        self._clock = clock

    def handle(self, token: str, sighting: Sighting, partition: int) -> list[str]:
        """Record ``sighting`` under ``token`` (read from ``partition``); returns link ids."""
        now = self._clock()
        horizon = now.timestamp() - self._window
        known: list[Sighting] = [
            s
            for s in _sightings(self._table.get(token))
            if s["at"] >= horizon and s["a"] != sighting["a"]
        ]
        raised = [
            self._link(token, other, sighting, now)
            for other in known
            if self._should_link(token, other, sighting, now)
        ]
        if sighting["at"] >= horizon:
            known.append(sighting)
        known.sort(key=lambda s: s["at"])
        if known:
            self._table[token] = {"p": partition, "s": known[-MAX_PER_TOKEN:]}
        elif token in self._table:
            del self._table[token]
        return raised

    def _should_link(self, token: str, other: Sighting, new: Sighting, now: datetime) -> bool:
        if other["i"] == new["i"]:
            return False  # an issuer links its own cases itself
        if token != min(set(other["x"]) & set(new["x"])):
            return False  # another partition raises this link
        return _linked(self._directory(), other["i"], new["i"], now)

    def _link(self, token: str, other: Sighting, new: Sighting, now: datetime) -> str:
        first, second = sorted((other, new), key=lambda s: (s["at"], s["a"]))
        identifier = link_id(first["a"], second["a"])
        corridor = {"origin": second["o"], "destination": second["d"], "transit": second["t"]}
        record = {
            "link_id": identifier,
            "epoch": int(token.split(":", 1)[0]),
            "first": _side(first),
            "second": _side(second),
            "corridor": corridor,
            "created_at": now,
        }
        key = f"{second['o']}>{second['d']}".encode()
        self._emitter.link_notice(record, key, (first["i"], second["i"]))
        self._metrics.links.labels(key.decode()).inc()
        return identifier

    def stale(self, partitions: set[int]) -> dict[int, list[str]]:
        """Tokens of ``partitions`` whose every sighting is older than the window."""
        horizon = self._clock().timestamp() - self._window
        found: dict[int, list[str]] = {}
        for token, value in self._table.items():
            if value["p"] in partitions and all(s["at"] < horizon for s in value["s"]):
                found.setdefault(value["p"], []).append(token)
        return found

    def forget(self, tokens: list[str]) -> int:
        """Drop ``tokens`` whose sightings are all older than the window; returns how many."""
        horizon = self._clock().timestamp() - self._window
        forgotten = 0
        for token in tokens:
            value = self._table.get(token)
            if value is not None and all(s["at"] < horizon for s in value["s"]):
                del self._table[token]
                forgotten += 1
        return forgotten


def _sightings(value: Any) -> list[Sighting]:
    """The sightings of a ``tokens`` table value: ``{"p": partition, "s": [...]}``."""
    return list(value["s"]) if value else []
