"""The exporter run the way the chart's pods run it, against the simulator.

The chart is rendered with values pointing at the simulator; the Deployment's and the DaemonSet's
volumes are laid out in a temporary directory (ConfigMaps as rendered, Secrets with the
simulator's client secret and CA), every mount path in the rendered config and args is mapped to
that directory, and the container args and env are run with the installed
`azure-update-exporter`: `check-config` passes, `/readyz` answers and the sources are up. With
sharding on, two StatefulSet pods (pod-index 0 and 1) serve their shard side by side.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from exporter.simulator import Simulator, start
from tests.e2e.harness import HOST, start_server_process
from tests.helm.chart import FULLNAME, by_kind, render

NODE = "aks-nodepool1-12345678-vmss000007"
POD_INDEX_FIELD = "metadata.labels['apps.kubernetes.io/pod-index']"
DS_NAME = f"{FULLNAME}-scheduled-events"
ENTRYPOINT = str(Path(sys.executable).with_name("azure-update-exporter"))


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with start() as simulator:
        yield simulator


def simulator_values(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "config": {
            "azure": {
                "cloud": "custom",
                "arm_endpoint": info["base_url"],
                "authority_host": info["base_url"],
                "token_audience": "https://management.azure.com",
            },
            "sources": {"subscriptions": {"enabled": True}, "vmss_os_upgrades": {"enabled": True}},
        },
        "identity": {
            "type": "client_secret",
            "tenantId": info["tenant_id"],
            "clientId": info["client_id"],
            "existingSecret": "sim-sp",
            "disableInstanceDiscovery": True,
        },
        "caBundle": {"existingSecret": "sim-ca", "key": "ca.crt"},
        "daemonset": {"enabled": True, "scheduledEvents": {"endpoint": info["imds_url"]}},
    }


class Pod:
    """One pod of a rendered workload, its volumes laid out under `root`."""

    def __init__(
        self,
        docs: list[dict[str, Any]],
        workload: dict[str, Any],
        secrets: dict[str, dict[str, str]],
        root: Path,
        pod_index: int = 0,
    ) -> None:
        self.pod_index = pod_index
        spec = workload["spec"]["template"]["spec"]
        self.container = spec["containers"][0]
        volumes = {v["name"]: v for v in spec["volumes"]}
        configmaps = by_kind(docs, "ConfigMap")
        self.paths: dict[str, str] = {}
        for mount in self.container["volumeMounts"]:
            volume = volumes[mount["name"]]
            local = root / mount["mountPath"].lstrip("/")
            self.paths[mount["mountPath"]] = str(local)
            if "configMap" in volume:
                data = configmaps[volume["configMap"]["name"]]["data"]
            elif "secret" in volume:
                data = secrets[volume["secret"]["secretName"]]
            else:
                local.mkdir(parents=True, exist_ok=True)
                continue
            if "subPath" in mount:
                self._write(local, data[mount["subPath"]])
            else:
                for item in volume.get("secret", volume.get("configMap", {})).get("items", []):
                    self._write(local / item["path"], data[item["key"]])
        self.config_text = self.localize(configmaps[self._config_map(volumes)]["data"]["config.yaml"])
        self._write(Path(self.paths[self._config_mount()]), self.config_text)

    def _config_map(self, volumes: dict[str, Any]) -> str:
        return str(volumes["config"]["configMap"]["name"])

    def _config_mount(self) -> str:
        return next(m["mountPath"] for m in self.container["volumeMounts"] if m["name"] == "config")

    @staticmethod
    def _write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def localize(self, text: str) -> str:
        # One pass, longest mount path first (a local path may itself start with a mount path, /tmp).
        pattern = "|".join(re.escape(p) for p in sorted(self.paths, key=len, reverse=True))
        return re.sub(pattern, lambda m: self.paths[m.group(0)], text)

    def argv(self, command: str | None = None) -> list[str]:
        args = [self.localize(arg) for arg in self.container["args"]]
        if command:
            args[0] = command
        return [ENTRYPOINT, *args]

    def env(self) -> dict[str, str]:
        env = {"PATH": "/usr/bin:/bin"}
        for item in self.container.get("env") or []:
            if "value" in item:
                env[item["name"]] = item["value"]
            else:
                # What the kubelet fills in from the downward API.
                fields = {"spec.nodeName": NODE, POD_INDEX_FIELD: str(self.pod_index)}
                env[item["name"]] = fields[item["valueFrom"]["fieldRef"]["fieldPath"]]
        return env


def _secrets(info: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        "sim-sp": {"client-secret": info["client_secret"]},
        "sim-ca": {"ca.crt": Path(info["ca_path"]).read_text(encoding="utf-8")},
    }


def _pods(sim: Simulator, root: Path) -> tuple[list[dict[str, Any]], Pod, Pod]:
    info = sim.info()
    docs = render(simulator_values(info))
    secrets = _secrets(info)
    deployment = Pod(docs, by_kind(docs, "Deployment")[FULLNAME], secrets, root / "deployment")
    daemonset = Pod(docs, by_kind(docs, "DaemonSet")[DS_NAME], secrets, root / "daemonset")
    return docs, deployment, daemonset


def test_rendered_configs_pass_check_config(sim: Simulator, tmp_path: Path) -> None:
    _, deployment, daemonset = _pods(sim, tmp_path)
    for pod, sources in (
        (deployment, "sources=arc_agents, subscriptions, update_manager, vmss_os_upgrades"),
        (daemonset, "sources=scheduled_events"),
    ):
        result = subprocess.run(
            pod.argv("check-config"), env=pod.env(), capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert sources in result.stdout, result.stdout


def _serve(pod: Pod, name: str, log: Path) -> tuple[Any, str]:
    process, port = start_server_process(
        name,
        lambda port: [*pod.argv(), f"--web.listen-address={HOST}:{port}"],
        "/readyz",
        log,
        env=pod.env(),
    )
    return process, f"http://{HOST}:{port}"


def test_deployment_pod_serves_readyz_and_its_sources_are_up(sim: Simulator, tmp_path: Path) -> None:
    _, deployment, _ = _pods(sim, tmp_path)
    process, url = _serve(deployment, "chart-deployment", tmp_path / "deployment.log")
    try:
        metrics = requests.get(f"{url}/metrics", timeout=10).text
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
    finally:
        process.stop()
    assert 'azure_update_exporter_source_up{source="subscriptions"} 1.0' in metrics, metrics[:2000]
    assert 'azure_update_exporter_source_up{source="vmss_os_upgrades"} 1.0' in metrics
    assert 'azure_update_exporter_source_up{source="arc_agents"} 1.0' in metrics
    assert 'azure_update_exporter_source_up{source="update_manager"} 1.0' in metrics
    assert 'source="scheduled_events"' not in metrics
    assert "azure_subscription_info{" in metrics


def test_daemonset_pod_serves_only_scheduled_events_with_the_node_label(
    sim: Simulator, tmp_path: Path
) -> None:
    _, _, daemonset = _pods(sim, tmp_path)
    process, url = _serve(daemonset, "chart-daemonset", tmp_path / "daemonset.log")
    try:
        metrics = requests.get(f"{url}/metrics", timeout=10).text
    finally:
        process.stop()
    up = [line for line in metrics.splitlines() if line.startswith("azure_update_exporter_source_up{")]
    assert up == ['azure_update_exporter_source_up{source="scheduled_events"} 1.0'], up
    assert f'azure_scheduled_events_document_incarnation{{node="{NODE}"}}' in metrics, metrics[:3000]


def _subscriptions(metrics: str) -> set[str]:
    return set(re.findall(r'^azure_subscription_info\{[^}]*subscription_id="([^"]+)"', metrics, re.MULTILINE))


def test_statefulset_pods_serve_their_own_shard(sim: Simulator, tmp_path: Path) -> None:
    info = sim.info()
    values = simulator_values(info) | {"sharding": {"enabled": True, "totalShards": 2}}
    values["daemonset"] = {"enabled": False}
    values["config"]["sources"] = {"subscriptions": {"enabled": True}}
    docs = render(values)
    statefulset = by_kind(docs, "StatefulSet")[FULLNAME]
    metrics = {}
    processes = []
    try:
        for index in (0, 1):
            pod = Pod(docs, statefulset, _secrets(info), tmp_path / f"shard-{index}", pod_index=index)
            process, url = _serve(pod, f"chart-shard-{index}", tmp_path / f"shard-{index}.log")
            processes.append((process, url))
        for index, (_, url) in enumerate(processes):
            assert requests.get(f"{url}/readyz", timeout=5).status_code == 200
            metrics[index] = requests.get(f"{url}/metrics", timeout=10).text
    finally:
        for process, _ in processes:
            process.stop()
    for index, text in metrics.items():
        assert f'azure_update_exporter_shard_info{{shard="{index}",total_shards="2"}} 1.0' in text, text[
            :2000
        ]
        assert 'azure_update_exporter_source_up{source="subscriptions"} 1.0' in text
    # Every subscription is served by exactly one of the two pods.
    zero, one = _subscriptions(metrics[0]), _subscriptions(metrics[1])
    # The simulator's two subscriptions hash to different shards (rendezvous hashing is fixed).
    assert zero, metrics[0][:2000]
    assert one, metrics[1][:2000]
    assert not zero & one, f"served by both shards: {zero & one}"
