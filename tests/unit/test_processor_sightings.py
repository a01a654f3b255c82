"""Sighting records: every token of an alert reaches the partition that keeps it, once."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from corridor.domain import AlertMetadata
from processors.correlation import (
    sighting_records,
    sighting_tokens,
    sightings,
    token_partition,
)
from tests.processor_factories import random_tokens
from tests.strategies import alert_metadata


@given(
    metadata=alert_metadata(),
    count=st.integers(min_value=1, max_value=12),
    partitions=st.integers(min_value=1, max_value=24),
)
def test_each_token_goes_once_to_its_own_partition(
    metadata: AlertMetadata, count: int, partitions: int
) -> None:
    metadata = replace(metadata, linkage_tokens=random_tokens(count))
    records = sighting_records(metadata, partitions)
    expected = dict(sightings(metadata))
    seen: list[str] = []
    for partition, key, value in records:
        tokens = sighting_tokens(key)
        assert all(token_partition(token, partitions) == partition for token in tokens)
        assert all(json.loads(value) == expected[token] for token in tokens)
        seen += tokens
    assert sorted(seen) == sorted(expected)
    assert len({partition for partition, _, _ in records}) == len(records)


def test_a_record_of_one_token_is_read_as_that_token() -> None:
    assert sighting_tokens(b"3:00ff") == ["3:00ff"]


def test_the_partition_is_kafkas_default_partitioner() -> None:
    # murmur2 as in the Java client: these keys are Kafka's own test vectors.
    assert token_partition("21", 1_000_000_000) == (-973932308 & 0x7FFFFFFF) % 1_000_000_000
