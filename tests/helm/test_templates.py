"""`helm template` over the values matrix: valid Kubernetes objects for the oldest and newest
supported release (kubernetes-validate --strict), valid prometheus-operator objects, rules that
promtool accepts and that equal alerts/*.yaml, dashboards equal to dashboards/*.json, and the
secure defaults on every pod."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import require_binary
from tests.helm.cases import CLIENT, MATRIX, OLDEST_KUBERNETES, TENANT
from tests.helm.chart import (
    CHART,
    CRD_KINDS,
    FULLNAME,
    RELEASE,
    REPO_ROOT,
    by_kind,
    kubernetes_versions,
    render,
    replace_selector,
    run_helm,
    validate_crd,
    validate_kubernetes,
)

DS_NAME = f"{FULLNAME}-scheduled-events"
CASES = sorted(MATRIX)


@cache
def rendered(case: str) -> tuple[dict[str, Any], ...]:
    return tuple(render(MATRIX[case]))


def pod_specs(docs: tuple[dict[str, Any], ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]


@pytest.mark.parametrize("case", CASES)
def test_helm3_and_helm4_render_the_same(case: str) -> None:
    assert render(MATRIX[case], major=3) == list(rendered(case))


@pytest.mark.parametrize("case", CASES)
def test_kubernetes_objects_are_valid_for_oldest_and_newest_release(case: str) -> None:
    docs = [d for d in rendered(case) if d["kind"] not in CRD_KINDS]
    assert docs
    oldest, newest = kubernetes_versions()
    for version in (OLDEST_KUBERNETES.get(case, oldest), newest):
        for doc in docs:
            validate_kubernetes(doc, version)


def test_kubernetes_validator_rejects_an_unknown_field() -> None:
    deployment = copy.deepcopy(next(iter(by_kind(rendered("defaults"), "Deployment").values())))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContex"] = {}
    for version in kubernetes_versions():
        with pytest.raises(AssertionError, match="invalid"):
            validate_kubernetes(deployment, version)


@pytest.mark.parametrize("case", CASES)
def test_prometheus_operator_objects_are_valid(case: str) -> None:
    for doc in rendered(case):
        if doc["kind"] in CRD_KINDS:
            validate_crd(doc)


def test_crd_validator_rejects_unknown_and_mistyped_fields() -> None:
    monitor = next(iter(by_kind(rendered("everything"), "ServiceMonitor").values()))
    unknown = copy.deepcopy(monitor)
    unknown["spec"]["endpoints"][0]["scrapeIntervall"] = "30s"
    mistyped = copy.deepcopy(monitor)
    mistyped["spec"]["endpoints"][0]["honorLabels"] = {"yes": 1}
    for doc in (unknown, mistyped):
        with pytest.raises(Exception):  # noqa: B017 - AssertionError or pydantic's ValidationError
            validate_crd(doc)


def _selector(case: str) -> str:
    return (
        MATRIX[case].get("prometheusRule", {}).get("jobSelector") or f'job=~"{FULLNAME}(-scheduled-events)?"'
    )


@pytest.mark.parametrize("case", ["everything", "daemonset-only", "workload-identity"])
def test_rules_are_the_repository_rules_with_the_job_selector(case: str, tmp_path: Path) -> None:
    rules = by_kind(rendered(case), "PrometheusRule")
    repo = sorted((REPO_ROOT / "helm" / "azure-update-exporter" / "files" / "alerts").glob("*.yaml"))
    assert sorted(
        r["metadata"]["annotations"]["azure-update-exporter/source-file"] for r in rules.values()
    ) == [f"alerts/{p.name}" for p in repo]
    promtool = require_binary("promtool")
    for rule in rules.values():
        source = REPO_ROOT / rule["metadata"]["annotations"]["azure-update-exporter/source-file"]
        expected = replace_selector(yaml.safe_load(source.read_text(encoding="utf-8")), _selector(case))
        assert rule["spec"] == expected, f"{rule['metadata']['name']} differs from {source}"
        assert "azure-update-exporter.*" not in json.dumps(rule["spec"]), "a selector was not replaced"
        path = tmp_path / f"{rule['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(rule["spec"]), encoding="utf-8")
        result = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_custom_job_selector_reaches_every_rule() -> None:
    docs = render({"prometheusRule": {"enabled": True, "jobSelector": 'job="azure-update-exporter"'}})
    for rule in by_kind(docs, "PrometheusRule").values():
        text = json.dumps(rule["spec"])
        assert 'job=\\"azure-update-exporter\\"' in text
        assert "azure-update-exporter.*" not in text


@pytest.mark.parametrize("case", ["everything", "daemonset-only", "workload-identity", "sharded"])
def test_default_job_selector_matches_the_monitors_job_names(case: str) -> None:
    docs = rendered(case)
    jobs = set()
    for monitor in by_kind(docs, "ServiceMonitor").values():
        # A ServiceMonitor's job label is the Service's name; the chart gives each role its own.
        selected = monitor["spec"]["selector"]["matchLabels"]
        jobs |= {
            name
            for name, svc in by_kind(docs, "Service").items()
            if selected.items() <= svc["metadata"]["labels"].items()
        }
    for monitor in by_kind(docs, "PodMonitor").values():
        relabel = monitor["spec"]["podMetricsEndpoints"][0]["relabelings"][0]
        assert relabel["targetLabel"] == "job"
        jobs.add(relabel["replacement"])
    assert jobs
    pattern = re.fullmatch(r'job=~"(.*)"', _selector(case))
    assert pattern
    for job in jobs:
        assert re.fullmatch(pattern.group(1), job), f"job {job!r} is not matched by {_selector(case)}"


def test_dashboards_are_the_repository_dashboards() -> None:
    maps = {
        name: cm
        for name, cm in by_kind(rendered("everything"), "ConfigMap").items()
        if cm["metadata"]["labels"].get("grafana_dashboard") == "1"
    }
    repo = sorted((REPO_ROOT / "dashboards").glob("*.json"))
    assert len(maps) == len(repo)
    data = {key: value for cm in maps.values() for key, value in cm["data"].items()}
    for path in repo:
        key = f"azure-update-exporter-{path.name}"
        assert data[key].rstrip("\n") == path.read_text(encoding="utf-8").rstrip("\n"), (
            f"{key} differs from {path}"
        )
        json.loads(data[key])
    for cm in maps.values():
        assert cm["metadata"]["annotations"] == {"grafana_folder": "Azure"}


@pytest.mark.parametrize("case", CASES)
def test_pods_run_with_secure_defaults(case: str) -> None:
    pods = list(pod_specs(rendered(case)))
    assert pods
    for name, spec in pods:
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert container["resources"]["requests"], name
            assert container["resources"]["limits"]["memory"], name
            assert container["resources"]["limits"]["memory"], name
            probes = (container["livenessProbe"], container["readinessProbe"])
            if case == "everything":  # basic auth on: kubelet probes cannot log in
                assert all("tcpSocket" in p for p in probes), name
            else:
                assert [p["httpGet"]["path"] for p in probes] == ["/healthz", "/readyz"], name


@pytest.mark.parametrize("case", CASES)
def test_every_pod_caps_malloc_arenas(case: str) -> None:
    for name, spec in pod_specs(rendered(case)):
        assert {"name": "MALLOC_ARENA_MAX", "value": "2"} in spec["containers"][0]["env"], name


def _config(docs: tuple[dict[str, Any], ...], name: str = FULLNAME) -> dict[str, Any]:
    return yaml.safe_load(by_kind(docs, "ConfigMap")[name]["data"]["config.yaml"])


def test_defaults() -> None:
    docs = rendered("defaults")
    assert sorted(d["kind"] for d in docs) == [
        "ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount",
    ]  # fmt: skip
    config = _config(docs)
    assert config["azure"]["credential"] == {"type": "default"}
    assert config["web"] == {"listen_address": ":10061"}
    env = by_kind(docs, "Deployment")[FULLNAME]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "AZURE_TOKEN_CREDENTIALS", "value": "prod"} in env


def test_sources_pass_through_unchanged() -> None:
    config = _config(rendered("everything"))
    assert config["sources"] == MATRIX["everything"]["config"]["sources"]
    assert config["azure"]["ca_bundle"] == "/etc/azure-update-exporter/ca/ca.crt"


def test_daemonset_only() -> None:
    docs = rendered("daemonset-only")
    assert not by_kind(docs, "Deployment")
    daemonset = by_kind(docs, "DaemonSet")[DS_NAME]
    container = daemonset["spec"]["template"]["spec"]["containers"][0]
    assert "--collector.disable-defaults" in container["args"]
    node_env = next(e for e in container["env"] if e["name"] == "AUE_SOURCES__SCHEDULED_EVENTS__NODE")
    assert node_env["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert {"operator": "Exists"} in daemonset["spec"]["template"]["spec"]["tolerations"]
    assert _config(docs, DS_NAME)["sources"] == {"scheduled_events": {"enabled": True, "interval": "1s"}}
    assert list(by_kind(docs, "ServiceMonitor")) == [DS_NAME]
    assert by_kind(docs, "Service")[DS_NAME]["spec"]["clusterIP"] == "None"


def test_workload_identity() -> None:
    docs = rendered("workload-identity")
    account = by_kind(docs, "ServiceAccount")[FULLNAME]
    assert account["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": CLIENT,
        "azure.workload.identity/tenant-id": TENANT,
    }
    template = by_kind(docs, "Deployment")[FULLNAME]["spec"]["template"]
    assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert template["spec"]["serviceAccountName"] == FULLNAME
    credential = _config(docs)["azure"]["credential"]
    assert credential == {"type": "workload_identity", "client_id": CLIENT, "tenant_id": TENANT}


@pytest.mark.parametrize(
    ("case", "key", "file_key"),
    [
        ("secret-credential", "client-secret", "client_secret_file"),
        ("certificate-credential", "client-certificate.pem", "client_certificate_file"),
    ],
)
def test_secret_credential_is_a_mounted_file(case: str, key: str, file_key: str) -> None:
    docs = rendered(case)
    spec = by_kind(docs, "Deployment")[FULLNAME]["spec"]["template"]["spec"]
    volume = next(v for v in spec["volumes"] if v["name"] == "credentials")
    assert volume["secret"]["secretName"] == "aue-sp"
    assert volume["secret"]["items"] == [{"key": key, "path": key}]
    mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "credentials")
    assert mount["readOnly"] is True
    credential = _config(docs)["azure"]["credential"]
    assert credential[file_key] == f"{mount['mountPath']}/{key}"
    assert credential["tenant_id"] == TENANT
    env = spec["containers"][0]["env"]
    assert [e["name"] for e in env] == ["MALLOC_ARENA_MAX"], "the secret reaches the exporter as a file only"


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env") or []}


def test_sharded_renders_a_statefulset_of_one_pod_per_shard() -> None:
    docs = rendered("sharded")
    assert not by_kind(docs, "Deployment")
    statefulset = by_kind(docs, "StatefulSet")[FULLNAME]
    spec = statefulset["spec"]
    assert spec["replicas"] == 3
    assert spec["podManagementPolicy"] == "Parallel"
    env = _env(spec["template"]["spec"]["containers"][0])
    assert env["AUE_SHARDING__SHARD"] == {
        "fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}
    }
    assert env["AUE_SHARDING__TOTAL_SHARDS"] == "3"
    assert "sharding" not in _config(docs), "the shard comes from the pod, not the shared ConfigMap"
    pod_labels = spec["template"]["metadata"]["labels"]
    services = by_kind(docs, "Service")
    # The governing Service is headless (a DNS name per shard); the exporter Service keeps its
    # type, since a ClusterIP cannot become headless in place on upgrade.
    governing = services[spec["serviceName"]]
    assert governing["spec"]["clusterIP"] == "None"
    assert governing["spec"]["selector"].items() <= pod_labels.items()
    assert "clusterIP" not in services[FULLNAME]["spec"]
    assert services[FULLNAME]["spec"]["selector"].items() <= pod_labels.items()
    # The ServiceMonitor scrapes every shard through the exporter Service's endpoints, once.
    selector = by_kind(docs, "ServiceMonitor")[FULLNAME]["spec"]["selector"]["matchLabels"]
    assert [n for n, s in services.items() if selector.items() <= s["metadata"]["labels"].items()] == [
        FULLNAME
    ]
    budget = by_kind(docs, "PodDisruptionBudget")[FULLNAME]
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert budget["spec"]["maxUnavailable"] == 1, "a drain takes down one shard at a time"
    policy = by_kind(docs, "NetworkPolicy")[FULLNAME]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    # scheduled_events reads its own node: the DaemonSet is never sharded.
    daemonset = by_kind(docs, "DaemonSet")[DS_NAME]
    assert not any(
        name.startswith("AUE_SHARDING")
        for name in _env(daemonset["spec"]["template"]["spec"]["containers"][0])
    )
    assert "replicas" not in daemonset["spec"]


def test_sharded_pod_monitor_selects_every_shard() -> None:
    docs = render({"sharding": {"enabled": True, "totalShards": 2}, "podMonitor": {"enabled": True}})
    pod_labels = by_kind(docs, "StatefulSet")[FULLNAME]["spec"]["template"]["metadata"]["labels"]
    monitor = by_kind(docs, "PodMonitor")[FULLNAME]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert monitor["spec"]["podMetricsEndpoints"][0]["relabelings"][0]["replacement"] == FULLNAME


@pytest.mark.parametrize(("kube_version", "ok"), [("1.27.9", False), ("1.28.0", True)])
def test_sharding_needs_kubernetes_1_28(kube_version: str, ok: bool) -> None:
    values = {"sharding": {"enabled": True, "totalShards": 2}}
    result = run_helm(4, "template", RELEASE, str(CHART), "--kube-version", kube_version, values=values)
    assert (result.returncode == 0) is ok, result.stderr
    if not ok:
        assert "sharding.enabled needs Kubernetes 1.28 or newer" in result.stderr, result.stderr
    unsharded = run_helm(4, "template", RELEASE, str(CHART), "--kube-version", kube_version, values={})
    assert unsharded.returncode == 0, "only the sharded mode needs 1.28"


def test_sharding_refuses_scheduled_events_in_the_statefulset() -> None:
    values = {
        "sharding": {"enabled": True, "totalShards": 2},
        "config": {"sources": {"scheduled_events": {"enabled": True}}},
    }
    result = run_helm(4, "template", RELEASE, str(CHART), values=values)
    assert result.returncode != 0
    assert "scheduled_events reads the node it runs on and is never sharded" in result.stderr, result.stderr


def test_network_policies() -> None:
    policies = by_kind(rendered("network-policy"), "NetworkPolicy")
    exporter, daemonset = policies[FULLNAME], policies[DS_NAME]
    imds = {"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}], "ports": [{"port": 80, "protocol": "TCP"}]}
    # Deployment: DNS, HTTPS, and IMDS because managed identity gets its tokens there.
    assert exporter["spec"]["egress"][0]["ports"] == [
        {"port": 53, "protocol": "UDP"},
        {"port": 53, "protocol": "TCP"},
    ]
    assert exporter["spec"]["egress"][1] == {"ports": [{"port": 443, "protocol": "TCP"}]}
    assert exporter["spec"]["egress"][2] == imds
    # DaemonSet: IMDS only.
    assert daemonset["spec"]["egress"] == [imds]
    for policy in (exporter, daemonset):
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert (
            policy["spec"]["ingress"][0]["from"] == MATRIX["network-policy"]["networkPolicy"]["metricsFrom"]
        )
    workload = by_kind(
        render({"networkPolicy": {"enabled": True}, "identity": {"type": "workload_identity"}}),
        "NetworkPolicy",
    )
    assert imds not in workload[FULLNAME]["spec"]["egress"], "IMDS egress only where the identity needs it"


def test_web_config_secret_mounted_and_monitors_use_https() -> None:
    docs = rendered("everything")
    for name, spec in pod_specs(docs):
        container = spec["containers"][0]
        assert "--web.config.file=/etc/azure-update-exporter/web/web-config.yml" in container["args"], name
        mount = next(m for m in container["volumeMounts"] if m["name"] == "web-config")
        assert mount == {
            "name": "web-config",
            "mountPath": "/etc/azure-update-exporter/web",
            "readOnly": True,
        }
    for monitor in by_kind(docs, "ServiceMonitor").values():
        endpoint = monitor["spec"]["endpoints"][0]
        assert endpoint["scheme"] == "https"
        assert endpoint["tlsConfig"] == MATRIX["everything"]["serviceMonitor"]["tlsConfig"]
        assert endpoint["basicAuth"] == MATRIX["everything"]["serviceMonitor"]["basicAuth"]
    defaults = rendered("defaults")
    container = next(pod_specs(defaults))[1]["containers"][0]
    assert not any(arg.startswith("--web.config.file") for arg in container["args"])


@pytest.mark.parametrize("case", ["everything"])
def test_kubernetes_validate_cli_strict(case: str, tmp_path: Path) -> None:
    # The same check through the command line a user would run on `helm template` output.
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        yaml.safe_dump_all([d for d in rendered(case) if d["kind"] not in CRD_KINDS]), encoding="utf-8"
    )
    cli = str(Path(sys.executable).with_name("kubernetes-validate"))
    for version in kubernetes_versions():
        result = subprocess.run(
            [cli, "--strict", "--quiet", "-k", version, str(manifest)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"Kubernetes {version}:\n{result.stdout}{result.stderr}"
