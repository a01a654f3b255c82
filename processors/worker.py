"""Runs one processor worker: directory watcher, metrics endpoint, output producer, faust.

Several workers started with the same settings form one consumer group and share the
inbound partitions; each holds the whole directory, followed from the compacted topic
by a :class:`DirectoryWatcher` (decision 0011 says why not a faust GlobalTable).
"""

from __future__ import annotations

import logging

import faust
from prometheus_client import CollectorRegistry

from corridor.directory_topic import DirectoryWatcher
from corridor.domain import Directory
from corridor.logs import log_event
from corridor.metrics import ProcessorMetrics, serve_metrics
from corridor.schema_registry import codec_for
from processors.app import build_app
from processors.emitter import MAX_RECORD_BYTES
from processors.errors import ProcessorError
from processors.event_loop import install_event_loop
from processors.fetch_wait import install_fetch_wait
from processors.gc_thresholds import install_gc_thresholds
from processors.kafka_sink import open_outputs
from processors.runtime import ProcessorRuntime, discover_topology, ensure_internal_topics

__all__ = ["run_worker"]

LOG = logging.getLogger("corridor.processor")


def run_worker(runtime: ProcessorRuntime, *, loglevel: str = "WARNING") -> None:
    """Serve until stopped (SIGTERM or SIGINT); raises CorridorError if it cannot start."""
    install_event_loop(runtime.settings.processor.event_loop)
    install_gc_thresholds()
    install_fetch_wait(runtime.settings.processor.fetch_max_wait_ms)
    registry = CollectorRegistry()
    metrics = ProcessorMetrics.create(registry)
    conn = runtime.connection
    # First: a bad trail_linger_ms stops the worker before anything is started.
    outputs = open_outputs(
        conn,
        runtime.settings.producer_kafka(),
        trail_linger_ms=runtime.settings.processor.trail_linger_ms,
    )
    topology = discover_topology(conn, runtime.settings)
    ensure_internal_topics(conn, runtime.settings.processor.app_id, topology)
    codec = codec_for(conn, max_message_bytes=MAX_RECORD_BYTES)
    address = runtime.settings.processor.listen_address
    try:
        serve_metrics(registry, runtime.metrics_port, address)
    except OSError as exc:
        raise ProcessorError(
            f"cannot serve metrics on {address} port {runtime.metrics_port}: {exc.strerror}"
        ) from exc

    def on_change(directory: Directory) -> None:
        metrics.directory_version.set(directory.version)

    watcher = DirectoryWatcher(
        conn,
        runtime.authority_public_key,
        on_change=on_change,
        on_rejected=metrics.directory_rejected.inc,
    ).start()
    try:
        processor = build_app(
            runtime,
            topology,
            directory=watcher.current,
            outputs=outputs,
            codec=codec,
            metrics=metrics,
        )
        log_event(
            LOG,
            "processor_starting",
            app_id=runtime.settings.processor.app_id,
            processor_id=runtime.processor_id,
            partitions=topology.partitions,
            metrics_port=runtime.metrics_port,
        )
        worker = faust.Worker(processor.app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
        worker.spinner = None  # a terminal progress bar has no place in service logs
        worker.execute_from_commandline()
    finally:
        watcher.stop()
        for producer in outputs.all:
            try:
                producer.flush(timeout=10)
            except ProcessorError:
                # Uncommitted anyway: whoever takes the partitions processes them again.
                log_event(LOG, "outputs_unflushed_at_exit", level=logging.WARNING)
