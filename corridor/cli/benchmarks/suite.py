"""The whole benchmark in one run: bound, baseline, each stage, latency, on one broker.

Stages run one after the other so that each has the machine to itself (apart from the
broker, and from whatever else runs on the machine: the load average is recorded
with every stage). A stage that fails is recorded with its error and the others still
run; the caller decides what a failure means.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from confluent_kafka import TopicPartition

from corridor.config import CONFIG_VARIABLE, Settings
from corridor.kafka_clients import admin_client
from corridor.topics import INBOUND
from corridor.workspace import Workspace

from .baseline import run_baseline
from .bound import bound_table, prepare_sample
from .cluster import bench_cluster
from .consuming import run_consumer
from .faust_probe import VARIANTS
from .latency import run_latency
from .processing import Backlog, empty_agent, run_processor
from .publishing import run_publisher
from .summary import summarize
from .warm_up import WarmUp, warm_up
from .workload import load_average, write_back

__all__ = ["FULL", "QUICK", "Scale", "run_suite"]

T = TypeVar("T")
SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Scale:
    """How much of everything one run measures."""

    name: str
    bound_seconds: float
    baseline_messages: int
    baseline_latency_seconds: float
    faust_events: int
    alerts: int
    latency_seconds: float
    #: Longest wait for a stage to finish its backlog before it reports what it did.
    timeout: float
    #: How long the pipeline may take to deliver what is on its way after each rate.
    catch_up: float
    warm_up: WarmUp


QUICK = Scale("quick", 0.1, 5_000, 2.0, 3_000, 600, 3.0, 90.0, 20.0, WarmUp(600, 1))
FULL = Scale("full", 1.0, 50_000, 10.0, 30_000, 10_000, 25.0, 240.0, 60.0, WarmUp(5_000, 6))
LATENCY_RATES = (100.0, 1000.0)


def _machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _partitions(settings: Settings) -> int:
    admin = admin_client(Workspace(settings.home).admin_connection(), quiet=True)
    return len(admin.list_topics(INBOUND, timeout=15).topics[INBOUND].partitions)


class _Run:
    """Runs stages, noting their duration, the machine's load and their errors."""

    def __init__(self, report: Callable[[str], None]) -> None:
        self.report = report
        self.stages: dict[str, dict[str, float | None]] = {}
        self.errors: dict[str, str] = {}

    def stage(self, name: str, work: Callable[[], T]) -> T | None:
        self.report(f"{name}...")
        written = write_back()
        load, started = load_average(), time.perf_counter()
        try:
            return work()
        except Exception as exc:  # a failed stage is reported; the others still run
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            self.report(f"{name} failed: {self.errors[name]}")
            return None
        finally:
            took = round(time.perf_counter() - started, 1)
            self.stages[name] = {
                "seconds": took,
                "load_before": load,
                "load_after": load_average(),
                **written,
            }


@contextmanager
def _config_for_subprocesses(config: Path | None) -> Iterator[None]:
    """The workers and the latency stage's publisher run as processes of their own and
    read their settings as any ``corridor`` command does: given ``config`` they read
    that file too, so every stage measures one configuration."""
    if config is None:
        yield
        return
    before = os.environ.get(CONFIG_VARIABLE)
    os.environ[CONFIG_VARIABLE] = str(config.resolve())
    try:
        yield
    finally:
        if before is None:
            del os.environ[CONFIG_VARIABLE]
        else:
            os.environ[CONFIG_VARIABLE] = before


def run_suite(
    home: Path | None,
    scale: Scale,
    report: Callable[[str], None],
    *,
    settings: Settings | None = None,
    config: Path | None = None,
) -> dict[str, Any]:
    """Every measurement of the benchmark, as the JSON document it writes.

    ``settings`` (read from ``config``, the file they came from, if any) apply to
    every stage, the cluster's home aside; the defaults when None.
    """
    base = settings or Settings()
    with _config_for_subprocesses(config):
        return _run_suite(home, scale, report, base, config)


def _run_suite(
    home: Path | None,
    scale: Scale,
    report: Callable[[str], None],
    base: Settings,
    config: Path | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    run = _Run(report)
    results: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": scale.name,
        "machine": _machine(),
        "broker": {"nodes": 1, "security": "SASL_SSL (TLS + SCRAM-SHA-512), ACLs"},
        "config": None if config is None else str(config),
    }
    logs = Path(tempfile.mkdtemp(prefix="corridor-bench-logs-"))
    with bench_cluster(home, report, base) as cluster_home:
        settings = replace(base, home=cluster_home)
        admin = Workspace(cluster_home).admin_connection()
        partitions = _partitions(settings)
        sample = prepare_sample(settings, partitions)
        size = len(sample.value)
        results["alert_bytes"] = size
        results["sealing"] = {
            "suite": sample.sealer.suite,
            "key_reuse_alerts": settings.producer.key_reuse_alerts,
            "key_reuse_seconds": settings.producer.key_reuse_seconds,
        }
        results["bound"] = run.stage("bound", lambda: bound_table(sample, scale.bound_seconds))
        results["warm_up"] = run.stage(
            "warm_up",
            lambda: warm_up(
                settings,
                admin,
                scale.warm_up,
                partitions=partitions,
                logs=logs,
                timeout=scale.timeout,
                report=report,
            ),
        )
        results["baseline"] = run.stage(
            "baseline",
            lambda: run_baseline(
                admin,
                settings,
                value_size=size,
                partitions=partitions,
                count=scale.baseline_messages,
                latency_rate=LATENCY_RATES[-1],
                latency_seconds=scale.baseline_latency_seconds,
            ),
        )
        results["faust"] = run.stage(
            "faust",
            lambda: empty_agent(
                cluster_home,
                admin,
                partitions=partitions,
                size=size,
                count=scale.faust_events,
                variants=VARIANTS,
            ),
        )
        producer: dict[str, Any] = {}
        backlog: Backlog | None = None
        for recipients in (3, 1):  # the last batch published is the processors' backlog
            published = run.stage(
                f"producer_{recipients}",
                lambda n=recipients: run_publisher(  # type: ignore[misc]
                    settings,
                    recipients=n,
                    count=scale.alerts,
                    partitions=partitions,
                    tag=f"bench-{time.time_ns()}-r{n}",
                ),
            )
            if published is not None:
                producer[str(recipients)], backlog = published
        results["producer"] = producer
        processor: dict[str, Any] = {}
        routed_range: tuple[list[TopicPartition], int] | None = None
        for workers in (1, 2):
            if backlog is None:
                break
            routed = run.stage(
                f"processor_{workers}",
                lambda w=workers, b=backlog: run_processor(  # type: ignore[misc]
                    cluster_home,
                    admin,
                    b,
                    workers=w,
                    partitions=partitions,
                    logs=logs,
                    timeout=scale.timeout,
                ),
            )
            if routed is not None:
                processor[str(workers)], start = routed
                routed_range = (start, processor[str(workers)]["routed"])
        results["processor"] = processor
        results["consumer"] = None
        if routed_range is not None:
            start, count = routed_range
            results["consumer"] = run.stage(
                "consumer", lambda: run_consumer(settings, start, count, scale.timeout)
            )
        results["latency"] = run.stage(
            "latency",
            lambda: run_latency(
                settings,
                rates=LATENCY_RATES,
                seconds=scale.latency_seconds,
                partitions=partitions,
                logs=logs,
                timeout=scale.catch_up,
            ),
        )
    results["stages"] = run.stages
    results["errors"] = run.errors
    results["worker_logs"] = str(logs)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    results.update(summarize(results))
    return results
