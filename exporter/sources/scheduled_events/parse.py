"""VM Scheduled Events from the Instance Metadata Service (IMDS), polled from inside the VM.

The only advance warning of no-reboot maintenance (Freeze, about 15 minutes ahead) and of Spot
eviction (Preempt, about 30 seconds ahead). Runs on the VM or Kubernetes node itself (the Helm
chart's DaemonSet); off Azure the source is simply down. The exporter never approves events.

    azure_scheduled_event_info{event_id="C7061BAC-…",event_type="Freeze",event_status="Scheduled",
        event_source="Platform",resource_type="VirtualMachine",resource="WestNO_0",description="…"} 1
    azure_scheduled_event_not_before_timestamp_seconds{event_id="C7061BAC-…",event_type="Freeze",
        resource="WestNO_0"} 1.795256818e+09
    azure_scheduled_event_duration_seconds{event_id="C7061BAC-…",event_type="Freeze"} 5
    azure_scheduled_events{event_type="Freeze",event_status="Scheduled"} 1
    azure_scheduled_events{event_type="Reboot",event_status="Scheduled"} 0
    azure_scheduled_events_document_incarnation 2
    azure_scheduled_event_seconds_until_not_before{event_id="C7061BAC-…",event_type="Freeze",
        resource="WestNO_0"} 412.0

Choices (reference: shared azure-apis.md §3):

- ``event_id`` is kept as IMDS sends it (upper-case GUID): IMDS is its only producer, so case
  never varies, and the value is what an operator would paste into an approval request.
- When ``node`` is configured, every family of this source carries a ``node`` label; when it is
  not, no family has one (``instance`` identifies the VM). The label set is fixed per process.
- Problems in the document (unknown type or status, unparseable NotBefore, missing fields) are
  reported when they first appear, not on every one-second poll, so
  ``azure_update_exporter_source_errors_total`` counts distinct bad inputs rather than polls.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter import __version__
from exporter.core.errors import PayloadError, Reason, SourceError, reason_for_status
from exporter.core.families import gauge
from exporter.core.registry import register
from exporter.core.source import FetchContext, Issue, SourceSpec
from exporter.core.timefmt import parse_iso, parse_rfc1123

PATH = "/metadata/scheduledevents"
API = "imds"
# Documented values (reference §3.2); anything else passes through as a label value.
EVENT_TYPES = ("Freeze", "Reboot", "Redeploy", "Preempt", "Terminate")
EVENT_STATUSES = ("Scheduled", "Started")
# Fields every api-version since 2017-08-01 sends; Description, EventSource and
# DurationInSeconds came later (2019-04-01, 2019-08-01, 2020-07-01) and are optional here.
REQUIRED_FIELDS = ("EventId", "EventType", "EventStatus", "ResourceType", "Resources", "NotBefore")
DESCRIPTION_MAX = 200
USER_AGENT = f"azure-update-exporter/{__version__}"
DEMO_NODE = "aks-nodepool1-0"

# RFC 1123 as IMDS writes it (`Sat, 21 Nov 2026 10:26:58 GMT`). The weekday is optional and not
# checked (Microsoft's samples carry wrong ones); the zone must be GMT/UTC or a numeric offset.
_RFC1123 = re.compile(
    r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{2}:\d{2}:\d{2}\s+(?:GMT|UTC|UT|[+-]\d{4})$"
)
_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]")


@dataclass(frozen=True, slots=True)
class Options:
    # Base URL of IMDS. Plain HTTP to the link-local address; proxies are always bypassed.
    endpoint: str = "http://169.254.169.254"
    # 2020-07-01 is the newest scheduled-events version (adds DurationInSeconds).
    api_version: str = "2020-07-01"
    # Value of a `node` label on every series (for example the Kubernetes node name through the
    # downward API). Unset: no `node` label at all.
    node: str | None = None
    # Connect timeout of every request, and read timeout once IMDS has answered once.
    request_timeout: float = field(default=5.0, metadata={"duration": True, "min": 0.1})
    # Read timeout until the first successful answer: the call that enables Scheduled Events
    # for the VM can take about two minutes (reference §3.1).
    first_request_timeout: float = field(default=150.0, metadata={"duration": True, "min": 0.1})


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    event_id: str
    event_type: str
    event_status: str
    event_source: str
    resource_type: str
    resources: tuple[str, ...]
    not_before: datetime | None  # None: empty (a Started event) or unparseable
    description: str
    duration_seconds: int | None  # None: -1 ("unknown or not applicable"), missing or invalid


@dataclass(frozen=True, slots=True)
class Snapshot:
    fetched_at: datetime
    incarnation: int | None
    events: tuple[ScheduledEvent, ...]
    node: str | None = None
    issues: tuple[Issue, ...] = ()


def decode(body: bytes) -> object:
    """The response body as JSON; PayloadError for an empty or malformed body."""
    if not body.strip():
        raise PayloadError("IMDS returned an empty body")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PayloadError(f"IMDS returned a body that is not JSON: {exc}") from exc


def parse(payload: object, fetched_at: datetime, node: str | None = None) -> Snapshot:
    """A Scheduled Events document → Snapshot. Lenient per event, strict about the envelope."""
    if not isinstance(payload, dict):
        raise PayloadError(f"IMDS document is a {type(payload).__name__}, not an object")
    if "Events" not in payload:
        raise PayloadError("IMDS document has no Events", Reason.MISSING_FIELD)
    raw_events = payload["Events"]
    if not isinstance(raw_events, list):
        raise PayloadError(f"IMDS Events is a {type(raw_events).__name__}, not a list")
    issues: list[Issue] = []
    incarnation = _incarnation(payload.get("DocumentIncarnation"), issues)
    events: dict[str, ScheduledEvent] = {}
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            issues.append(
                Issue(f"event:{index}", Reason.MALFORMED_PAYLOAD, "scheduled event is not an object; skipped")
            )
            continue
        event = _event(raw, index, issues)
        if event.event_id in events:
            issues.append(
                Issue(
                    f"duplicate:{event.event_id}",
                    Reason.MALFORMED_PAYLOAD,
                    "duplicate scheduled event id; first kept",
                    (("event_id", event.event_id),),
                )
            )
            continue
        events[event.event_id] = event
    return Snapshot(fetched_at, incarnation, tuple(events.values()), node, _unique(issues))


def _incarnation(value: object, issues: list[Issue]) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if value is None:
        issues.append(Issue("incarnation", Reason.MISSING_FIELD, "IMDS document has no DocumentIncarnation"))
    else:
        issues.append(
            Issue(
                "incarnation",
                Reason.MALFORMED_PAYLOAD,
                "DocumentIncarnation is not an integer",
                (("value", repr(value)[:50]),),
            )
        )
    return None


def _event(raw: dict[str, Any], index: int, issues: list[Issue]) -> ScheduledEvent:
    event_id = raw.get("EventId")
    event_id = event_id if isinstance(event_id, str) else ""
    ref = event_id or f"#{index}"
    missing = [name for name in REQUIRED_FIELDS if name not in raw or raw[name] is None]
    if missing:
        issues.append(
            Issue(
                f"missing:{ref}",
                Reason.MISSING_FIELD,
                "scheduled event lacks fields; exposed with empty values",
                (("event_id", ref), ("fields", ",".join(missing))),
            )
        )

    def text(name: str) -> str:
        value = raw.get(name)
        if value is None or isinstance(value, str):
            return value or ""
        issues.append(
            Issue(
                f"type:{ref}:{name}",
                Reason.MALFORMED_PAYLOAD,
                "scheduled event field is not a string; exposed as empty",
                (("event_id", ref), ("field", name)),
            )
        )
        return ""

    event_type, event_status = text("EventType"), text("EventStatus")
    for label, value, known in (
        ("event_type", event_type, EVENT_TYPES),
        ("event_status", event_status, EVENT_STATUSES),
    ):
        if value and value not in known:
            issues.append(
                Issue(
                    f"{label}:{value}",
                    Reason.UNKNOWN_ENUM,
                    f"unknown scheduled {label.replace('_', ' ')}; passed through",
                    ((label, value),),
                )
            )
    return ScheduledEvent(
        event_id=event_id,
        event_type=event_type,
        event_status=event_status,
        event_source=text("EventSource"),
        resource_type=text("ResourceType"),
        resources=_resources(raw.get("Resources"), ref, issues),
        not_before=_not_before(text("NotBefore"), ref, issues),
        description=_description(text("Description")),
        duration_seconds=_duration(raw.get("DurationInSeconds"), ref, issues),
    )


def _resources(value: object, ref: str, issues: list[Issue]) -> tuple[str, ...]:
    items = value if isinstance(value, list) else []
    names = tuple(dict.fromkeys(item for item in items if isinstance(item, str) and item))
    if value is not None and (not isinstance(value, list) or len(names) < len(set(map(repr, items)))):
        issues.append(
            Issue(
                f"resources:{ref}",
                Reason.MALFORMED_PAYLOAD,
                "scheduled event Resources is not a list of names; bad entries dropped",
                (("event_id", ref),),
            )
        )
    elif isinstance(value, list) and not names:
        issues.append(
            Issue(
                f"resources:{ref}",
                Reason.MISSING_FIELD,
                "scheduled event names no resource",
                (("event_id", ref),),
            )
        )
    if not names:
        # An event must not vanish from the per-resource series (and the alerts on them) just
        # because it names no VM: it is exposed once with resource="".
        return ("",)
    return names


def parse_not_before(text: str) -> datetime | None:
    """RFC 1123 (what IMDS sends) or ISO 8601 (what the Azure-Samples mock sends); "" → None.

    Raises ValueError for anything else: a date the parser would merely guess at is bad input.
    """
    text = text.strip()
    if not text:
        return None  # emptied once the event has Started (reference §3.2); not an error
    if _RFC1123.match(text):
        return parse_rfc1123(text)
    if _ISO_LIKE.match(text):
        return parse_iso(text)
    raise ValueError(f"not an RFC 1123 or ISO 8601 date: {text!r}")


def _not_before(text: str, ref: str, issues: list[Issue]) -> datetime | None:
    try:
        return parse_not_before(text)
    except ValueError:
        issues.append(
            Issue(
                f"not_before:{ref}",
                Reason.MALFORMED_PAYLOAD,
                "unparseable NotBefore; event exposed without timestamp",
                (("event_id", ref), ("not_before", text[:60])),
            )
        )
        return None


def _description(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"


def _duration(value: object, ref: str, issues: list[Issue]) -> int | None:
    if value is None or value == -1:
        return None  # -1 = unknown or not applicable (reference §3.2), not a duration
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    issues.append(
        Issue(
            f"duration:{ref}",
            Reason.MALFORMED_PAYLOAD,
            "DurationInSeconds is not a non-negative integer or -1; not exposed",
            (("event_id", ref), ("value", repr(value)[:50])),
        )
    )
    return None


def _unique(issues: list[Issue]) -> tuple[Issue, ...]:
    first: dict[str, Issue] = {}
    for issue in issues:
        first.setdefault(issue.key, issue)
    return tuple(first.values())


def report(snapshot: Snapshot, previous: Snapshot | None, ctx: FetchContext[Options, Snapshot]) -> None:
    """Counts and logs the document's issues that were not already in the previous document."""
    seen = {issue.key for issue in previous.issues} if previous is not None else set()
    ctx.report(snapshot.issues, already_reported=seen)


def fetch(ctx: FetchContext[Options, Snapshot]) -> Snapshot:
    opts = ctx.options
    url = opts.endpoint.rstrip("/") + PATH
    # Until IMDS has answered once in this process the call may be the one that enables the
    # service (up to ~2 min); afterwards a slow answer is a failure worth seeing within seconds.
    # Connecting is always quick on Azure (link-local), so off Azure fails fast either way.
    read_timeout = opts.first_request_timeout if ctx.previous is None else opts.request_timeout
    read_timeout = min(read_timeout, ctx.timeout)
    with requests.Session() as session:
        session.trust_env = False  # IMDS must never go through a proxy (reference §3.1)
        try:
            response = session.get(
                url,
                params={"api-version": opts.api_version},
                headers={"Metadata": "true", "User-Agent": USER_AGENT},
                timeout=(opts.request_timeout, read_timeout),
                allow_redirects=False,
            )
        except requests.ConnectionError as exc:  # includes ConnectTimeout
            ctx.stats.record(API, "error")
            raise SourceError(
                Reason.CONNECTION,
                f"IMDS unreachable at {opts.endpoint} (not on an Azure VM, or blocked): {type(exc).__name__}",
            ) from exc
        except requests.Timeout as exc:
            ctx.stats.record(API, "error")
            raise SourceError(Reason.TIMEOUT, f"IMDS did not answer within {read_timeout:g}s") from exc
    ctx.stats.record(API, response.status_code)
    if response.status_code != 200:
        raise SourceError(_reason(response.status_code), _error_message(response))
    snapshot = parse(decode(response.content), ctx.now(), opts.node)
    report(snapshot, ctx.previous, ctx)
    return snapshot


def _reason(status: int) -> Reason:
    if status == 410:
        # IMDS uses 410 for "not ready yet, retry for up to 70 s" (reference §3.4), not "gone".
        return Reason.SERVER_ERROR
    return reason_for_status(status)


def _error_message(response: requests.Response) -> str:
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            detail = body["error"]
    except ValueError:
        detail = response.text
    detail = " ".join(detail.split())[:200]
    return f"IMDS answered HTTP {response.status_code}" + (f": {detail}" if detail else "")


def translate(snapshot: Snapshot, now: datetime) -> Iterator[Metric]:
    extra = [] if snapshot.node is None else ["node"]
    node = [] if snapshot.node is None else [snapshot.node]
    cached = (
        "IMDS Scheduled Events, polled in the background (every second by default); see "
        'azure_update_exporter_source_last_success_timestamp_seconds{source="scheduled_events"}.'
    )
    info = gauge(
        "azure_scheduled_event_info",
        f"A pending or started scheduled event per affected resource; always 1. {cached}",
        [
            "event_id",
            "event_type",
            "event_status",
            "event_source",
            "resource_type",
            "resource",
            "description",
            *extra,
        ],
    )
    not_before = gauge(
        "azure_scheduled_event_not_before_timestamp_seconds",
        f"Earliest start (NotBefore) of a scheduled event; absent once Started. {cached}",
        ["event_id", "event_type", "resource", *extra],
    )
    duration = gauge(
        "azure_scheduled_event_duration_seconds",
        f"Expected impact of a scheduled event (DurationInSeconds); absent when unknown (-1). {cached}",
        ["event_id", "event_type", *extra],
    )
    counts = gauge(
        "azure_scheduled_events",
        f"Scheduled events by type and status, 0 for every documented type and status. {cached}",
        ["event_type", "event_status", *extra],
    )
    incarnation = gauge(
        "azure_scheduled_events_document_incarnation",
        f"DocumentIncarnation of the Scheduled Events document; increases when the events change. {cached}",
        extra,
    )
    until = gauge(
        "azure_scheduled_event_seconds_until_not_before",
        "Seconds from the scrape until NotBefore (negative once passed), computed at scrape time; "
        "absent once Started.",
        ["event_id", "event_type", "resource", *extra],
    )
    tally: Counter[tuple[str, str]] = Counter()
    for ev in snapshot.events:
        tally[(ev.event_type, ev.event_status)] += 1
        if ev.duration_seconds is not None:
            duration.add_metric([ev.event_id, ev.event_type, *node], float(ev.duration_seconds))
        for resource in ev.resources:
            info.add_metric(
                [
                    ev.event_id,
                    ev.event_type,
                    ev.event_status,
                    ev.event_source,
                    ev.resource_type,
                    resource,
                    ev.description,
                    *node,
                ],
                1.0,
            )
            if ev.not_before is not None:
                labels = [ev.event_id, ev.event_type, resource, *node]
                not_before.add_metric(labels, ev.not_before.timestamp())
                until.add_metric(labels, (ev.not_before - now).total_seconds())
    _add_counts(counts, tally, node)
    if snapshot.incarnation is not None:
        incarnation.add_metric(node, float(snapshot.incarnation))
    # The scrape-time value last: everything before it is the same for every scrape of a refresh.
    yield from (info, not_before, duration, counts, incarnation, until)


def _add_counts(family: GaugeMetricFamily, tally: Counter[tuple[str, str]], node: list[str]) -> None:
    types = list(EVENT_TYPES) + sorted({t for t, _ in tally} - set(EVENT_TYPES))
    statuses = list(EVENT_STATUSES) + sorted({s for _, s in tally} - set(EVENT_STATUSES))
    for event_type in types:
        for status in statuses:
            family.add_metric([event_type, status, *node], float(tally.get((event_type, status), 0)))


SPEC = register(
    SourceSpec(
        name="scheduled_events",
        summary="VM Scheduled Events from the Instance Metadata Service (run on the VM/node)",
        fetch=fetch,
        translate=translate,
        options_type=Options,
        # Only meaningful on an Azure VM (the chart's DaemonSet enables it); elsewhere it could
        # only fail, and keep /readyz unready.
        default_enabled=False,
        # Microsoft recommends polling once per second; IMDS allows 5 requests/s per VM, and
        # the scheduler backs off to 60 s while failing (429 included).
        default_interval=1.0,
        # Bounds a whole refresh, so it must cover the first call that enables the service
        # (~2 min, `first_request_timeout`). Later polls are bounded by `request_timeout`.
        default_timeout=160.0,
        needs_azure=False,
        # The simulator's IMDS listener stands in for 169.254.169.254; the demo "runs" on a node.
        demo_config=lambda info: {"endpoint": info["imds_url"], "node": DEMO_NODE},
    )
)
