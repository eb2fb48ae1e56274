"""The CLI as a user runs it: real processes, the simulator as Azure."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import yaml

from exporter.config import merge
from exporter.demo import simulator_config
from exporter.simulator import FaultRule, start

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
    assert "sources=scheduled_events" in result.stdout


def test_unknown_flag_is_a_usage_error():
    result = run("serve", "--no-such-flag")
    assert result.returncode == 2


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
