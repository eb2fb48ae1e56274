"""Sharding across real exporter processes against one simulated estate: the union of the shards'
expositions is one process's exposition (self-metrics aside), and no series is in two shards."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from exporter.core.sharding import owner
from exporter.demo import simulator_config
from exporter.simulator import start
from exporter.simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
# Per-process series: the exporter's own metrics, prometheus-client's runtime metrics, and the
# configured run-duration limit (a setting every replica states for its own alert join).
PER_PROCESS = ("azure_update_exporter_", "process_", "python_", "azure_stack_update_run_duration_limit")
# Values relative to the moment of the scrape: compared by series, not by value.
LIVE = ("azure_stack_update_run_duration_seconds",)
EXTRA_SUBSCRIPTIONS = [f"00000000-0000-4000-8000-{i:012d}" for i in range(1, 9)]

# Series whose value is the time a query ran (Resource Graph's now(), the moment a stamp's API
# answered), not a property of the estate.
QUERY_TIME = {
    "azure_arc_agents_evaluated_timestamp_seconds",
    "azure_stack_update_api_last_success_timestamp_seconds",
}


def estate() -> dict[str, Any]:
    scenario = load_scenario("demo").sections
    scenario = {k: v for k, v in scenario.items() if k not in ("faults", "imds")}
    scenario["start_time"] = "2026-11-21T10:00:00Z"
    scenario["speed"] = 1e-6  # effectively frozen: every process sees the same estate
    scenario["resource_graph"] = {"quota_per_5s": 0}
    scenario["subscriptions"] = [
        *scenario["subscriptions"],
        *(
            {"id": s, "display_name": f"Extra {i}", "state": "Enabled"}
            for i, s in enumerate(EXTRA_SUBSCRIPTIONS)
        ),
    ]
    scenario["vmss"] = {**scenario["vmss"], "generate": {"count": 48, "eligible_ratio": 0.5}}
    return scenario


def series(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith(PER_PROCESS):
                continue
            value = 0.0 if sample.name.startswith(LIVE) else sample.value
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in out, f"duplicate series {key}"
            out[key] = value
    return out


@pytest.fixture(scope="module")
def expositions(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, int], str]:
    tmp = tmp_path_factory.mktemp("shards")
    with start(estate()) as sim:
        raw = simulator_config(sim.info(), "127.0.0.1:0")
        raw["sources"] = {
            n: raw["sources"][n] for n in ("subscriptions", "vmss_os_upgrades", "azure_stack_updates")
        }
        config = tmp / "config.yaml"
        config.write_text(yaml.safe_dump(raw))
        runs = {(0, 1)} | {(i, 3) for i in range(3)}
        procs = {
            run: subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "exporter",
                    "collect",
                    "--once",
                    "--config.file",
                    str(config),
                    "--shard",
                    str(run[0]),
                    "--total-shards",
                    str(run[1]),
                    "--log.level",
                    "warning",
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for run in runs
        }
        out = {}
        for run, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=240)
            assert proc.returncode == 0, stderr
            out[run] = stdout
        return out


def test_union_of_three_shards_is_one_process(expositions: dict[tuple[int, int], str]):
    whole = series(expositions[(0, 1)])
    shards = [series(expositions[(i, 3)]) for i in range(3)]
    counts = Counter(key for shard in shards for key in shard)
    assert [key for key, n in counts.items() if n > 1] == []  # no series in two shards
    union = {key: value for shard in shards for key, value in shard.items()}
    # When a query ran differs by process (the simulator's clock moves on between them).
    for key in [k for k in whole if k[0] in QUERY_TIME]:
        assert union.get(key) == pytest.approx(whole[key], abs=60), key
        union.pop(key), whole.pop(key)
    assert union == whole
    assert all(shards), "every shard got some of the work"
    names = {name for name, _ in whole}
    assert {
        "azure_subscription_info",
        "azure_vmss_info",
        "azure_stack_update_stamp_info",
        "azure_arc_machine_info",
        "azure_arc_agent_newest_version_info",
        "azure_update_manager_machine_info",
    } <= names


def test_each_shard_says_which_it_is(expositions: dict[tuple[int, int], str]):
    for (shard, total), text in expositions.items():
        assert f'azure_update_exporter_shard_info{{shard="{shard}",total_shards="{total}"}} 1.0' in text


def test_work_is_split_by_subscription_and_stamp(expositions: dict[tuple[int, int], str]):
    for shard in range(3):
        subs = {
            dict(labels)["subscription_id"]
            for name, labels in series(expositions[(shard, 3)])
            if name == "azure_subscription_info"
        }
        assert subs
        assert all(owner(sub, 3) == shard for sub in subs)


def test_three_to_four_shards_moves_about_a_quarter_of_the_work(expositions: dict[tuple[int, int], str]):
    whole = series(expositions[(0, 1)])
    units = {dict(lab)["subscription_id"] for n, lab in whole if n == "azure_subscription_info"}
    units |= {
        dict(lab)["stamp"]
        for n, lab in whole
        if n == "azure_stack_update_api_up" and dict(lab)["platform"] == "hub"
    }
    moved = [u for u in units if owner(u, 3) != owner(u, 4)]
    assert len(units) >= 10
    assert all(owner(u, 4) == 3 for u in moved)  # only to the new shard
    assert len(moved) <= len(units) / 3 + 1
