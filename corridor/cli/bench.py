"""``corridor bench``: the benchmark suite (see :mod:`corridor.cli.benchmarks`)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import click

from corridor.cli.benchmarks import FULL, QUICK, render, run_suite
from corridor.cli.context import CliContext
from corridor.config import settings_file
from corridor.exceptions import CorridorError


class BenchmarkError(CorridorError):
    """A stage of the benchmark failed; the results written say which and why."""


def results_path(folder: Path, quick: bool) -> Path:
    """``<folder>/<date>.json`` (``<date>-quick.json`` for a quick run)."""
    day = datetime.now(UTC).date().isoformat()
    return folder / f"{day}{'-quick' if quick else ''}.json"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--quick", is_flag=True, help="A small run (about two minutes) that checks everything works."
)
@click.option(
    "--results-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("bench/results"),
    show_default=True,
    help="Where the results file goes.",
)
@click.option(
    "--use-home",
    is_flag=True,
    help="Measure the cluster of --home (sample network applied) instead of starting one.",
)
@click.pass_obj
def bench(ctx: CliContext, as_json: bool, quick: bool, results_dir: Path, use_home: bool) -> None:
    """Measure the bound, plain Kafka, each stage and end-to-end latency in one run.

    Starts its own one-node TLS cluster in a temporary home (stopped at the end) unless
    --use-home is given. Every stage runs with the settings of --config (or
    ./corridor.toml, and CORRIDOR_* variables). Progress goes to stderr; the table (or
    JSON) to stdout.
    """
    scale = QUICK if quick else FULL
    # The components log every alert at INFO; here only their problems are of interest.
    quiet = logging.getLogger("corridor")
    quiet.setLevel(max(quiet.getEffectiveLevel(), logging.WARNING))
    results = run_suite(
        ctx.home if use_home else None,
        scale,
        report=lambda message: click.echo(f"bench: {message}", err=True),
        settings=ctx.settings(),
        config=settings_file(ctx.config),
    )
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_path(results_dir, quick)
    path.write_text(json.dumps(results, indent=2) + "\n")
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        click.echo(render(results))
        click.echo(f"\nresults written to {path}")
    if results["errors"]:
        raise BenchmarkError(f"{len(results['errors'])} stage(s) failed: see {path}")
