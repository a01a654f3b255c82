"""The asyncio event loop a processor worker runs on.

Most of faust's cost per event is asyncio's own: a task or two per record handed from
the fetcher to the stream, futures, callbacks and a selector round per hop. uvloop
runs the same loop in C. Measured by ``corridor bench`` on faust's empty agent, it
cuts faust's CPU per event by about a quarter, with nothing else changed; every
guarantee is faust's and the broker's, not the loop's. ``processor.event_loop =
"asyncio"`` goes back to the standard loop (for a platform without uvloop wheels).
"""

from __future__ import annotations

import asyncio

import uvloop

from processors.errors import ProcessorError

__all__ = ["EVENT_LOOPS", "install_event_loop"]

EVENT_LOOPS = ("uvloop", "asyncio")


def install_event_loop(name: str) -> None:
    """Make ``name`` the loop of every event loop created from now on in this process."""
    if name == "uvloop":
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    elif name == "asyncio":
        asyncio.set_event_loop_policy(None)
    else:
        choices = ", ".join(EVENT_LOOPS)
        raise ProcessorError(f"processor.event_loop is {name!r}; it must be one of: {choices}")
