"""Series the demo exposes, per source and per family: the cost side of the label schema.

Runs the demo estate (simulator + exporter in one process), refreshes every source once at each of
a few points of the demo's virtual timeline and prints the series count per source (and with
``--families`` per family), so a change of schema can be compared before and after. Asserts
nothing. Usage: .venv/bin/python scripts/series_count.py [--at 0,600] [--families]
"""

from __future__ import annotations

# ruff: noqa: T201 - a benchmark prints its figures
import argparse
import sys
from collections import Counter
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporter.app import Exporter
from exporter.config import from_dict
from exporter.demo import simulator_config
from exporter.simulator import start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--at", default="0,600", help="virtual seconds after the demo's start, ascending")
    parser.add_argument("--families", action="store_true", help="also print the count per family")
    args = parser.parse_args()
    points = [float(p) for p in args.at.split(",")]
    with start("demo") as sim:
        exporter = Exporter(from_dict(simulator_config(sim.info(), "127.0.0.1:0")))
        try:
            elapsed = 0.0
            for at in points:
                sim.clock.advance(max(0.0, at - elapsed))
                elapsed = at
                exporter.refresh_all_once()
                now = sim.clock.now().astimezone(UTC)
                per_source: Counter[str] = Counter()
                per_family: Counter[tuple[str, str]] = Counter()
                for state in exporter.states:
                    snapshot = state.view().snapshot
                    if snapshot is None:
                        continue
                    for family in state.spec.translate(snapshot, now):
                        per_source[state.spec.name] += len(family.samples)
                        per_family[(state.spec.name, family.name)] += len(family.samples)
                print(f"t={at:.0f}s total {sum(per_source.values())}")
                for source, count in sorted(per_source.items()):
                    print(f"  {source}: {count}")
                    if args.families:
                        for (src, name), n in sorted(per_family.items()):
                            if src == source:
                                print(f"    {name}: {n}")
        finally:
            exporter.stop()


if __name__ == "__main__":
    main()
