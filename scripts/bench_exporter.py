"""Benchmark helper: the exporter in its own process (run by scripts/bench.py, not by hand).

Serves /metrics, refreshes its sources `--cycles` times back to back and reports each refresh's
wall-clock span on stdout. The first `--real-cycles` fetch from the simulator; later cycles
replay a deep copy of the last fetched snapshot through the real scheduler, renderer and
publication path (a new snapshot of the same size each time, as a real refresh allocates),
so 20 cycles at 300k series fit in minutes. `stop` on stdin ends it.
"""

from __future__ import annotations

# ruff: noqa: T201 - a benchmark helper reports on stdout
import argparse
import copy
import dataclasses
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporter.app import Exporter
from exporter.config import from_dict
from exporter.core.gil import paced


def fresh_copy(snapshot: Any) -> Any:
    """A deep copy of `snapshot`, item by item with scrape checkpoints, as a real fetch builds
    one between its Azure calls (each call is a checkpoint: exporter.core.gil)."""
    if not dataclasses.is_dataclass(snapshot) or isinstance(snapshot, type):
        return copy.deepcopy(snapshot)
    changes = {}
    for f in dataclasses.fields(snapshot):
        value = getattr(snapshot, f.name)
        if isinstance(value, tuple):
            changes[f.name] = tuple(copy.deepcopy(item) for item in paced(value, every=4))
        else:
            changes[f.name] = copy.deepcopy(value)
    return dataclasses.replace(snapshot, **changes)


def say(*parts: object) -> None:
    print(*parts, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--real-cycles", type=int, default=2)
    parser.add_argument("--snapshots", type=Path, help="pickle the first snapshots here (naive baseline)")
    args = parser.parse_args()
    exporter = Exporter(from_dict(yaml.safe_load(args.config.read_text())))
    exporter.start(schedule=False)
    say("port", exporter.port)
    assert sys.stdin.readline().strip() == "go"
    for cycle in range(args.cycles):
        if cycle == args.real_cycles:
            for runner in exporter.runners:
                last = runner.state.snapshot

                def replay(ctx: Any, last: Any = last) -> Any:
                    return fresh_copy(last)

                runner.state.spec = dataclasses.replace(runner.state.spec, fetch=replay)
        started = time.time()
        ok = all(runner.refresh_once() for runner in exporter.runners)
        say("refresh", cycle, started, time.time(), ok)
        if cycle == 0 and args.snapshots:
            snapshots = {r.state.name: r.state.snapshot for r in exporter.runners}
            args.snapshots.write_bytes(pickle.dumps(snapshots))
    say("done")
    sys.stdin.readline()
    exporter.stop()


if __name__ == "__main__":
    main()
