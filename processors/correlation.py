"""Privacy-preserving correlation: alerts of two issuers that carry the same linkage token.

Each accepted alert's sightings go to an internal topic, to the partition each of its
linkage tokens hashes to (in batch records, see :class:`SightingBatches`), so all
sightings of one token meet on one partition, where the ``tokens`` table keeps the recent alerts that carried it. When a new sighting matches an alert of another
issuer, and an agreement in force links the two issuers' countries, both issuers get a
:class:`LinkNotice` (and ``corridor.links`` gets a copy). The processors only compare
opaque tokens; they never hold the linkage key and learn nothing about the person.

Two alerts sharing several tokens meet on several partitions; only the partition of
the smallest shared token raises the link, and the link id is derived from the two
alert ids, so a replay after a crash repeats the same notice, never a new one.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from corridor.domain import AgencyStatus, AlertMetadata, Directory
from corridor.metrics import ProcessorMetrics
from corridor.policy import policy_index
from processors.emitter import Emitter

__all__ = [
    "Correlator",
    "SightingBatches",
    "TokenValues",
    "link_id",
    "restored_token_value",
    "sighting_entries",
    "sighting_of",
    "sighting_tokens",
    "sightings",
    "token_partition",
    "token_ref",
]

#: Namespace of link ids: uuid5 of the two alert ids, so one pair has one link.
LINK_NAMESPACE = uuid.UUID("2f6b1c9e-8d4a-5e3f-a1b7-c0d9e8f7a6b5")
#: Most alerts remembered per token; a token shared by more is not a person any more.
MAX_PER_TOKEN = 64
#: Most sightings in one record of the internal topic (a few hundred bytes each).
MAX_BATCH = 500
BATCH_KEY = b"sightings"

Sighting = dict[str, Any]


def link_id(first_alert: str, second_alert: str) -> str:
    low, high = sorted((first_alert, second_alert))
    return str(uuid.uuid5(LINK_NAMESPACE, f"{low}|{high}"))


def token_ref(token: str) -> str:
    """A short, fixed stand-in for a token inside a stored sighting (which lists every
    token of its alert): equal tokens have equal refs, and refs order the tokens the
    same way on every worker, which is all the correlation compares."""
    return hashlib.blake2b(token.encode(), digest_size=8).hexdigest()


def sighting_of(metadata: AlertMetadata) -> tuple[list[str], Sighting]:
    """The distinct linkage tokens of an accepted alert, and its sighting."""
    tokens = sorted({f"{t.epoch}:{t.value.hex()}" for t in metadata.linkage_tokens})
    corridor = metadata.corridor
    sighting: Sighting = {
        "a": metadata.alert_id,
        "i": metadata.issuer,
        "c": metadata.case_ref,
        "o": corridor.origin,
        "d": corridor.destination,
        "t": tuple(corridor.transit),
        "at": metadata.created_at.timestamp(),
        "r": tuple(sorted(token_ref(token) for token in tokens)),
    }
    return tokens, sighting


def sightings(metadata: AlertMetadata) -> Iterator[tuple[str, Sighting]]:
    """(token key, sighting) for every distinct linkage token of an accepted alert."""
    tokens, sighting = sighting_of(metadata)
    for token in tokens:
        yield token, sighting


def _refs(sighting: Sighting) -> set[str]:
    """The token refs of a sighting (sightings stored by older workers list the tokens
    themselves, under ``x``)."""
    if "r" in sighting:
        return set(sighting["r"])
    return {token_ref(token) for token in sighting.get("x", ())}


def murmur2(data: bytes) -> int:
    """Kafka's default partitioner hash (the Java client's ``Utils.murmur2``), a word at
    a time."""
    m = 0x5BD1E995
    length = len(data)
    h = 0x9747B28C ^ length
    for word in struct.unpack_from(f"<{length // 4}I", data):
        k = (word * m) & 0xFFFFFFFF
        k ^= k >> 24
        h = ((h * m) & 0xFFFFFFFF) ^ ((k * m) & 0xFFFFFFFF)
    tail, base = length & 3, length & ~3
    if tail >= 3:
        h ^= data[base + 2] << 16
    if tail >= 2:
        h ^= data[base + 1] << 8
    if tail >= 1:
        h = ((h ^ data[base]) * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    return h ^ (h >> 15)


def token_partition(token: str, partitions: int) -> int:
    """The partition of the internal topics, and of the ``tokens`` table, for a token:
    Kafka's default partitioner (murmur2), so every worker picks the same one."""
    return (murmur2(token.encode()) & 0x7FFFFFFF) % partitions


class SightingBatches:
    """Sightings waiting for the internal topic, sent as one record per partition.

    A record per alert and partition made the correlate agent take an event for each,
    and faust's cost per event is the largest in a worker; a batch record carries up to
    :data:`MAX_BATCH` sightings for one partition. Batches are sent when one is full,
    on the worker's timer (so a link waits at most that long), and before every
    commit: an alert's offset is committed only once its sightings are written, and an
    alert read again after a crash sends them again.
    """

    def __init__(self, send: Callable[[int, bytes, bytes], None], partitions: int) -> None:
        self._send = send
        self._partitions = partitions
        self._pending: dict[int, list[tuple[list[str], Sighting]]] = {}

    def add(self, metadata: AlertMetadata) -> None:
        """Queue the sightings of an accepted alert, one entry per partition."""
        by_partition: dict[int, list[str]] = {}
        tokens, sighting = sighting_of(metadata)
        for token in tokens:
            by_partition.setdefault(token_partition(token, self._partitions), []).append(token)
        for partition, shared in by_partition.items():
            pending = self._pending.setdefault(partition, [])
            pending.append((shared, sighting))
            if len(pending) >= MAX_BATCH:
                self._flush(partition)

    def flush(self) -> None:
        """Send every waiting batch."""
        for partition in list(self._pending):
            self._flush(partition)

    def _flush(self, partition: int) -> None:
        entries = self._pending.pop(partition, None)
        if entries:
            value = orjson.dumps({"batch": entries})
            self._send(partition, BATCH_KEY, value)


def sighting_entries(key: bytes | None, value: Any) -> list[tuple[list[str], Sighting]]:
    """(tokens, sighting) pairs of a record of the internal topic: a batch, or one
    sighting keyed by its tokens (records of older workers)."""
    if isinstance(value, dict) and "batch" in value:
        return [(list(tokens), _untracked(sighting)) for tokens, sighting in value["batch"]]
    return [(sighting_tokens(key or b""), _untracked(value))]


def _untracked(sighting: Any) -> Any:
    """``sighting`` with its lists as tuples (the same JSON).

    The ``tokens`` table keeps every sighting for the whole link window, hundreds of
    thousands of them in a busy network. A dict of strings, numbers and tuples of
    those is dropped from the garbage collector's tracking at its next full
    collection, whose pause otherwise grows with every sighting kept.
    """
    if not isinstance(sighting, dict):
        return sighting  # refused by the correlation, which names the problem
    return {k: tuple(v) if type(v) is list else v for k, v in sighting.items()}


def restored_token_value(value: Any) -> Any:
    """A ``tokens`` value read back from the changelog, its sightings in the form the
    correlation stores them (:func:`_untracked`); the same JSON. Anything else is left
    as it is, for the correlation to refuse."""
    if not isinstance(value, dict) or not isinstance(value.get("s"), list):
        return value
    return {**value, "s": [_untracked(sighting) for sighting in value["s"]]}


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
        self._correlated = metrics.sightings

    def handle(self, token: str, sighting: Sighting, partition: int) -> list[str]:
        """Record ``sighting`` under ``token`` (read from ``partition``); returns link ids."""
        now = self._clock()
        horizon = now.timestamp() - self._window
        ref = token_ref(token)
        known = _current(self._table.get(token), horizon, sighting)
        raised = [
            self._link(token, other, sighting, now)
            for other in known
            if self._should_link(ref, other, sighting, now)
        ]
        if sighting["at"] >= horizon:
            bisect.insort(known, sighting, key=_moment)  # kept oldest first
        if known:
            self._table[token] = {"p": partition, "s": known[-MAX_PER_TOKEN:]}
        elif token in self._table:
            del self._table[token]
        self._correlated.inc()
        return raised

    def _should_link(self, ref: str, other: Sighting, new: Sighting, now: datetime) -> bool:
        if other["i"] == new["i"]:
            return False  # an issuer links its own cases itself
        if ref != min(_refs(other) & _refs(new), default=ref):
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


def _moment(sighting: Sighting) -> float:
    return float(sighting["at"])


def _current(value: Any, horizon: float, new: Sighting) -> list[Sighting]:
    """The stored sightings of a ``tokens`` value still inside the window, without
    ``new``'s alert (a replay after a crash stores it again).

    Stored sightings are kept oldest first (every writer so far has kept them so), so
    the window's start is found by bisection, and an earlier sighting of the same alert
    can only sit among those of the same moment (an alert's ``created_at`` is signed).
    """
    if not value:
        return []
    stored: list[Sighting] = value["s"]
    known = stored[bisect.bisect_left(stored, horizon, key=_moment) :]
    moment, alert_id = float(new["at"]), new["a"]
    at = bisect.bisect_left(known, moment, key=_moment)
    while at < len(known) and _moment(known[at]) == moment:
        if known[at]["a"] == alert_id:
            del known[at]
        else:
            at += 1
    return known


class TokenValues:
    """Encodes ``tokens`` table values for the changelog, each sighting's JSON made once.

    A value lists up to :data:`MAX_PER_TOKEN` sightings and is written whole on every
    new sighting of its token; encoding all of them each time cost more than the rest
    of the correlation. A sighting never changes once stored, and the table holds the
    same sighting object in every value that lists it, so its JSON is kept by the
    object's identity (each entry holds its object, so an identity cannot be reused
    while it is kept) and a value is its parts joined: the same JSON as
    ``orjson.dumps`` of the whole value, which faust reads back on recovery.

    The ``limit`` parts kept are the most recently used ones. A common token's
    sightings are used at every rewrite of its value, so they stay, while a sighting
    whose token is never seen again ages out. (Dropping the oldest made instead also
    dropped sightings that common tokens still listed, and finding the oldest entry
    of a plain ``dict`` with ``next(iter(d))`` walks past every slot deleted before it:
    8 µs per new sighting once the cache was full.)
    """

    def __init__(self, limit: int = 32_768) -> None:
        self._limit = limit
        self._parts: OrderedDict[int, tuple[Sighting, bytes]] = OrderedDict()

    def _part(self, sighting: Sighting) -> bytes:
        key = id(sighting)
        kept = self._parts.get(key)
        if kept is not None and kept[0] is sighting:
            self._parts.move_to_end(key)
            return kept[1]
        part = orjson.dumps(sighting)
        self._parts[key] = (sighting, part)
        self._parts.move_to_end(key)  # a replaced entry keeps its place otherwise
        if len(self._parts) > self._limit:
            self._parts.popitem(last=False)  # the least recently used
        return part

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, dict) or value.keys() != {"p", "s"}:
            return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        part = self._part
        parts = b",".join([part(sighting) for sighting in value["s"]])
        return b'{"p":%d,"s":[%b]}' % (value["p"], parts)
