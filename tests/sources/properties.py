"""Property-based test harness for every source's parsers (issue 9): the table of entry points.

Each `ParserEntry` names one wire-to-metrics path of a source: a Hypothesis strategy for its
payloads and a `run` that feeds a payload through the source's real parsers and returns the
families its `translate` makes of the result. The property checked for every entry
(tests/sources/test_parser_properties.py) is:

- the parsers raise nothing but the project's own `SourceError` (a whole-payload rejection the
  fetch turns into a counted failure), and
- whatever they accept translates into families that prometheus-client encodes in both text
  and OpenMetrics, after the collector's label sanitising (`exporter.core.labels.sanitise`), the
  exact path a scrape takes.

Payloads are structure-aware: each starts from a real payload in tests/payloads/<source>/ and has
fields replaced by arbitrary JSON values (huge and non-finite numbers, lone surrogates, tricky
dates and durations, nesting), keys dropped, or lists shortened. A new source adds its entries to
`PARSERS` (the fuzzed shape, the parse calls, translate); nothing else changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from prometheus_client.metrics_core import Metric

from exporter.core.errors import SourceError
from exporter.core.source import Issue
from exporter.sources.arc_agents.parse import (
    Inputs,
    Problems,
    build_snapshot,
    parse_agent_versions,
    parse_machines,
    query_time,
)
from exporter.sources.arc_agents.parse_releases import build_table, packaged_text
from exporter.sources.arc_agents.translate import translate as arc_translate
from exporter.sources.azure_stack_updates.model import Snapshot as StackSnapshot
from exporter.sources.azure_stack_updates.model import Stamp, build_data
from exporter.sources.azure_stack_updates.model_states import HUB, LOCAL
from exporter.sources.azure_stack_updates.parse import (
    parse_location,
    parse_metadata,
    parse_run,
    parse_update,
    value_list,
)
from exporter.sources.azure_stack_updates.parse_pep import parse_update_status
from exporter.sources.azure_stack_updates.translate import translate as stack_translate
from exporter.sources.scheduled_events.parse import decode
from exporter.sources.scheduled_events.parse import parse as parse_events
from exporter.sources.scheduled_events.translate import translate as events_translate
from exporter.sources.subscriptions.parse import parse as parse_subscriptions
from exporter.sources.subscriptions.translate import translate as subscriptions_translate
from exporter.sources.update_manager import parse as um_parse
from exporter.sources.update_manager.fetch_combine import (
    configuration_states,
    machine_states,
    subscription_totals,
)
from exporter.sources.update_manager.model import Snapshot as UpdateManagerSnapshot
from exporter.sources.update_manager.model import Tables
from exporter.sources.update_manager.translate import translate as update_manager_translate
from exporter.sources.vmss_os_upgrades import Options as VmssOptions
from exporter.sources.vmss_os_upgrades.fetch import eligible
from exporter.sources.vmss_os_upgrades.fetch_calls import Outcome
from exporter.sources.vmss_os_upgrades.fetch_merge import combine
from exporter.sources.vmss_os_upgrades.parse import parse_scale_sets
from exporter.sources.vmss_os_upgrades.translate import translate as vmss_translate

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads"
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

# Values that broke parsers once, or sit on a boundary of one (issue 9 class 1).
TRICKY_STRINGS = (
    "",
    " ",
    "prod\udcff",
    "\ud800",
    "\U0001f600",
    "x" * 3000,
    "9999-12-31T23:59:59.9999999Z",
    "9998-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00Z",
    "0002-01-01T00:00:00+14:00",
    "2026-13-45T25:61:61Z",
    "2026-11-21T06:02:11.4321987+00:00",
    "Fri, 31 Dec 9999 23:59:59 -0100",
    "Sat, 21 Nov 2026 10:26:58 GMT",
    "P99999999999D",
    "PT" + "9" * 400 + "S",
    "PT14H43M50.0644552S",
    "P",
    "1e400",
    "NaN",
    "-Infinity",
    "Enabled",
    "RollingForward",
    "Succeeded",
    "InProgress",
    "Freeze",
    "/subscriptions/6F1C/resourceGroups/RG /providers/Microsoft.Compute/virtualMachineScaleSets/V ",
    "https://evil.example/next?$skiptoken=1",
)
TRICKY_NUMBERS = (
    *(10**400, -(10**400), 2**53 + 1, 2**63, -1, 0),
    *(float("inf"), float("-inf"), float("nan"), 1e308),
)


def scalars() -> st.SearchStrategy[Any]:
    text = st.text(
        st.one_of(st.characters(), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)), max_size=40
    )
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(TRICKY_NUMBERS),
        text,
        st.sampled_from(TRICKY_STRINGS),
    )


def json_values() -> st.SearchStrategy[Any]:
    """Arbitrary JSON-shaped values (what any field of a payload might hold)."""
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), inner, max_size=4),
        ),
        max_leaves=12,
    )


def nested(depth: int) -> Any:
    """A list nested `depth` deep: what a JSON decoder hands over just below its recursion limit."""
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """`base` (a real payload) with some fields replaced, dropped or added, recursively."""
    action = draw(st.integers(min_value=0, max_value=9))
    if action == 0:
        return draw(json_values())
    if action == 1 and draw(st.integers(0, 30)) == 0:
        return nested(draw(st.integers(min_value=100, max_value=900)))
    if isinstance(base, dict):
        out: dict[Any, Any] = {}
        for key, value in base.items():
            choice = draw(st.integers(min_value=0, max_value=11))
            if choice == 0:
                continue  # key dropped
            out[key] = draw(mutated(value)) if choice <= 4 else value
        if draw(st.integers(0, 5)) == 0:
            out[draw(st.sampled_from(FIELD_NAMES))] = draw(json_values())
        return out
    if isinstance(base, list):
        items = [draw(mutated(item)) if draw(st.booleans()) else item for item in base]
        if items and draw(st.integers(0, 4)) == 0:
            items = items[: draw(st.integers(0, len(items) - 1))]
        if draw(st.integers(0, 5)) == 0:
            items.append(draw(json_values()))
        return items
    return base if action < 6 else draw(scalars())


def payload(path: str) -> Any:
    return json.loads((PAYLOADS / path).read_text())


def real(*paths: str) -> st.SearchStrategy[Any]:
    """One of the real payloads at `paths`, mutated."""
    return st.sampled_from(paths).flatmap(lambda p: mutated(payload(p)))


def _field_names() -> tuple[str, ...]:
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            names.update(k for k in value if isinstance(k, str))
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for path in PAYLOADS.rglob("*.json"):
        walk(json.loads(path.read_text()))
    return tuple(sorted(names))


FIELD_NAMES = _field_names()


def items_of(body: Any, key: str = "value") -> list[Any]:
    value = body.get(key) if isinstance(body, dict) else body
    return value if isinstance(value, list) else []


# --------------------------------------------------------------------------- entry points


def run_subscriptions(body: Any) -> Iterable[Metric]:
    snapshot = parse_subscriptions(items_of(body), [])
    return subscriptions_translate(snapshot, NOW)


def run_scheduled_events(document: Any) -> Iterable[Metric]:
    # Through the real decoder: what IMDS sends is bytes.
    raw = json.dumps(document).encode("utf-8", "surrogatepass")
    snapshot = parse_events(decode(raw), NOW, node=None)
    return events_translate(snapshot, NOW)


def run_scheduled_events_bytes(raw: bytes) -> Iterable[Metric]:
    snapshot = parse_events(decode(raw), NOW, node="aks-nodepool1-0")
    return events_translate(snapshot, NOW)


def run_vmss(case: tuple[Any, Any, Any]) -> Iterable[Metric]:
    graph, history, rolling = case
    issues: list[Issue] = []
    options = VmssOptions(expect_automatic_os_upgrade_tag="automatic-os-upgrade")
    scale_sets = parse_scale_sets(items_of(graph, "data"), issues, options.expect_automatic_os_upgrade_tag)
    outcomes = {
        s.key: Outcome(history=items_of(history), rolling=rolling if isinstance(rolling, dict) else None)
        for s in scale_sets
        if eligible(s, options)
    }
    snapshot = combine(scale_sets, outcomes, None, options, NOW, (("compute", 2),), issues)
    return vmss_translate(snapshot, NOW)


def run_stack(case: tuple[Any, Any, Any]) -> Iterable[Metric]:
    locations, updates, runs = case
    stamps = []
    for platform in (HUB, LOCAL):
        issues: list[Issue] = []
        items = value_list(locations, "updateLocations")
        location = parse_location(items[0], platform, issues) if items else None
        found = [u for u in (parse_update(i, platform, issues) for i in value_list(updates, "u")) if u]
        ran = [r for r in (parse_run(i, platform, issues) for i in value_list(runs, "r")) if r]
        data = build_data(location, found, ran, max_updates=5)
        stamps.append(Stamp(platform, f"{platform}-a", platform, "https://x", "2021-07-01", data, True, 0))
    snapshot = StackSnapshot(NOW, tuple(stamps), ((HUB, 86400.0), (LOCAL, 43200.0)))
    return stack_translate(snapshot, NOW)


def run_stack_metadata(body: Any) -> Iterable[Metric]:
    parse_metadata(body)
    return ()


def run_stack_pep(text: str) -> Iterable[Metric]:
    parse_update_status(text)  # not translated: the exporter does not fetch it (parse_pep docstring)
    return ()


def graph_rows(body: Any) -> list[Any]:
    """Rows of a Resource Graph answer (`data`), or a single ARM resource as its one row."""
    if isinstance(body, dict):
        data = body.get("data", [body])
        return data if isinstance(data, list) else []
    return body if isinstance(body, list) else []


def run_arc(case: tuple[Any, Any, str | None]) -> Iterable[Metric]:
    machines_body, versions_body, release_csv = case
    problems = Problems()
    rows = graph_rows(machines_body)
    machines = parse_machines(rows, problems)
    offered = parse_agent_versions(versions_body, problems)
    table = build_table(packaged_text(), release_csv, "release_table_file", [])
    inputs = Inputs(
        fetched_at=NOW,
        evaluated_at=query_time(rows) or NOW,
        machines=machines,
        table=table,
        external=tuple(("agent_versions_api", v) for v in offered),
    )
    snapshot = build_snapshot(inputs, None, timedelta(days=30), True, frozenset(problems.found))
    return arc_translate(snapshot, NOW)


def run_update_manager(case: tuple[Any, ...]) -> Iterable[Metric]:
    machines, assessments, installations, configurations, assignments, runs = (graph_rows(b) for b in case)
    issues: list[Issue] = []
    tables = Tables(
        machines=um_parse.parse_machines(machines, issues),
        assessments=um_parse.parse_assessments(assessments, issues),
        installations=um_parse.parse_installations(installations, issues),
        configurations=um_parse.parse_configurations(configurations, issues),
        assignments=um_parse.parse_assignments(assignments, issues),
        runs=um_parse.parse_runs(runs, issues),
    )
    states = machine_states(tables)
    snapshot = UpdateManagerSnapshot(
        tables=tables,
        machines=states,
        configurations=configuration_states(tables, states, NOW),
        subscriptions=subscription_totals(states, NOW, timedelta(days=2)),
        computed_at=NOW,
        pages=(("machines", 1),),
    )
    return update_manager_translate(snapshot, NOW)


def mutated_text(base: str) -> st.SearchStrategy[str]:
    """`base` (a real text payload) cut short, with a tricky string spliced in, or arbitrary text."""
    return st.one_of(
        st.just(base),
        st.integers(0, len(base)).map(lambda n: base[:n]),
        st.tuples(st.integers(0, len(base)), st.sampled_from(TRICKY_STRINGS)).map(
            lambda p: base[: p[0]] + p[1] + base[p[0] :]
        ),
        st.text(max_size=200),
    )


def pep_texts() -> st.SearchStrategy[str]:
    return mutated_text((PAYLOADS / "azure_stack_updates" / "azurestack-update-status.xml").read_text())


@dataclass(frozen=True)
class ParserEntry:
    name: str  # source.what, shown in test ids
    payloads: st.SearchStrategy[Any]
    run: Callable[[Any], Iterable[Metric]]
    allowed: tuple[type[BaseException], ...] = (SourceError,)


STACK = "azure_stack_updates/"
ARC = "arc_agents/"
UM = "update_manager/"
VMSS = "vmss_os_upgrades/"
PARSERS: tuple[ParserEntry, ...] = (
    ParserEntry(
        "subscriptions.list",
        real("subscriptions/arm-subscriptions-list.json", "subscriptions/arm-subscriptions-edge.json"),
        run_subscriptions,
    ),
    ParserEntry(
        "scheduled_events.document",
        real(*(f"scheduled_events/{p.name}" for p in sorted((PAYLOADS / "scheduled_events").glob("*.json")))),
        run_scheduled_events,
    ),
    ParserEntry(
        "scheduled_events.bytes",
        st.one_of(
            st.binary(max_size=200),
            st.just((PAYLOADS / "scheduled_events" / "imds-scheduledevents-mixed.json").read_bytes()).flatmap(
                lambda b: st.integers(0, len(b)).map(lambda n: b[:n])
            ),
        ),
        run_scheduled_events_bytes,
    ),
    ParserEntry(
        "vmss_os_upgrades.graph_history_rolling",
        st.tuples(
            real(f"{VMSS}resourcegraph-vmss.json", f"{VMSS}resourcegraph-vmss-edge.json"),
            real(
                f"{VMSS}vmss-os-upgrade-history.json",
                f"{VMSS}vmss-edge-history-odd-fields.json",
                f"{VMSS}vmss-malformed-history-bad-values.json",
            ),
            real(
                f"{VMSS}vmss-rolling-upgrade-latest.json",
                f"{VMSS}vmss-rolling-upgrade-latest-doc-sample.json",
                f"{VMSS}vmss-edge-rolling-latest-minimal.json",
            ),
        ),
        run_vmss,
    ),
    ParserEntry(
        "azure_stack_updates.location_updates_runs",
        st.tuples(
            real(f"{STACK}azurestack-update-locations.json", f"{STACK}hci-update-summaries.json"),
            real(f"{STACK}azurestack-updates.json", f"{STACK}hci-updates.json"),
            real(
                f"{STACK}azurestack-update-runs.json",
                f"{STACK}hci-update-runs.json",
                f"{STACK}azurestack-edge-runs-missing-fields.json",
                f"{STACK}azurestack-edge-runs-resumed.json",
            ),
        ),
        run_stack,
    ),
    ParserEntry(
        "azure_stack_updates.metadata",
        real(
            f"{STACK}azurestack-metadata-endpoints-aad.json",
            f"{STACK}azurestack-metadata-endpoints-adfs.json",
        ),
        run_stack_metadata,
    ),
    ParserEntry("azure_stack_updates.pep_xml", pep_texts(), run_stack_pep),
    ParserEntry(
        "arc_agents.machines_versions_releases",
        st.tuples(
            real(f"{ARC}resourcegraph-arc-machines.json", f"{ARC}hybridcompute-machine.json"),
            real(f"{ARC}hybridcompute-agentversions.json"),
            st.none() | mutated_text((PAYLOADS / "arc_agents" / "arc-agent-releases.csv").read_text()),
        ),
        run_arc,
    ),
    ParserEntry(
        "update_manager.tables",
        st.tuples(
            real(f"{UM}resourcegraph-vm-patchsettings.json", f"{UM}hybridcompute-machine.json"),
            real(f"{UM}resourcegraph-patchassessment.json", f"{UM}resourcegraph-softwarepatches.json"),
            real(f"{UM}resourcegraph-patchinstallation.json"),
            real(f"{UM}maintenance-configuration.json"),
            real(f"{UM}resourcegraph-maintenance-configurationassignments.json"),
            real(f"{UM}resourcegraph-maintenance-applyupdates.json"),
        ),
        run_update_manager,
    ),
)
