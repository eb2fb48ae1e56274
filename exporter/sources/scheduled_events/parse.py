"""A Scheduled Events document (IMDS JSON) as a Snapshot: pure, lenient per event, strict about
the envelope; odd input becomes an ``Issue`` in the snapshot (reference: shared azure-apis.md §3)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from exporter.core.errors import PayloadError, Reason, describe
from exporter.core.source import Issue
from exporter.core.timefmt import parse_iso, parse_rfc1123
from exporter.core.values import bounded_int, identifier, preview
from exporter.sources.scheduled_events.model import EVENT_STATUSES, EVENT_TYPES, ScheduledEvent, Snapshot

# Fields every api-version since 2017-08-01 sends; Description, EventSource and
# DurationInSeconds came later (2019-04-01, 2019-08-01, 2020-07-01) and are optional here.
REQUIRED_FIELDS = ("EventId", "EventType", "EventStatus", "ResourceType", "Resources", "NotBefore")
# The label-value bound of the label schema (docs/metrics.md): 128 characters.
DESCRIPTION_MAX = 128

# RFC 1123 as IMDS writes it (`Sat, 21 Nov 2026 10:26:58 GMT`). The weekday is optional and not
# checked (Microsoft's samples carry wrong ones); the zone must be GMT/UTC or a numeric offset.
_RFC1123 = re.compile(
    r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{2}:\d{2}:\d{2}\s+(?:GMT|UTC|UT|[+-]\d{4})$"
)
_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]")


def decode(body: bytes) -> object:
    """The response body as JSON; PayloadError for an empty or malformed body."""
    if not body.strip():
        raise PayloadError("IMDS returned an empty body")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, 5,000 digits
        raise PayloadError(f"IMDS returned a body that is not JSON: {describe(exc)}") from exc


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
    if bounded_int(value) is not None:
        return bounded_int(value)
    if value is None:
        issues.append(Issue("incarnation", Reason.MISSING_FIELD, "IMDS document has no DocumentIncarnation"))
    else:
        issues.append(
            Issue(
                "incarnation",
                Reason.MALFORMED_PAYLOAD,
                "DocumentIncarnation is not an integer within ±2**53",
                (("value", preview(value, 50)),),
            )
        )
    return None


def _event(raw: dict[str, Any], index: int, issues: list[Issue]) -> ScheduledEvent:
    event_id = identifier(raw.get("EventId"), keep_case=True)
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
    names = tuple(dict.fromkeys(n for n in (identifier(i, keep_case=True) for i in items) if n))
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
    seconds = bounded_int(value)
    if seconds is not None and seconds >= 0:
        return seconds
    issues.append(
        Issue(
            f"duration:{ref}",
            Reason.MALFORMED_PAYLOAD,
            "DurationInSeconds is not a non-negative integer or -1; not exposed",
            (("event_id", ref), ("value", preview(value, 50))),
        )
    )
    return None


def _unique(issues: list[Issue]) -> tuple[Issue, ...]:
    first: dict[str, Issue] = {}
    for issue in issues:
        first.setdefault(issue.key, issue)
    return tuple(first.values())
