"""Scenario loading/validation and the standalone ``python -m exporter.simulator``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from exporter.simulator import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]


def test_defaults() -> None:
    scenario = load_scenario()
    assert scenario.section("identity")["client_secret"] == "simulator-secret"
    assert scenario.section("arm")["page_size"] == 100
    assert scenario.section("resource_graph")["quota_per_5s"] == 15
    assert len(scenario.subscriptions) == 2
    assert scenario.start_time is None


def test_demo_is_packaged_and_valid() -> None:
    demo = load_scenario("demo")
    assert len(demo.subscriptions) >= 3
    assert demo.faults


def test_yaml_file_and_extra_sections(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("start_time: 2026-11-21T10:00:00Z\nspeed: 60\nimds: {events: []}\n")
    scenario = load_scenario(path)
    assert scenario.start_time is not None
    assert scenario.start_time.isoformat() == "2026-11-21T10:00:00+00:00"
    assert scenario.speed == 60
    assert scenario.section("imds") == {"events": []}


def test_every_problem_is_reported_with_its_key() -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(
            {
                "speed": 0,
                "identity": {"client_id": 5, "colour": "red"},
                "subscriptions": [{"display_name": "no id"}],
                "faults": [{"route": "arm.*", "kind": "melt"}],
                "start_time": "yesterday",
            }
        )
    text = str(err.value)
    for fragment in (
        "speed",
        "identity.client_id",
        "identity.colour",
        "subscriptions[0].id",
        "faults[0]",
        "start_time",
    ):
        assert fragment in text
    assert len(err.value.problems) == 6


def test_cli_writes_info_and_stops_on_sigterm(tmp_path: Path) -> None:
    info_file = tmp_path / "info.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "exporter.simulator", "--info-file", str(info_file)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not info_file.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        info = json.loads(info_file.read_text())
        health = requests.get(f"{info['base_url']}/_sim/health", verify=info["ca_path"], timeout=5)
        assert health.json() == {"ok": True}
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert json.loads(out.splitlines()[0]) == info
    assert not info_file.exists()
