"""The values matrix the chart tests render (tests/helm/test_templates.py, test_lint.py)."""

from __future__ import annotations

from typing import Any

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "3c5b1a6e-0f64-4d39-9a4e-2b1c1d7e5f10"

EVERYTHING: dict[str, Any] = {
    "daemonset": {"enabled": True},
    "serviceMonitor": {
        "enabled": True,
        "additionalLabels": {"release": "kube-prometheus-stack"},
        "relabelings": [{"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"}],
        "tlsConfig": {"ca": {"secret": {"name": "aue-web", "key": "ca.crt"}}, "serverName": "aue"},
        "basicAuth": {
            "username": {"name": "aue-scrape", "key": "username"},
            "password": {"name": "aue-scrape", "key": "password"},
        },
    },
    "prometheusRule": {"enabled": True, "additionalLabels": {"release": "kube-prometheus-stack"}},
    "dashboards": {"enabled": True, "annotations": {"grafana_folder": "Azure"}},
    "networkPolicy": {"enabled": True},
    "webConfig": {"enabled": True, "existingSecret": "aue-web", "tls": True, "basicAuth": True},
    "caBundle": {"existingConfigMap": "private-ca", "key": "ca.crt"},
    "config": {
        "azure": {"subscriptions": ["6f1c8a2e-1111-4c3b-9d7e-000000000001"]},
        "sources": {
            "subscriptions": {"enabled": True},
            "vmss_os_upgrades": {"enabled": True, "interval": "10m"},
            "azure_stack_updates": {"enabled": True, "local_enabled": True},
            "arc_agents": {"enabled": True, "per_machine_series": False},
            "update_manager": {"enabled": True, "aggregates_only": True},
        },
    },
}

MATRIX: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything": EVERYTHING,
    "daemonset-only": {
        "deployment": {"enabled": False},
        "daemonset": {"enabled": True},
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
    },
    "workload-identity": {
        "identity": {"type": "workload_identity", "clientId": CLIENT, "tenantId": TENANT},
        "daemonset": {"enabled": True},
        "podMonitor": {
            "enabled": True,
            "metricRelabelings": [{"action": "labeldrop", "regex": "python_.*"}],
            "tlsConfig": {"insecureSkipVerify": False},
        },
        "webConfig": {"enabled": True, "existingSecret": "aue-web", "tls": True},
        "prometheusRule": {"enabled": True},
    },
    "secret-credential": {
        "identity": {
            "type": "client_secret",
            "clientId": CLIENT,
            "tenantId": TENANT,
            "existingSecret": "aue-sp",
        },
        "caBundle": {"existingSecret": "private-ca"},
    },
    "certificate-credential": {
        "identity": {
            "type": "client_certificate",
            "clientId": CLIENT,
            "tenantId": TENANT,
            "existingSecret": "aue-sp",
        },
    },
    "sharded": {
        "sharding": {"enabled": True, "totalShards": 3},
        "daemonset": {"enabled": True},
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "networkPolicy": {"enabled": True},
    },
    "network-policy": {
        "daemonset": {"enabled": True},
        "identity": {"type": "managed_identity", "clientId": CLIENT},
        "networkPolicy": {
            "enabled": True,
            "metricsFrom": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
            ],
        },
    },
}

# Cases that need a newer Kubernetes than Chart.yaml's kubeVersion: their oldest validated release.
OLDEST_KUBERNETES = {"sharded": "1.28.0"}

# Values the schema must reject, with a word the error must name.
BAD_VALUES: dict[str, tuple[dict[str, Any], str]] = {
    "unknown-identity-type": ({"identity": {"type": "password"}}, "type"),
    "secret-without-existing-secret": (
        {"identity": {"type": "client_secret", "clientId": CLIENT, "tenantId": TENANT}},
        "existingSecret",
    ),
    "bad-digest": ({"image": {"digest": "latest"}}, "digest"),
    "port-out-of-range": ({"service": {"port": 70000}}, "port"),
    "typo-top-level": ({"serviceMonitors": {"enabled": True}}, "serviceMonitors"),
    "credential-in-config": ({"config": {"azure": {"credential": {"type": "default"}}}}, "azure"),
    "interval-not-a-duration": ({"serviceMonitor": {"interval": "30 seconds"}}, "interval"),
    "replicas-not-integer": ({"replicaCount": "two"}, "replicaCount"),
    "web-config-without-secret": ({"webConfig": {"enabled": True}}, "existingSecret"),
    "node-set-by-hand": ({"daemonset": {"scheduledEvents": {"node": "aks-1"}}}, "scheduledEvents"),
    "one-shard": ({"sharding": {"enabled": True, "totalShards": 1}}, "totalShards"),
    "shards-not-integer": ({"sharding": {"enabled": True, "totalShards": "3"}}, "totalShards"),
}
