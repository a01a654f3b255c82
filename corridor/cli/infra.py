"""``corridor infra``: a local, secured Apache Kafka for development, demos and tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click

from corridor.cli.context import CliContext
from corridor.infra.cluster import DEFAULT_BASE_PORT, LocalCluster
from corridor.infra.registry import DEFAULT_REGISTRY_PORT, REGISTRY_DIR


def _cluster(ctx: CliContext, data_dir: Path | None) -> LocalCluster:
    return LocalCluster(data_dir or ctx.home, report=lambda msg: click.echo(msg, err=True))


@click.group()
def infra() -> None:
    """Fetch (first time), start, inspect and stop a local Kafka (KRaft, SASL_SSL, ACLs)."""


@infra.command()
@click.option("--nodes", type=click.Choice(["1", "3"]), default="1", show_default=True)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Put the cluster here instead of the Corridor home (then set CORRIDOR_HOME to it).",
)
@click.option(
    "--port",
    type=int,
    default=DEFAULT_BASE_PORT,
    show_default=True,
    help="First port; node N listens on PORT+2(N-1), its controller on the next. 0: any free.",
)
@click.option(
    "--registry",
    is_flag=True,
    help="Also start a schema registry (Apicurio, Confluent-compatible API) on 127.0.0.1.",
)
@click.option(
    "--registry-port",
    type=int,
    default=None,
    help=(
        "The schema registry's port (implies --registry) [default: the last one used, "
        f"else {DEFAULT_REGISTRY_PORT}; 0: any free]."
    ),
)
@click.pass_obj
def up(
    ctx: CliContext,
    *,
    nodes: str,
    data_dir: Path | None,
    port: int,
    registry: bool,
    registry_port: int | None,
) -> None:
    """Start the cluster (harmless when it already runs)."""
    cluster = _cluster(ctx, data_dir)
    cluster.up(
        nodes=int(nodes),
        base_port=port,
        registry=registry or registry_port is not None,
        registry_port=registry_port,
    )
    conn = cluster.connection()
    click.echo(f"Kafka is serving at {conn.bootstrap_servers} (SASL_SSL, SCRAM-SHA-512).")
    click.echo(f"  CA certificate:   {conn.ca_location}")
    click.echo(f"  admin settings:   {cluster.home / 'connection.json'} (mode 0600)")
    if conn.schema_registry_url:
        click.echo(f"  schema registry:  {conn.schema_registry_url}")
    if data_dir is not None:
        click.echo(f"  export CORRIDOR_HOME={cluster.home}")


@infra.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--purge", is_flag=True, help="Also delete the cluster's data, keys and settings.")
@click.pass_obj
def down(ctx: CliContext, data_dir: Path | None, purge: bool) -> None:
    """Stop the brokers and schema registry this home started (and only those)."""
    cluster = _cluster(ctx, data_dir)
    stopped = cluster.down()
    for node_id, pid in stopped:
        click.echo(f"stopped node {node_id} (pid {pid})")
    if not stopped:
        click.echo(f"no broker of {cluster.home} was running")
    if purge and cluster.state_path.exists():
        for child in cluster.home.iterdir():
            if child.name.startswith("node-") or child.name in {
                REGISTRY_DIR,
                "tls",
                "cluster.json",
                "connection.json",
            }:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        click.echo(f"purged the cluster in {cluster.home}")


@infra.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(ctx: CliContext, data_dir: Path | None, as_json: bool) -> None:
    """Say which nodes run and whether the cluster serves; exit 1 when it does not."""
    cluster = _cluster(ctx, data_dir)
    st = cluster.status()
    if as_json:
        click.echo(json.dumps(st.as_json(), indent=2))
    elif not st.nodes:
        click.echo(f"no cluster in {st.home}")
    else:
        for node in st.nodes:
            state = f"running (pid {node.pid})" if node.running else "stopped"
            click.echo(f"node {node.node_id}  127.0.0.1:{node.port}  {state}")
        click.echo(
            f"serving: {'yes' if st.serving else 'no'}"
            + (f" ({st.brokers_seen} brokers, {st.topics} topics)" if st.serving else "")
        )
        if st.registry is not None:
            reg = st.registry
            state = f"running (pid {reg.pid})" if reg.running else "stopped"
            serving = ", serving" if reg.serving else (", not answering" if reg.running else "")
            click.echo(f"schema registry  {reg.url}  {state}{serving}")
    if not st.serving:
        raise SystemExit(1)
