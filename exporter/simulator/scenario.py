"""Scenario model and loader (YAML file, packaged name or dict).

Known sections are validated and filled with defaults; any other top-level section is kept as
is in ``Scenario.sections`` for route modules that come later (they validate their own).
All problems are reported at once, each naming its dotted key path.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from exporter.simulator.faults import FaultRule

DEFAULT_TENANT_ID = "72f988bf-0000-4000-8000-000000000001"
DEFAULT_CLIENT_ID = "00000000-aaaa-4bbb-8ccc-000000000001"
DEFAULT_CLIENT_SECRET = "simulator-secret"  # noqa: S105 - a fake credential for the fake cloud
DEFAULT_MI_CLIENT_ID = "00000000-aaaa-4bbb-8ccc-000000000002"
DEFAULT_IDENTITY_HEADER = "simulator-identity-header"
DEFAULT_SUBSCRIPTIONS: tuple[dict[str, Any], ...] = (
    {"id": "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10", "display_name": "Contoso Production", "state": "Enabled"},
    {"id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "display_name": "Contoso Staging", "state": "Enabled"},
)

# section -> key -> (accepted types, default)
_NUM = (int, float)
_SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
    "identity": {
        "tenant_id": ((str,), DEFAULT_TENANT_ID),
        "client_id": ((str,), DEFAULT_CLIENT_ID),
        "client_secret": ((str,), DEFAULT_CLIENT_SECRET),
        "token_lifetime_seconds": (_NUM, 3600),
        "managed_identity_client_id": ((str,), DEFAULT_MI_CLIENT_ID),
        "identity_header": ((str,), DEFAULT_IDENTITY_HEADER),
        # For harnesses that hand-craft tokens; real credentials never need it.
        "accept_unknown_tokens": ((bool,), False),
    },
    "arm": {
        "page_size": ((int,), 100),
        "read_bucket_size": ((int,), 250),  # ARM token bucket per principal; 0 disables
        "read_refill_per_second": (_NUM, 25),
        # Base URL put into nextLinks instead of the listener's own (a hostile or broken ARM
        # pointing paging at another host); null: the listener's own, as ARM does.
        "next_link_base": ((str, type(None)), None),
    },
    "resource_graph": {
        "quota_per_5s": ((int,), 15),  # 0 disables the quota
        "datasets": ((list,), []),
    },
}
_SUBSCRIPTION_KEYS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "display_name": (str,),
    "state": (str,),
    "tenant_id": (str,),
    "quota_id": (str,),
    "spending_limit": (str,),
    "omit": (list,),
}
_DATASET_KEYS: dict[str, tuple[type, ...]] = {"match": (str,), "rows": (list,), "error": (str,)}
PACKAGED = resources.files("exporter.simulator") / "scenarios"


class ScenarioError(ValueError):
    """Scenario failed validation; ``problems`` lists every error with its key path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid simulator scenario:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    id: str
    display_name: str
    state: str
    tenant_id: str
    quota_id: str
    spending_limit: str
    omit: tuple[str, ...] = ()  # wire fields left out of the body (odd ARM answers)


@dataclass(frozen=True, slots=True)
class Scenario:
    start_time: datetime | None
    speed: float
    sections: dict[str, Any]  # every section, known ones normalised with defaults
    subscriptions: tuple[SubscriptionSpec, ...]
    faults: tuple[FaultRule, ...]

    def section(self, name: str) -> dict[str, Any]:
        value = self.sections.get(name)
        return value if isinstance(value, dict) else {}


def load_scenario(source: str | Path | Mapping[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario from a dict, a YAML file, or a packaged name like "demo"."""
    raw = _read(source)
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise ScenarioError([f"top level: expected a mapping, got {type(raw).__name__}"])
    sections: dict[str, Any] = {str(k): copy.deepcopy(v) for k, v in raw.items()}
    start_time = _start_time(sections.get("start_time"), problems)
    speed = sections.setdefault("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, _NUM) or speed <= 0:
        problems.append(f"speed: expected a number > 0, got {speed!r}")
        speed = 1.0
    for name, schema in _SCHEMA.items():
        sections[name] = _section(name, sections.get(name), schema, problems)
    for i, ds in enumerate(sections["resource_graph"]["datasets"]):
        _check_keys(f"resource_graph.datasets[{i}]", ds, _DATASET_KEYS, problems, required=("match",))
    subs = _subscriptions(sections, problems)
    faults = _faults(sections.get("faults"), problems)
    if problems:
        raise ScenarioError(problems)
    return Scenario(start_time, float(speed), sections, subs, faults)


def _read(source: str | Path | Mapping[str, Any] | None) -> Any:
    if source is None:
        return {}
    if isinstance(source, Mapping):
        return source
    path = Path(source)
    if not path.is_file():
        packaged = PACKAGED / f"{source}.yaml"
        if isinstance(source, str) and "/" not in source and packaged.is_file():
            return yaml.safe_load(packaged.read_text(encoding="utf-8")) or {}
        raise ScenarioError([f"scenario file not found: {source}"])
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{path}: not valid YAML: {exc}"]) from None


def _start_time(value: Any, problems: list[str]) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            problems.append(f"start_time: not ISO-8601: {value!r}")
            return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        problems.append(f"start_time: expected an ISO-8601 time with a timezone, got {value!r}")
        return None
    return value


def _section(
    name: str, value: Any, schema: dict[str, tuple[tuple[type, ...], Any]], problems: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        out = value
    elif value is not None:
        problems.append(f"{name}: expected a mapping, got {type(value).__name__}")
    _check_keys(name, out, {k: t for k, (t, _) in schema.items()}, problems)
    for key, (_, default) in schema.items():
        out.setdefault(key, copy.deepcopy(default))
    return out


def _check_keys(
    where: str,
    value: Any,
    types: Mapping[str, tuple[type, ...]],
    problems: list[str],
    required: tuple[str, ...] = (),
    extra_ok: bool = False,
) -> None:
    if not isinstance(value, Mapping):
        problems.append(f"{where}: expected a mapping, got {type(value).__name__}")
        return
    problems.extend(f"{where}.{key}: required" for key in required if key not in value)
    for key, item in value.items():
        if key not in types:
            if not extra_ok:
                problems.append(f"{where}.{key}: unknown key; allowed: {sorted(types)}")
            continue
        allowed = types[key]
        if (isinstance(item, bool) and bool not in allowed) or not isinstance(item, allowed):
            names = "/".join(t.__name__ for t in allowed)
            problems.append(f"{where}.{key}: expected {names}, got {item!r}")


def _subscriptions(sections: dict[str, Any], problems: list[str]) -> tuple[SubscriptionSpec, ...]:
    raw = sections.setdefault("subscriptions", copy.deepcopy(list(DEFAULT_SUBSCRIPTIONS)))
    if not isinstance(raw, list):
        problems.append(f"subscriptions: expected a list, got {type(raw).__name__}")
        return ()
    tenant = sections["identity"]["tenant_id"]
    out: list[SubscriptionSpec] = []
    for i, sub in enumerate(raw):
        before = len(problems)
        _check_keys(f"subscriptions[{i}]", sub, _SUBSCRIPTION_KEYS, problems, required=("id",))
        if len(problems) > before:
            continue
        spec = SubscriptionSpec(
            id=sub["id"].lower(),
            display_name=sub.get("display_name", f"Subscription {i + 1}"),
            state=sub.get("state", "Enabled"),
            tenant_id=sub.get("tenant_id", tenant),
            quota_id=sub.get("quota_id", "EnterpriseAgreement_2014-09-01"),
            spending_limit=sub.get("spending_limit", "Off"),
            omit=tuple(sub.get("omit", ())),
        )
        if any(s.id == spec.id for s in out):
            problems.append(f"subscriptions[{i}].id: duplicate {spec.id}")
        out.append(spec)
    return tuple(out)


def _faults(raw: Any, problems: list[str]) -> tuple[FaultRule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(f"faults: expected a list, got {type(raw).__name__}")
        return ()
    out: list[FaultRule] = []
    for i, item in enumerate(raw):
        try:
            out.append(FaultRule.from_dict(item, where=f"faults[{i}]"))
        except ValueError as exc:
            problems.append(str(exc))
    return tuple(out)
