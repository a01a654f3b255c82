"""The worker's consumer gets the configured fetch wait instead of faust's 1.5 s."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

import processors.fetch_wait as fetch_wait
from processors.errors import ProcessorError
from processors.fetch_wait import install_fetch_wait


class _Made:
    _fetch_max_wait_ms = 1500


@pytest.fixture
def faust_creates(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """faust's own constructor, replaced by one that needs no broker; restored after."""
    monkeypatch.setattr(fetch_wait, "_FAUST_CREATE", lambda self, transport: _Made())
    original = AIOKafkaConsumerThread._create_worker_consumer
    yield
    setattr(AIOKafkaConsumerThread, "_create_worker_consumer", original)  # noqa: B010


def test_the_worker_consumer_waits_the_configured_time(faust_creates: None) -> None:
    install_fetch_wait(25)
    thread: Any = object.__new__(AIOKafkaConsumerThread)
    consumer = thread._create_worker_consumer(transport=None)
    assert consumer._fetch_max_wait_ms == 25


def test_the_real_faust_consumer_is_built_with_fifteen_hundred() -> None:
    """What the patch corrects: if faust changes this, the module must be revisited."""
    source = inspect.getsource(fetch_wait._FAUST_CREATE)
    assert "fetch_max_wait_ms=1500" in source


@pytest.mark.parametrize("wait", [0, -5, 1501])
def test_a_wait_out_of_range_is_refused(wait: int) -> None:
    with pytest.raises(ProcessorError, match="fetch_max_wait_ms"):
        install_fetch_wait(wait)
