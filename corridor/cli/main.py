"""``corridor``: one command, one subcommand per job (DESIGN.md section 4).

Errors we raise on purpose (:class:`CorridorError`) print as one sentence and exit 1;
anything else is a bug and keeps its stack trace.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from corridor.cli.context import CliContext
from corridor.cli.infra import infra
from corridor.cli.keys import keys
from corridor.exceptions import CorridorError


@click.group()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CORRIDOR_HOME",
    default=Path(".corridor"),
    show_default=True,
    help="Where the local cluster, its connection settings and keys live.",
)
@click.pass_context
def cli(ctx: click.Context, home: Path) -> None:
    """Corridor: secure sharing of anti-trafficking case alerts between agencies."""
    ctx.obj = CliContext(home=home)


cli.add_command(infra)
cli.add_command(keys)


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
