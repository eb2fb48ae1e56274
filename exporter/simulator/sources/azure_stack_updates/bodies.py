"""Response bodies of the simulated Azure Stack Hub admin API and Azure Local update resources,
in the shapes of the reference examples (§1.4-1.6, §2.2-2.4), for api-version 2021-07-01 or the
legacy 2016-05-01."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from exporter.simulator.router import SimRequest
from exporter.simulator.sources.azure_stack_updates.timeline import (
    RunView,
    StampSpec,
    UpdateSpec,
    duration,
    iso3,
    iso7,
    location_at,
    progress,
    update_at,
)
from exporter.simulator.state import ScenarioState

UPDATE_ADMIN = "Microsoft.Update.Admin/updateLocations"
HCI = "microsoft.azurestackhci/clusters"


def now_offset(state: ScenarioState) -> float:
    return (state.clock.now() - state.clock.start).total_seconds()


def formatter(state: ScenarioState, offset: timedelta = timedelta(0)) -> Callable[[float], str]:
    return lambda t: iso7(state.clock.start + timedelta(seconds=t), offset)


def _base(stamp: StampSpec) -> str:
    if stamp.platform == "hub":
        return (
            f"/subscriptions/{stamp.subscription_id}/resourceGroups/System.{stamp.region}"
            f"/providers/{UPDATE_ADMIN}/{stamp.region}"
        )
    return stamp.cluster_id


def legacy_version(req: SimRequest) -> bool:
    return req.query.get("api-version", "").startswith("2016-")


def location_body(state: ScenarioState, stamp: StampSpec, legacy: bool) -> dict[str, Any]:
    t = now_offset(state)
    view = location_at(stamp, t)
    at = formatter(state)
    props: dict[str, Any] = {
        "currentVersion": view.current_version,
        "currentOemVersion": stamp.current_oem_version,
        "lastUpdated": at(view.last_updated) if view.last_updated is not None else None,
        "state": view.state,
    }
    if not legacy:
        props |= {
            "oemFamily": stamp.oem_family,
            "hardwareModel": stamp.hardware_model,
            "lastChecked": at(t - 3600),
        }
        props["packageVersions"] = [
            {
                "packageType": "Azure Stack Hub Service",
                "version": view.current_version,
                "lastUpdated": props["lastUpdated"],
            },
            {"packageType": "OEM", "version": stamp.current_oem_version, "lastUpdated": props["lastUpdated"]},
        ]
    if stamp.platform == "local":
        props = {
            "provisioningState": "Succeeded",
            "oemFamily": stamp.oem_family,
            "hardwareModel": stamp.hardware_model,
            "packageVersions": [{"packageType": "Solution", "version": view.current_version,
                                 "lastUpdated": props["lastUpdated"]}],
            "currentVersion": view.current_version,
            "currentOemVersion": stamp.current_oem_version,
            "currentSbeVersion": stamp.current_oem_version,
            "lastUpdated": props["lastUpdated"],
            "lastChecked": at(t - 3600),
            "healthState": "Success",
            "healthCheckDate": at(t - 3600),
            "healthCheckResult": [],
            "state": view.state,
        }  # fmt: skip
        return _resource(
            f"{stamp.cluster_id}/updateSummaries/default", "default", f"{HCI}/updatesummaries", stamp, props
        )
    kind = "Microsoft.Update.Admin/updateLocations"
    return _resource(_base(stamp), stamp.region, kind, stamp, props)


def _resource(rid: str, name: str, kind: str, stamp: StampSpec, props: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": rid, "name": name, "type": kind, "location": stamp.region}
    if stamp.platform == "hub":
        body["tags"] = {}
    body["properties"] = props
    return body


def update_body(state: ScenarioState, stamp: StampSpec, update: UpdateSpec, legacy: bool) -> dict[str, Any]:
    update_state, installed = update_at(update, now_offset(state))
    at = formatter(state)
    # Not installed: the spec example's 9999-12-31 sentinel (8 fractional digits) on Hub (§1.5).
    installed_text = at(installed) if installed is not None else "9999-12-31T11:59:59.99999999Z"
    props: dict[str, Any] = {
        "displayName": update.name if stamp.platform == "hub" else f"Azure Local {update.version}",
        "description": f"AzS Update - {update.version}"
        if stamp.platform == "hub"
        else f"Azure Local {update.version}",
        "version": update.version,
        "state": update_state,
        "publisher": update.publisher,
        "packagePath": f"\\\\SU1FileServer\\SU1_Infrastructure_2\\Updates\\Packages\\{update.name}",
        "packageSizeInMb": 21374 if stamp.platform == "hub" else 7301.5,
        "installedDate": installed_text,
    }
    if stamp.platform == "local":
        props |= {
            "provisioningState": "Succeeded",
            "availabilityType": "Online",
            "packageType": update.package_type,
            "rebootRequired": "True",
            "healthState": "Success",
            "prerequisites": [],
        }
        if installed is None:
            del props["installedDate"]
        kind = f"{HCI}/updates"
    else:
        kind = "Microsoft.Update.Admin/updateLocations/updates"
        if not legacy:
            props |= {
                "availabilityType": "online",
                "packageType": update.package_type,
                "updatePrerequisites": [],
                "updateStateProperties": {"progressPercentage": 0, "notifyMessage": ""},
            }
    return _resource(f"{_base(stamp)}/updates/{update.name}", update.name, kind, stamp, props)


def run_body(state: ScenarioState, stamp: StampSpec, view: RunView, legacy: bool) -> dict[str, Any]:
    t = now_offset(state)
    local = stamp.platform == "local"
    run = view.spec
    end = view.ended if view.ended is not None else t
    props: dict[str, Any] = {
        "progress": progress(view, t, formatter(state, stamp.step_offset), local),
        "timeStarted": iso3(state.clock.start + timedelta(seconds=run.start)),
        "duration": duration(end - run.start),
        "state": view.state,
    }
    if local:
        props = {"provisioningState": "Succeeded", "lastUpdatedTime": formatter(state)(end), **props}
    rid = f"{_base(stamp)}/updates/{view.update.name}/updateRuns/{run.run_id}"
    # Legacy stamps answer with the slash-joined name seen in the field (§1.3): derive from id.
    name = f"{stamp.region}/{view.update.name}/{run.run_id}" if legacy else run.run_id
    kind = (
        f"{HCI}/updates/updateruns" if local else "Microsoft.Update.Admin/updateLocations/updates/updateRuns"
    )
    return _resource(rid, name, kind, stamp, props)
