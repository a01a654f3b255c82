"""State restored from a changelog takes the form the tables keep (decision 20).

A changelog holds JSON, and JSON has no tuples: without a conversion every entry and
sighting a worker restores keeps lists, and the garbage collector walks them at every
full collection for as long as they are kept, which is what decision 20 removed.
"""

from __future__ import annotations

import gc
from typing import Any

import orjson

from processors.correlation import restored_token_value, sighting_of
from processors.lean_app import LeanApp
from processors.state import Routed, new_entry, restored_entry
from processors.tables import OutputChangelogTable
from tests.processor_factories import random_tokens
from tests.unit.processor_world import world


def _through_changelog(value: Any) -> Any:
    """What faust reads back: the JSON the changelog holds, decoded."""
    return orjson.loads(orjson.dumps(value))


def _untracked_after_collection(value: Any) -> bool:
    gc.collect()
    return not gc.is_tracked(value)


def _entry() -> dict[str, Any]:
    return new_entry(
        partition=3,
        offset=1234,
        issuer="AT-BKA",
        seen_at=1_790_000_000.5,
        priority="URGENT",
        corridor_key="RO>AT",
        routed=[Routed("RO-IGPR", "TRM-SEE-2024", 1_790_086_400.0), Routed("RO-ANITP", "X", 0.0)],
    )


def _sighting() -> dict[str, Any]:
    metadata = world().factory.metadata(transit=("HU",), tokens=random_tokens(2))
    return sighting_of(metadata)[1]


def test_a_restored_entry_is_the_entry_it_was_and_the_collector_can_skip_it() -> None:
    entry = _entry()
    read_back = _through_changelog(entry)
    restored = restored_entry(read_back)
    assert restored == entry
    assert orjson.dumps(restored) == orjson.dumps(entry)
    # What the collector can skip: the recipients (the entry itself, a dict holding a
    # dict, stays tracked: one object per alert, as in decision 20).
    assert _untracked_after_collection(restored["r"])
    assert not _untracked_after_collection(read_back["r"])  # as faust alone keeps it


def test_a_restored_tokens_value_keeps_its_list_and_untracked_sightings() -> None:
    sighting = _sighting()
    value = {"p": 5, "s": [sighting, {**sighting, "a": "another", "at": 2.0}]}
    read_back = _through_changelog(value)
    restored = restored_token_value(read_back)
    assert orjson.dumps(restored) == orjson.dumps(value)
    assert type(restored["s"]) is list  # the correlation inserts into it
    assert restored["s"][0] == sighting
    assert all(_untracked_after_collection(s) for s in restored["s"])
    assert not any(_untracked_after_collection(s) for s in read_back["s"])


def test_values_of_another_shape_are_left_for_the_routing_to_refuse() -> None:
    for odd in (None, 7, "text", [1, 2], {"r": [1]}, {"p": 1, "s": "x"}):
        assert restored_entry(odd) == odd
        assert restored_token_value(odd) == odd


def test_the_table_restores_each_value_through_its_converter() -> None:
    app = LeanApp("corridor-restore-test", broker="kafka://localhost:1", web_enabled=False)
    table = OutputChangelogTable(app, name="alerts", restore_value=restored_entry)
    plain = OutputChangelogTable(app, name="plain")
    read_back = _through_changelog(_entry())
    assert table._to_value(read_back) == _entry()
    assert plain._to_value(read_back) is read_back
