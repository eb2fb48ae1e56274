"""Azure Arc-enabled servers (reference §5): Resource Graph rows for ``resources | where type =~
'microsoft.hybridcompute/machines'`` (the exporter's projection, with ``queriedAt = now()`` on the
virtual clock), the Advisor "upgrade the agent" recommendations (``advisorresources``, summarised by
``latestVersion``) and the tenant-level ``osType/{os}/agentVersions`` API (route
``arm.arc.agent_versions``). Scenario::

    arc_agents:
      machines:
        - subscription: 6f1c0b0e-…          # default: the first scenario subscription
          resource_group: rg-arc-onprem
          name: srv-sql-01
          os_type: windows                  # windows | linux (also: os_sku, location, kind)
          version: "1.60"                   # major.minor (an OS-specific build is made up) or a build
          status: Connected                 # status_since: lastStatusChange, seconds after the start
          heartbeat_stops_at: 300           # Disconnected 20 min later, Expired 45 days after that
          automatic_upgrade: true           # null: no agentUpgrade at all (agents before 1.57)
          desired_version: "1.61"
          last_attempt: {status: Failed, at: -86400, desired_version: "1.61", message: "…"}
          changes:                          # on the virtual clock, seconds after the start
            - {at: 600, version: "1.67", last_attempt: {status: Success}}
            - {at: 900, version: "1.44"}    # a script reinstalls an old agent: a downgrade
          raw: {agentVersion: "1.x"}        # final overrides of the projected row (bad input)
      generate: {count: 20000, prefix: gen}  # many plain machines over every subscription, for scale
      advisor_latest_version: "1.67"         # Advisor's latestVersion; null: no recommendations
      agent_versions: ["1.66", "1.67"]       # what agentVersions answers (both OS types)
      agent_versions_api: true               # false: the API answers 404 InvalidResourceType

Rows are computed from ``state.clock`` on every request (generated machines once), so advancing the
clock moves upgrades, downgrades and disconnections along.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from exporter.simulator.arm_helpers import SimError, arm_route
from exporter.simulator.errors import arm_error
from exporter.simulator.router import Router, SimRequest, SimResponse
from exporter.simulator.routes import resource_graph
from exporter.simulator.scenario import ScenarioError
from exporter.simulator.state import ScenarioState

DISCONNECT_AFTER = 20 * 60.0  # "Disconnected 15-30 minutes after heartbeats stop"
EXPIRE_AFTER = 45 * 86400.0  # "Expired after 45 days disconnected"
AGENT_VERSIONS_MIN_API = "2025-01-13"
DOWNLOAD_LINK = "https://aka.ms/AzureConnectedMachineAgent"
_SKUS = {"windows": "Windows Server 2022 Datacenter", "linux": "Ubuntu 22.04.5 LTS"}
_GENERATED_VERSIONS = ("1.67", "1.66", "1.65", "1.64", "1.62", "1.60", "1.58", "1.55", "1.50", "1.44")
_GENERATED_STATUSES = ("Connected",) * 16 + ("Disconnected", "Disconnected", "Expired", "Error")


@dataclass(frozen=True, slots=True)
class Attempt:
    status: str = "Success"
    at: float | None = None  # seconds after the start; default: when the change happened
    desired_version: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    at: float = 0.0
    version: str | None = None
    status: str | None = None
    automatic_upgrade: bool | None = None
    desired_version: str | None = None
    last_attempt: Attempt | None = None


@dataclass(frozen=True, slots=True)
class MachineSpec:
    subscription: str
    resource_group: str
    name: str
    location: str = "westeurope"
    kind: str | None = None
    os_type: str = "windows"
    os_sku: str | None = None
    version: str | None = "1.67"
    status: str | None = "Connected"
    status_since: float = -86400.0
    heartbeat_stops_at: float | None = None
    automatic_upgrade: bool | None = None
    desired_version: str | None = None
    last_attempt: Attempt | None = None
    changes: tuple[Change, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.HybridCompute/machines/{self.name}"
        )


# --------------------------------------------------------------------------- scenario section


def _build(cls: type[Any], raw: object, where: str, problems: list[str], **fixed: Any) -> Any:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping, got {type(raw).__name__}")
        return None
    names = set(cls.__dataclass_fields__) - set(fixed)
    unknown = sorted(set(raw) - names)
    problems += [f"{where}.{key}: unknown key; allowed: {sorted(names)}" for key in unknown]
    kwargs = {k: v for k, v in raw.items() if k in names}
    for key in ("at", "status_since", "heartbeat_stops_at"):
        value = kwargs.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems.append(f"{where}.{key}: expected seconds, got {value!r}")
            kwargs.pop(key)
    for key in ("version", "desired_version"):
        if kwargs.get(key) is not None and not isinstance(kwargs[key], str):
            # YAML reads 1.60 as the number 1.6: versions must be quoted.
            problems.append(f"{where}.{key}: expected a quoted version string, got {kwargs.pop(key)!r}")
    try:
        return cls(**kwargs, **fixed)
    except TypeError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _attempt(raw: object, where: str, problems: list[str]) -> Attempt | None:
    return None if raw is None else _build(Attempt, raw, where, problems)


@dataclass(frozen=True, slots=True)
class Estate:
    machines: tuple[MachineSpec, ...]  # from the scenario, with timelines
    generated: tuple[MachineSpec, ...]  # static: their rows are built once


def load_section(section: dict[str, Any], subscriptions: list[str]) -> Estate:
    """The scenario's ``arc_agents`` section → machine specs; ScenarioError lists every problem."""
    problems: list[str] = []
    allowed = ["advisor_latest_version", "agent_versions", "agent_versions_api", "generate", "machines"]
    problems += [
        f"arc_agents.{k}: unknown key; allowed: {allowed}" for k in sorted(set(section) - set(allowed))
    ]
    default_sub = subscriptions[0] if subscriptions else "00000000-0000-0000-0000-000000000000"
    specs: list[MachineSpec] = []
    raw_machines = section.get("machines") or []
    if not isinstance(raw_machines, list):
        problems.append("arc_agents.machines: expected a list")
        raw_machines = []
    for i, raw in enumerate(raw_machines):
        where = f"arc_agents.machines[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        raw = dict(raw)
        last = _attempt(raw.pop("last_attempt", None), f"{where}.last_attempt", problems)
        changes = []
        for j, change in enumerate(raw.pop("changes", None) or []):
            if isinstance(change, dict):
                change = dict(change)
                attempt = _attempt(
                    change.pop("last_attempt", None), f"{where}.changes[{j}].last_attempt", problems
                )
                built = _build(Change, change, f"{where}.changes[{j}]", problems, last_attempt=attempt)
            else:
                built = _build(Change, change, f"{where}.changes[{j}]", problems)
            if built is not None:
                changes.append(built)
        raw.setdefault("subscription", default_sub)
        spec = _build(
            MachineSpec,
            raw,
            where,
            problems,
            last_attempt=last,
            changes=tuple(sorted(changes, key=lambda c: c.at)),
        )
        if spec is not None:
            specs.append(spec)
    many: list[MachineSpec] = []
    generate = section.get("generate")
    if generate is not None:
        if not isinstance(generate, dict) or not isinstance(generate.get("count"), int):
            problems.append("arc_agents.generate: expected {count: N[, prefix: name]}")
        else:
            prefix = str(generate.get("prefix", "gen"))
            many = generated(generate["count"], subscriptions or [default_sub], prefix)
    if problems:
        raise ScenarioError(problems)
    return Estate(tuple(specs), tuple(many))


def generated(count: int, subscriptions: list[str], prefix: str) -> list[MachineSpec]:
    """Plain machines spread over the subscriptions: mixed OS, versions, statuses, auto-upgrade."""
    out = []
    for i in range(count):
        status = _GENERATED_STATUSES[i % len(_GENERATED_STATUSES)]
        out.append(
            MachineSpec(
                subscription=subscriptions[i % len(subscriptions)],
                resource_group=f"rg-{prefix}-{i // 100:03d}",
                name=f"arc-{prefix}-{i:05d}",
                os_type="linux" if i % 3 else "windows",
                version=_GENERATED_VERSIONS[i % len(_GENERATED_VERSIONS)],
                status=status,
                status_since=-3600.0 - i,
                automatic_upgrade=True if i % 4 == 0 else None,
                last_attempt=Attempt("Failed" if i % 40 == 0 else "Success", at=-7200.0)
                if i % 4 == 0
                else None,
            )
        )
    return out


def estate(state: ScenarioState) -> Estate:
    with state.lock:
        cached: Estate | None = state.store.get("arc_agents.estate")
        if cached is None:
            cached = load_section(state.section("arc_agents"), state.subscription_ids)
            state.store["arc_agents.estate"] = cached
        return cached


# --------------------------------------------------------------------------- timelines


def _iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"  # 7 digits, like ARM


def build(version: str, os_type: str) -> str:
    """A four-part build for ``major.minor`` (Windows and Linux builds differ); builds stay as given."""
    parts = version.split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return version
    minor = int(parts[1])
    tail = 2000 + 10 * minor if os_type.lower() == "windows" else 300 + 10 * minor
    return f"{version}.{2000 + 25 * minor:05d}.{tail}"


def _state_at(spec: MachineSpec, elapsed: float) -> tuple[MachineSpec, float]:
    """The spec with every change up to ``elapsed`` applied, and when its status last changed."""
    current, since = spec, spec.status_since
    for change in spec.changes:
        if change.at > elapsed:
            break
        updates: dict[str, Any] = {
            k: getattr(change, k)
            for k in ("version", "status", "automatic_upgrade", "desired_version")
            if getattr(change, k) is not None
        }
        if change.last_attempt is not None:
            at = change.last_attempt.at if change.last_attempt.at is not None else change.at
            updates["last_attempt"] = replace(change.last_attempt, at=at)
        if change.status is not None and change.status != current.status:
            since = change.at
        current = replace(current, **updates)
    stop = spec.heartbeat_stops_at
    if stop is not None and elapsed >= stop + DISCONNECT_AFTER:
        expired = elapsed >= stop + DISCONNECT_AFTER + EXPIRE_AFTER
        since = stop + DISCONNECT_AFTER + (EXPIRE_AFTER if expired else 0.0)
        current = replace(current, status="Expired" if expired else "Disconnected")
    return current, since


def graph_row(spec: MachineSpec, start: datetime, elapsed: float, now: datetime) -> dict[str, Any]:
    """The row the exporter's projection returns (examples/resourcegraph-arc-machines.json)."""
    m, since = _state_at(spec, elapsed)
    upgrade = m.automatic_upgrade is not None or m.last_attempt is not None or m.desired_version is not None
    attempt = m.last_attempt
    row: dict[str, Any] = {
        "id": spec.arm_id,
        "name": spec.name,
        "subscriptionId": spec.subscription,
        "resourceGroup": spec.resource_group.lower(),
        "location": spec.location,
        "kind": spec.kind or "",
        "status": m.status,
        "lastStatusChange": _iso(start + timedelta(seconds=since)),
        "agentVersion": build(m.version, spec.os_type) if m.version is not None else None,
        "osName": spec.os_type.lower(),
        "osType": spec.os_type.lower(),
        "osSku": spec.os_sku or _SKUS.get(spec.os_type.lower(), ""),
        "enableAutomaticUpgrade": bool(m.automatic_upgrade) if upgrade else None,
        "desiredVersion": m.desired_version,
        "lastAttemptStatus": attempt.status if attempt else None,
        "lastAttemptTimestamp": _iso(start + timedelta(seconds=attempt.at or 0.0)) if attempt else None,
        "lastAttemptDesiredVersion": (attempt.desired_version or m.desired_version) if attempt else None,
        "lastAttemptMessage": attempt.message if attempt else None,
        "queriedAt": _iso(now),
    }
    row.update(spec.raw)
    return row


def _rows(state: ScenarioState) -> list[dict[str, Any]]:
    start, elapsed = state.clock.start, state.clock.elapsed()
    now = start + timedelta(seconds=elapsed)
    found = estate(state)
    with state.lock:
        static: list[dict[str, Any]] | None = state.store.get("arc_agents.static_rows")
        if static is None:
            # Generated machines never change: their rows are built once (the 20,000-machine estate).
            static = [graph_row(s, start, 0.0, now) for s in found.generated]
            state.store["arc_agents.static_rows"] = static
    live = [graph_row(s, start, elapsed, now) for s in found.machines]
    stamp = _iso(now)
    rows = [*live, *({**r, "queriedAt": stamp} for r in static)]
    return sorted(rows, key=lambda r: str(r["id"]).lower())  # `order by id asc`


def graph_rows(state: ScenarioState, body: dict[str, Any]) -> list[dict[str, Any]]:
    return _rows(state)


def _version_key(text: object) -> tuple[int, int] | None:
    parts = str(text).split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1])


def advisor_rows(state: ScenarioState, body: dict[str, Any]) -> list[dict[str, Any]]:
    """One recommendation per machine behind Advisor's latest version (not for Expired machines:
    they stopped reporting), summarised by latestVersion as the exporter's query does."""
    latest = state.section("arc_agents").get("advisor_latest_version", "1.67")
    target = _version_key(latest)
    if target is None:
        return []
    wanted = {str(s).lower() for s in body.get("subscriptions") or []} or set(state.subscription_ids)
    behind = 0
    for row in _rows(state):
        if str(row.get("subscriptionId", "")).lower() not in wanted:
            continue
        installed = _version_key(row.get("agentVersion"))
        if installed is not None and installed < target and row.get("status") != "Expired":
            behind += 1
    return [{"latestVersion": str(latest), "machines": behind}] if behind else []


def _is_machines_query(query: str) -> bool:
    # The agent's own query (Update Manager's machines query also reads hybridcompute machines).
    return (
        "type =~ 'microsoft.hybridcompute/machines'" in query
        and "agentversion" in query
        and "advisorresources" not in query
        and "summarize" not in query
    )


def _is_estate_versions_query(query: str) -> bool:
    return (
        "microsoft.hybridcompute/machines" in query
        and "summarize machines = count() by agentversion" in query
    )


def estate_version_rows(state: ScenarioState, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The exporter's tenant-wide summary: one row per installed agentVersion, with its count."""
    wanted = {str(s).lower() for s in body.get("subscriptions") or []} or set(state.subscription_ids)
    counts: dict[str, int] = {}
    for row in _rows(state):
        if str(row.get("subscriptionId", "")).lower() in wanted:
            version = str(row.get("agentVersion") or "")
            counts[version] = counts.get(version, 0) + 1
    return [{"agentVersion": v, "machines": n} for v, n in sorted(counts.items())]


def _is_advisor_query(query: str) -> bool:
    return query.startswith("advisorresources") and "connected machine agent" in query


# --------------------------------------------------------------------------- routes


def register(router: Router) -> None:
    versions = arm_route(get_agent_versions, min_api_version=AGENT_VERSIONS_MIN_API, scope="tenant")
    one = arm_route(get_agent_version, min_api_version=AGENT_VERSIONS_MIN_API, scope="tenant")
    base = r"/providers/Microsoft\.HybridCompute/osType/(?P<os>[^/]+)/agentVersions"
    router.add("GET", base + r"/?", "arm.arc.agent_versions", versions)
    router.add("GET", base + r"/(?P<version>[^/]+)/?", "arm.arc.agent_version", one)
    resource_graph.register_provider("arc_agents", _is_machines_query, graph_rows)
    resource_graph.register_provider("arc_agents.advisor", _is_advisor_query, advisor_rows)
    resource_graph.register_provider(
        "arc_agents.estate_versions", _is_estate_versions_query, estate_version_rows
    )


def _offered(req: SimRequest, state: ScenarioState) -> list[dict[str, Any]]:
    section = state.section("arc_agents")
    if section.get("agent_versions_api", True) is False:
        msg = (
            "The resource type 'osType' could not be found in the namespace 'Microsoft.HybridCompute' "
            f"for api version '{req.query.get('api-version')}'."
        )
        raise SimError(arm_error(404, "InvalidResourceType", msg))
    os_type = req.params["os"].capitalize()
    return [
        {"agentVersion": str(v), "downloadLink": DOWNLOAD_LINK, "osType": os_type}
        for v in section.get("agent_versions") or ["1.66", "1.67"]
    ]


def get_agent_versions(req: SimRequest, state: ScenarioState) -> SimResponse:
    return SimResponse(200, {"value": _offered(req, state)})


def get_agent_version(req: SimRequest, state: ScenarioState) -> SimResponse:
    for item in _offered(req, state):
        if item["agentVersion"] == req.params["version"]:
            return SimResponse(200, item)
    msg = f"The agent version '{req.params['version']}' was not found."
    return arm_error(404, "ResourceNotFound", msg)
