"""A worker's garbage collector: the youngest generation waits longer, the others do not."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from processors.gc_thresholds import YOUNG_THRESHOLD, install_gc_thresholds


@pytest.fixture
def thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


@pytest.mark.usefixtures("thresholds")
def test_only_the_youngest_generation_changes() -> None:
    gc.set_threshold(700, 7, 9)
    install_gc_thresholds()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 7, 9)


@pytest.mark.usefixtures("thresholds")
def test_short_lived_containers_no_longer_start_a_collection_every_few_hundred() -> None:
    install_gc_thresholds()
    gc.collect()
    before = gc.get_stats()[0]["collections"]
    kept = [[n] for n in range(YOUNG_THRESHOLD // 2)]  # half the threshold, all alive
    assert gc.get_stats()[0]["collections"] == before
    assert len(kept) == YOUNG_THRESHOLD // 2
