"""``corridor directory``: publish the agencies and agreements and provision access."""

from __future__ import annotations

import json
from pathlib import Path

import click

from corridor.cli.context import CliContext
from corridor.directory import directory_to_data
from corridor.directory_apply import apply_directory
from corridor.directory_topic import read_directory
from corridor.workspace import Workspace


@click.group()
def directory() -> None:
    """The signed directory of agencies, their keys, and the agreements in force."""


@directory.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--use-local-keys",
    is_flag=True,
    help="Use (and create if missing) each agency's key files under the Corridor home "
    "instead of the public keys in FILE: for local networks and demos.",
)
@click.pass_obj
def apply(ctx: CliContext, file: Path, use_local_keys: bool) -> None:
    """Validate, sign and publish FILE; provision topics, users and ACLs to match."""
    result = apply_directory(
        Workspace(ctx.home), ctx.settings(), file, use_local_keys=use_local_keys
    )
    d = result.directory
    click.echo(
        f"published directory version {d.version}: {len(d.agencies)} agencies, "
        f"{len(d.agreements)} agreements ({result.records} records)"
    )
    rep = result.provisioned
    if rep.topics_created:
        click.echo(f"created topics: {', '.join(rep.topics_created)}")
    if result.keys_generated:
        click.echo(f"generated keys for: {', '.join(result.keys_generated)}")
    if rep.suspended:
        click.echo(f"no access (not active): {', '.join(rep.suspended)}")
    if rep.users_removed:
        click.echo(f"removed agencies: {', '.join(rep.users_removed)}")
    if rep.acls_removed:
        click.echo(f"removed {rep.acls_removed} stale ACLs")


@directory.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(ctx: CliContext, as_json: bool) -> None:
    """Print the directory currently published (verified against the authority key)."""
    ws = Workspace(ctx.home)
    d = read_directory(ws.admin_connection(), ws.authority_public_key())
    if as_json:
        click.echo(json.dumps(directory_to_data(d), indent=2))
        return
    click.echo(f"directory version {d.version}, issued {d.issued_at.isoformat()}")
    for agency in d.agencies.values():
        click.echo(
            f"  {agency.id:<14} {agency.country} {agency.kind.value:<20} {agency.status.value}"
        )
    for agreement in d.agreements.values():
        parties = ",".join(sorted(agreement.parties))
        click.echo(
            f"  {agreement.id:<14} {agreement.kind.value:<13} {parties:<20} {agreement.status.value}"
        )
