"""VM Scale Sets (Compute): OS upgrade history, latest rolling upgrade, the scale-set model, and
Resource Graph rows for ``resources | where type =~ 'microsoft.compute/virtualmachinescalesets'``.

Routes: ``arm.vmss.os_upgrade_history``, ``arm.vmss.rolling_upgrade_latest``, ``arm.vmss.get``
(all faultable; a 429 "status" fault answers with the Compute RP throttling body). Scenario::

    vmss:
      scale_sets:
        - subscription: 6f1c0b0e-…          # default: the first scenario subscription
          resource_group: rg-web-prod
          name: vmss-web-prod
          capacity: 10                      # also: location, sku, orchestration_mode, tags, image
          mode: Rolling                     # upgradePolicy.mode
          automatic_os_upgrade: true        # also: disable_automatic_rollback,
                                            #   max_batch_instance_percent (20), max_unhealthy_…
          deleted: false                    # in Resource Graph, but 404 from Compute
          rolling_latest: true              # false: rollingUpgrades/latest answers 404
          history:                          # finished upgrades before the start, newest first
            - {code: Completed, started_ago: 604800, duration: 3600}
          upgrade:                          # one upgrade on the virtual clock
            start_after: 0                  # seconds after the simulator's start
            batch_seconds: 60               # each batch (max_batch_instance_percent of capacity)
            outcome: completed              # completed | faulted | rolled_back
            fail_batch: 1                   # faulted/rolled_back: the batch whose instances fail
            failed_instances: 1
            recover_after: 300              # seconds after the fault: a new upgrade that completes
      generate: {count: 1000, eligible_ratio: 0.5}   # many plain sets for scale tests
      forbidden_subscriptions: []       # Compute answers 403 AuthorizationFailed there (read per request)

History items, rollingUpgrades/latest and the Resource Graph rows are computed from
``state.clock`` on every request, so advancing the clock moves an upgrade batch by batch.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from exporter.simulator.arm_helpers import SimError, arm_paged, arm_route, require_subscription
from exporter.simulator.errors import arm_error, arm_fault_body
from exporter.simulator.router import Router, SimRequest, SimResponse
from exporter.simulator.routes import resource_graph
from exporter.simulator.scenario import ScenarioError
from exporter.simulator.state import ScenarioState

MIN_API_VERSION = "2018-10-01"  # automatic OS upgrade needs 2018-10-01 or later (reference §4.1)
HISTORY_DEPTH = 5  # "the last five upgrade attempts" (reference §4.1)
FAULT_ERROR = "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
OUTCOMES = ("completed", "faulted", "rolled_back")
DEFAULT_IMAGE = {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2"}
RATE_HEADER = (
    "Microsoft.Compute/HighCostGetVMScaleSet3Min;190,Microsoft.Compute/HighCostGetVMScaleSet30Min;890"
)
_VMSS = (
    r"/subscriptions/(?P<subscription_id>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Compute/virtualMachineScaleSets/(?P<vmss>[^/]+)"
)


@dataclass(frozen=True, slots=True)
class PastUpgrade:
    code: str = "Completed"
    started_ago: float = 86400.0
    duration: float = 3600.0
    successful: int | None = None  # default: capacity for Completed, else 0
    failed: int = 0
    pending: int | None = None  # default: capacity - successful - failed
    rolled_back: int = 0
    version: str = "22.04.202610090"
    error_code: str = ""
    started_by: str = "Platform"


@dataclass(frozen=True, slots=True)
class LiveUpgrade:
    start_after: float = 0.0
    batch_seconds: float = 60.0
    outcome: str = "completed"
    fail_batch: int = 1
    failed_instances: int = 1
    recover_after: float | None = None
    version: str = "22.04.202611200"
    started_by: str = "Platform"


@dataclass(frozen=True, slots=True)
class ScaleSetSpec:
    subscription: str
    resource_group: str
    name: str
    location: str = "westeurope"
    sku: str = "Standard_D4s_v5"
    capacity: int = 10
    orchestration_mode: str = "Uniform"
    mode: str = "Rolling"
    automatic_os_upgrade: bool | None = True
    disable_automatic_rollback: bool = False
    max_batch_instance_percent: int = 20
    max_unhealthy_upgraded_instance_percent: int = 20
    tags: dict[str, str] = field(default_factory=dict)
    image: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_IMAGE))
    deleted: bool = False
    rolling_latest: bool = True
    history: tuple[PastUpgrade, ...] = ()
    upgrade: LiveUpgrade | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.subscription.lower(), self.resource_group.lower(), self.name.lower())

    @property
    def arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Compute/virtualMachineScaleSets/{self.name}"
        )

    @property
    def batch_size(self) -> int:
        return max(1, math.ceil(self.capacity * self.max_batch_instance_percent / 100))


# --------------------------------------------------------------------------- scenario section


def _build(cls: type[Any], raw: object, where: str, problems: list[str], **fixed: Any) -> Any:
    """Build dataclass `cls` from a mapping, type-checking each key against the defaults."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping, got {type(raw).__name__}")
        return None
    names = set(cls.__dataclass_fields__) - set(fixed)
    kwargs: dict[str, Any] = dict(fixed)
    for key, value in raw.items():
        if key not in names:
            problems.append(f"{where}.{key}: unknown key; allowed: {sorted(names)}")
            continue
        spec = cls.__dataclass_fields__[key]
        optional = value is None and "None" in str(spec.type)
        if not optional and not _same_type(spec.default, value):
            problems.append(f"{where}.{key}: expected {type(spec.default).__name__}, got {value!r}")
            continue
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _same_type(default: object, value: object) -> bool:
    if default is None or default is MISSING:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def load_section(section: dict[str, Any], subscriptions: list[str]) -> list[ScaleSetSpec]:
    """The scenario's ``vmss`` section → scale-set specs; ScenarioError lists every problem."""
    problems: list[str] = []
    allowed = ["forbidden_subscriptions", "generate", "scale_sets"]
    problems += [f"vmss.{k}: unknown key; allowed: {allowed}" for k in sorted(set(section) - set(allowed))]
    if not isinstance(section.get("forbidden_subscriptions") or [], list):
        problems.append("vmss.forbidden_subscriptions: expected a list of subscription ids")
    specs: list[ScaleSetSpec] = []
    raw_sets = section.get("scale_sets") or []
    if not isinstance(raw_sets, list):
        problems.append("vmss.scale_sets: expected a list")
        raw_sets = []
    default_sub = subscriptions[0] if subscriptions else "00000000-0000-0000-0000-000000000000"
    for i, raw in enumerate(raw_sets):
        where = f"vmss.scale_sets[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        raw = dict(raw)
        history = [
            _build(PastUpgrade, h, f"{where}.history[{j}]", problems)
            for j, h in enumerate(raw.pop("history", []))
        ]
        upgrade = raw.pop("upgrade", None)
        live = _build(LiveUpgrade, upgrade, f"{where}.upgrade", problems) if upgrade is not None else None
        if live is not None and live.outcome not in OUTCOMES:
            problems.append(f"{where}.upgrade.outcome: {live.outcome!r} not one of {list(OUTCOMES)}")
        raw.setdefault("subscription", default_sub)
        spec = _build(
            ScaleSetSpec,
            raw,
            where,
            problems,
            history=tuple(h for h in history if h is not None),
            upgrade=live,
        )
        if spec is not None:
            specs.append(spec)
    generate = section.get("generate")
    if generate is not None:
        specs += _generate(generate, subscriptions or [default_sub], problems)
    if problems:
        raise ScenarioError(problems)
    return specs


def _generate(raw: object, subscriptions: list[str], problems: list[str]) -> list[ScaleSetSpec]:
    if not isinstance(raw, dict) or not isinstance(raw.get("count"), int):
        problems.append("vmss.generate: expected {count: N[, eligible_ratio: 0..1, prefix: name]}")
        return []
    count, ratio, prefix = raw["count"], float(raw.get("eligible_ratio", 1.0)), str(raw.get("prefix", "gen"))
    out = []
    for i in range(count):
        eligible = (i % 100) < round(ratio * 100)
        out.append(
            ScaleSetSpec(
                subscription=subscriptions[i % len(subscriptions)],
                resource_group=f"rg-{prefix}-{i // 50:03d}",
                name=f"vmss-{prefix}-{i:05d}",
                capacity=2 + i % 9,
                mode="Rolling" if eligible else "Manual",
                automatic_os_upgrade=True if eligible else None,
                history=(PastUpgrade(started_ago=7 * 86400.0 + i),),
            )
        )
    return out


def scale_sets(state: ScenarioState) -> dict[tuple[str, str, str], ScaleSetSpec]:
    """The scenario's scale sets by lowercased (subscription, resource group, name); cached."""
    with state.lock:
        cached: dict[tuple[str, str, str], ScaleSetSpec] | None = state.store.get("vmss.sets")
        if cached is None:
            specs = load_section(state.section("vmss"), state.subscription_ids)
            cached = {s.key: s for s in specs}
            state.store["vmss.sets"] = cached
        return cached


# --------------------------------------------------------------------------- timelines


def _iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0+00:00"  # 7 digits, like Compute


def _image(spec: ScaleSetSpec, version: str) -> dict[str, str]:
    return {**spec.image, "version": version}


def _entry(
    spec: ScaleSetSpec,
    code: str,
    start: datetime,
    end: datetime | None,
    counts: tuple[int, int, int, int],
    *,
    version: str,
    started_by: str = "Platform",
    error_code: str = "",
    rolled_back: int = 0,
) -> dict[str, Any]:
    status: dict[str, Any] = {"code": code, "startTime": _iso(start)}
    if end is not None:
        status["endTime"] = _iso(end)
    props: dict[str, Any] = {
        "runningStatus": status,
        "progress": dict(
            zip(
                (
                    "successfulInstanceCount",
                    "failedInstanceCount",
                    "inProgressInstanceCount",
                    "pendingInstanceCount",
                ),
                counts,
                strict=True,
            )
        ),
        "startedBy": started_by,
        "targetImageReference": _image(spec, version),
        "rollbackInfo": {
            "successfullyRolledbackInstanceCount": rolled_back,
            "failedRolledbackInstanceCount": 0,
        },
    }
    if error_code:
        props["error"] = {
            "code": error_code,
            "message": f"Rolling upgrade was stopped because upgraded instances are unhealthy, which exceeds "
            f"maxUnhealthyUpgradedInstancePercent ({spec.max_unhealthy_upgraded_instance_percent}%).",
        }
    return {
        "properties": props,
        "type": "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades",
        "location": spec.location,
    }


def _rolling_forward(
    spec: ScaleSetSpec, start: datetime, t: float, bs: float, version: str
) -> dict[str, Any]:
    """An upgrade that completes, started at `start`, `t` seconds ago."""
    n, size = spec.capacity, spec.batch_size
    batches = math.ceil(n / size)
    k = int(t // bs)
    if k >= batches:
        return _entry(
            spec, "Completed", start, start + timedelta(seconds=batches * bs), (n, 0, 0, 0), version=version
        )
    done = min(k * size, n)
    running = min(size, n - done)
    return _entry(
        spec, "RollingForward", start, None, (done, 0, running, n - done - running), version=version
    )


def live_entries(spec: ScaleSetSpec, clock_start: datetime, elapsed: float) -> list[dict[str, Any]]:
    """History items of the live upgrade (and its recovery) at `elapsed`, newest first."""
    up = spec.upgrade
    if up is None or elapsed < up.start_after:
        return []
    start = clock_start + timedelta(seconds=up.start_after)
    t, bs = elapsed - up.start_after, max(up.batch_seconds, 0.001)
    n, size = spec.capacity, spec.batch_size
    fail_batch = min(up.fail_batch, math.ceil(n / size) - 1)
    fault_t = (fail_batch + 1) * bs
    if up.outcome == "completed" or t < fault_t:
        return [_rolling_forward(spec, start, t, bs, up.version)]
    upgraded = min((fail_batch + 1) * size, n)
    failed = min(up.failed_instances, upgraded)
    counts = (upgraded - failed, failed, 0, n - upgraded)
    common: dict[str, Any] = {"version": up.version, "started_by": up.started_by, "error_code": FAULT_ERROR}
    end_t = fault_t
    if up.outcome == "rolled_back":
        end_t = fault_t + bs
        if t < end_t:
            return [_entry(spec, "RollingBack", start, None, counts, **common)]
        common["rolled_back"] = upgraded
    faulted = _entry(spec, "Faulted", start, start + timedelta(seconds=end_t), counts, **common)
    if up.recover_after is None or t < end_t + up.recover_after:
        return [faulted]
    retry_start = start + timedelta(seconds=end_t + up.recover_after)
    retry = _rolling_forward(spec, retry_start, t - end_t - up.recover_after, bs, up.version)
    return [retry, faulted]


def past_entries(spec: ScaleSetSpec, clock_start: datetime) -> list[dict[str, Any]]:
    out = []
    for past in spec.history:
        start = clock_start - timedelta(seconds=past.started_ago)
        successful = (
            past.successful
            if past.successful is not None
            else (spec.capacity if past.code == "Completed" else 0)
        )
        pending = (
            past.pending if past.pending is not None else max(0, spec.capacity - successful - past.failed)
        )
        end = start + timedelta(seconds=past.duration) if past.code != "RollingForward" else None
        out.append(
            _entry(
                spec,
                past.code,
                start,
                end,
                (successful, past.failed, 0, pending),
                version=past.version,
                started_by=past.started_by,
                error_code=past.error_code,
                rolled_back=past.rolled_back,
            )
        )
    return out


def history(spec: ScaleSetSpec, state: ScenarioState) -> list[dict[str, Any]]:
    items = live_entries(spec, state.clock.start, state.clock.elapsed()) + past_entries(
        spec, state.clock.start
    )
    return items[:HISTORY_DEPTH]


def rolling_latest(spec: ScaleSetSpec, state: ScenarioState) -> dict[str, Any] | None:
    items = history(spec, state) if spec.rolling_latest else []
    if not items:
        return None
    latest = items[0]["properties"]
    status = dict(latest["runningStatus"])
    status.pop("endTime", None)
    status |= {"lastAction": "Start", "lastActionTime": status["startTime"]}
    props: dict[str, Any] = {
        "policy": _rolling_policy(spec),
        "runningStatus": status,
        "progress": latest["progress"],
    }
    if "error" in latest:
        props["error"] = latest["error"]
    return {
        "id": f"{spec.arm_id}/rollingUpgrades/latest",
        "name": "latest",
        "type": "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades",
        "location": spec.location,
        "properties": props,
    }


def _rolling_policy(spec: ScaleSetSpec) -> dict[str, Any]:
    return {
        "maxBatchInstancePercent": spec.max_batch_instance_percent,
        "maxUnhealthyInstancePercent": 20,
        "maxUnhealthyUpgradedInstancePercent": spec.max_unhealthy_upgraded_instance_percent,
        "pauseTimeBetweenBatches": "PT0S",
        "prioritizeUnhealthyInstances": False,
    }


def _upgrade_policy(spec: ScaleSetSpec) -> dict[str, Any]:
    policy: dict[str, Any] = {"mode": spec.mode}
    if spec.mode == "Rolling" or spec.automatic_os_upgrade:
        policy["rollingUpgradePolicy"] = _rolling_policy(spec)
    if spec.automatic_os_upgrade is not None:
        policy["automaticOSUpgradePolicy"] = {
            "enableAutomaticOSUpgrade": spec.automatic_os_upgrade,
            "disableAutomaticRollback": spec.disable_automatic_rollback,
            "useRollingUpgradePolicy": spec.mode == "Rolling",
            "osRollingUpgradeDeferral": False,
        }
    return policy


# --------------------------------------------------------------------------- Resource Graph


def graph_row(spec: ScaleSetSpec) -> dict[str, Any]:
    """The row the exporter's projection (reference §4.5 + tags and rolling policy) returns."""
    policy = _upgrade_policy(spec)
    auto = policy.get("automaticOSUpgradePolicy") or {}
    return {
        "id": spec.arm_id,
        "name": spec.name,
        "subscriptionId": spec.subscription,
        "resourceGroup": spec.resource_group.lower(),
        "location": spec.location,
        "tags": dict(spec.tags),
        "capacity": spec.capacity,
        "orchestrationMode": spec.orchestration_mode,
        "upgradeMode": spec.mode,
        "enableAutomaticOSUpgrade": auto.get("enableAutomaticOSUpgrade"),
        "disableAutomaticRollback": auto.get("disableAutomaticRollback"),
        "useRollingUpgradePolicy": auto.get("useRollingUpgradePolicy"),
        "imagePublisher": spec.image.get("publisher", ""),
        "imageOffer": spec.image.get("offer", ""),
        "imageSku": spec.image.get("sku", ""),
        "imageVersion": "latest",
        "rollingUpgradePolicy": policy.get("rollingUpgradePolicy"),
    }


def graph_rows(state: ScenarioState, body: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [graph_row(spec) for spec in scale_sets(state).values()]
    return sorted(rows, key=lambda r: str(r["id"]).lower())  # `order by id asc`


def _matches(query: str) -> bool:
    return "type =~ 'microsoft.compute/virtualmachinescalesets'" in query


# --------------------------------------------------------------------------- routes


def register(router: Router) -> None:
    common: dict[str, Any] = {"min_api_version": MIN_API_VERSION, "provider_type": "virtualMachineScaleSets"}
    router.add(
        "GET", _VMSS + r"/osUpgradeHistory/?", "arm.vmss.os_upgrade_history", arm_route(get_history, **common)
    )
    router.add(
        "GET",
        _VMSS + r"/rollingUpgrades/latest/?",
        "arm.vmss.rolling_upgrade_latest",
        arm_route(get_latest, **common),
    )
    router.add("GET", _VMSS + r"/?", "arm.vmss.get", arm_route(get_scale_set, **common))
    router.add_fault_body("arm.vmss.*", fault_body)
    resource_graph.register_provider("vmss", _matches, graph_rows)


def _find(req: SimRequest, state: ScenarioState) -> ScaleSetSpec:
    sub = require_subscription(req, state)
    # Read per request, so a test can revoke and restore access while the simulator runs.
    if sub in {str(s).lower() for s in state.section("vmss").get("forbidden_subscriptions") or []}:
        client = state.identity["client_id"]
        msg = (
            f"The client '{client}' with object id '{client}' does not have authorization to perform "
            f"action 'Microsoft.Compute/virtualMachineScaleSets/read' over scope '{req.path}' or the scope "
            "is invalid. If access was recently granted, please refresh your credentials."
        )
        raise SimError(arm_error(403, "AuthorizationFailed", msg))
    spec = scale_sets(state).get((sub, req.params["rg"].lower(), req.params["vmss"].lower()))
    if spec is None or spec.deleted:
        msg = (
            f"The Resource 'Microsoft.Compute/virtualMachineScaleSets/{req.params['vmss']}' under resource "
            f"group '{req.params['rg']}' was not found. For more details please go to "
            "https://aka.ms/ARMResourceNotFoundFix"
        )
        raise SimError(arm_error(404, "ResourceNotFound", msg))
    return spec


def _ok(body: dict[str, Any]) -> SimResponse:
    return SimResponse(200, body, {"x-ms-ratelimit-remaining-resource": RATE_HEADER})


def get_history(req: SimRequest, state: ScenarioState) -> SimResponse:
    spec = _find(req, state)
    return _ok(arm_paged(history(spec, state), req, state))


def get_latest(req: SimRequest, state: ScenarioState) -> SimResponse:
    body = rolling_latest(_find(req, state), state)
    if body is None:
        # examples/vmss-rolling-upgrade-latest-404.json
        return arm_error(404, "NotFound", "The entity was not found in this Azure location.")
    return _ok(body)


def get_scale_set(req: SimRequest, state: ScenarioState) -> SimResponse:
    spec = _find(req, state)
    return _ok(
        {
            "id": spec.arm_id,
            "name": spec.name,
            "type": "Microsoft.Compute/virtualMachineScaleSets",
            "location": spec.location,
            "tags": dict(spec.tags),
            "sku": {"name": spec.sku, "tier": "Standard", "capacity": spec.capacity},
            "properties": {
                "orchestrationMode": spec.orchestration_mode,
                "provisioningState": "Succeeded",
                "upgradePolicy": _upgrade_policy(spec),
                "virtualMachineProfile": {
                    "storageProfile": {"imageReference": {**spec.image, "version": "latest"}}
                },
            },
        }
    )


def fault_body(status: int, req: SimRequest, state: ScenarioState) -> SimResponse:
    """Compute RP answers 429 with OperationNotAllowed/TooManyRequests (compute-error-429-throttled.json)."""
    if status != 429:
        return arm_fault_body(status, req, state)
    now = state.clock.now()
    detail = json.dumps(
        {
            "operationGroup": "HighCostGetVMScaleSet30Min",
            "startTime": _iso(now),
            "endTime": _iso(now + timedelta(minutes=15)),
            "allowedRequestCount": 1800,
            "measuredRequestCount": 2208,
        },
        separators=(",", ":"),
    )
    body = {
        "error": {
            "code": "OperationNotAllowed",
            "message": "The server rejected the request because too many requests have been received "
            "for this subscription.",
            "details": [
                {"code": "TooManyRequests", "target": "HighCostGetVMScaleSet30Min", "message": detail}
            ],
            "innerError": {"internalErrorCode": "TooManyRequestsReceived"},
        }
    }
    limits = "Microsoft.Compute/HighCostGetVMScaleSet3Min;0,Microsoft.Compute/HighCostGetVMScaleSet30Min;0"
    return SimResponse(429, body, {"x-ms-ratelimit-remaining-resource": limits})
