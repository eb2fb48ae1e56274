"""IMDS Scheduled Events on the plain-HTTP listener (the stand-in for 169.254.169.254).

Route ``imds.scheduledevents``: ``GET /metadata/scheduledevents?api-version=…`` with
``Metadata: true`` answers the document; ``POST`` with ``{"StartRequests": [{"EventId": …}]}``
approves events (recorded in ``approvals(state)``; an approved event starts at once). Other
verbs get 405. Requests without ``Metadata: true``, with ``X-Forwarded-For`` or with a missing or
unknown api-version get IMDS's 400 bodies; more than ``rate_limit_per_second`` requests in one
(real) second get 429. "status" faults on ``imds.*`` answer with IMDS-style ``{"error": …}`` bodies.

Scenario section ``imds`` (times in virtual seconds after the scenario start)::

    imds:
      rate_limit_per_second: 5       # IMDS allows 5 requests/s per VM; 0 disables the limit
      not_before_format: rfc1123     # rfc1123 (IMDS) | iso8601 (the Azure-Samples mock server)
      events:
        - type: Freeze               # any string: unknown types are served as given
          id: C7061BAC-AFDC-4513-B24B-AA5F13A16123   # optional (stable default per position)
          resources: [WestNO_0, WestNO_1]
          appear_after: 60           # when it shows up as Scheduled
          not_before_after: 960      # NotBefore; at that time it turns Started and NotBefore is
                                     # emptied. Default: appear_after + the type's minimum notice;
                                     # equal to appear_after: it appears directly as Started.
          started_for: 600           # then Azure removes it
          repeat_every: 1800         # optional: the whole cycle repeats, each time a new EventId
          description: "…"
          source: Platform           # EventSource
          duration: 5                # DurationInSeconds (-1: unknown)
          resource_type: VirtualMachine

DocumentIncarnation starts at 1 and goes up by one whenever a request finds the event list
different from the previous request's. Older api-versions omit the fields and event types they
did not have (reference §3.1).
"""

from __future__ import annotations

import math
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from exporter.simulator.router import Router, SimRequest, SimResponse
from exporter.simulator.scenario import ScenarioError
from exporter.simulator.state import ScenarioState

ROUTE = "imds.scheduledevents"
PATH = r"/metadata/scheduledevents/?"
STORE_KEY = "imds"
# Documented scheduled-events api-versions (2017-03-01 was the preview).
API_VERSIONS = (
    "2017-03-01",
    "2017-08-01",
    "2017-11-01",
    "2019-01-01",
    "2019-04-01",
    "2019-08-01",
    "2020-07-01",
)
NEWEST_VERSIONS = ["2025-04-07", "2024-07-17", "2024-03-15"]
# What each api-version added (reference §3.1): absent from older documents.
SINCE = {
    "Preempt": "2017-11-01",
    "Terminate": "2019-01-01",
    "Description": "2019-04-01",
    "EventSource": "2019-08-01",
    "DurationInSeconds": "2020-07-01",
}
# Minimum notice per type (reference §3.2); the default NotBefore offset.
MIN_NOTICE = {"Freeze": 900.0, "Reboot": 900.0, "Redeploy": 600.0, "Preempt": 30.0, "Terminate": 300.0}
DEFAULT_STARTED_FOR = 600.0
EVENT_NAMESPACE = uuid.UUID("6d1f3c2e-5b7a-4c9d-8e0f-1a2b3c4d5e6f")

MISSING_HEADER_BODY = {"error": "Bad request. Required metadata header not specified"}
BAD_API_VERSION_BODY = {
    "error": "Bad request. api-version is invalid or was not specified in the request. For more "
    "information refer to aka.ms/azureimds",
    "newest-versions": NEWEST_VERSIONS,
}
FORWARDED_BODY = {"error": "Bad request. Request contains an X-Forwarded-For header"}
THROTTLED_BODY = {"error": "Too many requests"}
_STATUS_TEXT = {
    400: "Bad request.",
    404: "Not found.",
    405: "Method not allowed.",
    410: "Gone. Retry after some time for a max of 70 seconds.",
    429: "Too many requests",
    500: "Internal server error. Retry the request.",
}


@dataclass(frozen=True, slots=True)
class EventSpec:
    id: str
    type: str
    resources: tuple[str, ...]
    appear_after: float
    not_before_after: float
    started_for: float
    repeat_every: float | None
    description: str
    source: str
    duration: int
    resource_type: str


@dataclass(frozen=True, slots=True)
class ImdsConfig:
    rate_limit_per_second: int
    not_before_format: str
    events: tuple[EventSpec, ...]


def register(router: Router) -> None:
    router.add("GET", PATH, ROUTE, scheduled_events, listener="http")
    router.add("POST", PATH, ROUTE, approve, listener="http")
    for method in ("PUT", "PATCH", "DELETE", "OPTIONS"):
        router.add(method, PATH, ROUTE, method_not_allowed, listener="http")
    router.add_fault_body("imds.*", imds_fault_body)


def parse_config(section: object) -> ImdsConfig:
    """Validate the scenario's ``imds`` section; ScenarioError lists every problem."""
    problems: list[str] = []
    raw = section if isinstance(section, dict) else {}
    if section is not None and not isinstance(section, dict):
        problems.append(f"imds: expected a mapping, got {type(section).__name__}")
    allowed = {"rate_limit_per_second", "not_before_format", "events"}
    problems.extend(f"imds.{k}: unknown key; allowed: {sorted(allowed)}" for k in raw if k not in allowed)
    rate = raw.get("rate_limit_per_second", 5)
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 0:
        problems.append(f"imds.rate_limit_per_second: expected an integer >= 0, got {rate!r}")
        rate = 5
    fmt = raw.get("not_before_format", "rfc1123")
    if fmt not in ("rfc1123", "iso8601"):
        problems.append(f"imds.not_before_format: expected rfc1123 or iso8601, got {fmt!r}")
        fmt = "rfc1123"
    items = raw.get("events", [])
    if not isinstance(items, list):
        problems.append(f"imds.events: expected a list, got {type(items).__name__}")
        items = []
    events = [e for i, item in enumerate(items) if (e := _event_spec(i, item, problems)) is not None]
    ids = [e.id for e in events]
    problems.extend(f"imds.events: duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1}))
    if problems:
        raise ScenarioError(problems)
    return ImdsConfig(rate, fmt, tuple(events))


def _event_spec(index: int, item: object, problems: list[str]) -> EventSpec | None:
    where = f"imds.events[{index}]"
    if not isinstance(item, dict):
        problems.append(f"{where}: expected a mapping, got {type(item).__name__}")
        return None
    before = len(problems)
    types: dict[str, tuple[type, ...]] = {
        "id": (str,),
        "type": (str,),
        "resources": (list,),
        "appear_after": (int, float),
        "not_before_after": (int, float),
        "started_for": (int, float),
        "repeat_every": (int, float, type(None)),
        "description": (str,),
        "source": (str,),
        "duration": (int,),
        "resource_type": (str,),
    }
    for key, value in item.items():
        if key not in types:
            problems.append(f"{where}.{key}: unknown key; allowed: {sorted(types)}")
        elif isinstance(value, bool) or not isinstance(value, types[key]):
            problems.append(
                f"{where}.{key}: expected {'/'.join(t.__name__ for t in types[key])}, got {value!r}"
            )
    if "type" not in item:
        problems.append(f"{where}.type: required")
    if len(problems) > before:
        return None
    event_type = item["type"]
    appear = float(item.get("appear_after", 0))
    not_before = float(item.get("not_before_after", appear + MIN_NOTICE.get(event_type, 900.0)))
    started_for = float(item.get("started_for", DEFAULT_STARTED_FOR))
    repeat = item.get("repeat_every")
    resources = item.get("resources", ["vm-0"])
    if appear < 0 or not_before < appear or started_for < 0:
        problems.append(f"{where}: needs 0 <= appear_after <= not_before_after and started_for >= 0")
    if repeat is not None and repeat <= 0:
        problems.append(f"{where}.repeat_every: must be > 0")
    if not all(isinstance(r, str) for r in resources):
        problems.append(f"{where}.resources: expected a list of strings")
    if len(problems) > before:
        return None
    return EventSpec(
        id=item.get("id") or str(uuid.uuid5(EVENT_NAMESPACE, f"event-{index}")).upper(),
        type=event_type,
        resources=tuple(resources),
        appear_after=appear,
        not_before_after=not_before,
        started_for=started_for,
        repeat_every=float(repeat) if repeat is not None else None,
        description=item.get("description", ""),
        source=item.get("source", "Platform"),
        duration=int(item.get("duration", -1)),
        resource_type=item.get("resource_type", "VirtualMachine"),
    )


def _store(state: ScenarioState) -> dict[str, Any]:
    """Per-simulator runtime data (caller holds ``state.lock``); the config is parsed once."""
    store: dict[str, Any] | None = state.store.get(STORE_KEY)
    if store is None:
        store = {
            "config": parse_config(state.sections.get("imds")),
            "hits": deque(),
            "signature": None,
            "incarnation": 0,
            "approvals": {},  # EventId -> virtual elapsed seconds of the first approval
            "approval_log": [],  # every approved EventId, in order
        }
        state.store[STORE_KEY] = store
    return store


def approvals(state: ScenarioState) -> list[str]:
    """EventIds approved through POST, in order (for tests: the exporter must never approve)."""
    with state.lock:
        return list(_store(state)["approval_log"])


def _guard(req: SimRequest, state: ScenarioState) -> SimResponse | dict[str, Any]:
    """The checks IMDS applies to every request: a 4xx response, or the locked-in store."""
    with state.lock:
        try:
            store = _store(state)
        except ScenarioError as exc:
            return SimResponse(500, {"error": f"simulator scenario: {exc}"})
        limit = store["config"].rate_limit_per_second
        if limit > 0:
            # A sliding one-second window on the real clock: the limit is about request rate.
            now = time.monotonic()
            hits: deque[float] = store["hits"]
            while hits and now - hits[0] >= 1.0:
                hits.popleft()
            if len(hits) >= limit:
                return SimResponse(429, dict(THROTTLED_BODY))
            hits.append(now)
    if req.headers.get("Metadata", "").lower() != "true":
        return SimResponse(400, dict(MISSING_HEADER_BODY))
    if "X-Forwarded-For" in req.headers:
        return SimResponse(400, dict(FORWARDED_BODY))
    if req.query.get("api-version") not in API_VERSIONS:
        return SimResponse(400, dict(BAD_API_VERSION_BODY))
    return store


def scheduled_events(req: SimRequest, state: ScenarioState) -> SimResponse:
    guarded = _guard(req, state)
    if isinstance(guarded, SimResponse):
        return guarded
    version = req.query["api-version"]
    clock = state.clock
    with state.lock:
        elapsed = clock.elapsed()
        config: ImdsConfig = guarded["config"]
        present = [
            instance
            for spec in config.events
            for instance in _instances(spec, elapsed, guarded["approvals"], clock.start)
        ]
        # The incarnation follows the events themselves, whatever api-version a request renders.
        signature = repr([(i.event_id, i.status, i.not_before) for i in present])
        if signature != guarded["signature"]:
            guarded["signature"] = signature
            guarded["incarnation"] += 1
        incarnation = guarded["incarnation"]
    events = [
        _render(i, version, config.not_before_format)
        for i in present
        if version >= SINCE.get(i.spec.type, "")
    ]
    return SimResponse(200, {"DocumentIncarnation": incarnation, "Events": events})


@dataclass(frozen=True, slots=True)
class _Instance:
    spec: EventSpec
    event_id: str
    status: str
    not_before: datetime | None


def _instances(
    spec: EventSpec, elapsed: float, approved: dict[str, float], start: datetime
) -> list[_Instance]:
    """The cycles of ``spec`` present at ``elapsed`` (one unless repeat_every overlaps them)."""
    span = spec.not_before_after - spec.appear_after + spec.started_for
    if elapsed < spec.appear_after:
        return []
    if spec.repeat_every is None:
        cycles = [0]
    else:
        last = math.floor((elapsed - spec.appear_after) / spec.repeat_every)
        first = max(0, math.floor((elapsed - spec.appear_after - span) / spec.repeat_every))
        cycles = list(range(first, last + 1))
    out = []
    for k in cycles:
        shift = k * (spec.repeat_every or 0.0)
        event_id = spec.id if k == 0 else str(uuid.uuid5(EVENT_NAMESPACE, f"{spec.id}/{k}")).upper()
        appear, not_before = spec.appear_after + shift, spec.not_before_after + shift
        starts = min(not_before, approved.get(event_id, math.inf))
        if not appear <= elapsed < starts + spec.started_for:
            continue
        if elapsed < starts:
            out.append(_Instance(spec, event_id, "Scheduled", start + timedelta(seconds=not_before)))
        else:
            out.append(_Instance(spec, event_id, "Started", None))
    return out


def _render(instance: _Instance, version: str, fmt: str) -> dict[str, Any]:
    spec = instance.spec
    not_before = ""
    if instance.not_before is not None:
        moment = instance.not_before.astimezone(UTC).replace(microsecond=0)
        not_before = (
            format_datetime(moment, usegmt=True)
            if fmt == "rfc1123"
            else moment.isoformat().replace("+00:00", "Z")
        )
    event: dict[str, Any] = {
        "EventId": instance.event_id,
        "EventStatus": instance.status,
        "EventType": spec.type,
        "ResourceType": spec.resource_type,
        "Resources": list(spec.resources),
        "NotBefore": not_before,
        "Description": spec.description,
        "EventSource": spec.source,
        "DurationInSeconds": spec.duration,
    }
    return {k: v for k, v in event.items() if version >= SINCE.get(k, "")}


def approve(req: SimRequest, state: ScenarioState) -> SimResponse:
    guarded = _guard(req, state)
    if isinstance(guarded, SimResponse):
        return guarded
    ids = _start_request_ids(req)
    if ids is None:
        return SimResponse(400, {"error": "Bad request. The request body is malformed."})
    with state.lock:
        elapsed = state.clock.elapsed()
        for event_id in ids:
            guarded["approvals"].setdefault(event_id, elapsed)
            guarded["approval_log"].append(event_id)
    # The response body of an approval is undocumented (reference §3.3): none.
    return SimResponse(200)


def _start_request_ids(req: SimRequest) -> list[str] | None:
    """EventIds of a ``{"StartRequests": [{"EventId": …}]}`` body; None when malformed."""
    try:
        ids = [item["EventId"] for item in req.json()["StartRequests"]]
    except (ValueError, KeyError, TypeError):
        return None
    return ids if ids and all(isinstance(i, str) and i for i in ids) else None


def method_not_allowed(req: SimRequest, state: ScenarioState) -> SimResponse:
    return SimResponse(405, {"error": "Method not allowed."}, {"Allow": "GET, POST"})


def imds_fault_body(status: int, req: SimRequest, state: ScenarioState) -> SimResponse:
    return SimResponse(status, {"error": _STATUS_TEXT.get(status, "Internal server error.")})
