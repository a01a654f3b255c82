"""``corridor schemas``: put the event schemas into a schema registry and show what it holds.

The registry is the one ``corridor infra up --registry`` recorded in ``connection.json``,
unless ``--url`` (or ``CORRIDOR_SCHEMA_REGISTRY_URL``) names another.
"""

from __future__ import annotations

import json

import click

from corridor.cli.context import CliContext
from corridor.exceptions import ConfigError
from corridor.schema_registry import SchemaRegistry

_URL_OPTION = click.option(
    "--url",
    envvar="CORRIDOR_SCHEMA_REGISTRY_URL",
    help="The registry's Confluent-compatible API [default: the one in connection.json].",
)


def _registry(ctx: CliContext, url: str | None) -> SchemaRegistry:
    if url is None:
        url = ctx.connection().schema_registry_url
        if url is None:
            raise ConfigError(
                f"no schema registry is configured in {ctx.home / 'connection.json'}: "
                "start one with 'corridor infra up --registry' or pass --url"
            )
    return SchemaRegistry(url)


@click.group()
def schemas() -> None:
    """Register Corridor's event schemas with a schema registry and list them."""


@schemas.command()
@_URL_OPTION
@click.pass_obj
def register(ctx: CliContext, url: str | None) -> None:
    """Register every version of every event schema (safe to run again).

    Subjects are the events' full record names (corridor.alert.CaseAlert...), each set
    to BACKWARD compatibility.
    """
    registry = _registry(ctx, url)
    for done in registry.register():
        click.echo(f"{done.subject} -> id {done.schema_id} (version {done.version})")


@schemas.command("list")
@_URL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_(ctx: CliContext, url: str | None, as_json: bool) -> None:
    """Show each event's subject, its versions and ids, and whether it is up to date."""
    states = _registry(ctx, url).states()
    if as_json:
        rows = [
            {
                "event": s.event,
                "subject": s.subject,
                "versions": [{"version": v, "id": i} for v, i in s.versions],
                "current_id": s.current_id,
            }
            for s in states
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for state in states:
        if not state.versions:
            click.echo(f"{state.subject}  not registered")
            continue
        versions = ", ".join(f"v{v}=id {i}" for v, i in state.versions)
        current = (
            f"current id {state.current_id}"
            if state.current_id is not None
            else "current schema NOT registered"
        )
        click.echo(f"{state.subject}  {versions}  ({current})")
