"""Helpers for the chart tests: the helm binaries scripts/test.sh installs, rendering, validators."""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "helm" / "azure-update-exporter"
HELM_MAJORS = (3, 4)
RELEASE = "aue"
NAMESPACE = "monitoring"
FULLNAME = f"{RELEASE}-azure-update-exporter"
# The selector every file in alerts/ uses (the job-label contract of alerts/exporter.yaml).
REPO_JOB_SELECTOR = 'job=~".*azure-update-exporter.*"'
CRD_KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule")


def helm(major: int) -> str:
    """Path of helm 3 or helm 4 from .tools/ (scripts/test.sh); missing fails, never skips."""
    path = REPO_ROOT / ".tools" / f"helm{major}" / "helm"
    if not path.is_file():
        pytest.fail(f"{path} missing: run ./scripts/test.sh once (it installs helm 3 and 4)", pytrace=False)
    return str(path)


def run_helm(
    major: int, *args: str, values: Mapping[str, Any] | None = None
) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as tmp:
        argv = [helm(major), *args]
        if values is not None:
            values_file = Path(tmp) / "values.yaml"
            values_file.write_text(yaml.safe_dump(dict(values)), encoding="utf-8")
            argv += ["-f", str(values_file)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def render(values: Mapping[str, Any] | None = None, major: int = 4) -> list[dict[str, Any]]:
    """`helm template` of the chart (release aue, namespace monitoring) as a list of objects."""
    result = run_helm(major, "template", RELEASE, str(CHART), "--namespace", NAMESPACE, values=values or {})
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(docs: Iterable[Mapping[str, Any]], kind: str) -> dict[str, Any]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


@cache
def kubernetes_versions() -> tuple[str, str]:
    """Oldest (Chart.yaml kubeVersion) and newest (kubernetes-validate's newest schema) Kubernetes."""
    from kubernetes_validate import utils

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    match = re.fullmatch(r">=\s*(\d+\.\d+)\.\d+(-0)?", chart["kubeVersion"])
    assert match, f"kubeVersion {chart['kubeVersion']!r} is not of the form >=X.Y.Z-0"
    return f"{match.group(1)}.0", utils.latest_version()


def validate_kubernetes(doc: Mapping[str, Any], version: str) -> None:
    """kubernetes-validate --strict: the object against that release's schema, unknown fields rejected."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(dict(doc), version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        raise AssertionError(
            f"{name} invalid for Kubernetes {version}: {exc.message} at {list(exc.path)}"
        ) from exc


def validate_crd(doc: Mapping[str, Any]) -> None:
    """A prometheus-operator object through its Pydantic model (types, patterns, required fields).

    The models ignore unknown fields, so the object must also survive a round trip unchanged.
    """
    from cloudcoil.models.prometheus_operator import v1

    model = getattr(v1, doc["kind"])
    parsed = model.model_validate(dict(doc))
    dumped = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert _strip_none(dumped) == _strip_none(dict(doc)), (
        f"{doc['kind']}/{doc['metadata']['name']}: fields the prometheus-operator API does not have "
        f"(or of the wrong type): {_diff(dict(doc), dumped)}"
    )


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def _diff(want: Any, got: Any, path: str = "") -> list[str]:
    if isinstance(want, dict) and isinstance(got, dict):
        out = []
        for key in sorted(set(want) | set(got)):
            out += _diff(want.get(key), got.get(key), f"{path}.{key}")
        return out
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [
            d for i, (w, g) in enumerate(zip(want, got, strict=True)) for d in _diff(w, g, f"{path}[{i}]")
        ]
    return [] if _strip_none(want) == _strip_none(got) else [f"{path or '.'}: {want!r} -> {got!r}"]


def replace_selector(value: Any, selector: str) -> Any:
    """`value` (parsed YAML) with the repository's job selector replaced in every string."""
    if isinstance(value, dict):
        return {k: replace_selector(v, selector) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_selector(v, selector) for v in value]
    if isinstance(value, str):
        return value.replace(REPO_JOB_SELECTOR, selector)
    return value
