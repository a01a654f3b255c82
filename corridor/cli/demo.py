"""``corridor demo``: the whole pipeline on a local broker with a sample network.

It starts (or reuses) the local cluster, applies the sample directory with local keys,
runs a processor worker and every active agency's consumer, publishes the demo stream
(with duplicates, a forged alert, a child's case, a RED alert and a link), waits until
everything has settled, and prints what happened. The operations page and metrics stay
up until Ctrl-C, or it exits when done with ``--once``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from prometheus_client import CollectorRegistry

from consumers import ConsumerOptions, DeliveryKind, build_consumer, default_inbox
from consumers.sinks.sqlite_inbox import SqliteInbox
from corridor.cli.context import CliContext
from corridor.cli.demo_scenario import Scenario, build_scenario
from corridor.config import Settings
from corridor.directory_apply import apply_directory
from corridor.domain import AgencyStatus, Directory
from corridor.envelope import SigningKey
from corridor.exceptions import CorridorError
from corridor.infra.cluster import DEFAULT_BASE_PORT, LocalCluster
from corridor.kafka_clients import producer
from corridor.metrics import ConsumerMetrics, ProducerMetrics, serve_metrics
from corridor.ops import OpsReader
from corridor.policy import decide_all
from corridor.schema_registry import codec_for
from corridor.topics import INBOUND
from corridor.workspace import Workspace
from producers import AlertRejectedError, Preparer, open_publisher

SAMPLE_DIRECTORY = Path(__file__).resolve().parents[2] / "examples" / "directory.json"


@dataclass
class Expected:
    """What the scenario must produce, worked out from the policy at publish time."""

    delivered: Counter[str] = field(default_factory=Counter)
    denied: Counter[str] = field(default_factory=Counter)
    published: int = 0
    rejected: int = 0
    duplicates: int = 0
    forged: int = 0
    alert_ids: set[str] = field(default_factory=set)


@dataclass
class Summary:
    delivered: dict[str, int]
    denied: dict[str, int]
    dead_letters: dict[str, int]
    links: int
    acknowledgements: int
    expected: Expected
    dashboard: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        e = self.expected
        return {
            "delivered": self.delivered,
            "denied": self.denied,
            "dead_letters": self.dead_letters,
            "links": self.links,
            "acknowledgements": self.acknowledgements,
            "dashboard": self.dashboard,
            "expected": {
                "delivered": dict(e.delivered),
                "denied": dict(e.denied),
                "published": e.published,
                "rejected": e.rejected,
                "duplicates": e.duplicates,
                "forged": e.forged,
            },
        }


class Demo:
    def __init__(self, home: Path, settings: Settings, *, echo: Any = click.echo) -> None:
        self.home = home
        self.settings = settings
        self.workspace = Workspace(home)
        self.echo = echo
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.processor: subprocess.Popen[bytes] | None = None
        self.registry = CollectorRegistry()
        #: The publishers' metrics, served apart on the producer's port as in production.
        self.producer_registry = CollectorRegistry()
        self.producer_metrics = ProducerMetrics.create(self.producer_registry)

    # set-up ---------------------------------------------------------------
    def start_cluster(self, port: int) -> None:
        cluster = LocalCluster(self.home, report=lambda m: self.echo(f"  {m}"))
        cluster.up(nodes=1, base_port=port)
        self.echo(f"Kafka serving at {cluster.connection().bootstrap_servers} (TLS, SCRAM, ACLs)")

    def apply_directory(self) -> Directory:
        result = apply_directory(
            self.workspace, self.settings, SAMPLE_DIRECTORY, use_local_keys=True
        )
        d = result.directory
        countries = sorted({a.country for a in d.agencies.values()})
        self.echo(
            f"directory v{d.version}: {len(d.agencies)} agencies in {len(countries)} countries "
            f"({', '.join(countries)}), {len(d.agreements)} agreements"
        )
        return d

    def start_processor(self, metrics_port: int, dashboard_port: int) -> None:
        log = open(self.home / "demo-processor.log", "ab")  # noqa: SIM115 - owned by the child
        self.processor = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "corridor",
                "--home",
                str(self.home),
                "process",
                "--metrics-port",
                str(metrics_port),
                "--dashboard-port",
                str(dashboard_port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.echo(
            f"processor worker started (pid {self.processor.pid}, metrics :{metrics_port}, "
            f"operations page http://127.0.0.1:{dashboard_port}/dashboard)"
        )

    def start_consumers(self, directory: Directory) -> list[str]:
        agencies = [a.id for a in directory.agencies.values() if a.status is AgencyStatus.ACTIVE]
        metrics = ConsumerMetrics.create(self.registry)
        for agency_id in agencies:
            app = build_consumer(
                self.settings,
                self.workspace,
                ConsumerOptions(agency_id=agency_id, from_beginning=True),
                stop=self.stop,
                metrics=metrics,
            )
            thread = threading.Thread(target=app.run, name=f"consumer-{agency_id}", daemon=True)
            thread.start()
            self.threads.append(thread)
        self.echo(f"{len(agencies)} agency consumers started (sqlite inboxes)")
        return agencies

    # the stream -------------------------------------------------------------
    def publish(self, scenario: Scenario, directory: Directory) -> Expected:
        expected = Expected()
        now = datetime.now(UTC)
        by_issuer: dict[str, list[dict[str, Any]]] = {}
        for issuer, alert in scenario.alerts:
            by_issuer.setdefault(issuer, []).append(alert)
        expected.duplicates = len(scenario.duplicates)
        for issuer, alerts in by_issuer.items():
            dupes = [a for i, a in scenario.duplicates if i == issuer]
            with open_publisher(self.settings, issuer, metrics=self.producer_metrics) as publisher:
                # The re-sent copies go last: same idempotency key, so same alert id.
                for n, alert in enumerate([*alerts, *dupes]):
                    try:
                        publisher.publish(alert)
                    except AlertRejectedError as exc:
                        expected.rejected += 1
                        self.echo(f"  refused by the publisher: {exc}")
                        continue
                    if n >= len(alerts):
                        continue
                    checked = publisher.check(alert)
                    expected.published += 1
                    expected.alert_ids.add(checked.metadata.alert_id)
                    for agency, decision in decide_all(checked.metadata, directory, now):
                        if decision.allowed:
                            expected.delivered[agency.id] += 1
                        else:
                            expected.denied[decision.reason.value] += 1
        for issuer, alert in scenario.forged:
            self._send_forged(issuer, alert, directory)
            expected.forged += 1
        self.echo(
            f"published {expected.published} alerts, re-sent {expected.duplicates} duplicates, "
            f"sent {expected.forged} forged alert(s)"
        )
        return expected

    def _send_forged(self, issuer: str, alert: dict[str, Any], directory: Directory) -> None:
        """An alert carrying the issuer's key id but signed by a key the issuer never had."""
        conn = self.workspace.agency_connection(issuer)
        real_key_id = directory.agencies[issuer].signing_keys[0].key_id
        preparer = Preparer(
            issuer=issuer,
            signing_key=SigningKey.generate(real_key_id),
            linkage_keys=[],
            codec=codec_for(conn),
            max_body_bytes=self.settings.producer.max_body_bytes,
        )
        prepared = preparer.prepare(alert, directory, datetime.now(UTC))
        prod = producer(conn, quiet=True)
        prod.produce(
            INBOUND, key=prepared.key, value=prepared.value, headers=list(prepared.headers)
        )
        if prod.flush(30):
            raise CorridorError("the forged demo alert was not acknowledged by the broker")

    # settling and the summary ---------------------------------------------
    def _inbox_counts(self, agencies: list[str]) -> tuple[dict[str, int], int, int]:
        delivered: dict[str, int] = {}
        links = acks = 0
        for agency_id in agencies:
            path = default_inbox(self.workspace, agency_id)
            if not path.exists():
                continue
            inbox = SqliteInbox(path, create=False)
            try:
                count = inbox.count(DeliveryKind.ALERT) + inbox.count(
                    DeliveryKind.SEALED_FOR_OTHERS
                )
                if count:
                    delivered[agency_id] = count
                links += inbox.count(DeliveryKind.LINK_NOTICE)
                acks += inbox.count(DeliveryKind.ACKNOWLEDGEMENT)
            finally:
                inbox.close()
        return delivered, links, acks

    def settle(self, agencies: list[str], expected: Expected, timeout: float) -> Summary:
        target = sum(expected.delivered.values())
        deadline = time.monotonic() + timeout
        last: tuple[int, int, int] = (-1, -1, -1)
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            self._check_processor()
            delivered, links, acks = self._inbox_counts(agencies)
            seen = (sum(delivered.values()), links, acks)
            if seen != last:
                last, stable_since = seen, time.monotonic()
            if seen[0] >= target and seen[2] >= target and time.monotonic() - stable_since > 3:
                break
            time.sleep(1)
        delivered, links, acks = self._inbox_counts(agencies)
        reader = OpsReader(
            self.workspace.operator_connection(), processor_group=self.settings.processor.app_id
        )
        now = datetime.now(UTC)
        decisions = {
            (e.alert_id, e.recipient): e
            for e in reader.audit_since(now - timedelta(hours=1))
            if e.alert_id in expected.alert_ids
        }
        denied = Counter(e.reason for e in decisions.values() if not e.allowed)
        dead = {d.reason: d.total for d in reader.status(now).dead_letters}
        return Summary(delivered, dict(denied), dead, links, acks, expected)

    def dashboard_totals(self, port: int, at_least: int, timeout: float = 40.0) -> dict[str, Any]:
        """What the processor's live page shows, once a round has seen ``at_least``
        deliveries (it collects every few seconds)."""
        url = f"http://127.0.0.1:{port}/dashboard.json"
        deadline = time.monotonic() + timeout
        totals: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    snapshot = json.loads(response.read())
                totals = dict(snapshot["status"]["totals"])
                totals["agreements_shown"] = len(snapshot.get("agreements", []))
                if not snapshot.get("stale") and totals.get("delivered_last_hour", 0) >= at_least:
                    return totals
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(1)
        return totals

    def _check_processor(self) -> None:
        if self.processor is not None and self.processor.poll() is not None:
            raise CorridorError(
                f"the processor worker exited (code {self.processor.returncode}); "
                f"see {self.home / 'demo-processor.log'}"
            )

    def shutdown(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)
        if self.processor is not None and self.processor.poll() is None:
            os.killpg(self.processor.pid, signal.SIGTERM)
            try:
                self.processor.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.processor.pid, signal.SIGKILL)


def print_summary(summary: Summary, echo: Any = click.echo) -> None:
    echo("\nDelivered per agency (alerts in each inbox):")
    for agency, count in sorted(summary.delivered.items()):
        echo(f"  {agency:<14} {count:>4}")
    echo("Denied by reason (policy decisions):")
    for reason, count in sorted(summary.denied.items(), key=lambda kv: -kv[1]):
        echo(f"  {reason:<30} {count:>4}")
    echo("Dead letters by reason:")
    for reason, count in sorted(summary.dead_letters.items()):
        echo(f"  {reason:<30} {count:>4}")
    echo(f"Link notices received: {summary.links}")
    echo(f"Acknowledgements received by issuers: {summary.acknowledgements}")
    if summary.dashboard:
        d = summary.dashboard
        echo(
            f"Operations page: {d.get('delivered_last_hour', 0)} delivered and "
            f"{d.get('denied_last_hour', 0)} denied in the last hour, "
            f"{d.get('dead_letters_total', 0)} dead letters, lag {d.get('lag', 0)}"
        )


@click.command()
@click.option("--once", is_flag=True, help="Exit when the stream has settled.")
@click.option("--alerts", default=40, show_default=True, help="Ordinary alerts in the stream.")
@click.option(
    "--port", default=DEFAULT_BASE_PORT, show_default=True, help="Kafka port (0: any free)."
)
@click.option("--metrics-port", default=9401, show_default=True, help="Processor metrics port.")
@click.option("--consumer-metrics-port", default=9402, show_default=True)
@click.option("--producer-metrics-port", default=9403, show_default=True)
@click.option(
    "--dashboard-port", default=6066, show_default=True, help="The processor's /dashboard port."
)
@click.option(
    "--timeout", default=180.0, show_default=True, help="Seconds to wait for the stream to settle."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def demo(  # noqa: PLR0917 - one parameter per command-line option
    ctx: CliContext,
    once: bool,
    alerts: int,
    port: int,
    metrics_port: int,
    consumer_metrics_port: int,
    producer_metrics_port: int,
    dashboard_port: int,
    timeout: float,
    as_json: bool,
) -> None:
    """Run the whole pipeline on a local broker with a sample network of agencies."""
    settings = ctx.settings()
    run = Demo(
        ctx.home, settings, echo=(lambda m: click.echo(m, err=True)) if as_json else click.echo
    )
    try:
        run.start_cluster(port)
        directory = run.apply_directory()
        run.start_processor(metrics_port, dashboard_port)
        serve_metrics(run.registry, consumer_metrics_port)
        serve_metrics(run.producer_registry, producer_metrics_port)
        agencies = run.start_consumers(directory)
        expected = run.publish(build_scenario(alerts), directory)
        summary = run.settle(agencies, expected, timeout)
        if dashboard_port:
            summary.dashboard = run.dashboard_totals(
                dashboard_port, at_least=max(1, sum(summary.delivered.values()))
            )
        if as_json:
            click.echo(json.dumps(summary.as_json(), indent=2, sort_keys=True))
        else:
            print_summary(summary)
        if not once:
            run.echo(
                f"\nOperations page: http://127.0.0.1:{dashboard_port}/dashboard "
                f"(its /metrics: agreements, lag, brokers)\n"
                f"Metrics: http://127.0.0.1:{metrics_port}/metrics (processor), "
                f"http://127.0.0.1:{consumer_metrics_port}/metrics (consumers), "
                f"http://127.0.0.1:{producer_metrics_port}/metrics (publishers). "
                f"Ctrl-C to stop."
            )
            while True:
                run._check_processor()
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        run.shutdown()
