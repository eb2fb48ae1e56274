"""`helm lint --strict` with helm 3 and helm 4 over the values matrix; the schema rejects bad values."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helm.cases import BAD_VALUES, MATRIX
from tests.helm.chart import CHART, HELM_MAJORS, NAMESPACE, RELEASE, run_helm


@pytest.mark.parametrize("major", HELM_MAJORS, ids=lambda m: f"helm{m}")
@pytest.mark.parametrize("case", sorted(MATRIX))
def test_lint_strict_passes(major: int, case: str) -> None:
    result = run_helm(major, "lint", "--strict", str(CHART), values=MATRIX[case])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout, result.stdout


@pytest.mark.parametrize("major", HELM_MAJORS, ids=lambda m: f"helm{m}")
@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_schema_rejects_bad_values(major: int, case: str) -> None:
    values, key = BAD_VALUES[case]
    result = run_helm(major, "lint", "--strict", str(CHART), values=values)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"helm {major} accepted {values}"
    assert "don't meet the specifications of the schema" in output, output
    errors = [line for line in output.splitlines() if key in line and ("ERROR" in line or "- " in line)]
    assert errors, f"the schema error does not name {key!r}:\n{output}"


def test_helm4_client_dry_run_installs_everything() -> None:
    # What `helm install` would send, without a cluster (helm 4; helm 3 needs a cluster for this).
    values: dict[str, Any] = MATRIX["everything"]
    result = run_helm(
        4, "install", RELEASE, str(CHART), "--dry-run=client", "--namespace", NAMESPACE, values=values
    )
    assert result.returncode == 0, result.stderr
    assert "kind: DaemonSet" in result.stdout
    assert "kind: PrometheusRule" in result.stdout


@pytest.mark.parametrize("major", HELM_MAJORS, ids=lambda m: f"helm{m}")
def test_service_monitor_and_pod_monitor_are_exclusive(major: int) -> None:
    values = {"serviceMonitor": {"enabled": True}, "podMonitor": {"enabled": True}}
    result = run_helm(major, "template", RELEASE, str(CHART), values=values)
    assert result.returncode != 0
    assert "enable one of them" in result.stderr, result.stderr
