"""Broker warm-up: the pipeline's traffic until the broker's JIT compiler has settled.

A broker that has just started compiles its hot code while it serves: on a 2-core
machine the JVM's compiler threads took 14 CPU seconds during the first 8,000 alerts
through the pipeline, 7 during the next 8,000 and under 2 during the third, about half
of the broker's CPU at first. Every stage measured in that time competes with the
compiler for the cores, and a broker in service has long finished compiling. So before
anything that uses the broker is measured, rounds of the pipeline's own work (publish,
route with one worker, deliver) run unmeasured until a round's compiler time falls
below ``settled`` of its wall time, or ``max_rounds`` have run. Each round's compiler
and broker CPU are recorded, so the results show what the warm-up did.

The compiler threads are found by name in ``/proc/<pid>/task`` (HotSpot's ``C1`` and
``C2 CompilerThread``); a broker whose process is not on this machine gets the fixed
number of rounds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corridor.config import Settings
from corridor.connection import Connection
from corridor.infra.cluster import LocalCluster

from .consuming import run_consumer
from .processing import run_processor
from .publishing import run_publisher
from .workload import proc_cpu_seconds

__all__ = ["WarmUp", "broker_pids", "compiler_cpu_seconds", "warm_up"]


@dataclass(frozen=True, slots=True)
class WarmUp:
    """How much warm-up one run does."""

    alerts_per_round: int
    max_rounds: int
    #: A round whose compiler time is under this share of its wall time ends the warm-up.
    settled: float = 0.1


def broker_pids(home: Path) -> list[int]:
    """The local broker processes of the cluster in ``home`` (none if it is not local)."""
    try:
        cluster = LocalCluster(home)
        pids = [cluster.pid_of(node.node_id) for node in cluster.nodes()]
    except Exception:  # no local cluster state: a broker elsewhere
        return []
    return [pid for pid in pids if pid is not None and Path(f"/proc/{pid}").exists()]


def compiler_cpu_seconds(pid: int) -> float:
    """CPU time of the JVM's JIT compiler threads so far (0 if none are found)."""
    ticks = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tasks:
        try:
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            if "CompilerThre" not in name:
                continue
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a thread that ended while being read
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _broker_seconds(pids: list[int]) -> tuple[float, float]:
    return (
        sum(proc_cpu_seconds(p) for p in pids),
        sum(compiler_cpu_seconds(p) for p in pids),
    )


def warm_up(
    settings: Settings,
    admin: Connection,
    plan: WarmUp,
    *,
    partitions: int,
    logs: Path,
    timeout: float,
    report: Callable[[str], None],
) -> dict[str, Any]:
    """Run warm-up rounds (see the module docstring); what each one cost the broker."""
    pids = broker_pids(settings.home)
    rounds: list[dict[str, Any]] = []
    settled = False
    for number in range(1, plan.max_rounds + 1):
        started = time.perf_counter()
        broker_before, compiler_before = _broker_seconds(pids)
        _published, backlog = run_publisher(
            settings,
            recipients=1,
            count=plan.alerts_per_round,
            partitions=partitions,
            tag=f"warm-{time.time_ns()}",
        )
        routed, start = run_processor(
            settings.home,
            admin,
            backlog,
            workers=1,
            partitions=partitions,
            logs=logs,
            timeout=timeout,
        )
        run_consumer(settings, start, routed["routed"], timeout)
        seconds = time.perf_counter() - started
        broker_after, compiler_after = _broker_seconds(pids)
        compiler = compiler_after - compiler_before
        rounds.append(
            {
                "alerts": plan.alerts_per_round,
                "seconds": round(seconds, 1),
                "broker_cpu_s": round(broker_after - broker_before, 2),
                "compiler_cpu_s": round(compiler, 2),
            }
        )
        report(f"warm-up round {number}: broker JIT compiler {compiler:.1f} s in {seconds:.0f} s")
        settled = bool(pids) and compiler < plan.settled * seconds
        if settled:
            break
    return {"rounds": rounds, "broker_local": bool(pids), "settled": settled}
