"""``corridor``: one command, one subcommand per job (DESIGN.md section 4).

Errors we raise on purpose (:class:`CorridorError`) print as one sentence and exit 1;
anything else is a bug and keeps its stack trace.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from corridor.cli.ack import ack
from corridor.cli.agreements import agreements
from corridor.cli.bench import bench
from corridor.cli.consume import consume
from corridor.cli.context import CliContext
from corridor.cli.demo import demo
from corridor.cli.directory import directory
from corridor.cli.inbox import inbox
from corridor.cli.infra import infra
from corridor.cli.keys import keys
from corridor.cli.process import process
from corridor.cli.publish import publish
from corridor.cli.schemas import schemas
from corridor.cli.status import status
from corridor.config import CONFIG_VARIABLE
from corridor.exceptions import CorridorError
from corridor.logs import configure_logging


@click.group()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CORRIDOR_HOME",
    default=Path(".corridor"),
    show_default=True,
    help="Where the local cluster, its connection settings and keys live.",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=CONFIG_VARIABLE,
    help="Settings file (default: ./corridor.toml when present).",
)
@click.option("--log-level", default="INFO", show_default=True, envvar="CORRIDOR_LOG_LEVEL")
@click.option("--log-json", is_flag=True, envvar="CORRIDOR_LOG_JSON", help="Log lines as JSON.")
@click.pass_context
def cli(
    ctx: click.Context, home: Path, config: Path | None, log_level: str, log_json: bool
) -> None:
    """Corridor: secure sharing of anti-trafficking case alerts between agencies."""
    configure_logging(log_level, as_json=log_json)
    ctx.obj = CliContext(home=home, config=config)


cli.add_command(infra)
cli.add_command(directory)
cli.add_command(keys)
cli.add_command(process)
cli.add_command(publish)
cli.add_command(consume)
cli.add_command(ack)
cli.add_command(inbox)
cli.add_command(schemas)
cli.add_command(status)
cli.add_command(agreements)
cli.add_command(demo)
cli.add_command(bench)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CorridorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
