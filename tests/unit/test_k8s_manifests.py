"""The Kubernetes overlays render, validate offline against their schemas, and keep the deployment's rules."""

from __future__ import annotations

import copy
import functools
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tools import k8s_validate

SERVICES = ("catalog", "lifecycle", "payments", "entitlement", "promotions", "metering", "gateway")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def crds() -> dict[tuple[str, str], Any]:
    return k8s_validate.crd_schemas()


@pytest.fixture(scope="module")
def prod() -> list[dict[str, Any]]:
    return k8s_validate.render(k8s_validate.OVERLAYS / "prod")


def one(items: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(item for item in items if item["kind"] == kind and item["metadata"]["name"] == name)


def test_every_overlay_renders_and_validates(crds):
    overlays = sorted(path.name for path in k8s_validate.OVERLAYS.iterdir())
    assert overlays == ["dev", "prod"]
    for overlay in overlays:
        items = k8s_validate.render(k8s_validate.OVERLAYS / overlay)
        assert k8s_validate.problems(items, crds) == [], overlay
        deployments = {item["metadata"]["name"] for item in items if item["kind"] == "Deployment"}
        assert deployments == {f"azotte-{service}" for service in SERVICES}


def test_the_command_fails_on_a_broken_overlay(tmp_path, capsys):
    overlay = tmp_path / "broken"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        f"resources: [{os.path.relpath(REPO / 'k8s' / 'base', overlay)}]\n"
        "patches:\n"
        "- target: {kind: Deployment, name: azotte-catalog}\n"
        '  patch: \'[{"op": "remove", "path": "/spec/selector"}]\'\n'
    )
    assert k8s_validate.main([str(overlay)]) == 1
    assert "Deployment/azotte-catalog: spec: 'selector' is a required property" in capsys.readouterr().out
    assert k8s_validate.main([str(k8s_validate.OVERLAYS / "dev")]) == 0


def test_a_cnpg_cluster_with_a_wrong_field_is_refused(prod, crds):
    items = copy.deepcopy(prod)
    cluster = one(items, "Cluster", "azotte-pg")
    cluster["spec"]["instance"] = 3
    cluster["spec"]["backup"]["barmanObjectStore"]["wal"]["compression"] = "zip"
    assert sorted(k8s_validate.schema_problems([cluster], crds)) == [
        "Cluster/azotte-pg: spec.backup.barmanObjectStore.wal.compression: 'zip' is not one of "
        "['bzip2', 'gzip', 'lz4', 'snappy', 'xz', 'zstd']",
        "Cluster/azotte-pg: spec: Additional properties are not allowed ('instance' was unexpected)",
    ]


def test_a_core_object_with_a_wrong_type_is_refused(prod, crds):
    items = copy.deepcopy(prod)
    budget = one(items, "PodDisruptionBudget", "azotte-gateway")
    budget["spec"]["maxUnavailable"] = [1]
    assert [problem.split(":")[0] for problem in k8s_validate.schema_problems([budget], crds)] == [
        "PodDisruptionBudget/azotte-gateway"
    ]


def test_a_kind_without_a_schema_is_refused(crds):
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert list(k8s_validate.schema_problems([unknown], crds)) == ["Widget/w: no schema for example.com/v1 Widget"]


@pytest.mark.parametrize(
    ("break_it", "problem"),
    [
        (
            lambda pod: pod["containers"][0].pop("readinessProbe"),
            "container payments has no gRPC health readinessProbe",
        ),
        (lambda pod: pod["containers"][0].pop("livenessProbe"), "container payments has no livenessProbe"),
        (
            lambda pod: pod["initContainers"][0].pop("resources"),
            "container migrate has no resource requests and memory limit",
        ),
        (lambda pod: pod.pop("topologySpreadConstraints"), "no topology spread constraints"),
    ],
)
def test_a_deployment_without_probes_resources_or_spread_is_refused(prod, break_it, problem):
    items = copy.deepcopy(prod)
    break_it(one(items, "Deployment", "azotte-payments")["spec"]["template"]["spec"])
    assert list(k8s_validate.deployment_problems(items)) == [f"Deployment/azotte-payments: {problem}"]


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("PodDisruptionBudget", "no PodDisruptionBudget"),
        ("HorizontalPodAutoscaler", "no HorizontalPodAutoscaler"),
        ("NetworkPolicy", "no NetworkPolicy of its own"),
    ],
)
def test_a_deployment_without_its_pdb_hpa_or_network_policy_is_refused(prod, kind, problem):
    items = [item for item in prod if not (item["kind"] == kind and item["metadata"]["name"] == "azotte-metering")]
    assert list(k8s_validate.deployment_problems(items)) == [f"Deployment/azotte-metering: {problem}"]


def test_credentials_written_into_manifests_are_refused(prod):
    items = copy.deepcopy(prod)
    container = one(items, "Deployment", "azotte-payments")["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [
        {"name": "AZOTTE_PAYMENTS_KEKS", "value": "k1:c2VjcmV0"},
        {"name": "AZOTTE_NATS_URL", "value": "nats://azotte:hunter2@azotte-nats:4222"},
        {"name": "AZOTTE_DATABASE_URL", "value": "postgresql+asyncpg://u:$(AZOTTE_PG_PASSWORD)@azotte-pg-rw/db"},
    ]
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "azotte-nats"}, "stringData": {"p": "x"}}
    assert list(k8s_validate.secret_problems([*items, secret])) == [
        "Deployment/azotte-payments: AZOTTE_PAYMENTS_KEKS is a literal value, not a secretKeyRef",
        "Deployment/azotte-payments: AZOTTE_NATS_URL is a literal value, not a secretKeyRef",
        "Secret/azotte-nats: a Secret in the manifests (the operator provides it; refer to it instead)",
    ]


@functools.cache
def peers_in_code(service: str) -> set[str]:
    """The services whose address `service`'s code reads (`<peer>_addr` settings)."""
    source = "\n".join(path.read_text() for path in (REPO / "services" / service / "src").rglob("*.py"))
    return {peer for peer in SERVICES if re.search(rf"\b{peer}_addr\b", source)}


def test_each_service_reaches_exactly_the_peers_its_code_calls(prod):
    for service in SERVICES:
        egress = one(prod, "NetworkPolicy", f"azotte-{service}")["spec"]["egress"]
        grpc = [rule for rule in egress if rule.get("ports") == [{"protocol": "TCP", "port": 50051}]]
        reached = {
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"].removeprefix("azotte-")
            for rule in grpc
            for peer in rule["to"]
        }
        assert reached == peers_in_code(service), service
        callers = {s for s in SERVICES if service in peers_in_code(s)}
        ingress = one(prod, "NetworkPolicy", f"azotte-{service}")["spec"]["ingress"]
        allowed = {
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"].removeprefix("azotte-")
            for rule in ingress
            for peer in rule.get("from", [])
            if "podSelector" in peer
        }
        assert allowed == callers, service


def test_only_the_gateway_is_reachable_from_outside(prod):
    open_to_all = {
        item["metadata"]["name"]
        for item in prod
        if item["kind"] == "NetworkPolicy"
        for rule in item["spec"].get("ingress", [])
        if "from" not in rule
    }
    assert open_to_all == {"azotte-gateway"}
    exposed = {item["metadata"]["name"] for item in prod if item["kind"] == "Service" and "type" in item["spec"]}
    assert exposed == {"azotte-gateway"}
    assert one(prod, "Service", "azotte-gateway")["spec"]["type"] == "LoadBalancer"


def test_prod_keeps_three_copies_of_every_stream_on_disks_synced_at_each_write(prod):
    assert one(prod, "ConfigMap", "azotte-config")["data"]["AZOTTE_STREAM_REPLICAS"] == "3"
    assert one(prod, "StatefulSet", "azotte-nats")["spec"]["replicas"] == 3
    assert "sync_interval: always" in one(prod, "ConfigMap", "azotte-nats")["data"]["nats.conf"]
    cluster = one(prod, "Cluster", "azotte-pg")
    assert cluster["spec"]["backup"]["barmanObjectStore"]["destinationPath"] == "s3://azotte-prod-backups/"
    databases = {item["spec"]["name"] for item in prod if item["kind"] == "Database"}
    assert databases == {f"azotte_{service}" for service in SERVICES}
