"""The registry of sources (node_exporter style: each source package registers itself)."""

from __future__ import annotations

import importlib

from exporter.core.source import AnySpec

_SPECS: dict[str, AnySpec] = {}


def register(spec: AnySpec) -> AnySpec:
    if spec.name in _SPECS and _SPECS[spec.name] is not spec:
        raise ValueError(f"source {spec.name!r} registered twice")
    _SPECS[spec.name] = spec
    return spec


def all_specs() -> dict[str, AnySpec]:
    """Every known source, in registration order. Importing `exporter.sources` registers them."""
    importlib.import_module("exporter.sources")
    return dict(_SPECS)
