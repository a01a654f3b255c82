"""The faust application: topics, tables and agents around the routing logic.

Built by :func:`build_app` from the runtime; nothing is created at import time. The
agents are thin: each turns a Kafka record into a :class:`Source` and hands it to the
logic of :mod:`processors.alerts`, :mod:`processors.ack_router`,
:mod:`processors.correlation` or :mod:`processors.sweeper`, which see the faust tables
as plain mappings.

Processing guarantee: at-least-once (docs/decisions/0011-processing-guarantee.md).
Outputs go through three producers (:class:`Outputs`), each on its own connection:
deliveries; the audit trail, dead letters and link records, gathered longer (decision
25); sightings and table changelogs (decisions 13 and 16). A broker handles one request
of a connection at a time, so a slow changelog or audit append never holds a delivery
back. When a commit starts, :class:`CommitBarrier` sends what waits in memory and closes
the producers' epochs before faust picks the offsets, and the commit waits for those
records' acknowledgements before it sends the offsets (decision 17), without holding the
event loop; repeated outputs after a crash are absorbed by the alert-id deduplication
here and downstream.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import faust

from corridor.codec import Codec
from corridor.config import ProcessorSettings
from corridor.domain import Directory
from corridor.kafka_clients import consumer
from corridor.logs import log_event
from corridor.metrics import ProcessorMetrics
from corridor.topics import ACKS_INBOUND, INBOUND
from processors.ack_router import AckRouter
from processors.alerts import AlertRouter, Limits
from processors.commit_barrier import CommitBarrier
from processors.commit_watchdog import CommitWatchdog, install_strict_commits
from processors.correlation import (
    Correlator,
    SightingBatches,
    TokenValues,
    restored_token_value,
    sighting_entries,
)
from processors.dead_letters import DeadLetterReason
from processors.emitter import Emitter, Source
from processors.fetch_guard import FetchGuard, look_at, watch_fetcher
from processors.kafka_sink import Outputs
from processors.lean_app import LeanApp
from processors.progress_guard import (
    Handled,
    ProgressGuard,
    WaitingRecords,
    end_stalled,
    watch_progress,
)
from processors.raw_events import RawSchema
from processors.runtime import (
    ALERTS_TABLE,
    CHANGELOG_TOPIC_CONFIG,
    TOKENS_TABLE,
    ProcessorRuntime,
    Topology,
    commands_topic,
    sightings_topic,
)
from processors.state import restored_entry
from processors.sweeper import Sweeper
from processors.tables import OutputChangelogTable, changelog_bytes

__all__ = ["ProcessorApp", "build_app"]

LOG = logging.getLogger("corridor.processor")
_JSON: Any = faust.Schema(key_serializer="json", value_serializer="json")
#: How long a sighting may wait in memory for its batch (the delay of a link notice).
SIGHTING_BATCH_SECONDS = 0.05
#: How often the tables' changes are handed to the producer between commits.
CHANGELOG_WRITE_SECONDS = 1.0


@dataclass
class ProcessorApp:
    """The faust app and the logic objects wired into it."""

    app: faust.App
    alerts: AlertRouter
    acks: AckRouter
    correlator: Correlator
    sweeper: Sweeper


def _credentials(runtime: ProcessorRuntime) -> faust.SASLCredentials:
    conn = runtime.connection
    context = ssl.create_default_context(cafile=str(conn.ca_location))
    return faust.SASLCredentials(
        username=conn.username,
        password=conn.password,
        mechanism=conn.mechanism,
        ssl_context=context,
    )


def _source(event: Any) -> Source:
    message = event.message
    return Source(message.topic, message.partition, message.offset, message.key, message.value)


def build_app(
    runtime: ProcessorRuntime,
    topology: Topology,
    *,
    directory: Callable[[], Directory],
    outputs: Outputs,
    codec: Codec,
    metrics: ProcessorMetrics,
) -> ProcessorApp:
    settings = runtime.settings.processor
    app_id = settings.app_id
    partitions = topology.partitions
    internal_config = {"min.insync.replicas": str(topology.min_insync_replicas)}
    app = LeanApp(
        app_id,
        broker=f"kafka://{runtime.connection.bootstrap_servers}",
        broker_credentials=_credentials(runtime),
        topic_replication_factor=topology.replicas,
        topic_partitions=partitions,
        store="memory://",
        datadir=str(runtime.datadir),
        web_enabled=False,
        autodiscover=False,
        processing_guarantee="at_least_once",
        broker_session_timeout=10,
        broker_commit_interval=settings.commit_interval_seconds,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        producer_linger=0.005,
    )
    inbound = app.topic(INBOUND, schema=RawSchema())
    acks_inbound = app.topic(ACKS_INBOUND, schema=RawSchema())
    to_correlate = app.topic(
        sightings_topic(app_id),
        partitions=partitions,
        internal=True,
        key_serializer="raw",
        value_serializer="json",
        config=internal_config,
    )
    to_sweep = app.topic(
        commands_topic(app_id),
        partitions=partitions,
        internal=True,
        key_serializer="raw",
        value_serializer="json",
        config=internal_config,
    )

    def table(
        name: str,
        restore_value: Callable[[Any], Any],
        encode_value: Callable[[Any], bytes] = changelog_bytes,
    ) -> Any:
        created = OutputChangelogTable(
            app,
            name=name,
            beacon=app.tables.beacon,
            partitions=partitions,
            schema=_JSON,
            extra_topic_configs={**internal_config, **CHANGELOG_TOPIC_CONFIG},
            output=outputs.internal,
            encode_value=encode_value,
            restore_value=restore_value,
        )
        return app.tables.add(created)

    alerts_table = table(ALERTS_TABLE, restored_entry)
    tokens_table = table(TOKENS_TABLE, restored_token_value, TokenValues().encode)

    emitter = Emitter(outputs.deliveries, codec, runtime.processor_id, trail=outputs.trail)
    limits = Limits.from_settings(settings)

    # Through the internal producer, like the changelogs: faust's own send path costs
    # several times more.
    send_sightings = partial(outputs.internal.send_to, sightings_topic(app_id))
    batches = SightingBatches(send_sightings, partitions)

    alerts = AlertRouter(
        codec=codec,
        directory=directory,
        emitter=emitter,
        metrics=metrics,
        limits=limits,
        state=alerts_table,
        on_accepted=batches.add,
    )
    acks = AckRouter(
        codec=codec,
        directory=directory,
        emitter=emitter,
        metrics=metrics,
        limits=limits,
        state=alerts_table,
    )
    correlator = Correlator(
        directory=directory,
        emitter=emitter,
        metrics=metrics,
        table=tokens_table,
        window=timedelta(seconds=settings.link_window_seconds),
    )
    sweeper = Sweeper(
        alerts=alerts_table,
        correlator=correlator,
        emitter=emitter,
        metrics=metrics,
        ttl=limits.dedup_ttl,
    )

    handled = Handled()

    def guarded(handle: Callable[[Any], object]) -> Callable[[Any], Any]:
        """An agent body calling ``handle`` per event; a bug dead-letters the record."""

        async def agent(stream: Any) -> None:
            async for event in stream.events():
                handled.count += 1
                try:
                    handle(event)
                except Exception as exc:
                    # A bug must neither stop the stream nor lose the record: park it.
                    source = _source(event)
                    log_event(
                        LOG,
                        "processing_failed",
                        level=logging.ERROR,
                        topic=source.topic,
                        partition=source.partition,
                        offset=source.offset,
                        error=type(exc).__name__,
                    )
                    failed = DeadLetterReason.PROCESSING_FAILED
                    emitter.dead_letter(source, failed, datetime.now(UTC))
                    metrics.dead_letters.labels("processor", failed.value).inc()
                outputs.poll()

        return agent

    def correlate(event: Any) -> None:
        message = event.message
        failed: Exception | None = None
        for tokens, sighting in sighting_entries(message.key, event.value):
            for token in tokens:
                try:
                    correlator.handle(token, sighting, message.partition)
                except Exception as exc:  # the rest of the batch still counts
                    failed = exc
        if failed is not None:
            raise failed

    agents: tuple[tuple[Any, str, Callable[[Any], object]], ...] = (
        (inbound, "route-alerts", lambda e: alerts.handle(_source(e))),
        (acks_inbound, "route-acks", lambda e: acks.handle(_source(e))),
        (to_correlate, "correlate", correlate),
        (to_sweep, "sweep", lambda e: sweeper.apply(e.value)),
    )
    for topic, name, handle in agents:
        app.agent(topic, name=name)(guarded(handle))

    _add_housekeeping(
        app,
        to_sweep=to_sweep,
        sweeper=sweeper,
        outputs=outputs,
        batches=batches,
        tables=(alerts_table, tokens_table),
        metrics=metrics,
        settings=settings,
    )
    _add_progress_guard(app, runtime, handled)
    return ProcessorApp(app, alerts, acks, correlator, sweeper)


def _add_progress_guard(app: faust.App, runtime: ProcessorRuntime, handled: Handled) -> None:
    """Watches that a worker holding waiting records handles them (module
    :mod:`processors.progress_guard`); ``stall_exit_seconds = 0`` turns it off."""
    settings = runtime.settings.processor
    if settings.stall_exit_seconds <= 0:
        return
    app_id = settings.app_id
    consumed = {INBOUND, ACKS_INBOUND, sightings_topic(app_id), commands_topic(app_id)}
    held: list[tuple[str, int]] = []

    async def on_assigned(_sender: Any, *args: Any, signal: Any = None, **_: Any) -> None:
        held[:] = sorted((tp.topic, tp.partition) for tp in args[0] if tp.topic in consumed)

    app.on_partitions_assigned.connect(on_assigned)  # type: ignore[arg-type]

    async def guard_progress() -> None:
        group = consumer(runtime.connection, app_id, quiet=True)
        grace = settings.stall_exit_seconds
        watch_progress(
            handled=handled,
            held=lambda: tuple(held),
            expected=lambda: look_at(app).expected,
            records=WaitingRecords(group),
            guard=ProgressGuard(grace=grace),
            on_stalled=end_stalled,
            interval=min(10.0, grace / 6),
        )

    app.task(guard_progress)


def _add_housekeeping(
    app: faust.App,
    *,
    to_sweep: Any,
    sweeper: Sweeper,
    outputs: Outputs,
    batches: SightingBatches,
    tables: Sequence[OutputChangelogTable],
    metrics: ProcessorMetrics,
    settings: ProcessorSettings,
) -> None:
    """Timers, the commit and fetch guards and the assignment gauge: all but the agents."""
    app_id = settings.app_id

    def held(topic: str) -> set[int]:
        return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}

    async def sweep() -> None:
        plan = sweeper.plan(held(INBOUND), held(sightings_topic(app_id)))
        for partition, command in plan.items():
            await to_sweep.send(key=b"sweep", value=command, partition=partition)

    app.timer(settings.sweep_interval_seconds, name="plan-sweep")(sweep)

    async def send_sightings() -> None:
        batches.flush()

    app.timer(SIGHTING_BATCH_SECONDS, name="send-sightings")(send_sightings)

    def write_changelogs() -> None:
        for table in tables:
            table.write_changelog()

    async def write_changelogs_now() -> None:
        write_changelogs()

    # Between commits too, so that a commit's flush has little left to wait for.
    app.timer(CHANGELOG_WRITE_SECONDS, name="write-changelogs")(write_changelogs_now)
    install_strict_commits()

    async def guard_fetcher() -> None:
        look_at(app)  # the first look, on the event loop, builds faust's lazy fetcher
        watch_fetcher(partial(look_at, app), FetchGuard())

    app.task(guard_fetcher)
    watchdog = CommitWatchdog(app)
    interval = max(2.0, 2 * settings.commit_interval_seconds)
    app.timer(interval, name="commit-watchdog")(watchdog.check)

    async def on_assigned(_sender: Any, *args: Any, signal: Any = None, **_: Any) -> None:
        # faust passes the whole new assignment, not what changed.
        count = sum(1 for tp in args[0] if tp.topic == INBOUND)
        metrics.workers.set(count)
        log_event(LOG, "partitions_assigned", inbound=count)
        # faust has created its topics by now; a commit must not wait for their leaders.
        outputs.internal.know([sightings_topic(app.conf.id), *(t.changelog_name for t in tables)])

    # mode types signal handlers with mypy_extensions forms that mypy cannot match.
    app.on_partitions_assigned.connect(on_assigned)  # type: ignore[arg-type]

    def before_commit() -> None:
        batches.flush()
        write_changelogs()

    app.sensors.add(CommitBarrier(outputs.all, before_commit))
