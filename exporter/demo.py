"""`azure-update-exporter demo`: the exporter against a lively simulated Azure estate.

Needs no Azure account and no flags. The simulator speaks the real REST shapes over HTTPS with
a CA it generates, so the real azure-identity and SDK code paths run exactly as in production.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from exporter import log
from exporter.config import DEFAULT_PORT, ConfigError, from_dict, merge
from exporter.core.registry import all_specs
from exporter.web.config import load_web_config

logger = logging.getLogger("exporter.demo")

DEMO_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"


def simulator_config(info: dict[str, Any], listen_address: str = DEMO_LISTEN) -> dict[str, Any]:
    """An exporter configuration (YAML-dumpable) pointing at a running simulator.

    `info` is the simulator's /_sim/info document (base_url, imds_url, ca_path, ids, secret).
    """
    secret_file = Path(info["ca_path"]).parent / "client-secret"
    secret_file.write_text(info["client_secret"], encoding="utf-8")
    secret_file.chmod(0o600)
    return {
        "web": {"listen_address": listen_address},
        "azure": {
            "cloud": "custom",
            "arm_endpoint": info["base_url"],
            "token_audience": "https://management.azure.com",
            "authority_host": info["base_url"],
            "ca_bundle": str(info["ca_path"]),
            "credential": {
                "type": "client_secret",
                "tenant_id": info["tenant_id"],
                "client_id": info["client_id"],
                "client_secret_file": str(secret_file),
                "disable_instance_discovery": True,
            },
        },
        "sources": {
            name: {"enabled": True, **spec.demo_config(info)}
            for name, spec in all_specs().items()
            if spec.demo_config is not None
        },
    }


def run_demo(overrides: dict[str, Any]) -> int:
    from exporter import cli
    from exporter.simulator import start

    level = overrides.get("log", {}).get("level", "info")
    log.setup(level, overrides.get("log", {}).get("format", "logfmt"))
    sim = start("demo")
    try:
        info = sim.info()
        listen = overrides.get("web", {}).get("listen_address", DEMO_LISTEN)
        raw = merge(simulator_config(info, listen), overrides)
        try:
            config = from_dict(raw)
        except ConfigError as exc:
            for line in exc.errors:
                print(f"config error: {line}", file=sys.stderr)  # noqa: T201 - CLI output
            return 2
        host, _, port = config.web.listen_address.rpartition(":")
        shown = host if host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        tls = bool(config.web.config_file) and load_web_config(str(config.web.config_file)).tls is not None
        print(  # noqa: T201 - the demo's one line of instructions
            f"demo: exporter on {'https' if tls else 'http'}://{shown}:{port}/metrics "
            f"(simulated Azure at {info['base_url']}; Ctrl-C stops)",
            flush=True,
        )
        return cli.serve(config)
    finally:
        sim.stop()
