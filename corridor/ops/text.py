"""The operations reports as plain-text tables, for people at a terminal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from corridor.ops.model import AgreementReport, StatusReport, iso


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, indent: str = "  ") -> str:
    """Columns padded to their widest cell; numbers right-aligned, text left-aligned."""
    cells = [[str(h) for h in headers], *[["-" if v is None else str(v) for v in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float) or r[i] is None for r in rows)
        for i in range(len(headers))
    ]
    lines = []
    for row in cells:
        padded = [
            cell.rjust(widths[i]) if numeric[i] else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append(indent + "  ".join(padded).rstrip())
    return "\n".join(lines)


def duration(seconds: float | None) -> str:
    """``95`` -> ``1m35s``; for times to acknowledge, where seconds are too fine to read."""
    if seconds is None:
        return "-"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def _section(title: str, body: str, empty: str) -> str:
    return f"{title}\n{body}" if body else f"{title}\n  {empty}"


def render_status(report: StatusReport) -> str:
    corridors = table(
        ["corridor", "1 min", "1 hour", "denied 1 hour"],
        [
            (c.corridor, c.delivered_minute, c.delivered_hour, c.denied_hour)
            for c in report.corridors
        ],
    )
    agencies = table(
        ["agency", "1 min", "1 hour"],
        [(a.agency, a.delivered_minute, a.delivered_hour) for a in report.agencies],
    )
    decisions = table(
        ["outcome", "reason", "last hour"],
        [(d.outcome, d.reason, d.count) for d in report.decisions],
    )
    dead = table(
        ["reason", "last hour", "total"],
        [(d.reason, d.last_hour, d.total) for d in report.dead_letters],
    )
    lag = table(
        ["topic", "group", "lag", "committed"],
        [(g.topic, g.group, g.lag, "yes" if g.committed else "never") for g in report.lags],
    )
    w = report.workers
    parts = [
        f"Corridor status at {iso(report.generated_at)}",
        f"brokers: {report.brokers}   processor workers alive: {w.members} "
        f"(group {w.group}, {w.state}, {w.partitions} partitions assigned)",
        f"delivered: {report.delivered_minute} in the last minute, "
        f"{report.delivered_hour} in the last hour; denied: {report.denied_hour} in the last hour",
        _section("Delivered per corridor", corridors if report.corridors else "", "none"),
        _section("Delivered per recipient agency", agencies if report.agencies else "", "none"),
        _section("Decisions in the last hour", decisions if report.decisions else "", "none"),
        _section("Dead letters", dead if report.dead_letters else "", "none"),
        _section("Consumer lag", lag if report.lags else "", "no topics"),
    ]
    return "\n\n".join(parts) + "\n"


def _day(when: datetime | None) -> str:
    return "-" if when is None else when.strftime("%Y-%m-%d %H:%M")


def render_agreements(report: AgreementReport) -> str:
    rows = [
        (
            a.agreement_id,
            a.status,
            a.exchanges,
            "-" if a.ack_rate is None else f"{a.ack_rate:.0%}",
            duration(a.median_ack_seconds),
            a.overdue,
            _day(a.last_exchange),
            "DORMANT" if a.dormant else "",
        )
        for a in report.agreements
    ]
    body = table(
        ["agreement", "status", "exchanges", "acked", "median ack", "overdue", "last", ""],
        rows,
    )
    head = (
        f"Agreement follow-up at {iso(report.generated_at)}: exchanges and acknowledgements "
        f"over the last {report.period_days:g} days; dormant after "
        f"{report.dormant_after_days:g} days without an exchange"
    )
    return f"{head}\n{body if rows else '  no agreements'}\n"
