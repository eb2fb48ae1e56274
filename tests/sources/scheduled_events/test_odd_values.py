"""Issue 9 class 1: a huge DocumentIncarnation or duration, a year-9999 NotBefore or deeply nested
JSON is a counted malformed_payload, and the document still translates and encodes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics

from exporter.core.containment import Fixed
from exporter.core.errors import PayloadError, Reason
from exporter.sources.scheduled_events.parse import decode, parse
from exporter.sources.scheduled_events.translate import translate

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "scheduled_events"
NOW = datetime(2026, 11, 21, 10, 10, tzinfo=UTC)


def freeze() -> dict:
    body: dict = json.loads((PAYLOADS / "imds-scheduledevents-freeze.json").read_text())
    return body


def encodes(snapshot) -> bytes:
    openmetrics(Fixed(translate(snapshot, NOW)))
    return generate_latest(Fixed(translate(snapshot, NOW)))


def test_huge_document_incarnation_is_dropped_and_counted():
    body = freeze()
    body["DocumentIncarnation"] = 10**400
    snapshot = parse(body, NOW)
    assert snapshot.incarnation is None
    assert [(i.key, i.reason) for i in snapshot.issues] == [("incarnation", Reason.MALFORMED_PAYLOAD)]
    assert b"azure_scheduled_event_info{" in encodes(snapshot)


@pytest.mark.parametrize("duration", [10**400, 2**60, float("inf")])
def test_huge_duration_is_dropped_and_counted(duration):
    body = freeze()
    body["Events"][0]["DurationInSeconds"] = duration
    snapshot = parse(body, NOW)
    assert snapshot.events[0].duration_seconds is None
    assert [i.reason for i in snapshot.issues] == [Reason.MALFORMED_PAYLOAD]
    assert b"azure_scheduled_event_duration_seconds{" not in encodes(snapshot)


@pytest.mark.parametrize("not_before", ["Fri, 31 Dec 9999 23:59:59 -0100", "Sat, 21 Nov 2026 25:61:00 GMT"])
def test_not_before_out_of_range_drops_the_timestamp_only(not_before):
    body = freeze()
    body["Events"][0]["NotBefore"] = not_before
    snapshot = parse(body, NOW)
    assert snapshot.events[0].not_before is None
    assert [i.reason for i in snapshot.issues] == [Reason.MALFORMED_PAYLOAD]
    encodes(snapshot)


DEEP = b"[" * 100_000 + b"]" * 100_000
OVERLONG = b'{"DocumentIncarnation": ' + b"9" * 5000 + b"}"  # beyond int's 4,300-digit limit


@pytest.mark.parametrize("body", [DEEP, OVERLONG])
def test_deep_or_overlong_json_is_malformed_payload(body):
    with pytest.raises(PayloadError) as caught:
        decode(body)
    assert caught.value.reason is Reason.MALFORMED_PAYLOAD
