"""A table's changelog gets one record per changed key and commit: its newest value."""

from __future__ import annotations

import json
from typing import Any

from processors.tables import ChangelogBuffer, changelog_bytes, changelog_key


def _records(buffer: ChangelogBuffer) -> list[tuple[int, Any, Any]]:
    return [
        (partition, json.loads(key), None if value is None else json.loads(value))
        for partition, key, value in buffer.drain()
    ]


def test_many_writes_of_a_key_become_one_record_of_its_newest_value() -> None:
    buffer = ChangelogBuffer(changelog_bytes)
    for n in range(50):
        buffer.set(3, "1:hot", {"p": 3, "s": list(range(n + 1))})
    buffer.set(1, "1:cold", {"p": 1, "s": [7]})

    assert len(buffer) == 2
    assert _records(buffer) == [
        (3, "1:hot", {"p": 3, "s": list(range(50))}),
        (1, "1:cold", {"p": 1, "s": [7]}),
    ]
    assert buffer.drain() == []  # drained once


def test_the_last_change_wins_deletions_included() -> None:
    buffer = ChangelogBuffer(changelog_bytes)
    buffer.set(0, "a", 1)
    buffer.delete(0, "a")
    buffer.delete(0, "b")
    buffer.set(0, "b", 2)
    buffer.set(0, "c", None)  # a value that happens to be null is not a deletion

    assert buffer.drain() == [
        (0, changelog_key("a"), None),
        (0, changelog_key("b"), b"2"),
        (0, changelog_key("c"), b"null"),
    ]


def test_one_key_changed_from_two_partitions_is_written_to_both() -> None:
    buffer = ChangelogBuffer(changelog_bytes)
    buffer.set(0, "k", "first")
    buffer.set(5, "k", "second")
    assert _records(buffer) == [(0, "k", "first"), (5, "k", "second")]


def test_values_are_encoded_as_they_were_set_when_drained() -> None:
    encoded: list[Any] = []

    def encode(value: Any) -> bytes:
        encoded.append(value)
        return changelog_bytes(value)

    buffer = ChangelogBuffer(encode)
    kept = {"s": [1]}
    buffer.set(2, "t", kept)
    buffer.set(2, "t", {"s": [1, 2]})
    assert encoded == []  # nothing is encoded before the commit
    assert _records(buffer) == [(2, "t", {"s": [1, 2]})]
    assert encoded == [{"s": [1, 2]}]
