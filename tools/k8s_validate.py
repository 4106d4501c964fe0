"""Render every overlay under k8s/overlays and validate each object offline; exit 1 on any problem.

Core kinds are validated against Kubernetes' own schemas (`kubernetes-validate`, strict: unknown fields are
errors), custom resources against the CRD schemas vendored in k8s/schemas (an object with properties but no
`additionalProperties` is closed, as `kubectl --validate=strict` treats CRDs; CEL rules are not evaluated).
Then the deployment's own rules: every Deployment has gRPC health probes, resources, topology spread, a
PodDisruptionBudget, an HPA and a NetworkPolicy, and no credential is written into a manifest.

Usage: python tools/k8s_validate.py [overlay directory ...]
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = ROOT / "k8s" / "overlays"
SCHEMAS = ROOT / "k8s" / "schemas"
KUBECTL = Path(sys.executable).parent / "kubectl"
KUBERNETES_VERSION = "1.37.0"
# Environment variables whose names say they hold a credential: only ever from a Secret.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEKS|API_KEY|CREDENTIAL", re.IGNORECASE)
# `scheme://user:password@`, unless the password is a `$(VARIABLE)` read from a Secret.
URL_PASSWORD = re.compile(r"://[^/@:\s]+:(?!\$\()[^@\s]+@")

Manifest = dict[str, Any]


def render(overlay: Path) -> list[Manifest]:
    """The objects `kubectl kustomize` renders from an overlay."""
    result = subprocess.run([str(KUBECTL), "kustomize", str(overlay)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ValueError(f"{overlay}: kustomize failed: {result.stderr.strip()}")
    return [item for item in yaml.safe_load_all(result.stdout) if item]


def crd_schemas(directory: Path = SCHEMAS) -> dict[tuple[str, str], Manifest]:
    """Vendored CRD schemas by (apiVersion, lower-case kind), from files named `<group>_<version>_<kind>.json`."""
    schemas: dict[tuple[str, str], Manifest] = {}
    for path in sorted(directory.glob("*.json")):
        group, version, kind = path.stem.split("_")
        schemas[(f"{group}/{version}", kind)] = closed(json.loads(path.read_text()))
    return schemas


def closed(schema: Any) -> Any:
    """The schema with every object that lists its properties closed to others."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: closed(value) for key, value in schema.items()}
    if (
        "properties" in result
        and "additionalProperties" not in result
        and not result.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    return result


def name_of(item: Manifest) -> str:
    return f"{item.get('kind')}/{item.get('metadata', {}).get('name')}"


def schema_problems(items: Iterable[Manifest], crds: dict[tuple[str, str], Manifest]) -> Iterator[str]:
    """Objects that break their kind's schema, or whose kind has no schema here."""
    for item in items:
        crd = crds.get((item.get("apiVersion", ""), str(item.get("kind", "")).lower()))
        if crd is not None:
            for error in jsonschema.Draft202012Validator(crd).iter_errors(item):
                yield _schema_problem(item, error)
            continue
        try:
            kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
        except jsonschema.ValidationError as error:
            yield _schema_problem(item, error)
        except kubernetes_validate.SchemaNotFoundError:
            yield f"{name_of(item)}: no schema for {item.get('apiVersion')} {item.get('kind')}"


def _schema_problem(item: Manifest, error: jsonschema.ValidationError) -> str:
    path = ".".join(str(part) for part in error.absolute_path)
    return f"{name_of(item)}: {path or '(top)'}: {error.message}"


def selects(selector: Manifest, labels: Manifest) -> bool:
    """Whether a selector's `matchLabels` (it must name some) all hold in `labels`."""
    wanted = selector.get("matchLabels") or {}
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


def deployment_problems(items: list[Manifest]) -> Iterator[str]:
    """Deployments missing a health probe, resources, topology spread, PDB, HPA or their own NetworkPolicy."""
    by_kind: dict[str, list[Manifest]] = {}
    for item in items:
        by_kind.setdefault(item.get("kind", ""), []).append(item)
    for deployment in by_kind.get("Deployment", []):
        name = name_of(deployment)
        pod = deployment.get("spec", {}).get("template", {})
        labels = pod.get("metadata", {}).get("labels", {})
        spec = pod.get("spec", {})
        for container in spec.get("containers", []):
            for probe in ("startupProbe", "readinessProbe"):
                if "grpc" not in container.get(probe, {}):
                    yield f"{name}: container {container.get('name')} has no gRPC health {probe}"
            if "livenessProbe" not in container:
                yield f"{name}: container {container.get('name')} has no livenessProbe"
        for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
            resources = container.get("resources", {})
            if not resources.get("requests") or "memory" not in resources.get("limits", {}):
                yield f"{name}: container {container.get('name')} has no resource requests and memory limit"
        if not spec.get("topologySpreadConstraints"):
            yield f"{name}: no topology spread constraints"
        if not any(selects(pdb["spec"].get("selector", {}), labels) for pdb in by_kind.get("PodDisruptionBudget", [])):
            yield f"{name}: no PodDisruptionBudget"
        targets = [hpa["spec"]["scaleTargetRef"] for hpa in by_kind.get("HorizontalPodAutoscaler", [])]
        if not any(t.get("kind") == "Deployment" and t.get("name") == deployment["metadata"]["name"] for t in targets):
            yield f"{name}: no HorizontalPodAutoscaler"
        policies = by_kind.get("NetworkPolicy", [])
        if not any(selects(policy["spec"].get("podSelector", {}), labels) for policy in policies):
            yield f"{name}: no NetworkPolicy of its own"


def secret_problems(items: Iterable[Manifest]) -> Iterator[str]:
    """Credentials written into manifests: Secret objects, or values where a `secretKeyRef` belongs."""
    for item in items:
        if item.get("kind") == "Secret":
            yield f"{name_of(item)}: a Secret in the manifests (the operator provides it; refer to it instead)"
        if item.get("kind") == "ConfigMap":
            for key, value in (item.get("data") or {}).items():
                if SECRET_NAME.search(key) or URL_PASSWORD.search(str(value)):
                    yield f"{name_of(item)}: {key} holds a credential"
        for env in _env_vars(item):
            if "value" in env and (SECRET_NAME.search(env["name"]) or URL_PASSWORD.search(str(env["value"]))):
                yield f"{name_of(item)}: {env['name']} is a literal value, not a secretKeyRef"


def _env_vars(item: Manifest) -> Iterator[Manifest]:
    template = item.get("spec", {}).get("template", {}).get("spec", {})
    for container in [*template.get("initContainers", []), *template.get("containers", [])]:
        yield from container.get("env", [])


def problems(items: list[Manifest], crds: dict[tuple[str, str], Manifest]) -> list[str]:
    """Everything wrong with one overlay's objects."""
    return [*schema_problems(items, crds), *deployment_problems(items), *secret_problems(items)]


def main(argv: list[str]) -> int:
    overlays = [Path(arg) for arg in argv] or sorted(path for path in OVERLAYS.iterdir() if path.is_dir())
    crds = crd_schemas()
    failed = False
    for overlay in overlays:
        try:
            items = render(overlay)
        except ValueError as error:
            print(error)
            failed = True
            continue
        found = problems(items, crds)
        for problem in found:
            print(f"{overlay.name}: {problem}")
        print(f"{overlay.name}: {len(items)} objects, {len(found)} problems")
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
