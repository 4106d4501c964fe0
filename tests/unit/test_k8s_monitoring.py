"""The dashboard and alert rules under k8s/monitoring query only metrics (and labels) the services export, the
dashboard shows every one of them, and the overlays render both as ConfigMaps."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from azotte_platform import telemetry
from tools import k8s_validate

MONITORING = Path(__file__).resolve().parents[2] / "k8s" / "monitoring"
METRIC = re.compile(r"\b(azotte_[a-z0-9_]+)\s*(\{[^}]*\})?")
SELECTOR_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "container"}
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}


def exported() -> dict[str, tuple[str, set[str]]]:
    """Every series name the code exports: its metric's name and its labels."""
    names: dict[str, tuple[str, set[str]]] = {}
    for metric in vars(telemetry).values():
        if isinstance(metric, MetricWrapperBase):
            name, kind = metric._name, str(metric._type)
            for suffix in SUFFIXES[kind]:
                labels = set(metric._labelnames) | ({"le"} if suffix == "_bucket" else set())
                names[name + suffix] = (name, labels)
    return names


def dashboard_queries() -> list[str]:
    dashboard = json.loads((MONITORING / "azotte-dashboard.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    variables = dashboard["templating"]["list"]
    return queries + [v["definition"] for v in variables if v["type"] == "query"]


def alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((MONITORING / "azotte-alerts.yaml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


def problems(query: str, series: dict[str, tuple[str, set[str]]]) -> list[str]:
    """Unknown metrics, labels the metrics do not have, unbalanced brackets."""
    found: list[str] = []
    used = METRIC.findall(query)
    if not used:
        found.append(f"no azotte metric in {query!r}")
    labels: set[str] = set(TARGET_LABELS)
    for name, selector in used:
        if name not in series:
            found.append(f"{name} is not exported")
            continue
        labels |= series[name][1]
        for label in SELECTOR_LABEL.findall(selector):
            if label not in series[name][1]:
                found.append(f"{name} has no label {label}")
    for grouping in GROUPING.findall(query):
        found += [f"grouping by unknown label {g}" for g in re.split(r"\s*,\s*", grouping.strip()) if g not in labels]
    for opening, closing in ("()", "[]", "{}"):
        if query.count(opening) != query.count(closing):
            found.append(f"unbalanced {opening}{closing} in {query!r}")
    return found


def test_every_dashboard_query_uses_exported_metrics_and_labels() -> None:
    series = exported()
    assert [p for query in dashboard_queries() for p in problems(query, series)] == []


def test_every_alert_uses_exported_metrics_and_says_what_is_wrong() -> None:
    series = exported()
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} >= {
        "AzotteHighErrorRate",
        "AzotteHighLatency",
        "AzotteOutboxLag",
        "AzotteConsumerLag",
        "AzotteSchedulerLag",
    }
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]
        assert re.search(r"[<>]=?\s*[\d.]+\s*$", rule["expr"].strip()), f"{rule['alert']} compares to no threshold"
        assert problems(rule["expr"], series) == [], rule["alert"]


def test_the_dashboard_shows_every_exported_metric() -> None:
    shown = {series for query in dashboard_queries() for series, _ in METRIC.findall(query)}
    metrics = {name for name, _ in exported().values()}
    assert metrics - {exported()[series][0] for series in shown if series in exported()} == set()


def test_a_query_on_a_metric_or_label_the_code_does_not_export_is_caught() -> None:
    series = exported()
    assert problems("rate(azotte_rpc_requests_total[5m])", series) == ["azotte_rpc_requests_total is not exported"]
    assert problems('max by (tenant) (azotte_outbox_pending_events{service="x"})', series) == [
        "grouping by unknown label tenant"
    ]
    assert problems('azotte_consumer_pending_events{durable="x"}', series) == [
        "azotte_consumer_pending_events has no label durable"
    ]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_the_overlays_render_the_dashboard_and_rules_as_configmaps(overlay: str) -> None:
    items = k8s_validate.render(k8s_validate.OVERLAYS / overlay)
    maps = {item["metadata"]["name"]: item for item in items if item["kind"] == "ConfigMap"}
    dashboard = maps["azotte-grafana-dashboard"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["azotte-dashboard.json"])["uid"] == "azotte-overview"
    rules = yaml.safe_load(maps["azotte-prometheus-rules"]["data"]["azotte-alerts.yaml"])
    assert [rule["alert"] for group in rules["groups"] for rule in group["rules"]] == [
        r["alert"] for r in alert_rules()
    ]
