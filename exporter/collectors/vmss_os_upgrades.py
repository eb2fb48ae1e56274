"""VM Scale Set automatic OS image upgrades: every scale set, its upgrade policy and its upgrades.

Replaces running ``az vmss get-os-upgrade-history`` by hand. Discovery is one paged Resource Graph
query over every subscription (reference §4.5); for each scale set with automatic OS image upgrade
(or, with ``include_rolling_mode``, upgrade mode Rolling) two Compute calls follow: the OS upgrade
history and ``rollingUpgrades/latest`` (reference §4.1-4.3), with bounded concurrency. Nothing is
read per instance, so a refresh costs Resource Graph pages + 2 per eligible scale set.

    azure_vmss_upgrade_policy_info{subscription_id="6f1c…",resource_group="rg-web-prod",
        vmss="vmss-web-prod",mode="Rolling",orchestration_mode="Uniform",location="westeurope"} 1
    azure_vmss_automatic_os_upgrade_enabled{…,vmss="vmss-web-prod"} 1
    azure_vmss_os_upgrade_instances{…,vmss="vmss-web-prod",state="in_progress"} 2
    azure_vmss_os_upgrade_status{…,vmss="vmss-web-prod",code="RollingForward"} 1
    azure_vmss_os_upgrade_status{…,vmss="vmss-web-prod",code="Faulted"} 0
    azure_vmss_os_upgrade_start_timestamp_seconds{…,vmss="vmss-web-prod"} 1.795327331e+09
    azure_vmss_os_upgrade_info{…,started_by="Platform",
        target_image="Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:22.04.202611140",error_code=""} 1
    azure_vmss_os_upgrade_rollback_instances{…,vmss="vmss-web-prod",result="succeeded"} 0
    azure_vmss_os_upgrades{…,vmss="vmss-web-prod",code="Faulted"} 1
    azure_vmss_rolling_upgrade_instances{…,vmss="vmss-web-prod",state="pending"} 6
    azure_update_exporter_vmss_requests_last_refresh{api="compute"} 4

Choices:

- Labels: ``subscription_id``, ``resource_group`` and ``vmss`` come from the lowercased resource ID.
- The "latest" OS upgrade is the history entry with the newest ``runningStatus.startTime``; the
  ``azure_vmss_os_upgrades{code}`` summary counts every entry the API returns (at most five,
  within two months).
- Per scale set, 404 from the history call means the set was deleted after discovery: it is
  dropped quietly (and ``rollingUpgrades/latest`` is not asked). 404 from ``rollingUpgrades/latest``
  means "never had a rolling upgrade": no rolling series. Any other failure (403 for a subscription
  or resource group, 429 after the SDK's Retry-After retries, 5xx, timeouts) is counted once per
  reason and subscription, and that scale set keeps its upgrade data from the previous refresh, so
  one subscription's failure never blanks the others. Only when every eligible scale set fails does
  the refresh fail (and the whole last good snapshot is kept).
- Wire leniency: ``inProgressInstanceCount``/``inprogressInstanceCount`` and ``endTime``/
  ``completedTime`` are all accepted (field names are matched case-insensitively); unknown codes,
  modes and invokers pass through as label values and are counted as ``unknown_enum``.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import HttpResponseError
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter.azure import resource_graph
from exporter.core.errors import PayloadError, Reason, SourceError, classify
from exporter.core.families import add_state, gauge
from exporter.core.registry import register
from exporter.core.source import FetchContext, Issue, SourceSpec
from exporter.core.timefmt import parse_iso

if TYPE_CHECKING:
    from exporter.azure.clients import AzureContext

# Resource Graph projection (reference §4.5) plus tags and the rolling upgrade policy object.
QUERY = """resources
| where type =~ 'microsoft.compute/virtualmachinescalesets'
| extend upgradePolicy = properties.upgradePolicy,
         osPolicy = properties.upgradePolicy.automaticOSUpgradePolicy
| project id, name, subscriptionId, resourceGroup, location, tags,
          capacity = toint(sku.capacity),
          orchestrationMode = tostring(properties.orchestrationMode),
          upgradeMode = tostring(upgradePolicy.mode),
          enableAutomaticOSUpgrade = tobool(osPolicy.enableAutomaticOSUpgrade),
          disableAutomaticRollback = tobool(osPolicy.disableAutomaticRollback),
          rollingUpgradePolicy = upgradePolicy.rollingUpgradePolicy
| order by id asc"""

MODES = ("Automatic", "Manual", "Rolling")
# UpgradeState / RollingUpgradeStatusCode (reference §4.2): the same five values for both calls.
CODES = ("RollingForward", "RollingBack", "Cancelled", "Completed", "Faulted")
STARTED_BY = ("Unknown", "User", "Platform")
INSTANCE_STATES = ("successful", "failed", "in_progress", "pending")
ROLLBACK_RESULTS = ("succeeded", "failed")
TRUE_TAG_VALUES = frozenset({"true", "yes", "1", "on", "enabled", "required"})
MAX_HISTORY_PAGES = 20  # the history holds at most five entries; this only bounds a broken nextLink
LABELS = ("subscription_id", "resource_group", "vmss")

_VMSS_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"
    r"/providers/microsoft\.compute/virtualmachinescalesets/(?P<name>[^/]+)$"
)


@dataclass(frozen=True, slots=True)
class Options:
    # Scale sets whose two Compute calls run at the same time (one connection each).
    concurrency: int = field(default=8, metadata={"min": 1})
    # Also read history and rollingUpgrades/latest for upgrade mode Rolling without automatic OS
    # image upgrade (model changes and manual OS upgrades roll out there too).
    include_rolling_mode: bool = True
    # Name of a scale-set tag whose true-ish value (true, yes, 1, on, enabled, required) says that
    # automatic OS image upgrade is expected; exposes azure_vmss_automatic_os_upgrade_expected for
    # the opt-in AzureVmssAutomaticOsUpgradeDisabled alert. Unset: no such series.
    expect_automatic_os_upgrade_tag: str | None = None


@dataclass(frozen=True, slots=True)
class ScaleSet:
    subscription_id: str
    resource_group: str
    name: str
    location: str
    capacity: int | None
    orchestration_mode: str
    mode: str
    automatic_os_upgrade: bool
    disable_automatic_rollback: bool
    max_batch_instance_percent: float | None = None
    max_unhealthy_upgraded_instance_percent: float | None = None
    # None: no expectation configured (expect_automatic_os_upgrade_tag unset).
    automatic_os_upgrade_expected: bool | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.subscription_id, self.resource_group, self.name)


@dataclass(frozen=True, slots=True)
class Progress:
    successful: int = 0
    failed: int = 0
    in_progress: int = 0
    pending: int = 0

    def by_state(self) -> tuple[tuple[str, int], ...]:
        return (
            ("successful", self.successful),
            ("failed", self.failed),
            ("in_progress", self.in_progress),
            ("pending", self.pending),
        )


@dataclass(frozen=True, slots=True)
class Upgrade:
    """One osUpgradeHistory entry."""

    code: str
    started_at: datetime | None
    ended_at: datetime | None
    progress: Progress
    started_by: str
    target_image: str
    error_code: str
    rolled_back: int
    rollback_failed: int


@dataclass(frozen=True, slots=True)
class History:
    latest: Upgrade | None
    codes: tuple[tuple[str, int], ...]  # entries of the returned window per final/current code


@dataclass(frozen=True, slots=True)
class RollingUpgrade:
    code: str
    started_at: datetime | None
    progress: Progress


@dataclass(frozen=True, slots=True)
class Entry:
    scale_set: ScaleSet
    eligible: bool
    history: History | None = None  # None: not eligible, or never fetched successfully
    rolling: RollingUpgrade | None = None  # None: no rolling upgrade (404) or not fetched


@dataclass(frozen=True, slots=True)
class Snapshot:
    fetched_at: datetime
    scale_sets: tuple[Entry, ...]
    requests: tuple[tuple[str, int], ...] = ()  # api -> calls made by the refresh
    expectation: bool = False  # expect_automatic_os_upgrade_tag was configured


# --------------------------------------------------------------------------- parsing (pure)


def _field(obj: Mapping[str, Any], *names: str) -> Any:
    """First of `names` present in `obj`, matched exactly, then case-insensitively."""
    for name in names:
        if name in obj:
            return obj[name]
    lowered = {k.lower(): v for k, v in obj.items() if isinstance(k, str)}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _enum(value: str, known: Iterable[str], what: str, issues: list[Issue]) -> str:
    """Canonical casing for a known value; an unknown one passes through and is reported."""
    for candidate in known:
        if candidate.lower() == value.lower():
            return candidate
    issues.append(
        Issue(f"{what}:{value}", Reason.UNKNOWN_ENUM, f"unknown {what}; passed through", ((what, value),))
    )
    return value


def _tag_true(tags: object, name: str) -> bool:
    for key, value in _mapping(tags).items():
        if isinstance(key, str) and key.lower() == name.lower():
            return _text(value).lower() in TRUE_TAG_VALUES
    return False


def parse_scale_set(row: object, issues: list[Issue], expect_tag: str | None = None) -> ScaleSet | None:
    """One projected Resource Graph row → ScaleSet; None (and an issue) when it has no usable id."""
    if not isinstance(row, Mapping):
        issues.append(Issue("row", Reason.MALFORMED_PAYLOAD, "Resource Graph row is not an object; skipped"))
        return None
    match = _VMSS_ID.match(_text(row.get("id")).lower())
    if match is None:
        issues.append(
            Issue("row:id", Reason.MISSING_FIELD, "scale set row without a scale-set resource id; skipped")
        )
        return None
    mode_text = _text(row.get("upgradeMode"))
    # upgradePolicy.mode defaults to Manual in the Compute API when the policy does not set it.
    mode = _enum(mode_text, MODES, "mode", issues) if mode_text else "Manual"
    capacity = _number(row.get("capacity"))
    policy = _mapping(row.get("rollingUpgradePolicy"))
    return ScaleSet(
        subscription_id=match.group("sub"),
        resource_group=match.group("rg"),
        name=match.group("name"),
        location=_text(row.get("location")).lower(),
        capacity=int(capacity) if capacity is not None else None,
        orchestration_mode=_text(row.get("orchestrationMode")) or "Uniform",
        mode=mode,
        automatic_os_upgrade=_bool(row.get("enableAutomaticOSUpgrade")),
        disable_automatic_rollback=_bool(row.get("disableAutomaticRollback")),
        max_batch_instance_percent=_number(_field(policy, "maxBatchInstancePercent")),
        max_unhealthy_upgraded_instance_percent=_number(
            _field(policy, "maxUnhealthyUpgradedInstancePercent")
        ),
        automatic_os_upgrade_expected=_tag_true(row.get("tags"), expect_tag) if expect_tag else None,
    )


def parse_scale_sets(
    rows: Iterable[object], issues: list[Issue], expect_tag: str | None = None
) -> tuple[ScaleSet, ...]:
    found: dict[tuple[str, str, str], ScaleSet] = {}
    for row in rows:
        scale_set = parse_scale_set(row, issues, expect_tag)
        if scale_set is not None:
            found.setdefault(scale_set.key, scale_set)
    return tuple(found[k] for k in sorted(found))


def _count(obj: Mapping[str, Any], name: str, ref: str, issues: list[Issue]) -> int:
    value = _field(obj, name)
    if value is None:
        return 0
    number = _number(value)
    if number is None or number < 0 or number != int(number):
        issues.append(
            Issue(
                f"count:{ref}:{name}",
                Reason.MALFORMED_PAYLOAD,
                "instance count is not a count; taken as 0",
                (("field", name), ("value", repr(value)[:40])),
            )
        )
        return 0
    return int(number)


def _progress(value: object, ref: str, issues: list[Issue]) -> Progress:
    obj = _mapping(value)
    return Progress(
        successful=_count(obj, "successfulInstanceCount", ref, issues),
        failed=_count(obj, "failedInstanceCount", ref, issues),
        # the Learn sample spells it inprogressInstanceCount; _field matches either
        in_progress=_count(obj, "inProgressInstanceCount", ref, issues),
        pending=_count(obj, "pendingInstanceCount", ref, issues),
    )


def _time(value: object, ref: str, name: str, issues: list[Issue]) -> datetime | None:
    try:
        return parse_iso(value)
    except ValueError:
        issues.append(
            Issue(
                f"time:{ref}:{name}",
                Reason.MALFORMED_PAYLOAD,
                "unparseable upgrade time; not exposed",
                (("field", name), ("value", repr(value)[:40])),
            )
        )
        return None


def _code(status: Mapping[str, Any], ref: str, issues: list[Issue]) -> str:
    code = _text(_field(status, "code"))
    if not code:
        issues.append(Issue(f"code:{ref}", Reason.MISSING_FIELD, "upgrade without runningStatus.code"))
        return "Unknown"
    return _enum(code, CODES, "code", issues)


def target_image(value: object) -> str:
    """`publisher:offer:sku:version` (the CLI's URN form), or the gallery/custom image id."""
    image = _mapping(value)
    for key in ("id", "sharedGalleryImageId", "communityGalleryImageId"):
        text = _text(_field(image, key))
        if text:
            return text.lower()
    parts = [_text(_field(image, k)) for k in ("publisher", "offer", "sku")]
    version = _text(_field(image, "exactVersion")) or _text(_field(image, "version"))
    return ":".join([*parts, version]) if any(parts) or version else ""


def parse_upgrade(item: Mapping[str, Any], ref: str, issues: list[Issue]) -> Upgrade:
    props = _mapping(_field(item, "properties"))
    status = _mapping(_field(props, "runningStatus"))
    rollback = _mapping(_field(props, "rollbackInfo"))
    started_by = _text(_field(props, "startedBy"))
    return Upgrade(
        code=_code(status, ref, issues),
        started_at=_time(_field(status, "startTime"), ref, "startTime", issues),
        ended_at=_time(_field(status, "endTime", "completedTime"), ref, "endTime", issues),
        progress=_progress(_field(props, "progress"), ref, issues),
        started_by=_enum(started_by, STARTED_BY, "started_by", issues) if started_by else "Unknown",
        target_image=target_image(_field(props, "targetImageReference")),
        error_code=_text(_field(_mapping(_field(props, "error")), "code")),
        rolled_back=_count(rollback, "successfullyRolledbackInstanceCount", ref, issues),
        rollback_failed=_count(rollback, "failedRolledbackInstanceCount", ref, issues),
    )


_EPOCH = datetime.min.replace(tzinfo=UTC)


def parse_history(items: Iterable[object], issues: list[Issue], ref: str = "") -> History:
    """osUpgradeHistory entries (wire format, any order) → latest entry + codes in the window."""
    upgrades: list[Upgrade] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            issues.append(Issue(f"history:{ref}", Reason.MALFORMED_PAYLOAD, "history entry is not an object"))
            continue
        upgrades.append(parse_upgrade(item, f"{ref}#{index}", issues))
    codes = Counter(u.code for u in upgrades)
    # Newest start wins; among equal (or missing) starts the API's own order (newest first).
    ranked = sorted(enumerate(upgrades), key=lambda p: (p[1].started_at or _EPOCH, -p[0]))
    latest = ranked[-1][1] if ranked else None
    return History(latest, tuple(sorted(codes.items())))


def parse_rolling(body: object, issues: list[Issue], ref: str = "") -> RollingUpgrade:
    """A rollingUpgrades/latest body (wire format)."""
    if not isinstance(body, Mapping):
        raise PayloadError("rollingUpgrades/latest body is not an object")
    props = _mapping(_field(body, "properties"))
    status = _mapping(_field(props, "runningStatus"))
    return RollingUpgrade(
        code=_code(status, ref, issues),
        started_at=_time(_field(status, "startTime"), ref, "startTime", issues),
        progress=_progress(_field(props, "progress"), ref, issues),
    )


# --------------------------------------------------------------------------- fetching


class _Calls:
    """Thread-safe count of Azure calls (pages) one refresh makes, per api."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, api: str, n: int = 1) -> None:
        with self._lock:
            self._counts[api] += n

    def items(self) -> tuple[tuple[str, int], ...]:
        with self._lock:
            return tuple(sorted({"resource_graph": 0, "compute": 0, **self._counts}.items()))


class _CountingGraph:
    """A ResourceGraphClient that counts `resources` calls (one per page)."""

    def __init__(self, client: Any, calls: _Calls) -> None:
        self._client = client
        self._calls = calls

    def resources(self, *args: Any, **kwargs: Any) -> Any:
        self._calls.add("resource_graph")
        return self._client.resources(*args, **kwargs)


@dataclass(frozen=True, slots=True)
class Failure:
    reason: Reason
    message: str


class _Gone:
    """The scale set answered 404: deleted after discovery."""


GONE = _Gone()


@dataclass(frozen=True, slots=True)
class Outcome:
    gone: bool = False
    history: list[dict[str, Any]] | Failure | None = None
    rolling: dict[str, Any] | Failure | None = None  # None: no rolling upgrade (404)


def _raw(model: Any) -> dict[str, Any]:
    """The wire-format dict behind an SDK model (azure-mgmt-compute 39 models are mappings)."""
    as_dict = getattr(model, "as_dict", None)
    if callable(as_dict):
        data = as_dict()
        if isinstance(data, dict):
            return data
    if isinstance(model, Mapping):
        return dict(model)
    raise PayloadError(f"unexpected {type(model).__name__} from the Compute API")


def _failure(exc: Exception) -> Failure:
    reason = classify(exc)
    if reason is Reason.INTERNAL and isinstance(exc, TypeError | ValueError | AttributeError):
        reason = Reason.MALFORMED_PAYLOAD  # the SDK choked on a body of the wrong shape
    text = str(exc).splitlines()[0] if str(exc) else ""
    return Failure(reason, f"{type(exc).__name__}: {text}"[:300])


def _status(exc: Exception) -> int | None:
    return exc.status_code if isinstance(exc, HttpResponseError) else None


def _history_call(client: Any, scale_set: ScaleSet, calls: _Calls) -> list[dict[str, Any]] | Failure | _Gone:
    pages, failed = 0, False
    items: list[dict[str, Any]] = []
    try:
        pager = client.virtual_machine_scale_sets.get_os_upgrade_history(
            scale_set.resource_group, scale_set.name
        )
        for page in pager.by_page():
            pages += 1
            items.extend(_raw(item) for item in page)
            if pages >= MAX_HISTORY_PAGES:
                break
    except Exception as exc:  # noqa: BLE001 - every failure is classified and counted per scale set
        failed = True
        return GONE if _status(exc) == 404 else _failure(exc)
    finally:
        calls.add("compute", pages + failed)
    return items


def _rolling_call(client: Any, scale_set: ScaleSet, calls: _Calls) -> dict[str, Any] | Failure | None:
    calls.add("compute")
    try:
        latest = client.virtual_machine_scale_set_rolling_upgrades.get_latest(
            scale_set.resource_group, scale_set.name
        )
        return _raw(latest)
    except Exception as exc:  # noqa: BLE001 - classified and counted per scale set
        return None if _status(exc) == 404 else _failure(exc)


def _fetch_one(azure: AzureContext, scale_set: ScaleSet, calls: _Calls, deadline: float) -> Outcome:
    if time.monotonic() > deadline:
        late = Failure(Reason.TIMEOUT, "refresh ran out of time before this scale set")
        return Outcome(history=late, rolling=late)
    try:
        client = azure.compute(scale_set.subscription_id)
    except Exception as exc:  # noqa: BLE001 - e.g. a credential that cannot be built
        failure = _failure(exc)
        return Outcome(history=failure, rolling=failure)
    history = _history_call(client, scale_set, calls)
    if isinstance(history, _Gone):
        return Outcome(gone=True)
    return Outcome(history=history, rolling=_rolling_call(client, scale_set, calls))


def eligible(scale_set: ScaleSet, options: Options) -> bool:
    return scale_set.automatic_os_upgrade or (options.include_rolling_mode and scale_set.mode == "Rolling")


def fetch(ctx: FetchContext[Options, Snapshot]) -> Snapshot:
    opts = ctx.options
    deadline = time.monotonic() + ctx.timeout
    calls = _Calls()
    azure = ctx.azure
    rows = resource_graph.query(_CountingGraph(azure.resource_graph(), calls), QUERY, azure.cfg.subscriptions)
    issues: list[Issue] = []
    scale_sets = parse_scale_sets(rows, issues, opts.expect_automatic_os_upgrade_tag)
    todo = [s for s in scale_sets if eligible(s, opts)]
    outcomes: dict[tuple[str, str, str], Outcome] = {}
    if todo:
        workers = min(opts.concurrency, len(todo))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vmss") as pool:
            results = pool.map(lambda s: _fetch_one(azure, s, calls, deadline), todo)
            outcomes = {s.key: out for s, out in zip(todo, results, strict=True)}
    snapshot = combine(scale_sets, outcomes, ctx.previous, opts, ctx.now(), calls.items(), issues)
    report(ctx, issues, outcomes, scale_sets)
    return snapshot


def combine(
    scale_sets: Iterable[ScaleSet],
    outcomes: Mapping[tuple[str, str, str], Outcome],
    previous: Snapshot | None,
    options: Options,
    now: datetime,
    requests: tuple[tuple[str, int], ...],
    issues: list[Issue],
) -> Snapshot:
    """The new snapshot: fresh data where a call worked, the previous refresh's where it failed."""
    before = {e.scale_set.key: e for e in previous.scale_sets} if previous is not None else {}
    entries: list[Entry] = []
    for scale_set in scale_sets:
        out = outcomes.get(scale_set.key)
        if out is None:
            entries.append(Entry(scale_set, eligible=False))
            continue
        if out.gone:
            continue  # deleted between discovery and the history call
        old = before.get(scale_set.key)
        ref = "/".join(scale_set.key)
        history = old.history if old else None
        if isinstance(out.history, list):
            history = parse_history(out.history, issues, ref)
        rolling = old.rolling if old else None
        if out.rolling is None:
            rolling = None
        elif isinstance(out.rolling, dict):
            try:
                rolling = parse_rolling(out.rolling, issues, ref)
            except PayloadError as exc:
                issues.append(Issue(f"rolling:{ref}", Reason.MALFORMED_PAYLOAD, str(exc)))
        entries.append(Entry(scale_set, eligible=True, history=history, rolling=rolling))
    _check_not_all_failed(outcomes)
    return Snapshot(now, tuple(entries), requests, options.expect_automatic_os_upgrade_tag is not None)


def _check_not_all_failed(outcomes: Mapping[tuple[str, str, str], Outcome]) -> None:
    live = [out for out in outcomes.values() if not out.gone]
    failures = [out.history for out in live if isinstance(out.history, Failure)]
    if live and len(failures) == len(live):
        reason, _ = Counter(f.reason for f in failures).most_common(1)[0]
        first = next(f for f in failures if f.reason is reason)
        raise SourceError(
            reason, f"every scale set's OS upgrade history failed ({len(live)}); {first.message}"
        )


def report(
    ctx: FetchContext[Options, Snapshot],
    issues: list[Issue],
    outcomes: Mapping[tuple[str, str, str], Outcome],
    scale_sets: Iterable[ScaleSet],
) -> None:
    """One problem per payload issue key, and per (reason, subscription) of failed calls."""
    ctx.report(issues)
    failed: dict[tuple[Reason, str], list[Failure]] = {}
    for scale_set in scale_sets:
        out = outcomes.get(scale_set.key)
        if out is None or out.gone:
            continue
        for result in (out.history, out.rolling):
            if isinstance(result, Failure):
                failed.setdefault((result.reason, scale_set.subscription_id), []).append(result)
    for (reason, sub), failures in sorted(failed.items()):
        ctx.problem(
            reason,
            "scale set upgrade calls failed; previous data kept",
            key=f"calls:{reason.value}:{sub}",
            subscription=sub,
            calls=len(failures),
            error=repr(failures[0].message),
        )


# --------------------------------------------------------------------------- translating


CACHED = (
    "Refreshed every few minutes in the background; see "
    'azure_update_exporter_source_last_success_timestamp_seconds{source="vmss_os_upgrades"}.'
)


def _families() -> dict[str, GaugeMetricFamily]:
    ids = list(LABELS)
    specs: list[tuple[str, str, list[str]]] = [
        (
            "azure_vmss_upgrade_policy_info",
            "Every scale set (Resource Graph) with its upgrade policy mode, "
            "orchestration mode and location; always 1.",
            [*ids, "mode", "orchestration_mode", "location"],
        ),
        (
            "azure_vmss_automatic_os_upgrade_enabled",
            "1 if automaticOSUpgradePolicy.enableAutomaticOSUpgrade is true, else 0.",
            ids,
        ),
        (
            "azure_vmss_automatic_rollback_disabled",
            "1 if automaticOSUpgradePolicy.disableAutomaticRollback is true, else 0.",
            ids,
        ),
        ("azure_vmss_capacity", "Instances the scale set is sized to (sku.capacity).", ids),
        (
            "azure_vmss_rolling_upgrade_policy_max_batch_instance_ratio",
            "rollingUpgradePolicy.maxBatchInstancePercent as a ratio: the largest batch upgraded at once.",
            ids,
        ),
        (
            "azure_vmss_rolling_upgrade_policy_max_unhealthy_upgraded_instance_ratio",
            "rollingUpgradePolicy.maxUnhealthyUpgradedInstancePercent as a ratio: upgraded instances "
            "allowed to be unhealthy before the upgrade stops.",
            ids,
        ),
        (
            "azure_vmss_automatic_os_upgrade_expected",
            "1 if the scale set's expectation tag (sources.vmss_os_upgrades.expect_automatic_os_upgrade_tag) "
            "asks for automatic OS image upgrade, else 0; absent unless configured.",
            ids,
        ),
        (
            "azure_vmss_os_upgrade_instances",
            "Instances of the latest OS image upgrade (osUpgradeHistory) by state.",
            [*ids, "state"],
        ),
        (
            "azure_vmss_os_upgrade_status",
            "Code of the latest OS image upgrade: 1 for the current code, 0 for the others.",
            [*ids, "code"],
        ),
        ("azure_vmss_os_upgrade_start_timestamp_seconds", "Start of the latest OS image upgrade.", ids),
        (
            "azure_vmss_os_upgrade_end_timestamp_seconds",
            "End of the latest OS image upgrade; absent while it runs.",
            ids,
        ),
        (
            "azure_vmss_os_upgrade_info",
            "Latest OS image upgrade: who started it, the target image and the error code (empty if none); "
            "always 1.",
            [*ids, "started_by", "target_image", "error_code"],
        ),
        (
            "azure_vmss_os_upgrade_rollback_instances",
            "Instances rolled back by the latest OS image upgrade, by result.",
            [*ids, "result"],
        ),
        (
            "azure_vmss_os_upgrades",
            "OS image upgrades in the history window the API returns (at most five, two months) by code.",
            [*ids, "code"],
        ),
        (
            "azure_vmss_rolling_upgrade_instances",
            "Instances of the latest rolling upgrade (rollingUpgrades/latest) by state.",
            [*ids, "state"],
        ),
        (
            "azure_vmss_rolling_upgrade_status",
            "Code of the latest rolling upgrade: 1 for the current code, 0 for the others.",
            [*ids, "code"],
        ),
        ("azure_vmss_rolling_upgrade_start_timestamp_seconds", "Start of the latest rolling upgrade.", ids),
    ]
    return {name: gauge(name, f"{help_text} {CACHED}", labels) for name, help_text, labels in specs}


def _set(family: GaugeMetricFamily, labels: list[str], value: float | None) -> None:
    if value is not None:
        family.add_metric(labels, value)


def translate(snapshot: Snapshot, now: datetime) -> Iterator[Metric]:
    f = _families()
    for entry in snapshot.scale_sets:
        s = entry.scale_set
        ids = [s.subscription_id, s.resource_group, s.name]
        f["azure_vmss_upgrade_policy_info"].add_metric([*ids, s.mode, s.orchestration_mode, s.location], 1.0)
        f["azure_vmss_automatic_os_upgrade_enabled"].add_metric(ids, float(s.automatic_os_upgrade))
        f["azure_vmss_automatic_rollback_disabled"].add_metric(ids, float(s.disable_automatic_rollback))
        _set(f["azure_vmss_capacity"], ids, None if s.capacity is None else float(s.capacity))
        for name, percent in (
            ("azure_vmss_rolling_upgrade_policy_max_batch_instance_ratio", s.max_batch_instance_percent),
            (
                "azure_vmss_rolling_upgrade_policy_max_unhealthy_upgraded_instance_ratio",
                s.max_unhealthy_upgraded_instance_percent,
            ),
        ):
            _set(f[name], ids, None if percent is None else percent / 100)
        if snapshot.expectation:
            f["azure_vmss_automatic_os_upgrade_expected"].add_metric(
                ids, float(bool(s.automatic_os_upgrade_expected))
            )
        if entry.history is not None:
            _add_history(f, ids, entry.history)
        if entry.rolling is not None:
            r = entry.rolling
            for state, count in r.progress.by_state():
                f["azure_vmss_rolling_upgrade_instances"].add_metric([*ids, state], float(count))
            add_state(f["azure_vmss_rolling_upgrade_status"], ids, r.code, CODES)
            _set(
                f["azure_vmss_rolling_upgrade_start_timestamp_seconds"],
                ids,
                r.started_at.timestamp() if r.started_at else None,
            )
    yield from f.values()
    requests = gauge(
        "azure_update_exporter_vmss_requests_last_refresh",
        "Azure calls (pages; SDK retries not counted) the last successful vmss_os_upgrades refresh made, "
        "by API: Resource Graph pages + 2 per eligible scale set.",
        ["api"],
    )
    for api, count in snapshot.requests:
        requests.add_metric([api], float(count))
    yield requests


def _add_history(f: dict[str, GaugeMetricFamily], ids: list[str], history: History) -> None:
    counts = dict(history.codes)
    for code in [*CODES, *sorted(set(counts) - set(CODES))]:
        f["azure_vmss_os_upgrades"].add_metric([*ids, code], float(counts.get(code, 0)))
    u = history.latest
    if u is None:
        return
    for state, count in u.progress.by_state():
        f["azure_vmss_os_upgrade_instances"].add_metric([*ids, state], float(count))
    add_state(f["azure_vmss_os_upgrade_status"], ids, u.code, CODES)
    _set(
        f["azure_vmss_os_upgrade_start_timestamp_seconds"],
        ids,
        u.started_at.timestamp() if u.started_at else None,
    )
    _set(
        f["azure_vmss_os_upgrade_end_timestamp_seconds"], ids, u.ended_at.timestamp() if u.ended_at else None
    )
    f["azure_vmss_os_upgrade_info"].add_metric([*ids, u.started_by, u.target_image, u.error_code], 1.0)
    f["azure_vmss_os_upgrade_rollback_instances"].add_metric([*ids, "succeeded"], float(u.rolled_back))
    f["azure_vmss_os_upgrade_rollback_instances"].add_metric([*ids, "failed"], float(u.rollback_failed))


SPEC = register(
    SourceSpec(
        name="vmss_os_upgrades",
        summary="VM Scale Set automatic OS image upgrades: history and latest rolling upgrade (Compute)",
        fetch=fetch,
        translate=translate,
        options_type=Options,
        default_enabled=True,
        # A batch takes minutes (each waits up to 5 min for health), so 5 minutes still shows an
        # upgrade moving batch by batch while costing 2 Compute reads per eligible scale set.
        default_interval=300.0,
        # 2,000 calls (1,000 eligible sets) at 8 concurrent and ~0.25 s each take about a minute;
        # ARM's read bucket (250 burst, 25/s per subscription) can stretch that to ~1.5 min. 4 min
        # leaves room for Retry-After waits and stays below the interval.
        default_timeout=240.0,
        demo_config=lambda info: {
            "interval": "15s",
            "timeout": "60s",
            "expect_automatic_os_upgrade_tag": "automatic-os-upgrade",
        },
    )
)
