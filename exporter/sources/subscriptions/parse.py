"""The ARM subscriptions list as a Snapshot: pure; odd items become ``Issue``s, never an exception."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from exporter.core.errors import Reason
from exporter.core.identity import resource_identity
from exporter.core.source import Issue
from exporter.core.values import identifier, text
from exporter.sources.subscriptions.model import STATES, Snapshot, Subscription


def parse(items: Iterable[object], issues: list[Issue]) -> Snapshot:
    found: dict[str, Subscription] = {}
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            issues.append(Issue(f"item:{index}", Reason.MALFORMED_PAYLOAD, "subscription is not an object"))
            continue
        raw_id = identifier(item.get("subscriptionId"))
        # The one identity helper for ARM ids: a subscription id is the second segment of one.
        sub_id = resource_identity(f"/subscriptions/{raw_id}").subscription_id if raw_id else ""
        if not sub_id:
            missing = "subscription without subscriptionId skipped"
            issues.append(Issue("missing:subscriptionId", Reason.MISSING_FIELD, missing))
            continue
        found[sub_id] = Subscription(
            subscription_id=sub_id,
            display_name=_field(item, "displayName", sub_id, issues),
            state=_state(item, sub_id, issues),
            tenant_id=identifier(_field(item, "tenantId", sub_id, issues)),
        )
    return Snapshot(tuple(found[k] for k in sorted(found)))


def _field(item: Mapping[object, object], name: str, sub_id: str, issues: list[Issue]) -> str:
    value = text(item.get(name)).strip()
    if not value:
        issues.append(
            Issue(
                f"missing:{sub_id}:{name}",
                Reason.MISSING_FIELD,
                f"subscription without {name}; exposed as empty",
                (("subscription", sub_id),),
            )
        )
    return value


def _state(item: Mapping[object, object], sub_id: str, issues: list[Issue]) -> str:
    state = text(item.get("state")).strip()
    if not state:
        issues.append(
            Issue(
                f"missing:{sub_id}:state",
                Reason.MISSING_FIELD,
                "subscription without state; exposed as Unknown",
                (("subscription", sub_id),),
            )
        )
        return "Unknown"
    if state not in STATES:
        issues.append(
            Issue(f"state:{state}", Reason.UNKNOWN_ENUM, "unknown subscription state", (("state", state),))
        )
    return state
