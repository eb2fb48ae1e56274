"""Metric families of the `azure_stack_updates` source (names documented in docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter.core.families import add_state, gauge
from exporter.core.gil import PACE_ITEMS, paced
from exporter.core.identity import resource_identity
from exporter.sources.azure_stack_updates.model import Snapshot, Stamp
from exporter.sources.azure_stack_updates.model_states import (
    COUNTED_UPDATE_STATES,
    RUN_STATES,
    STEP_STATUSES,
    location_states,
    update_states,
)

# A stamp's identity: Hub stamp = the update location in the stamp's Default Provider Subscription
# (resource group system.<region>, `stamp` the region or configured name); Azure Local = the cluster.
STAMP = ["platform", "subscription_id", "resource_group", "stamp"]
UPDATE = [*STAMP, "update"]
RUN = [*UPDATE, "run_id"]
CACHED = (
    "Azure Stack Hub admin API / Azure Local, refreshed in the background; see "
    'azure_update_exporter_source_last_success_timestamp_seconds{source="azure_stack_updates"}.'
)


class _Families:
    def __init__(self) -> None:
        def g(name: str, text: str, labels: list[str]) -> GaugeMetricFamily:
            return gauge(f"azure_stack_update_{name}", f"{text} {CACHED}", labels)

        self.api_up = g("api_up", "1 if the last read of the stamp's update API succeeded, else 0.", STAMP)
        self.api_failures = g(
            "api_consecutive_failures",
            "Failed reads of the stamp's update API in a row; 0 after a success.",
            STAMP,
        )
        self.api_last_success = g(
            "api_last_success_timestamp_seconds",
            "Unix time of the last successful read of the stamp's update API; its data age is time() "
            "minus this (absent until the first success).",
            STAMP,
        )
        self.api_info = g(
            "api_info",
            "Endpoint and api-version used for the stamp; always 1.",
            [*STAMP, "endpoint", "api_version"],
        )
        self.stamp_info = g(
            "stamp_info",
            "Every stamp with its lowercased resource id (Hub update location, Azure Local cluster); "
            "always 1.",
            [*STAMP, "resource_id"],
        )
        self.current_version = g(
            "current_version",
            "Installed version and OEM version of the stamp; 1, one series per stamp, replaced by a new "
            "one when an update installs (not an _info: the version changes over the stamp's life).",
            [*STAMP, "version", "oem_version"],
        )
        self.location_state = g(
            "location_state",
            "Update state of the stamp: 1 for the current state, 0 for the others.",
            [*STAMP, "state"],
        )
        self.last_success = g(
            "last_success_timestamp_seconds",
            "Last successful update: the later of the newest Succeeded run's end and the stamp's "
            "lastUpdated.",
            STAMP,
        )
        self.in_progress = g(
            "in_progress",
            "1 while an update runs on the stamp (a current run InProgress, or the stamp's state "
            "UpdateInProgress/PreparationInProgress), else 0.",
            STAMP,
        )
        self.update_state = g(
            "state",
            "State of each exposed update being worked on or failed (not idle such as Ready, not final such "
            "as Installed): 1 for the current state, 0 for the others.",
            [*UPDATE, "state"],
        )
        self.settled_updates = gauge(
            "azure_stack_updates",
            f"Exposed updates that are idle (Ready, HasPrerequisite, ...) or final (Installed, Obsolete, "
            f"...), by state; 0 for each such state. {CACHED}",
            [*STAMP, "state"],
        )
        self.update_info = g(
            "info",
            "Version and package type of each exposed update; always 1.",
            [*UPDATE, "version", "package_type"],
        )
        self.installed = g("installed_timestamp_seconds", "When an exposed update was installed.", UPDATE)
        self.run_state = g(
            "run_state",
            "State of the latest run of each update (superseded runs are not shown): 1 for the current "
            "state, 0 for the others.",
            [*RUN, "state"],
        )
        self.run_start = g("run_start_timestamp_seconds", "When the run started (timeStarted).", RUN)
        self.run_end = g("run_end_timestamp_seconds", "When a finished run ended; absent while running.", RUN)
        self.run_steps = g("run_steps", "Leaf steps of the run's progress tree by status.", [*RUN, "status"])
        self.current_step = g(
            "run_current_step_start_timestamp_seconds",
            "Start of the deepest InProgress step of a running run, or of the deepest Error step of a "
            "failed run; the series moves to the next step's labels as the run progresses.",
            [*RUN, "phase", "step"],
        )
        self.limit = gauge(
            "azure_stack_update_run_duration_limit_seconds",
            "Configured duration after which a running update counts as too long "
            "(hub_run_duration_limit, local_run_duration_limit).",
            ["platform"],
        )

    def cached(self) -> list[GaugeMetricFamily]:
        return [
            self.api_up, self.api_failures, self.api_last_success, self.api_info, self.stamp_info,
            self.current_version, self.location_state, self.last_success, self.in_progress, self.update_state,
            self.settled_updates, self.update_info, self.installed,
            self.run_state, self.run_start, self.run_end, self.run_steps, self.current_step, self.limit,
        ]  # fmt: skip


def translate(snapshot: Snapshot, now: datetime) -> Iterator[Metric]:
    yield from translate_static(snapshot)
    yield from translate_live(snapshot, now)


def translate_live(snapshot: Snapshot, now: datetime) -> Iterator[Metric]:
    """Run durations: the one family relative to the scrape's "now", encoded at every scrape.

    A finished run's reported duration sits in the same family, so the whole family is live;
    it has one series per exposed run (max_runs per stamp), a small part of the source.
    """
    duration = gauge(
        "azure_stack_update_run_duration_seconds",
        "Duration of the run: the reported duration once finished; for a running run the time since "
        "it started, computed at scrape time.",
        RUN,
    )
    for stamp in paced(snapshot.stamps, PACE_ITEMS):
        if stamp.data is None:
            continue
        for run in stamp.data.runs:
            labels = [*_identity(stamp), run.update, run.run_id]
            if run.state == "InProgress" and run.started is not None:
                duration.add_metric(labels, max(0.0, (now - run.started).total_seconds()))
            elif run.duration_seconds is not None:
                duration.add_metric(labels, run.duration_seconds)
    yield duration


def translate_static(snapshot: Snapshot) -> Iterator[Metric]:
    """Everything but the run durations: encoded once per snapshot."""
    f = _Families()
    for stamp in paced(snapshot.stamps, PACE_ITEMS):
        base = _identity(stamp)
        if stamp.resource_id:
            f.stamp_info.add_metric([*base, stamp.resource_id], 1.0)
        f.api_up.add_metric(base, 1.0 if stamp.api_up else 0.0)
        f.api_failures.add_metric(base, float(stamp.api_consecutive_failures))
        if stamp.api_last_success is not None:
            f.api_last_success.add_metric(base, stamp.api_last_success.timestamp())
        f.api_info.add_metric([*base, stamp.endpoint, stamp.api_version], 1.0)
        data = stamp.data
        if data is None:
            continue
        f.in_progress.add_metric(base, 1.0 if data.in_progress else 0.0)
        if data.last_success is not None:
            f.last_success.add_metric(base, data.last_success.timestamp())
        if data.location is not None:
            loc = data.location
            f.current_version.add_metric([*base, loc.current_version, loc.current_oem_version], 1.0)
            add_state(f.location_state, base, loc.state, location_states(stamp.platform))
        settled = dict.fromkeys(COUNTED_UPDATE_STATES, 0)
        for update in data.updates:
            if update.state in settled:
                settled[update.state] += 1
            else:
                add_state(f.update_state, [*base, update.name], update.state, update_states(stamp.platform))
            f.update_info.add_metric([*base, update.name, update.version, update.package_type], 1.0)
            if update.installed is not None:
                f.installed.add_metric([*base, update.name], update.installed.timestamp())
        for state, count in settled.items():
            f.settled_updates.add_metric([*base, state], float(count))
        for run in data.runs:
            labels = [*base, run.update, run.run_id]
            add_state(f.run_state, labels, run.state, RUN_STATES)
            if run.started is not None:
                f.run_start.add_metric(labels, run.started.timestamp())
            if run.ended is not None:
                f.run_end.add_metric(labels, run.ended.timestamp())
            counts = run.step_counts()
            for status in [*STEP_STATUSES, *sorted(set(counts) - set(STEP_STATUSES))]:
                f.run_steps.add_metric([*labels, status], float(counts.get(status, 0)))
            current, started = run.current_step(), run.current_step_started()
            if current is not None and started is not None:
                f.current_step.add_metric([*labels, current[0], current[1]], started.timestamp())
    for platform, seconds in snapshot.run_duration_limits:
        f.limit.add_metric([platform], seconds)
    yield from f.cached()


def _identity(stamp: Stamp) -> list[str]:
    """Values of STAMP: identity labels from the stamp's resource id, `stamp` its short name."""
    ident = resource_identity(stamp.resource_id)
    return [stamp.platform, ident.subscription_id, ident.resource_group, stamp.name]
