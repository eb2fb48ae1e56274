#!/usr/bin/env python3
# ruff: noqa: T201 - a command-line tool reports what it wrote
"""Writes dashboards/*.json from the builder in exporter_dashboards/ (grafana-foundation-sdk).

    .venv/bin/python scripts/build_dashboards.py          # regenerate
    .venv/bin/python scripts/build_dashboards.py --check  # exit 1 if a committed file is stale

Needs the `dashboards` extra (part of the `test` extra): `pip install -e '.[dashboards]'`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporter_dashboards.render import DASHBOARDS_DIR, generated, write_all


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args()
    if args.check:
        stale = [
            name
            for name, text in generated().items()
            if not (DASHBOARDS_DIR / name).is_file() or (DASHBOARDS_DIR / name).read_text() != text
        ]
        for name in stale:
            print(f"stale: dashboards/{name} (run scripts/build_dashboards.py)", file=sys.stderr)
        return 1 if stale else 0
    for path in write_all():
        print(f"wrote {path.relative_to(DASHBOARDS_DIR.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
