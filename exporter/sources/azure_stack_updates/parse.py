"""Pure parsers for the Azure Stack Hub and Azure Local update payloads.

Reference: shared azure-apis.md §1 (Hub, ``Microsoft.Update.Admin``) and §2 (Local,
``Microsoft.AzureStackHCI``). Names come from resource IDs, never from ``name`` (§1.3, §2.4):
the ``name`` of child resources has been seen slash-joined. Every enum passes through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from exporter.core.errors import PayloadError, Reason
from exporter.core.identity import normalise_resource_id
from exporter.core.source import Issue
from exporter.core.timefmt import parse_iso, parse_iso_duration
from exporter.core.values import identifier, text
from exporter.sources.azure_stack_updates.model import Location, Run, Step, Update
from exporter.sources.azure_stack_updates.model_states import (
    FINISHED_RUN_STATES,
    LEGACY_UPDATE_STATES,
    MAX_STEP_DEPTH,
    MAX_STEPS,
    RUN_STATES,
    location_states,
    update_states,
)

# --------------------------------------------------------------------------- helpers


def properties(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """``properties`` of an ARM resource; a projected Resource Graph row is its own properties."""
    props = item.get("properties")
    if isinstance(props, Mapping):
        return props
    return item


def value_list(body: object, what: str) -> list[dict[str, Any]]:
    """Items of a list response; a single resource (a GET) counts as a list of one."""
    if not isinstance(body, Mapping):
        raise PayloadError(f"{what}: response is not a JSON object")
    if "value" not in body:
        return [dict(body)] if "id" in body or "properties" in body else []
    value = body["value"]
    if not isinstance(value, list):
        raise PayloadError(f"{what}: 'value' is not a list")
    return [item for item in value if isinstance(item, dict)]


def id_segment(resource_id: object, key: str) -> str | None:
    """The path segment after ``key`` (case-insensitive) in an ARM id."""
    if not isinstance(resource_id, str):
        return None
    parts = [p for p in resource_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    key = key.lower()
    for index in range(len(parts) - 2, -1, -1):
        if lowered[index] == key:
            return parts[index + 1]
    return None


def cluster_id(resource_id: object) -> str | None:
    """Lowercased ``/subscriptions/…/clusters/{c}`` prefix of an Azure Local resource id."""
    if not isinstance(resource_id, str):
        return None
    m = re.match(
        r"^(/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.azurestackhci/clusters/[^/]+)",
        normalise_resource_id(resource_id),
    )
    return m.group(1) if m else None


def _update_name(segment: str | None) -> str | None:
    """The `update` label: Azure's case kept (a version), whitespace stripped (see identifier)."""
    name = identifier(segment, keep_case=True)
    return name or None


def _version_from_name(name: str) -> str:
    m = re.search(r"\d+(?:\.\d+)+", name)
    return m.group(0) if m else ""


def _text(value: object) -> str:
    return text(value)


def _date(value: object, field_name: str, ref: str, issues: list[Issue]) -> datetime | None:
    try:
        return parse_iso(value)
    except ValueError:
        issues.append(
            Issue(
                f"date:{ref}:{field_name}",
                Reason.MALFORMED_PAYLOAD,
                "unparseable date; exposed as absent",
                (("resource", ref), ("field", field_name), ("value", _text(value)[:40])),
            )
        )
        return None


def _state(value: object, known: Sequence[str], kind: str, ref: str, issues: list[Issue]) -> str:
    if not isinstance(value, str) or not value:
        issues.append(
            Issue(
                f"missing:{ref}:{kind}",
                Reason.MISSING_FIELD,
                f"{kind} missing; exposed as Unknown",
                (("resource", ref),),
            )
        )
        return "Unknown"
    if value not in known:
        issues.append(
            Issue(f"{kind}:{value}", Reason.UNKNOWN_ENUM, f"unknown {kind}; passed through", ((kind, value),))
        )
    return value


# --------------------------------------------------------------------------- parsers


def parse_location(item: Mapping[str, Any], platform: str, issues: list[Issue]) -> Location:
    """A Hub ``updateLocations`` item or an Azure Local ``updateSummaries`` resource.

    Older Azure Local responses used ``lastUpdatedTime``/``lastCheckedTime`` (§2.2).
    """
    props = properties(item)
    ref = _text(item.get("id")) or platform
    last_updated = props.get("lastUpdated", props.get("lastUpdatedTime"))
    last_checked = props.get("lastChecked", props.get("lastCheckedTime"))
    oem = props.get("currentOemVersion") or props.get("currentSbeVersion")
    return Location(
        current_version=_text(props.get("currentVersion")),
        current_oem_version=_text(oem),
        state=_state(
            props.get("state"), location_states(platform), f"{platform}_location_state", ref, issues
        ),
        last_updated=_date(last_updated, "lastUpdated", ref, issues),
        last_checked=_date(last_checked, "lastChecked", ref, issues),
    )


def parse_update(item: Mapping[str, Any], platform: str, issues: list[Issue]) -> Update | None:
    props = properties(item)
    rid = item.get("id")
    name = _update_name(id_segment(rid, "updates"))
    if name is None:
        leaf = identifier(_text(item.get("name")).rsplit("/", 1)[-1], keep_case=True)
        issues.append(
            Issue(
                f"update-id:{leaf}",
                Reason.MISSING_FIELD,
                "update without a usable id; name used",
                (("name", leaf),),
            )
        )
        if not leaf:
            return None
        name = leaf
    known = (*update_states(platform), *LEGACY_UPDATE_STATES)
    return Update(
        name=name,
        version=_text(props.get("version")) or _version_from_name(name),
        state=_state(props.get("state"), known, f"{platform}_update_state", _text(rid) or name, issues),
        package_type=_text(props.get("packageType")),
        installed=_date(props.get("installedDate"), "installedDate", _text(rid) or name, issues),
    )


def parse_step(obj: object, depth: int = 0, budget: list[int] | None = None) -> Step | None:
    budget = [MAX_STEPS] if budget is None else budget
    if not isinstance(obj, Mapping) or depth > MAX_STEP_DEPTH or budget[0] <= 0:
        return None
    budget[0] -= 1
    children = obj.get("steps")
    steps = tuple(
        s
        for s in (parse_step(c, depth + 1, budget) for c in (children if isinstance(children, list) else []))
        if s is not None
    )

    def when(key: str) -> datetime | None:
        try:
            return parse_iso(obj.get(key))
        except ValueError:
            return None

    return Step(
        _text(obj.get("name")), _text(obj.get("status")), when("startTimeUtc"), when("endTimeUtc"), steps
    )


def parse_run(item: Mapping[str, Any], platform: str, issues: list[Issue]) -> Run | None:
    props = properties(item)
    rid = item.get("id")
    update = _update_name(id_segment(rid, "updates"))
    run_id = identifier(id_segment(rid, "updateRuns")) or None
    if update is None or run_id is None:
        issues.append(
            Issue(
                f"run-id:{_text(rid)[:120]}",
                Reason.MISSING_FIELD,
                "update run without a usable id; skipped",
                (("id", _text(rid)[:120]),),
            )
        )
        return None
    ref = _text(rid)
    state = _state(props.get("state"), RUN_STATES, "run_state", ref, issues)
    started = _date(props.get("timeStarted"), "timeStarted", ref, issues)
    progress = parse_step(props.get("progress"))
    try:
        reported = parse_iso_duration(props.get("duration"))
    except ValueError:
        issues.append(
            Issue(
                f"duration:{ref}",
                Reason.MALFORMED_PAYLOAD,
                "unparseable run duration",
                (("run", run_id), ("value", _text(props.get("duration"))[:40])),
            )
        )
        reported = None
    ended: datetime | None = None
    duration: float | None = None
    if state in FINISHED_RUN_STATES:
        ended = _end_time(progress, started, reported, props, ref, issues)
        if reported is not None:
            duration = reported
        elif started is not None and ended is not None:
            duration = max(0.0, (ended - started).total_seconds())
    return Run(update, run_id, state, started, ended, duration, progress)


def _end_time(
    progress: Step | None,
    started: datetime | None,
    duration: float | None,
    props: Mapping[str, Any],
    ref: str,
    issues: list[Issue],
) -> datetime | None:
    # A failed Hub run's root step has no endTimeUtc (§1.6 example); start + duration matches the
    # end of its failed leaf. Azure Local also has lastUpdatedTime (most recently completed step).
    if progress is not None and progress.end is not None:
        return progress.end
    if started is not None and duration is not None and duration < (_LAST - started).total_seconds():
        return started + timedelta(seconds=duration)  # guarded: a start near year 9999 would overflow
    last = _date(props.get("lastUpdatedTime"), "lastUpdatedTime", ref, issues)
    if last is not None:
        return last
    ends = [s.end for s in _walk(progress) if s.end is not None] if progress is not None else []
    return max(ends) if ends else None


_LAST = datetime.max.replace(tzinfo=UTC)


def _walk(step: Step) -> Iterable[Step]:
    yield step
    for child in step.steps:
        yield from _walk(child)


def parse_metadata(body: object) -> tuple[str, str]:
    """(audience, login endpoint) from ``/metadata/endpoints``; use ``audiences[0]`` (§1.1)."""
    if not isinstance(body, Mapping):
        raise PayloadError("metadata/endpoints: not a JSON object")
    auth = body.get("authentication")
    audiences = auth.get("audiences") if isinstance(auth, Mapping) else None
    if not isinstance(audiences, list) or not audiences or not isinstance(audiences[0], str):
        raise PayloadError("metadata/endpoints: no authentication.audiences", Reason.MISSING_FIELD)
    login = auth.get("loginEndpoint") if isinstance(auth, Mapping) else None
    return audiences[0].rstrip("/"), _text(login)
