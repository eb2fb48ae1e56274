"""The CLI as a user runs it: real processes, the simulator as Azure."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from exporter.config import merge
from exporter.demo import simulator_config
from exporter.simulator import FaultRule, start
from tests.web.support import PASSWORD_HASH, make_pki, write_web_config

ROOT = Path(__file__).resolve().parents[1]


def write_config(tmp_path: Path, info: dict, **overrides) -> Path:
    raw = simulator_config(info, "127.0.0.1:0")
    raw["sources"] = {"subscriptions": {"enabled": True}}
    raw = merge(raw, {"sources": {"scheduled_events": {"enabled": False}}})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(merge(raw, overrides)))
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def test_collect_once_prints_exposition_and_exits_0(tmp_path: Path):
    with start() as sim:
        cfg = write_config(tmp_path, sim.info())
        result = run("collect", "--once", "--config.file", str(cfg), "--no-collector.scheduled_events")
    assert result.returncode == 0, result.stderr
    assert 'azure_update_exporter_source_up{source="subscriptions"} 1.0' in result.stdout
    assert "azure_subscription_info{" in result.stdout


def test_collect_once_exits_1_when_a_source_fails(tmp_path: Path):
    with start() as sim:
        sim.faults.add(FaultRule("arm.*", "status", status=503))
        cfg = write_config(tmp_path, sim.info(), azure={"retry_total": 0})
        result = run("collect", "--once", "--config.file", str(cfg))
    assert result.returncode == 1
    assert 'azure_update_exporter_source_up{source="subscriptions"} 0.0' in result.stdout
    assert "reason=server_error" in result.stderr
    assert 'msg="collect failed" sources=subscriptions' in result.stderr


def test_collector_flag_disables_a_source(tmp_path: Path):
    result = run("check-config", "--no-collector.subscriptions", "--collector.scheduled_events")
    assert result.returncode == 0, result.stderr
    enabled = set(result.stdout.split("sources=", 1)[1].strip().split(", "))
    assert "scheduled_events" in enabled
    assert "subscriptions" not in enabled


def test_unknown_flag_is_a_usage_error():
    result = run("serve", "--no-such-flag")
    assert result.returncode == 2


def test_bad_web_config_key_exits_2_naming_the_key(tmp_path: Path):
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: server.crt\n  key_fil: server.key\n")
    for command in ("check-config", "serve"):
        result = run(command, "--web.config.file", str(web), "--web.listen-address", "127.0.0.1:0")
        assert result.returncode == 2, (command, result.stderr)
        assert "tls_server_config.key_fil: unknown key" in result.stderr
        assert "tls_server_config.cert_file" in result.stderr  # the missing file too, in one run


def test_check_config_accepts_a_valid_web_config(tmp_path: Path):
    pki = make_pki(tmp_path)
    document = {
        "tls_server_config": {"cert_file": "server.crt", "key_file": "server.key"},
        "basic_auth_users": {"prometheus": PASSWORD_HASH},
    }
    web = write_web_config(pki.directory, document)
    result = run("check-config", "--web.config.file", str(web))
    assert result.returncode == 0, result.stderr
    assert f"web_config={web}" in result.stdout


def test_collect_once_exits_within_its_timeout_when_azure_hangs(tmp_path: Path):
    """ARM accepts the connection and never answers (for 60 s): the process ends at its timeout."""
    with start() as sim:
        sim.faults.add(FaultRule("arm.subscriptions", "timeout", seconds=60))
        cfg = write_config(
            tmp_path, sim.info(), sources={"subscriptions": {"timeout": "3s"}}, azure={"retry_total": 3}
        )
        started = time.monotonic()
        result = run("collect", "--once", "--config.file", str(cfg))
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert 'azure_update_exporter_source_up{source="subscriptions"} 0.0' in result.stdout
    assert "reason=timeout" in result.stderr
    # 3 s of refresh plus interpreter start-up and imports; it stayed up 40 s before.
    assert elapsed < 12, elapsed


def test_azure_identity_warnings_become_one_line_naming_the_setting(tmp_path: Path):
    """DefaultAzureCredential with nothing to use (no AZURE_* variables, no IMDS, no CLIs) logs
    a multi-KB warning per attempt; the operator gets one line that says what to configure."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {"sources": {"scheduled_events": {"enabled": False}, "subscriptions": {"timeout": "20s"}}}
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_", "MSI_"))}
    env["AZURE_TOKEN_CREDENTIALS"] = "EnvironmentCredential"  # no IMDS probe (no network here)
    env["PATH"] = "/usr/bin:/bin"  # no az / azd / pwsh to ask
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "collect", "--once", "--config.file", str(cfg)],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT, env=env,
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    hints = [line for line in lines if "logger=azure.identity" in line]
    assert len(hints) == 1, result.stderr  # two sources failed the same way: one line
    [hint] = hints
    assert len(hint) < 1000
    assert "azure.credential.type" in hint
    assert "docs/configuration.md#credentials" in hint
    assert "credential=DefaultAzureCredential" in hint
    assert "reason=token" in result.stderr
    assert all(len(line) < 1000 for line in lines), max(lines, key=len)
