"""The label schema (docs/metrics.md, "Label schema") holds on the demo's exposition for every source.

Generic over the registered sources: a source merged later is checked by the same rules without
naming it here. The demo runs on the simulator's virtual clock; the test refreshes the exporter at
points along the demo's timeline (updates starting, failing, being resumed; events announced and
started) and compares what every `_info` series says about the same object.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from exporter.app import Exporter
from exporter.config import from_dict
from exporter.core.registry import all_specs
from exporter.demo import simulator_config
from exporter.simulator import start

MAX_LABEL_VALUE = 128
# Virtual seconds after the demo's start at which the exporter refreshes every source. They cover
# the scenario's changes (demo.yaml): scale-set upgrades (20 s to ~15 min), the Hub update and its
# admin-API outage (1-11 min), the failed and resumed Seattle run (7-23 min), Scheduled Events
# being announced, started and removed (every 20-30 min). Below the simulated token lifetime (1 h).
TIMELINE = (0, 150, 300, 480, 660, 900, 1200, 1500, 1700, 2000)
ARM_ID = re.compile(r"^/subscriptions/(?P<sub>[^/]+)(?:/resourcegroups/(?P<rg>[^/]+))?(?:/.*)?$")
# Sources whose series name no ARM resource yet, with the reason (docs/metrics.md says the same).
NO_ARM_IDENTITY = {
    "scheduled_events": "IMDS names the affected VMs by name only; no subscription or resource group",
}

# `_info` families that describe a version, like build_info: a new version is a new series by
# design (docs/metrics.md says so for each), while the object's own `_info` stays stable.
VERSION_INFO = {
    "azure_arc_agent_version_info": "the installed agent release; an upgrade starts a new series",
    "azure_arc_agent_upgrade_info": "the desired agent version automatic upgrade aims for",
}

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Series:
    family: str
    labels: dict[str, str]
    value: float


Exposition = dict[str, list[Series]]  # source -> its series


def _expose(exporter: Exporter, now: datetime) -> Exposition:
    out: Exposition = {}
    for state in exporter.states:
        view = state.view()
        assert view.snapshot is not None, f"{view.name}: no snapshot in the demo"
        out[view.name] = [
            Series(family.name, dict(sample.labels), sample.value)
            for family in state.spec.translate(view.snapshot, now)
            for sample in family.samples
        ]
    return out


@pytest.fixture(scope="module")
def timeline() -> list[Exposition]:
    with start("demo") as sim:
        exporter = Exporter(from_dict(simulator_config(sim.info(), "127.0.0.1:0")))
        try:
            points = []
            elapsed = 0.0
            for at in TIMELINE:
                sim.clock.advance(max(0.0, at - elapsed))
                elapsed = at
                results = exporter.refresh_all_once()
                assert all(results.values()), results
                points.append(_expose(exporter, sim.clock.now().astimezone(UTC)))
            return points
        finally:
            exporter.stop()


def test_every_registered_source_is_in_the_demo_exposition(timeline: list[Exposition]) -> None:
    for name in all_specs():
        assert timeline[0].get(name), f"{name}: no series in the demo"


def test_no_label_value_longer_than_128_characters(timeline: list[Exposition]) -> None:
    # The full resource id is the one exception, and only on `_info` (one series per resource).
    too_long = {
        (s.family, key, value)
        for point in timeline
        for series in point.values()
        for s in series
        for key, value in s.labels.items()
        if len(value) > MAX_LABEL_VALUE and not (key == "resource_id" and s.family.endswith("_info"))
    }
    assert not too_long, sorted(too_long)


def test_identity_labels_are_lowercased_and_ids_only_on_info(timeline: list[Exposition]) -> None:
    bad = set()
    for point in timeline:
        for series in point.values():
            for s in series:
                for key in ("subscription_id", "resource_group", "resource_id"):
                    value = s.labels.get(key)
                    if value is not None and value != value.strip().lower():
                        bad.add((s.family, key, value))
                if "resource_group" in s.labels and "subscription_id" not in s.labels:
                    bad.add((s.family, "resource_group without subscription_id", ""))
                for key, value in s.labels.items():
                    # A long ARM id sits on the one `_info` series of its resource, never on all.
                    if value.startswith("/subscriptions/") and not s.family.endswith("_info"):
                        bad.add((s.family, key, value))
    assert not bad, sorted(bad)


def _info_identities(series: list[Series]) -> tuple[dict[str, str], set[tuple[str, str, str]]]:
    """name label per resource `_info` family, and every (subscription_id, resource_group, name)."""
    names: dict[str, str] = {}
    identities: set[tuple[str, str, str]] = set()
    for s in series:
        resource_id = s.labels.get("resource_id")
        if not s.family.endswith("_info") or not resource_id:
            continue
        match = ARM_ID.match(resource_id)
        assert match, f"{s.family}: resource_id {resource_id!r} is not an ARM id"
        assert s.labels.get("subscription_id") == match.group("sub"), s
        assert s.labels.get("resource_group", "") == (match.group("rg") or ""), s
        leaf = resource_id.rsplit("/", 1)[-1]
        candidates = [k for k, v in s.labels.items() if v == leaf and k != "resource_id"]
        own = [k for k in candidates if k not in ("subscription_id", "resource_group")] or candidates
        assert own, f"{s.family}: no short name label with the resource's name {leaf!r}"
        names[s.family] = own[0]
        identities.add((s.labels["subscription_id"], s.labels.get("resource_group", ""), leaf))
    return names, identities


def test_every_resource_has_one_info_with_its_resource_id(timeline: list[Exposition]) -> None:
    for point in timeline:
        subscriptions = {
            s.labels["subscription_id"]
            for s in point["subscriptions"]
            if s.family == "azure_subscription_info"
        }
        for source, series in point.items():
            names, identities = _info_identities(series)
            if source in NO_ARM_IDENTITY:
                assert not names, f"{source} has ARM identities now: remove it from NO_ARM_IDENTITY"
                continue
            assert names, f"{source}: no `_info` family with subscription_id, resource_group and resource_id"
            name_labels = set(names.values())
            for s in series:
                if "subscription_id" not in s.labels:
                    continue
                if "resource_group" not in s.labels and not name_labels & s.labels.keys():
                    # A per-subscription aggregate: it joins the subscription's own `_info`.
                    assert s.labels["subscription_id"] in subscriptions, (
                        f"{source}: {s.family}{s.labels} names a subscription the exporter does not list"
                    )
                    continue
                present = [n for n in sorted(name_labels) if n in s.labels]
                assert present, f"{source}: {s.family} has no short name label {name_labels}"
                # A series about a machine may also name a related object (its schedule): it must
                # join the `_info` of at least one of the objects it names.
                joins = {
                    (s.labels["subscription_id"], s.labels.get("resource_group", ""), s.labels[n])
                    for n in present
                }
                assert joins & identities, (
                    f"{source}: {s.family}{s.labels} has no `_info` series to join with"
                )


def _state_labels(series: list[Series]) -> set[str]:
    """Labels that hold a state: in some family, every group of series that differ only in that
    label has at least two members, exactly one of them 1 and the others 0 (a state set)."""
    groups: dict[tuple[str, str], dict[Labels, list[float]]] = defaultdict(lambda: defaultdict(list))
    for s in series:
        for label in s.labels:
            rest = tuple(sorted((k, v) for k, v in s.labels.items() if k != label))
            groups[(s.family, label)][rest].append(s.value)
    return {
        label
        for (_, label), by_rest in groups.items()
        if all(len(v) > 1 and set(v) <= {0.0, 1.0} and v.count(1.0) == 1 for v in by_rest.values())
    }


def _object_keys(series: list[Series]) -> dict[str, frozenset[str]]:
    """Per `_info` family, the labels a join uses to find its object: those it shares with the
    source's other families, minus state labels (a state shared with a state set is not identity)."""
    shared: set[str] = set()
    for s in series:
        if not s.family.endswith("_info"):
            shared |= s.labels.keys()
    shared -= _state_labels(series)
    # The identity labels (and the resource's own name label) always identify the object, even
    # where a family happens to look like a state set over them (one 1 among 0s per group).
    names, _ = _info_identities(series)
    identity = {"subscription_id", "resource_group", "resource_id"}
    return {
        s.family: frozenset(
            s.labels.keys() & (shared | identity | ({names[s.family]} if s.family in names else set()))
        )
        for s in series
        if s.family.endswith("_info") and s.family not in VERSION_INFO
    }


def _latest_start(series: list[Series], family: str) -> dict[Labels, float]:
    """An `X_info` describing "the latest X" is replaced with X, marked by `X_start_timestamp_seconds`."""
    start_family = family.removesuffix("_info") + "_start_timestamp_seconds"
    return {tuple(sorted(s.labels.items())): s.value for s in series if s.family == start_family}


def test_info_labels_never_change_while_the_object_lives(timeline: list[Exposition]) -> None:
    seen: dict[tuple[str, str, Labels], tuple[int, Labels, float | None]] = {}
    changed = []
    for index, point in enumerate(timeline):
        for source, series in point.items():
            keys = _object_keys(series)
            starts = {family: _latest_start(series, family) for family in keys}
            per_object: dict[tuple[str, str, Labels], list[Labels]] = defaultdict(list)
            for s in series:
                if s.family in keys:
                    key = tuple(sorted((k, s.labels[k]) for k in keys[s.family]))
                    per_object[(source, s.family, key)].append(tuple(sorted(s.labels.items())))
            for obj, label_sets in per_object.items():
                assert len(label_sets) == 1, f"{obj}: {len(label_sets)} `_info` series for one object"
                start = starts[obj[1]].get(obj[2])
                before = seen.get(obj)
                if before is not None and before[1] != label_sets[0]:
                    replaced = start is not None and before[2] is not None and start != before[2]
                    if not replaced:
                        changed.append((obj, TIMELINE[before[0]], TIMELINE[index], before[1], label_sets[0]))
                seen[obj] = (index, label_sets[0], start)
    assert not changed, changed


def test_the_timeline_moved(timeline: list[Exposition]) -> None:
    """The demo changed along the sampled timeline: otherwise the test above could not fail."""
    first, last = timeline[0], timeline[-1]
    for source in first:
        if source == "subscriptions":
            continue  # the demo's subscriptions are static
        assert {(s.family, tuple(sorted(s.labels.items())), s.value) for s in first[source]} != {
            (s.family, tuple(sorted(s.labels.items())), s.value) for s in last[source]
        }, source
