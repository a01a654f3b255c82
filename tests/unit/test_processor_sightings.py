"""Sighting batches: every token of an alert reaches the partition that keeps it, once."""

from __future__ import annotations

import gc
import json
import uuid
from dataclasses import replace
from typing import Any

import orjson
import pytest
from aiokafka.partitioner import murmur2 as reference_murmur2
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.domain import AlertMetadata
from processors.correlation import (
    MAX_BATCH,
    MAX_PER_TOKEN,
    SightingBatches,
    TokenValues,
    _current,
    murmur2,
    sighting_entries,
    sightings,
    token_partition,
)
from processors.state import Routed, acknowledge, new_entry
from tests.processor_factories import random_tokens
from tests.strategies import alert_metadata


class Sent:
    def __init__(self) -> None:
        self.records: list[tuple[int, bytes, bytes]] = []

    def __call__(self, partition: int, key: bytes, value: bytes) -> None:
        self.records.append((partition, key, value))


@given(
    alerts=st.lists(alert_metadata(), min_size=1, max_size=5),
    count=st.integers(min_value=1, max_value=12),
    partitions=st.integers(min_value=1, max_value=24),
)
def test_each_token_goes_once_to_its_own_partition(
    alerts: list[AlertMetadata], count: int, partitions: int
) -> None:
    sent = Sent()
    batches = SightingBatches(sent, partitions)
    expected: dict[tuple[str, str], dict[str, object]] = {}
    for drawn in alerts:
        metadata = replace(drawn, linkage_tokens=random_tokens(count))
        batches.add(metadata)
        expected.update(((metadata.alert_id, t), s) for t, s in sightings(metadata))
    assert sent.records == []  # nothing leaves before a flush or a full batch
    batches.flush()
    seen: list[tuple[str, str]] = []
    for partition, key, value in sent.records:
        for tokens, sighting in sighting_entries(key, json.loads(value)):
            assert all(token_partition(token, partitions) == partition for token in tokens)
            seen += [(sighting["a"], token) for token in tokens]
            assert all(sighting == expected[(sighting["a"], t)] for t in tokens)
    assert sorted(seen) == sorted(expected)
    assert len({partition for partition, _, _ in sent.records}) == len(sent.records)
    batches.flush()
    assert len(sent.records) == len({partition for partition, _, _ in sent.records})


@settings(max_examples=5)
@given(metadata=alert_metadata())
def test_a_full_batch_is_sent_at_once(metadata: AlertMetadata) -> None:
    sent = Sent()
    batches = SightingBatches(sent, 1)
    for _ in range(MAX_BATCH):
        batches.add(replace(metadata, alert_id=str(uuid.uuid4()), linkage_tokens=random_tokens(2)))
    [(partition, key, value)] = sent.records
    assert partition == 0
    assert len(sighting_entries(key, json.loads(value))) == MAX_BATCH


def test_a_record_of_an_older_worker_is_one_sighting_keyed_by_its_tokens() -> None:
    sighting = {"a": str(uuid.uuid4()), "x": ["3:00ff", "4:11aa"]}
    [(tokens, read)] = sighting_entries(b"3:00ff,4:11aa", sighting)
    assert tokens == ["3:00ff", "4:11aa"]
    assert orjson.dumps(read) == orjson.dumps(sighting)


@settings(max_examples=20)
@given(metadata=st.lists(alert_metadata(), min_size=1, max_size=8))
def test_stored_state_leaves_the_garbage_collectors_tracking(
    metadata: list[AlertMetadata],
) -> None:
    # The tables keep an entry per alert and every sighting for weeks: a full collection
    # must not walk them all, so what they hold is untracked once collected.
    sent = Sent()
    batches = SightingBatches(sent, 4)
    for m in metadata:
        batches.add(replace(m, linkage_tokens=random_tokens(3)))
    batches.flush()
    read = [orjson.loads(value) for _, _, value in sent.records]
    pairs = zip(sent.records, read, strict=True)
    stored = [s for (_, key, _), v in pairs for _, s in sighting_entries(key, v)]
    entry = new_entry(
        partition=1,
        offset=2,
        issuer="AT-BKA",
        seen_at=3.0,
        priority="URGENT",
        corridor_key="RO>AT",
        routed=[Routed("RO-IGPR", "TRM-1", 4.0), Routed("RO-ANITP", "TRM-1", 0.0)],
    )
    acknowledged = acknowledge(entry, "RO-IGPR")
    assert acknowledged is not None
    gc.collect()
    assert stored
    assert not any(gc.is_tracked(s) for s in stored)
    assert not gc.is_tracked(entry["r"])
    assert not gc.is_tracked(acknowledged["r"])
    # What the table stores still writes the JSON the batches carried.
    assert [orjson.dumps(s) for s in stored] == [
        orjson.dumps(s) for batch in read for _, s in batch["batch"]
    ]


def test_the_partition_is_kafkas_default_partitioner() -> None:
    # murmur2 as in the Java client: these keys are Kafka's own test vectors.
    assert token_partition("21", 1_000_000_000) == (-973932308 & 0x7FFFFFFF) % 1_000_000_000


@given(st.binary(max_size=200))
def test_murmur2_is_kafkas(data: bytes) -> None:
    assert murmur2(data) == reference_murmur2(data)


@given(
    metadata=st.lists(alert_metadata(), min_size=1, max_size=MAX_PER_TOKEN),
    partition=st.integers(min_value=0, max_value=500),
)
def test_token_values_encode_as_the_whole_value_does(
    metadata: list[AlertMetadata], partition: int
) -> None:
    values = TokenValues(limit=8)  # smaller than the lists: parts are dropped and remade
    stored = [sighting for m in metadata for _, sighting in sightings(m)][:MAX_PER_TOKEN]
    value = {"p": partition, "s": stored}
    expected = orjson.dumps(value)
    assert values.encode(value) == expected
    assert values.encode(value) == expected  # from kept parts the second time
    assert json.loads(values.encode(value)) == json.loads(expected)  # what faust reads back


def test_token_values_keep_the_parts_they_use_and_drop_the_unused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[str] = []
    real = orjson.dumps

    def counting(value: Any, *args: Any, **kwargs: Any) -> bytes:
        if isinstance(value, dict) and "a" in value:
            made.append(value["a"])
        return real(value, *args, **kwargs)

    monkeypatch.setattr(orjson, "dumps", counting)
    values = TokenValues(limit=3)
    common = {"a": "common", "at": 1.0}
    for n in range(10):  # one token seen again and again among tokens seen once
        values.encode({"p": 0, "s": [common, {"a": f"once-{n}", "at": 2.0}]})
    assert made.count("common") == 1  # used at every rewrite, so never dropped
    values.encode({"p": 0, "s": [{"a": "once-0", "at": 2.0}]})
    assert len(made) == 12  # the first one-off was dropped long ago: made again


def test_a_token_value_of_another_shape_is_plain_json() -> None:
    odd = {"p": 1, "s": [], "extra": True}
    assert json.loads(TokenValues().encode(odd)) == odd


_stored = st.lists(
    st.tuples(st.sampled_from(["a1", "a2", "a3", "a4", "a5"]), st.integers(0, 20)),
    max_size=MAX_PER_TOKEN,
)


@given(_stored, st.integers(-1, 22), st.sampled_from(["a1", "a2", "a9"]), st.integers(0, 20))
def test_window_and_replay_filter_is_the_plain_one(
    entries: list[tuple[str, int]], horizon: int, alert_id: str, moment: int
) -> None:
    """Bisection over the sorted stored sightings keeps exactly what a scan would."""
    stored: list[dict[str, Any]] = [
        {"a": a, "at": float(at)} for a, at in sorted(entries, key=lambda e: e[1])
    ]
    new: dict[str, Any] = {"a": alert_id, "at": float(moment)}
    # Same moment for one alert id, as in the stream (created_at is signed).
    consistent = [s for s in stored if s["a"] != alert_id or s["at"] == moment]
    expected = [s for s in consistent if s["at"] >= horizon and s["a"] != alert_id]
    assert _current({"p": 0, "s": consistent}, float(horizon), new) == expected
    assert _current(None, float(horizon), new) == []
