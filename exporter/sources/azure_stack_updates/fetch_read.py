"""Reading an update location's updates and their runs: the same shape on Azure Stack Hub
(`updateLocations/{loc}`) and Azure Local (`clusters/{c}`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from azure.mgmt.core import ARMPipelineClient

from exporter.azure.arm import list_paged
from exporter.core.source import Issue
from exporter.core.values import join_key
from exporter.sources.azure_stack_updates.model import Run, Update, run_candidates, runs_by_update
from exporter.sources.azure_stack_updates.parse import parse_run, parse_update

FINISHED = ("Succeeded", "Failed")


def read_updates_and_runs(
    client: ARMPipelineClient[Any, Any],
    base: str,
    api_version: str,
    platform: str,
    previous_runs: tuple[Run, ...],
    max_runs: int,
    issues: list[Issue],
) -> tuple[list[Update], list[Run]]:
    """`base` is the update location (Hub) or cluster (Local) path; runs of an installed update
    whose runs all finished are taken from the previous snapshot instead of being re-read."""
    updates = [
        u
        for u in (
            parse_update(i, platform, issues) for i in list_paged(client, f"{base}/updates", api_version)
        )
        if u
    ]
    cached = runs_by_update(previous_runs)
    runs: list[Run] = []
    for update in run_candidates(updates, max_runs):
        reuse = cached.get(join_key(update.name))
        if update.state == "Installed" and reuse and all(r.state in FINISHED for r in reuse):
            runs.extend(reuse)  # an installed update never runs again
            continue
        path = f"{base}/updates/{quote(update.name, safe='')}/updateRuns"
        runs.extend(
            r for r in (parse_run(i, platform, issues) for i in list_paged(client, path, api_version)) if r
        )
    return updates, runs
