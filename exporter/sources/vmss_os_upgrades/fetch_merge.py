"""The new snapshot from one refresh's call outcomes, and how its failures are reported.

A scale set whose call failed keeps its data from the previous refresh, so one subscription's
failure never blanks the others; only when every eligible scale set's history fails does the
refresh fail (and the whole last good snapshot is kept).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from exporter.core.errors import PayloadError, Reason, SourceError
from exporter.core.source import Issue
from exporter.sources.vmss_os_upgrades.fetch_calls import Failure, Outcome
from exporter.sources.vmss_os_upgrades.model import Entry, ScaleSet, Snapshot
from exporter.sources.vmss_os_upgrades.parse import parse_history, parse_rolling

if TYPE_CHECKING:
    from exporter.core.source import FetchContext
    from exporter.sources.vmss_os_upgrades import Options


def combine(
    scale_sets: Iterable[ScaleSet],
    outcomes: Mapping[tuple[str, str, str], Outcome],
    previous: Snapshot | None,
    options: Options,
    now: datetime,
    requests: tuple[tuple[str, int], ...],
    issues: list[Issue],
) -> Snapshot:
    """The new snapshot: fresh data where a call worked, the previous refresh's where it failed."""
    before = {e.scale_set.key: e for e in previous.scale_sets} if previous is not None else {}
    entries: list[Entry] = []
    for scale_set in scale_sets:
        out = outcomes.get(scale_set.key)
        if out is None:
            entries.append(Entry(scale_set, eligible=False))
            continue
        if out.gone:
            continue  # deleted between discovery and the history call
        old = before.get(scale_set.key)
        ref = "/".join(scale_set.key)
        history = old.history if old else None
        if isinstance(out.history, list):
            history = parse_history(out.history, issues, ref)
        rolling = old.rolling if old else None
        if out.rolling is None:
            rolling = None
        elif isinstance(out.rolling, dict):
            try:
                rolling = parse_rolling(out.rolling, issues, ref)
            except PayloadError as exc:
                issues.append(Issue(f"rolling:{ref}", Reason.MALFORMED_PAYLOAD, str(exc)))
        entries.append(Entry(scale_set, eligible=True, history=history, rolling=rolling))
    _check_not_all_failed(outcomes)
    return Snapshot(now, tuple(entries), requests, options.expect_automatic_os_upgrade_tag is not None)


def _check_not_all_failed(outcomes: Mapping[tuple[str, str, str], Outcome]) -> None:
    live = [out for out in outcomes.values() if not out.gone]
    failures = [out.history for out in live if isinstance(out.history, Failure)]
    if live and len(failures) == len(live):
        reason, _ = Counter(f.reason for f in failures).most_common(1)[0]
        first = next(f for f in failures if f.reason is reason)
        raise SourceError(
            reason, f"every scale set's OS upgrade history failed ({len(live)}); {first.message}"
        )


def report(
    ctx: FetchContext[Options, Snapshot],
    issues: list[Issue],
    outcomes: Mapping[tuple[str, str, str], Outcome],
    scale_sets: Iterable[ScaleSet],
) -> None:
    """One problem per payload issue key, and per (reason, subscription) of failed calls."""
    ctx.report(issues)
    failed: dict[tuple[Reason, str], list[Failure]] = {}
    for scale_set in scale_sets:
        out = outcomes.get(scale_set.key)
        if out is None or out.gone:
            continue
        for result in (out.history, out.rolling):
            if isinstance(result, Failure):
                failed.setdefault((result.reason, scale_set.subscription_id), []).append(result)
    for (reason, sub), failures in sorted(failed.items()):
        ctx.problem(
            reason,
            "scale set upgrade calls failed; previous data kept",
            key=f"calls:{reason.value}:{sub}",
            subscription=sub,
            calls=len(failures),
            error=failures[0].message,
        )
