"""Series the demo exposes, per source and per family: the cost side of the label schema.

Runs the demo estate (simulator + exporter in one process), refreshes every source once at each of
a few points of the demo's virtual timeline and prints the series count per source (and with
``--families`` per family), so a change of schema can be compared before and after: with
``--compare <git ref>`` the same count runs on that commit's code too (``git archive`` into a
temporary directory, this script run there) and the reduction per source is printed. Asserts
nothing. Usage: .venv/bin/python scripts/series_count.py [--at 0,600] [--families] [--compare 628388f]
"""

from __future__ import annotations

# ruff: noqa: T201 - a benchmark prints its figures
import argparse
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporter.app import Exporter
from exporter.config import from_dict
from exporter.demo import simulator_config
from exporter.simulator import start

ROOT = Path(__file__).resolve().parents[1]
Counts = dict[str, dict[str, int]]  # time point -> source -> series


def count(points: list[float], families: bool) -> Counts:
    out: Counts = {}
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
                out[f"{at:.0f}"] = dict(per_source)
                if families:
                    for (source, name), n in sorted(per_family.items()):
                        print(f"t={at:.0f}s {source} {name}: {n}", file=sys.stderr)
        finally:
            exporter.stop()
    return out


def count_at(ref: str, at: str) -> Counts:
    """The same count on the code of git `ref` (this script copied into an export of that commit)."""
    with tempfile.TemporaryDirectory(prefix="series-count-") as tmp:
        git = shutil.which("git")
        if git is None:
            raise SystemExit("--compare needs git")
        archive = subprocess.run(  # noqa: S603 - git with a ref given on our own command line
            [git, "-C", str(ROOT), "archive", ref], check=True, capture_output=True, timeout=120
        )
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        script = Path(tmp) / "scripts" / "series_count.py"
        script.parent.mkdir(exist_ok=True)
        script.write_text(Path(__file__).read_text())
        result = subprocess.run(  # noqa: S603 - this interpreter running this script
            [sys.executable, str(script), "--at", at, "--json"],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
        counts: Counts = json.loads(result.stdout)
        return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--at", default="0,600", help="virtual seconds after the demo's start, ascending")
    parser.add_argument("--families", action="store_true", help="also print the count per family (stderr)")
    parser.add_argument("--compare", metavar="REF", help="also count on git REF's code and print the change")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    after = count([float(p) for p in args.at.split(",")], args.families)
    if args.json:
        print(json.dumps(after))
        return
    before = count_at(args.compare, args.at) if args.compare else None
    for at, sources in after.items():
        old = before.get(at, {}) if before is not None else {}
        print(f"t={at}s")
        for source in sorted(set(sources) | set(old)):
            print("  " + _line(source, old.get(source), sources.get(source, 0), before is not None))
        print("  " + _line("total", sum(old.values()), sum(sources.values()), before is not None))


def _line(name: str, old: int | None, new: int, compare: bool) -> str:
    if not compare:
        return f"{name}: {new}"
    if not old:
        return f"{name}: {old or 0} -> {new}"
    return f"{name}: {old} -> {new} ({(new - old) / old:+.0%})"


if __name__ == "__main__":
    main()
