"""``corridor publish``: put one alert or a whole JSON-lines file on the network.

Progress goes to stderr (a bar on a terminal, a line every few seconds otherwise) so
stdout carries only the closing summary, plain or ``--json``. The exit code is 0 only
when every record was published (or, with ``--dry-run``, would be).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click
from prometheus_client import CollectorRegistry

from corridor.cli.context import CliContext
from corridor.metrics import serve_metrics
from producers import BulkSummary, count_lines, open_publisher, publish_all, read_alerts

#: Failures listed one by one in the plain summary; --json lists them all.
SHOWN_FAILURES = 20
BAR = 30


class _Progress:
    """Reports a bulk run on stderr without slowing it: at most a few writes a second."""

    def __init__(self, total: int | None, *, tty: bool) -> None:
        self._total = total
        self._tty = tty
        self._every = 0.25 if tty else 2.0
        self._last = time.monotonic()

    def __call__(self, summary: BulkSummary) -> None:
        now = time.monotonic()
        if now - self._last >= self._every and summary.submitted + summary.failed > 1:
            self._last = now
            self._write(summary)

    def _write(self, summary: BulkSummary, *, final: bool = False) -> None:
        done = summary.published + summary.failed
        rate = summary.published / summary.elapsed if summary.elapsed > 0 else 0.0
        of = f"/{self._total:,}" if self._total else ""
        verb = "checked" if summary.dry_run else "published"
        text = (
            f"progress: {summary.submitted + summary.failed:,}{of} read, {done:,} answered "
            f"({summary.published:,} {verb}, {summary.failed:,} failed), {rate:,.0f} alerts/s"
        )
        if self._tty:
            if self._total:
                filled = min(BAR, BAR * (summary.published + summary.failed) // self._total)
                text = f"[{'#' * filled}{'.' * (BAR - filled)}] {text[len('progress: ') :]}"
            click.echo("\r" + text.ljust(110), err=True, nl=final)
        else:
            click.echo(text, err=True)

    def done(self, summary: BulkSummary) -> None:
        if summary.published + summary.failed + summary.not_attempted > 1:
            self._write(summary, final=True)


@contextmanager
def _opened(source: Path) -> Iterator[IO[bytes]]:
    if str(source) == "-":
        yield sys.stdin.buffer
        return
    with source.open("rb") as handle:
        yield handle


def _plain(summary: BulkSummary) -> str:
    verb = "would publish" if summary.dry_run else "published"
    total = summary.published + summary.failed + summary.not_attempted
    rate = summary.published / summary.elapsed if summary.elapsed > 0 else 0.0
    head = f"{verb} {summary.published:,} of {total:,} alert(s) in {summary.elapsed:.1f}s"
    if summary.published > 1:
        head += f" ({rate:,.0f} alerts/s)"
    head += f"; failed {summary.failed:,}"
    if summary.not_attempted:
        head += f"; not attempted {summary.not_attempted:,}"
    lines = [head]
    if summary.stopped:
        lines.append(f"stopped: {summary.stopped}")
    if total <= SHOWN_FAILURES:
        for p in sorted(summary.first_published, key=lambda p: p.line):
            where = "" if p.partition is None else f" -> partition {p.partition}, offset {p.offset}"
            lines.append(
                f"  line {p.line}: alert {p.alert_id} ({p.corridor}){where}; "
                f"sealed for {', '.join(p.recipients)}"
            )
    if summary.corridors:
        lines.append("per corridor:")
        for key, tally in sorted(summary.corridors.items()):
            lines.append(f"  {key:<9} {tally.published:>9,} {verb:<13} {tally.failed:>7,} failed")
    if summary.failures:
        reasons = ", ".join(f"{code} {n:,}" for code, n in summary.reasons().items())
        lines.append(f"failures by reason: {reasons}")
        ordered = sorted(summary.failures, key=lambda f: f.line)
        for failure in ordered[:SHOWN_FAILURES]:
            lines.append(f"  line {failure.line}: {failure.code}: {failure.message}")
        if len(ordered) > SHOWN_FAILURES:
            lines.append(f"  ... and {len(ordered) - SHOWN_FAILURES:,} more (use --json)")
    return "\n".join(lines)


@click.command()
@click.argument(
    "source",
    metavar="FILE|-",
    type=click.Path(exists=False, dir_okay=False, allow_dash=True, path_type=Path),
)
@click.option("--as", "agency", required=True, metavar="AGENCY", help="The issuing agency id.")
@click.option(
    "--strict",
    is_flag=True,
    help="Check every record first and send nothing if any fails; stop at the first "
    "delivery failure.",
)
@click.option("--dry-run", is_flag=True, help="Check and seal every record; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress on stderr (default: on when there is more than one alert).",
)
@click.option(
    "--serve-metrics",
    "metrics",
    is_flag=True,
    help="Serve Prometheus metrics on producer.metrics_port while publishing.",
)
@click.pass_obj
def publish(
    ctx: CliContext,
    source: Path,
    *,
    agency: str,
    strict: bool,
    dry_run: bool,
    as_json: bool,
    progress: bool | None,
    metrics: bool,
) -> None:
    """Publish the alert(s) in FILE (one JSON object, or JSON lines; - reads stdin).

    The input format is described in docs/publish-format.md. A bad record is reported
    with its line number and does not stop the others (unless --strict).
    """
    from_stdin = str(source) == "-"
    if not from_stdin and not source.is_file():
        raise click.BadParameter(f"{source} is not a readable file", param_hint="FILE")
    settings = ctx.settings()
    registry = CollectorRegistry()
    if metrics:
        port, address = settings.producer.metrics_port, settings.producer.listen_address
        try:
            serve_metrics(registry, port, address)
        except OSError as exc:
            raise click.ClickException(
                f"cannot serve metrics on {address} port {port}: {exc}"
            ) from exc
    total = None if from_stdin else count_lines(source)
    show = progress if progress is not None else (total is None or total > 1)
    reporter = _Progress(total, tty=sys.stderr.isatty()) if show else None
    with _opened(source) as stream:
        publisher = open_publisher(settings, agency, registry=registry, dry_run=dry_run)
        try:
            summary = publish_all(publisher, read_alerts(stream), strict=strict, progress=reporter)
        finally:
            publisher.close()
    summary.finish()
    if reporter is not None:
        reporter.done(summary)
    click.echo(json.dumps(summary.to_json(), indent=2) if as_json else _plain(summary))
    if not summary.ok:
        raise SystemExit(1)
