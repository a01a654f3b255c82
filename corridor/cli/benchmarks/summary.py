"""From raw measurements to what they mean: bounds per stage, ratios, targets.

Two ratios per stage (docs/performance.md explains how to read them):

* ``of_bound``: the stage's alerts per second (wall clock) over its bound's rate;
* ``cpu_of_bound``: the bound's CPU cost per alert over the CPU the stage actually
  spent per alert. It barely moves when other programs load the machine, so it is the
  figure to compare between runs; ``of_bound`` is what an operator would see.
"""

from __future__ import annotations

from typing import Any

from .bound import stage_bounds

__all__ = ["TARGETS", "summarize"]

#: (name, what is compared, comparison, threshold) from issue 8.
TARGETS: tuple[tuple[str, str, str, float], ...] = (
    ("producer, 1 recipient, of its bound", "ratios.producer_1.of_bound", ">=", 0.8),
    ("producer, 3 recipients, of its bound", "ratios.producer_3.of_bound", ">=", 0.8),
    ("processor, one worker, of its bound", "ratios.processor.of_bound", ">=", 0.8),
    ("two processor workers over one", "ratios.processor_scale", ">=", 1.6),
    ("p99 latency at 100 alerts/s (ms)", "latency.100.p99_ms", "<=", 50.0),
    ("p99 latency at 1,000 alerts/s (ms)", "latency.1000.p99_ms", "<=", 250.0),
)


def lookup(data: Any, path: str) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``; None where anything along the way is missing."""
    for part in path.split("."):
        if not isinstance(data, dict) or data.get(part) is None:
            return None
        data = data[part]
    return data


def _ratio(rate: float | None, cpu_us: float | None, bound_us: float | None) -> dict[str, Any]:
    if not bound_us:
        return {"bound_us": None, "bound_per_s": None, "of_bound": None, "cpu_of_bound": None}
    return {
        "bound_us": bound_us,
        "bound_per_s": round(1e6 / bound_us, 1),
        "of_bound": round(rate * bound_us / 1e6, 3) if rate else None,
        "cpu_of_bound": round(bound_us / cpu_us, 3) if cpu_us else None,
    }


def _pipeline(results: dict[str, Any]) -> dict[str, Any]:
    """The slowest stage as deployed (one publisher, the better processor run, one
    consumer) against the slower half of plain Kafka, for throughput and latency."""
    stages = [
        lookup(results, "producer.1.per_s"),
        max(
            (lookup(results, f"processor.{n}.per_s") or 0.0 for n in ("1", "2")),
            default=0.0,
        )
        or None,
        lookup(results, "consumer.per_s"),
    ]
    plain = [lookup(results, "baseline.produce_per_s"), lookup(results, "baseline.consume_per_s")]
    pipeline = min(stages) if all(stages) else None
    baseline = min(plain) if all(plain) else None
    p99 = lookup(results, "latency.1000.p99_ms")
    plain_p99 = lookup(results, "baseline.latency.p99_ms")
    return {
        "per_s": pipeline,
        "baseline_per_s": baseline,
        "of_baseline": round(pipeline / baseline, 4) if pipeline and baseline else None,
        "p99_ms_at_1000": p99,
        "baseline_p99_ms_at_1000": plain_p99,
    }


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The ``bounds``, ``ratios`` and ``targets`` sections of the results."""
    table = results.get("bound")
    produce_call = lookup(results, "baseline.produce_call_us")
    faust_us = lookup(results, "faust.processor.cpu_us")
    bounds: dict[str, float] = {}
    if table and produce_call is not None and faust_us is not None:
        bounds = stage_bounds(table, produce_call, faust_us)
    elif table:
        bounds = stage_bounds(table, produce_call or 0.0, faust_us or 0.0)
    ratios: dict[str, Any] = {}
    for recipients in ("1", "3"):
        ratios[f"producer_{recipients}"] = _ratio(
            lookup(results, f"producer.{recipients}.per_s"),
            lookup(results, f"producer.{recipients}.cpu_us"),
            bounds.get(f"producer_{recipients}"),
        )
    ratios["processor"] = _ratio(
        lookup(results, "processor.1.per_worker_per_s"),
        lookup(results, "processor.1.cpu_us"),
        bounds.get("processor"),
    )
    ratios["consumer"] = _ratio(
        lookup(results, "consumer.per_s"),
        lookup(results, "consumer.cpu_us"),
        bounds.get("consumer"),
    )
    one, two = lookup(results, "processor.1.per_s"), lookup(results, "processor.2.per_s")
    ratios["processor_scale"] = round(two / one, 3) if one and two else None
    ratios["pipeline"] = _pipeline(results)
    merged = {**results, "ratios": ratios}
    targets = []
    for name, path, comparison, threshold in TARGETS:
        value = lookup(merged, path)
        met = None
        if value is not None:
            met = value >= threshold if comparison == ">=" else value <= threshold
        targets.append(
            {"name": name, "value": value, "target": f"{comparison} {threshold:g}", "met": met}
        )
    return {"bounds_us": bounds, "ratios": ratios, "targets": targets}
