"""Resource Graph rows → model (pure). Reference §6.2-6.3, §5.2.

Every parser takes either our projected rows (the queries in `fetch` project the property names
at the top level) or full rows with ``properties`` (Learn's samples, ARM GET bodies), so the same
code reads both. One bad value drops that field (or the row when its ID is unusable) and leaves an
`Issue`; unknown enum values are kept as they are and reported as ``unknown_enum``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from exporter.core.errors import Reason
from exporter.core.gil import PACE_ITEMS, paced
from exporter.core.identity import normalise_resource_id
from exporter.core.source import Issue
from exporter.sources.update_manager.model import (
    ARC,
    ASSESSMENT_MODES,
    ASSESSMENT_STATES,
    CLASSIFICATIONS,
    INSTALLATION_STATES,
    PATCH_MODES,
    REBOOT_STATES,
    RUN_STATES,
    SCOPE,
    VM,
    Assessment,
    Assignment,
    Configuration,
    DynamicScope,
    Installation,
    Machine,
    RunPart,
)
from exporter.sources.update_manager.parse_schedule import ScheduleError, parse_window

_MACHINE_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/"
    r"(?P<provider>microsoft\.compute/virtualmachines|microsoft\.hybridcompute/machines)/(?P<name>[^/]+)$"
)
_CONFIG_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/"
    r"microsoft\.maintenance/maintenanceconfigurations/(?P<name>[^/]+)$"
)
_RESULT_SUFFIX = re.compile(r"/(patchassessmentresults|patchinstallationresults)/.*$")
_INSTALL_COUNTS = (
    ("installed", "installedPatchCount"),
    ("failed", "failedPatchCount"),
    ("pending", "pendingPatchCount"),
    ("excluded", "excludedPatchCount"),
    ("not_selected", "notSelectedPatchCount"),
)


def _props(row: Mapping[str, Any]) -> Mapping[str, Any]:
    props = row.get("properties")
    return props if isinstance(props, Mapping) else row


def _lower_id(value: Any) -> str:
    return normalise_resource_id(value) if isinstance(value, str) else ""


def machine_id_of(result_id: str) -> str:
    """The machine ID of a ``…/patchAssessmentResults/latest`` or ``…/patchInstallationResults/<id>`` row."""
    return _RESULT_SUFFIX.sub("", _lower_id(result_id))


class _Reader:
    """Typed field access for one row that records an Issue per bad value."""

    def __init__(self, kind: str, key: str, issues: list[Issue]) -> None:
        self.kind, self.key, self.issues = kind, key, issues

    def bad(self, name: str, value: Any, expected: str) -> None:
        self.issues.append(
            Issue(
                f"{self.kind}|{self.key}|{name}",
                Reason.MALFORMED_PAYLOAD,
                f"{self.kind} field {name} is not {expected}",
                (("resource", self.key), ("value", repr(value)[:80])),
            )
        )

    def text(self, props: Mapping[str, Any], name: str, default: str = "") -> str:
        value = props.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            self.bad(name, value, "a string")
            return default
        return value.strip()

    def flag(self, props: Mapping[str, Any], name: str) -> bool | None:
        value = props.get(name)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.bad(name, value, "a boolean")
        return None

    def count(self, props: Mapping[str, Any], name: str) -> int:
        value = props.get(name)
        if value is None:
            return 0  # missing keys mean 0 (Linux has only critical/security/other)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.bad(name, value, "a count")
            return 0
        try:
            number = int(value)
        except ValueError:
            self.bad(name, value, "a count")
            return 0
        if number < 0:
            self.bad(name, value, "a count")
            return 0
        return number

    def time(self, props: Mapping[str, Any], name: str) -> datetime | None:
        value = props.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, str):
            text = value.strip().replace("Z", "+00:00")
            # fromisoformat (3.11) takes up to 6 fractional digits; Azure sends 7.
            text = re.sub(r"(\.\d{6})\d+", r"\1", text)
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                pass
            else:
                return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        self.bad(name, value, "an ISO 8601 time")
        return None

    def enum(
        self, props: Mapping[str, Any], name: str, known: Iterable[str], default: str = "Unknown"
    ) -> str:
        value = self.text(props, name)
        if not value:
            return default
        for candidate in known:
            if candidate.lower() == value.lower():
                return candidate
        self.issues.append(unknown_enum(self.kind, name, value))
        return value


def unknown_enum(kind: str, name: str, value: str) -> Issue:
    # Keyed by value, not by resource: one report per odd value however many machines carry it.
    return Issue(
        f"enum|{kind}|{name}|{value}",
        Reason.UNKNOWN_ENUM,
        f"unknown {kind} {name} value (passed through as a label)",
        (("field", name), ("value", value[:80])),
    )


def _drop(issues: list[Issue], kind: str, row: Mapping[str, Any]) -> None:
    issues.append(
        Issue(
            f"{kind}|id|{row.get('id')!r}"[:200],
            Reason.MALFORMED_PAYLOAD,
            f"{kind} row without a usable resource id dropped",
            (("id", repr(row.get("id"))[:120]),),
        )
    )


def _rows(rows: Iterable[Any]) -> Iterable[Mapping[str, Any]]:
    return (row for row in paced(rows, PACE_ITEMS) if isinstance(row, Mapping))


# --------------------------------------------------------------------------- machines


def _patch_settings(props: Mapping[str, Any], os_type: str) -> Mapping[str, Any]:
    """patchSettings of a full VM / Arc resource (osProfile.<os>Configuration.patchSettings)."""
    profile = props.get("osProfile")
    if not isinstance(profile, Mapping):
        return {}
    key = "windowsConfiguration" if os_type.lower() == "windows" else "linuxConfiguration"
    config = profile.get(key)
    settings = config.get("patchSettings") if isinstance(config, Mapping) else None
    if not isinstance(settings, Mapping):
        return {}
    flat = dict(settings)
    by_platform = settings.get("automaticByPlatformSettings")
    if isinstance(by_platform, Mapping):
        flat.update(by_platform)
    if key == "windowsConfiguration" and isinstance(config, Mapping):
        flat["enableAutomaticUpdates"] = config.get("enableAutomaticUpdates")
    return flat


def _os_type(reader: _Reader, row: Mapping[str, Any], props: Mapping[str, Any]) -> str:
    raw = reader.text(row, "osType") or reader.text(props, "osType")
    if not raw:
        disk = (props.get("storageProfile") or {}).get("osDisk") if isinstance(props, Mapping) else None
        raw = disk.get("osType", "") if isinstance(disk, Mapping) else ""
    lowered = str(raw).lower()
    return {"windows": "Windows", "linux": "Linux"}.get(lowered, str(raw))


def parse_machine(row: Mapping[str, Any], issues: list[Issue]) -> Machine | None:
    rid = _lower_id(row.get("id"))
    m = _MACHINE_ID.match(rid)
    if m is None:
        _drop(issues, "machine", row)
        return None
    reader = _Reader("machine", rid, issues)
    props = row.get("properties") if isinstance(row.get("properties"), Mapping) else None
    os_type = _os_type(reader, row, props or {})
    settings = _patch_settings(props, os_type) if props is not None else row
    tags = row.get("tags")
    pairs = tuple(sorted((str(k), str(v)) for k, v in tags.items())) if isinstance(tags, Mapping) else ()
    patch_mode = reader.text(settings, "patchMode") or None
    if patch_mode is not None:
        patch_mode = reader.enum(settings, "patchMode", PATCH_MODES)
    assessment_mode = reader.text(settings, "assessmentMode") or None
    if assessment_mode is not None:
        assessment_mode = reader.enum(settings, "assessmentMode", ASSESSMENT_MODES)
    return Machine(
        id=rid,
        subscription_id=m.group("sub"),
        resource_group=m.group("rg"),
        name=m.group("name"),
        machine_type=VM if m.group("provider").startswith("microsoft.compute") else ARC,
        location=reader.text(row, "location").lower(),
        os_type=os_type,
        tags=pairs,
        patch_mode=patch_mode,
        assessment_mode=assessment_mode,
        bypass_platform_safety_checks=reader.flag(settings, "bypassPlatformSafetyChecksOnUserSchedule"),
        reboot_setting=reader.text(settings, "rebootSetting") or None,
        hotpatching=reader.flag(settings, "enableHotpatching"),
        automatic_updates=reader.flag(settings, "enableAutomaticUpdates"),
    )


def parse_machines(rows: Iterable[Any], issues: list[Issue]) -> tuple[Machine, ...]:
    seen: dict[str, Machine] = {}
    for row in _rows(rows):
        machine = parse_machine(row, issues)
        if machine is not None:
            seen[machine.id] = machine
    return tuple(seen.values())


# --------------------------------------------------------------------------- assessments


def _is_summary(row: Mapping[str, Any], table: str) -> bool:
    kind = row.get("type")
    if isinstance(kind, str) and kind:
        return kind.lower().endswith(f"/{table}") and "softwarepatches" not in kind.lower()
    return "/softwarepatches/" not in _lower_id(row.get("id"))


def parse_assessment(row: Mapping[str, Any], issues: list[Issue]) -> Assessment | None:
    machine = machine_id_of(str(row.get("id") or ""))
    if _MACHINE_ID.match(machine) is None:
        _drop(issues, "assessment", row)
        return None
    props = _props(row)
    reader = _Reader("assessment", machine, issues)
    counts_raw = props.get("availablePatchCountByClassification")
    if counts_raw is None:
        counts_raw = props  # projected one column per classification
    elif not isinstance(counts_raw, Mapping):
        reader.bad("availablePatchCountByClassification", counts_raw, "an object")
        counts_raw = {}
    os_type = reader.text(props, "osType")
    return Assessment(
        machine_id=machine,
        status=reader.enum(props, "status", ASSESSMENT_STATES),
        os_type={"windows": "Windows", "linux": "Linux"}.get(os_type.lower(), os_type),
        reboot_pending=reader.flag(props, "rebootPending"),
        started_by=reader.text(props, "startedBy"),
        last_modified=reader.time(props, "lastModifiedDateTime"),
        counts=tuple((c, reader.count(counts_raw, c)) for c in CLASSIFICATIONS),
    )


def parse_assessments(rows: Iterable[Any], issues: list[Issue]) -> tuple[Assessment, ...]:
    """Summary rows only (softwarepatches rows are skipped); the newest per machine wins."""
    latest: dict[str, Assessment] = {}
    for row in _rows(rows):
        if not _is_summary(row, "patchassessmentresults"):
            continue
        item = parse_assessment(row, issues)
        if item is not None and _newer(item.last_modified, latest.get(item.machine_id)):
            latest[item.machine_id] = item
    return tuple(latest.values())


def _newer(moment: datetime | None, current: Assessment | Installation | None) -> bool:
    if current is None:
        return True
    if current.last_modified is None:
        return True
    return moment is not None and moment >= current.last_modified


# --------------------------------------------------------------------------- installations


def parse_installation(row: Mapping[str, Any], issues: list[Issue]) -> Installation | None:
    machine = machine_id_of(str(row.get("id") or ""))
    if _MACHINE_ID.match(machine) is None:
        _drop(issues, "installation", row)
        return None
    props = _props(row)
    reader = _Reader("installation", machine, issues)
    return Installation(
        machine_id=machine,
        status=reader.enum(props, "status", INSTALLATION_STATES),
        started_at=reader.time(props, "startDateTime"),
        last_modified=reader.time(props, "lastModifiedDateTime"),
        counts=tuple((result, reader.count(props, name)) for result, name in _INSTALL_COUNTS),
        window_exceeded=reader.flag(props, "maintenanceWindowExceeded"),
        reboot_status=reader.enum(props, "rebootStatus", REBOOT_STATES),
        started_by=reader.text(props, "startedBy"),
        maintenance_run_id=_lower_id(props.get("maintenanceRunId")),
    )


def parse_installations(rows: Iterable[Any], issues: list[Issue]) -> tuple[Installation, ...]:
    """The latest installation per machine (the query already keeps one; full rows may hold more)."""
    latest: dict[str, Installation] = {}
    for row in _rows(rows):
        if not _is_summary(row, "patchinstallationresults"):
            continue
        item = parse_installation(row, issues)
        if item is not None and _newer(item.last_modified, latest.get(item.machine_id)):
            latest[item.machine_id] = item
    return tuple(latest.values())


# --------------------------------------------------------------------------- maintenance


def parse_configuration(row: Mapping[str, Any], issues: list[Issue]) -> Configuration | None:
    rid = _lower_id(row.get("id"))
    m = _CONFIG_ID.match(rid)
    if m is None:
        _drop(issues, "maintenance_configuration", row)
        return None
    props = _props(row)
    reader = _Reader("maintenance_configuration", rid, issues)
    window_raw = props.get("maintenanceWindow")
    win: Mapping[str, Any] = window_raw if isinstance(window_raw, Mapping) else {}
    if not isinstance(window_raw, Mapping):
        reader.bad("maintenanceWindow", window_raw, "an object")
    install = props.get("installPatches")
    start, duration = reader.text(win, "startDateTime"), reader.text(win, "duration")
    time_zone, recur = reader.text(win, "timeZone"), reader.text(win, "recurEvery")
    expiration = reader.text(win, "expirationDateTime")
    window = None
    if win:
        try:
            window = parse_window(start, duration, time_zone, recur, expiration)
        except ScheduleError as exc:
            issues.append(
                Issue(
                    f"maintenance_configuration|{rid}|window",
                    Reason.MALFORMED_PAYLOAD,
                    "maintenance window not understood; no next window computed",
                    (("configuration", rid), ("problem", str(exc)[:160])),
                )
            )
    return Configuration(
        id=rid,
        subscription_id=m.group("sub"),
        resource_group=m.group("rg"),
        name=m.group("name"),
        location=reader.text(row, "location").lower(),
        scope=reader.text(props, "maintenanceScope"),
        start=start,
        expiration=expiration,
        duration=duration,
        time_zone=time_zone,
        recur_every=recur,
        reboot_setting=reader.text(install, "rebootSetting") if isinstance(install, Mapping) else "",
        window=window,
    )


def parse_configurations(rows: Iterable[Any], issues: list[Issue]) -> tuple[Configuration, ...]:
    """InGuestPatch configurations (Update Manager schedules); other scopes are not ours."""
    out = []
    for row in _rows(rows):
        config = parse_configuration(row, issues)
        if config is not None and config.scope.lower() == SCOPE.lower():
            out.append(config)
    return tuple(out)


def _strings(reader: _Reader, raw: Mapping[str, Any], name: str, lower: bool = True) -> tuple[str, ...]:
    value = raw.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        reader.bad(f"filter.{name}", value, "a list of strings")
        return ()
    return tuple(v.lower() if lower else v for v in value)


def _scope(reader: _Reader, raw: Any) -> DynamicScope | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        reader.bad("filter", raw, "an object")
        return None
    settings = raw.get("tagSettings")
    tags: tuple[tuple[str, tuple[str, ...]], ...] = ()
    match_all = False
    if isinstance(settings, Mapping):
        tag_map = settings.get("tags")
        if isinstance(tag_map, Mapping):
            tags = tuple(
                (str(k), tuple(str(v) for v in values) if isinstance(values, list) else ())
                for k, values in sorted(tag_map.items())
            )
        match_all = str(settings.get("filterOperator") or "Any").lower() == "all"
    return DynamicScope(
        resource_types=_strings(reader, raw, "resourceTypes"),
        resource_groups=_strings(reader, raw, "resourceGroups"),
        os_types=_strings(reader, raw, "osTypes"),
        locations=tuple(loc.replace(" ", "") for loc in _strings(reader, raw, "locations")),
        tags=tags,
        match_all_tags=match_all,
    )


def parse_assignment(row: Mapping[str, Any], issues: list[Issue]) -> Assignment | None:
    rid = _lower_id(row.get("id"))
    props = _props(row)
    config = _lower_id(props.get("maintenanceConfigurationId"))
    resource = _lower_id(props.get("resourceId"))
    if not rid or not config or not resource.startswith("/subscriptions/"):
        _drop(issues, "configuration_assignment", row)
        return None
    reader = _Reader("configuration_assignment", rid, issues)
    return Assignment(rid, config, resource, _scope(reader, props.get("filter")))


def parse_assignments(rows: Iterable[Any], issues: list[Issue]) -> tuple[Assignment, ...]:
    out = (parse_assignment(row, issues) for row in _rows(rows))
    return tuple(a for a in out if a is not None)


def parse_run(row: Mapping[str, Any], issues: list[Issue]) -> RunPart | None:
    """One summarized row (configurationId, runId, status, machines) or one full apply-update row."""
    props = _props(row)
    config = _lower_id(row.get("configurationId") or props.get("maintenanceConfigurationId"))
    run = _lower_id(row.get("runId") or props.get("correlationId"))
    if not config or not run:
        _drop(issues, "maintenance_run", row)
        return None
    reader = _Reader("maintenance_run", run, issues)
    machines = reader.count(row, "machines") if "machines" in row else 1
    return RunPart(
        configuration_id=config,
        run_id=run,
        status=reader.enum(props, "status", RUN_STATES),
        machines=machines,
        started_at=reader.time(props, "startDateTime"),
        ended_at=reader.time(props, "endDateTime"),
    )


def parse_runs(rows: Iterable[Any], issues: list[Issue]) -> tuple[RunPart, ...]:
    scoped = (
        row
        for row in _rows(rows)
        if str(_props(row).get("maintenanceScope") or SCOPE).lower() == SCOPE.lower()
    )
    out = (parse_run(row, issues) for row in scoped)
    return tuple(r for r in out if r is not None)
