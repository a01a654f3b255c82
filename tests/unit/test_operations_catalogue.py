"""docs/operations.md, the alert rules and the Grafana dashboard agree with corridor/metrics.py.

The catalogue is whatever each ``*Metrics.create`` registers on a fresh registry, so a
metric added to a component without its line in the documentation (or a rule that
names a metric nobody exports) fails here, not in production.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

import corridor.metrics as metrics

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "operations.md"
OBS = REPO / "infra" / "observability"
RULES = OBS / "rules" / "corridor.rules.yml"
DASHBOARD = OBS / "grafana" / "corridor.json"
#: Labels that could carry an alert, a case or a person: never allowed on a metric.
FORBIDDEN_LABELS = {
    "alert_id",
    "alert",
    "case",
    "case_ref",
    "ack_id",
    "link_id",
    "name",
    "person",
    "given_names",
    "family_name",
    "surname",
    "date_of_birth",
    "birth_date",
    "document",
    "passport",
    "email",
    "phone",
    "address",
    "narrative",
    "token",
    "linkage_token",
    "key",
}


def catalogue_classes() -> list[type[Any]]:
    return [
        cls
        for name, cls in inspect.getmembers(metrics, inspect.isclass)
        if name.endswith("Metrics") and callable(getattr(cls, "create", None))
    ]


def catalogue() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Exposed name -> (type, labels) of every metric every catalogue class creates."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for cls in catalogue_classes():
        instance = cls.create(CollectorRegistry())
        for field in dataclasses.fields(instance):
            metric = getattr(instance, field.name)
            kind = metric._type
            name = metric._name + ("_total" if kind == "counter" else "")
            assert name not in found, f"{name} is created twice"
            found[name] = (kind, tuple(metric._labelnames))
    return found


def documented() -> dict[str, tuple[str, tuple[str, ...]]]:
    rows: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `corridor_"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = cells[0].strip("`")
        labels = tuple(re.findall(r"`([a-z_]+)`", cells[2]))
        assert name not in rows, f"{name} is documented twice"
        assert cells[4], f"{name} has no meaning in docs/operations.md"
        rows[name] = (cells[1], labels)
    return rows


def test_every_catalogue_class_is_found() -> None:
    names = {cls.__name__ for cls in catalogue_classes()}
    assert {"ProducerMetrics", "ProcessorMetrics", "ConsumerMetrics", "AgreementMetrics"} <= names


def test_operations_doc_lists_exactly_the_metrics_of_the_catalogue() -> None:
    created, doc = catalogue(), documented()
    assert sorted(set(created) - set(doc)) == [], "metrics missing from docs/operations.md"
    assert sorted(set(doc) - set(created)) == [], "docs/operations.md lists unknown metrics"
    for name, (kind, labels) in created.items():
        assert doc[name] == (kind, labels), (
            f"{name}: documented {doc[name]}, created {(kind, labels)}"
        )


def test_metric_names_follow_prometheus_conventions() -> None:
    for name, (kind, _) in catalogue().items():
        assert re.fullmatch(r"corridor_[a-z][a-z0-9_]*", name), name
        assert name.endswith("_total") == (kind == "counter"), name
        assert not re.search(r"_(ms|milliseconds|minutes|hours|kb|mb)(_|$)", name), name


def test_labels_are_bounded_and_never_about_an_alert_or_a_person() -> None:
    for name, (_, labels) in catalogue().items():
        bad = FORBIDDEN_LABELS.intersection(labels)
        assert not bad, f"{name} has label(s) {sorted(bad)}"


def test_every_rule_has_a_runbook_section() -> None:
    text = RULES.read_text(encoding="utf-8")
    alerts = re.findall(r"^\s*- alert: (\w+)$", text, flags=re.M)
    runbooks = re.findall(r"^\s*runbook: docs/operations\.md#(\S+)$", text, flags=re.M)
    headings = re.findall(r"^### (\w+)$", DOC.read_text(encoding="utf-8"), flags=re.M)
    assert len(alerts) >= 9
    assert runbooks == [a.lower() for a in alerts]
    assert set(alerts) <= set(headings)


def _dashboard_exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from _dashboard_exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _dashboard_exprs(item)


def rule_exprs() -> list[str]:
    """The ``expr`` of every rule (inline or folded with ``>-``), read without a YAML library."""
    exprs: list[str] = []
    lines = RULES.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)expr: (.*)$", line)
        if not match:
            continue
        if match.group(2).strip() != ">-":
            exprs.append(match.group(2))
            continue
        indent, body = len(match.group(1)), []
        for following in lines[i + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following.strip())
        exprs.append(" ".join(body))
    return exprs


def dashboard_exprs() -> list[str]:
    return list(_dashboard_exprs(json.loads(DASHBOARD.read_text(encoding="utf-8"))))


def exposed_series() -> set[str]:
    series = {"up"}
    for name, (kind, _) in catalogue().items():
        series.add(name)
        if kind == "histogram":
            series |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return series


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_rules_and_dashboard_only_use_metrics_that_exist(source: str) -> None:
    exprs = rule_exprs() if source == "rules" else dashboard_exprs()
    assert len(exprs) >= 9
    known = exposed_series()
    used = {m for expr in exprs for m in re.findall(r"\b(corridor_[a-z0-9_]+)\b", expr)}
    assert used, "no corridor metric referenced"
    assert sorted(used - known) == []


def test_dashboard_covers_what_operations_watch() -> None:
    text = " ".join(dashboard_exprs())
    for needed in (
        "corridor_alerts_routed_total",
        "corridor_routing_lag_seconds_bucket",
        "corridor_delivery_latency_seconds_bucket",
        "corridor_policy_decisions_total",
        "corridor_dead_letters_total",
        "corridor_consumer_lag_messages",
        "corridor_agreement_exchanges",
        "corridor_agreement_ack_ratio",
        "corridor_agreement_overdue_acks",
        "corridor_agreement_dormant",
    ):
        assert needed in text, needed
    titles = [p["title"] for p in json.loads(DASHBOARD.read_text())["panels"]]
    assert "Throughput per corridor" in titles
    assert "Routing latency p95 per corridor" in titles


def test_rule_expressions_are_read_whole() -> None:
    exprs = rule_exprs()
    broker = next(e for e in exprs if "corridor_kafka_brokers" in e)
    assert "corridor_ops_collections_total" in broker
    assert all(e.count("(") == e.count(")") for e in exprs)
