"""Dashboard model -> the JSON text committed in dashboards/ (deterministic, Grafana's import
format), and the SDK round trip the tests use as a schema check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import dashboard as dm

from exporter_dashboards import MODULES

ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS_DIR = ROOT / "dashboards"


def to_text(model: dm.Dashboard) -> str:
    return json.dumps(model, cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"


def generated() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {module.FILE: to_text(module.build()) for module in MODULES}


def write_all(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    written = []
    for name, text in generated().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def round_trip(data: dict[str, Any]) -> dict[str, Any]:
    """The dashboard as the SDK's typed model reads it back: parsed by `Dashboard.from_json`
    (panel options and queries by their plugin's model) and encoded again. A key the model does
    not know is dropped on the way, so comparing with the input finds it."""
    register_default_plugins()
    model = dm.Dashboard.from_json(data)
    result: dict[str, Any] = json.loads(json.dumps(model, cls=JSONEncoder))
    return result
