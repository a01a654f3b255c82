"""The results as the terminal shows them: one table per section, targets last."""

from __future__ import annotations

from typing import Any

from .bound import OPERATIONS
from .summary import lookup

__all__ = ["render"]


def _n(value: Any, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{unit}"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def _header(results: dict[str, Any]) -> list[str]:
    machine = results.get("machine", {})
    stages = results.get("stages", {})
    loads = [s["load_before"] for s in stages.values()] + [s["load_after"] for s in stages.values()]
    load = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"
    dirty = [s["dirty_mb"] for s in stages.values() if s.get("dirty_mb") is not None]
    syncs = [s["sync_s"] for s in stages.values() if "sync_s" in s]
    written = (
        [
            f"  written back before each stage: up to {max(dirty):,.0f} MB, sync up to {max(syncs):.1f} s"
        ]
        if dirty and syncs
        else []
    )
    return [
        f"Corridor benchmark ({results.get('scale')}), {results.get('date')}",
        f"  {machine.get('cpus')} CPUs ({machine.get('cpu_model') or 'unknown model'}), "
        f"Python {machine.get('python')}, load average {load} while measuring",
        f"  broker: {results['broker']['nodes']} node, {results['broker']['security']}; "
        f"alert {results.get('alert_bytes')} bytes encoded; "
        f"sealed under {_suite(results.get('sealing'))}",
        *written,
        "",
    ]


def _suite(sealing: dict[str, Any] | None) -> str:
    if not sealing:
        return "-"
    name = str(sealing["suite"]).split(":", 1)[0]
    if sealing["key_reuse_alerts"] <= 1:
        return f"{name} (a wrap per alert)"
    return (
        f"{name} (a wrap reused for {_n(sealing['key_reuse_alerts'])} alerts "
        f"or {_n(sealing['key_reuse_seconds'])} s)"
    )


def _bound(results: dict[str, Any]) -> list[str]:
    table = results.get("bound") or {}
    lines = [f"{'Bound, per core (CPU time of one thread)':<44}{'ops/s':>10}{'us':>9}"]
    for key, label in OPERATIONS:
        row = table.get(key)
        if row:
            lines.append(f"  {label:<42}{_n(row['per_s']):>10}{_n(row['us'], 1):>9}")
    return [*lines, ""]


def _warm_up(results: dict[str, Any]) -> list[str]:
    warm = results.get("warm_up")
    if not warm:
        return ["Broker warm-up: not run", ""]
    compiler = ", ".join(f"{r['compiler_cpu_s']:.1f}" for r in warm["rounds"])
    alerts = warm["rounds"][0]["alerts"] if warm["rounds"] else 0
    if not warm["broker_local"]:
        how = "the broker is not on this machine: fixed rounds"
    else:
        how = "settled" if warm["settled"] else "NOT settled (the stages share the cores with it)"
    return [
        f"Broker warm-up: {len(warm['rounds'])} round(s) of {_n(alerts)} alerts through the "
        f"pipeline; JIT compiler CPU s per round: {compiler or '-'} ({how})",
        "",
    ]


def _baseline(results: dict[str, Any]) -> list[str]:
    base = results.get("baseline")
    if not base:
        return ["Baseline: not measured", ""]
    lat = base.get("latency", {})
    return [
        f"Baseline: plain confluent-kafka, {base['message_bytes']}-byte messages, same broker",
        f"  produce (acks=all, idempotent)  {_n(base['produce_per_s']):>10}/s"
        f"   produce call {_n(base['produce_call_us'], 1)} us",
        f"  consume                         {_n(base['consume_per_s']):>10}/s",
        f"  produce -> read at {_n(lat.get('rate_per_s'))}/s: p50 {_n(lat.get('p50_ms'), 1)} ms"
        f", p99 {_n(lat.get('p99_ms'), 1)} ms, p99.9 {_n(lat.get('p999_ms'), 1)} ms",
        "",
    ]


def _faust(results: dict[str, Any]) -> list[str]:
    probe = results.get("faust") or {}
    lines = [f"{'faust, empty agent':<24}{'events/s':>10}{'us wall':>9}{'us CPU':>9}"]
    for name, row in probe.items():
        lines.append(
            f"  {name:<22}{_n(row['per_s']):>10}{_n(row['us'], 1):>9}{_n(row['cpu_us'], 1):>9}"
        )
    return [*lines, ""]


def _stages(results: dict[str, Any]) -> list[str]:
    lines = [
        f"{'Stage':<28}{'alerts/s':>9}{'bound/s':>9}{'of bound':>9}"
        f"{'CPU us':>10}{'bound us':>9}{'CPU of bound':>13}"
    ]
    rows = [
        ("producer, 1 recipient", "producer.1.per_s", "producer.1.cpu_us", "producer_1"),
        ("producer, 3 recipients", "producer.3.per_s", "producer.3.cpu_us", "producer_3"),
        ("processor, 1 worker", "processor.1.per_s", "processor.1.cpu_us", "processor"),
        ("processor, 2 workers", "processor.2.per_s", "processor.2.cpu_us", None),
        ("consumer", "consumer.per_s", "consumer.cpu_us", "consumer"),
    ]
    for label, rate, cpu, ratio_key in rows:
        ratio = lookup(results, f"ratios.{ratio_key}") if ratio_key else None
        ratio = ratio or {}
        lines.append(
            f"  {label:<26}{_n(lookup(results, rate)):>9}{_n(ratio.get('bound_per_s')):>9}"
            f"{_pct(ratio.get('of_bound')):>9}{_n(lookup(results, cpu), 1):>10}"
            f"{_n(ratio.get('bound_us'), 1):>9}{_pct(ratio.get('cpu_of_bound')):>13}"
        )
    scale = lookup(results, "ratios.processor_scale")
    lines.append(f"  two workers over one: {'-' if scale is None else f'{scale:.2f}x'}")
    for workers in ("1", "2"):
        routing = lookup(results, f"processor.{workers}.routing_per_s")
        after = lookup(results, f"processor.{workers}.correlated_after_s")
        if routing is not None:
            lines.append(
                f"  processor, {workers} worker(s): deliveries alone {_n(routing)}/s, "
                f"correlation done {after}s after the last delivery"
            )
    return [*lines, ""]


def _latency(results: dict[str, Any]) -> list[str]:
    lines = [
        "End-to-end latency, publish call -> sink confirmation (one processor worker)",
        f"  {'rate':>8}{'alerts':>8}{'achieved':>10}{'p50 ms':>10}{'p99 ms':>10}"
        f"{'p99.9 ms':>10}{'max ms':>10}{'undelivered':>13}",
    ]
    for rate, row in (results.get("latency") or {}).items():
        lines.append(
            f"  {rate + '/s':>8}{_n(row.get('alerts')):>8}{_n(row.get('achieved_rate_per_s')):>10}"
            f"{_n(row.get('p50_ms'), 1):>10}{_n(row.get('p99_ms'), 1):>10}"
            f"{_n(row.get('p999_ms'), 1):>10}{_n(row.get('max_ms'), 1):>10}"
            f"{_n(row.get('undelivered')):>13}"
        )
    for rate, row in (results.get("latency") or {}).items():
        legs = row.get("legs") or {}
        shown = ", ".join(
            f"{leg} {_n(leg_row.get('p50_ms'), 1)}/{_n(leg_row.get('p99_ms'), 1)}"
            for leg, leg_row in legs.items()
        )
        if shown:
            lines.append(f"  legs at {rate}/s (p50/p99 ms): {shown}")
    for rate, row in (results.get("latency") or {}).items():
        cpu = row.get("cpu_us_per_alert") or {}
        if cpu:
            shown = ", ".join(f"{name} {_n(us)}" for name, us in cpu.items())
            lines.append(
                f"  CPU at {rate}/s (us per alert): {shown}; "
                f"{_n(row.get('cpu_cores'), 2)} cores in all"
            )
    pipe = lookup(results, "ratios.pipeline") or {}
    lines += [
        "",
        f"Pipeline: {_n(pipe.get('per_s'))} alerts/s, {_pct(pipe.get('of_baseline'))} of plain "
        f"Kafka's {_n(pipe.get('baseline_per_s'))} messages/s; p99 at 1,000/s "
        f"{_n(pipe.get('p99_ms_at_1000'), 1)} ms (plain Kafka "
        f"{_n(pipe.get('baseline_p99_ms_at_1000'), 1)} ms)",
        "",
    ]
    return lines


def _targets(results: dict[str, Any]) -> list[str]:
    lines = ["Targets (issue 8)"]
    for target in results.get("targets", []):
        mark = {True: "met", False: "MISSED", None: "n/a"}[target["met"]]
        value = target["value"]
        shown = "-" if value is None else f"{value:,.2f}"
        lines.append(f"  [{mark:^6}] {target['name']:<40} {shown:>9} ({target['target']})")
    for stage, error in (results.get("errors") or {}).items():
        lines.append(f"  error in {stage}: {error}")
    return lines


def render(results: dict[str, Any]) -> str:
    parts = _header(results) + _bound(results) + _warm_up(results)
    parts += _baseline(results) + _faust(results)
    parts += _stages(results) + _latency(results) + _targets(results)
    return "\n".join(parts)
