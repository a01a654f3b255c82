"""An empty faust agent: what faust itself costs per event, with no work to do.

The processor's bound per worker is one signature verification plus this cost, so it
is measured on the same broker, in the same run, as the processor's own connection.
Three variants run: ``stock``, faust as the processor first configured it (settings
frozen here, asyncio's own event loop); ``uvloop``, the same on the event loop of
``processor.event_loop`` (the worker before decision 19); and ``processor``, faust as
a worker runs it now (:class:`processors.lean_app.LeanApp`, raw-topic events, that
event loop). It runs as its own process (a faust worker owns its event loop and its
signals), started by :func:`corridor.cli.benchmarks.processing.empty_agent`::

    python -m corridor.cli.benchmarks.faust_probe --home H --app-id A --topic T \\
        --count N --out F --datadir D [--variant stock|uvloop|processor] [--profile P]

It reads ``N`` events from topic ``T`` as a fresh consumer group, writes the time and
CPU time from its first event to its last to ``F`` as JSON, and stops.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import signal
import ssl
import sys
import time
from pathlib import Path
from typing import Any

import faust

from corridor.config import load_settings
from corridor.connection import Connection
from corridor.workspace import Workspace
from processors.event_loop import install_event_loop
from processors.lean_app import LeanApp
from processors.raw_events import RawSchema

__all__ = ["VARIANTS", "main"]

#: Variant name -> extra faust settings (for experiments; none by default).
VARIANTS: dict[str, dict[str, Any]] = {"stock": {}, "uvloop": {}, "processor": {}}
#: The variants on the worker's event loop, and those with its lean sensors.
LOOP_VARIANTS = ("uvloop", "processor")
LEAN_VARIANTS = ("processor",)


def _credentials(conn: Connection) -> faust.SASLCredentials:
    return faust.SASLCredentials(
        username=conn.username,
        password=conn.password,
        mechanism=conn.mechanism,
        ssl_context=ssl.create_default_context(cafile=str(conn.ca_location)),
    )


class _Counter:
    """Times the first and the last of ``count`` events, optionally under cProfile."""

    def __init__(self, count: int, out: Path, profile: Path | None) -> None:
        self.count = count
        self.seen = 0
        self.opening = 0
        self.first = 0.0
        self.first_cpu = 0.0
        self.out = out
        self.profile = profile
        self.profiler = cProfile.Profile() if profile else None

    def tick(self, n: int = 1) -> None:
        if self.seen == 0:
            self.first, self.first_cpu = time.perf_counter(), time.process_time()
            self.opening = n
            if self.profiler is not None:
                self.profiler.enable()
        self.seen += n
        if self.seen >= self.count:
            self.finish()

    def finish(self) -> None:
        elapsed = time.perf_counter() - self.first
        cpu = time.process_time() - self.first_cpu
        if self.profiler is not None and self.profile is not None:
            self.profiler.disable()
            self.profiler.dump_stats(str(self.profile))
        # The first event (or batch) opens the clock, so it is not counted.
        counted = self.seen - self.opening
        result = {"events": counted, "seconds": elapsed, "cpu_seconds": cpu}
        self.out.write_text(json.dumps(result))
        self.seen = -(10**12)  # nothing more to count while the worker stops
        os.kill(os.getpid(), signal.SIGTERM)


def _app(args: argparse.Namespace, conn: Connection) -> faust.App:
    """The settings the processor was first configured with (processors/app.py, before
    tuning), on ``LeanApp`` for the variants that run the worker's faust."""
    make = LeanApp if args.variant in LEAN_VARIANTS else faust.App
    return make(
        args.app_id,
        broker=f"kafka://{conn.bootstrap_servers}",
        broker_credentials=_credentials(conn),
        store="memory://",
        datadir=str(args.datadir),
        web_enabled=False,
        autodiscover=False,
        processing_guarantee="at_least_once",
        broker_session_timeout=10,
        broker_commit_interval=2.8,
        consumer_auto_offset_reset="earliest",
        producer_linger=0.005,
        **json.loads(args.options),
    )


def build(args: argparse.Namespace) -> faust.App:
    conn = Workspace(args.home).processor_connection()
    app = _app(args, conn)
    if args.variant in LEAN_VARIANTS:
        topic = app.topic(args.topic, schema=RawSchema())
    else:
        topic = app.topic(args.topic, key_serializer="raw", value_serializer="raw")
    counter = _Counter(args.count, args.out, args.profile)

    async def empty(stream: Any) -> None:
        async for _event in stream.events():
            counter.tick()

    app.agent(topic, name="empty")(empty)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--datadir", type=Path, required=True)
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="processor")
    parser.add_argument("--options", default="{}", help="extra faust settings, as JSON")
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile stats here")
    args = parser.parse_args(argv)
    if args.variant in LOOP_VARIANTS:
        install_event_loop(load_settings(home=args.home).processor.event_loop)
    worker = faust.Worker(build(args), loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.spinner = None  # no terminal progress bar in a child process
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1:])
