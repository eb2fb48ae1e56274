"""Shared reading of dashboards/*.json for the static and end-to-end dashboard tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))

# Grafana's built-in variables, replaced the way Grafana would for a short time range.
BUILTINS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h", "${__range}": "1h"}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel.get("title", "?"), target["expr"]


def unfiltered(expr: str) -> str:
    """Without a trailing "show only non-zero" filter: a healthy demo rightly shows nothing there."""
    return re.sub(r"\s*>\s*0\s*$", "", expr)


def concrete(expr: str) -> str:
    """The query with every variable replaced by a match-all value, as 'All' would."""
    for name, value in BUILTINS.items():
        expr = expr.replace(name, value)
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(?::[a-z]+)?\}?", ".*", expr)
