"""Pure parsers for the Resource Graph rows and the Compute OS upgrade payloads (reference §4.1-4.5).

Labels come from the lowercased resource ID. Field names are matched exactly, then
case-insensitively (``inProgressInstanceCount``/``inprogressInstanceCount``); unknown codes,
modes and invokers pass through and are reported as ``unknown_enum``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from exporter.core.errors import PayloadError, Reason
from exporter.core.identity import resource_identity
from exporter.core.source import Issue
from exporter.core.timefmt import parse_iso
from exporter.core.values import count, finite, identifier, preview
from exporter.sources.vmss_os_upgrades.model import (
    CODES,
    MODES,
    STARTED_BY,
    History,
    Progress,
    RollingUpgrade,
    ScaleSet,
    Upgrade,
)

TRUE_TAG_VALUES = frozenset({"true", "yes", "1", "on", "enabled", "required"})

_VMSS_ID = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.compute/virtualmachinescalesets/[^/]+$"
)


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
    return finite(value)


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
    identity = resource_identity(_text(row.get("id")))
    match = _VMSS_ID.match(identity.resource_id)
    if match is None:
        issues.append(
            Issue("row:id", Reason.MISSING_FIELD, "scale set row without a scale-set resource id; skipped")
        )
        return None
    mode_text = _text(row.get("upgradeMode"))
    # upgradePolicy.mode defaults to Manual in the Compute API when the policy does not set it.
    mode = _enum(mode_text, MODES, "mode", issues) if mode_text else "Manual"
    capacity = count(row.get("capacity"))
    if capacity is None and row.get("capacity") is not None:
        issues.append(
            Issue(
                f"capacity:{identity.resource_id}",
                Reason.MALFORMED_PAYLOAD,
                "scale set capacity is not a count; not exposed",
                (("value", preview(row.get("capacity"))),),
            )
        )
    policy = _mapping(row.get("rollingUpgradePolicy"))
    return ScaleSet(
        subscription_id=identity.subscription_id,
        resource_group=identity.resource_group,
        name=identity.name,
        location=identifier(row.get("location")),
        capacity=capacity,
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
    number = count(value)
    if number is None:
        issues.append(
            Issue(
                f"count:{ref}:{name}",
                Reason.MALFORMED_PAYLOAD,
                "instance count is not a count; taken as 0",
                (("field", name), ("value", preview(value))),
            )
        )
        return 0
    return number


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
                (("field", name), ("value", preview(value))),
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
