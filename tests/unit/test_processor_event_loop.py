"""The event loop a worker runs on follows ``processor.event_loop``."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from processors.errors import ProcessorError
from processors.event_loop import install_event_loop


def test_uvloop_is_installed_and_can_be_turned_off() -> None:
    try:
        install_event_loop("uvloop")
        loop = asyncio.new_event_loop()
        assert isinstance(loop, uvloop.Loop)
        loop.close()
        install_event_loop("asyncio")
        loop = asyncio.new_event_loop()
        assert not isinstance(loop, uvloop.Loop)
        loop.close()
    finally:
        asyncio.set_event_loop_policy(None)


def test_an_unknown_event_loop_is_refused_by_name() -> None:
    with pytest.raises(ProcessorError, match=r"processor\.event_loop is 'tokio'"):
        install_event_loop("tokio")
