"""The new snapshot from one refresh's call outcomes, and how its failures are reported.

A scale set whose call failed keeps its data from the previous refresh, so one subscription's
failure never blanks the others; only when every eligible scale set's history fails does the
refresh fail (and the whole last good snapshot is kept). A later history page that failed keeps
the entries read before it. Scale sets that Resource Graph lists but Compute answers 404 for are
dropped and counted (``not_found``); when all or most of them do (`is_mass_not_found`) that is
not a mass deletion but a broken view of Compute, and the refresh fails, keeping the last data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from exporter.core.errors import PayloadError, Reason, SourceError
from exporter.core.source import Issue
from exporter.core.subscription_health import merge_health
from exporter.sources.vmss_os_upgrades.fetch_calls import Failure, Outcome, Partial
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
    _check_not_mass_not_found(outcomes)
    before = {e.scale_set.key: e for e in previous.scale_sets} if previous is not None else {}
    entries: list[Entry] = []
    subscriptions: set[str] = set()
    stale: set[str] = set()
    for scale_set in scale_sets:
        out = outcomes.get(scale_set.key)
        if out is None:
            entries.append(Entry(scale_set, eligible=False))
            continue
        if out.gone:
            continue  # deleted between discovery and the history call (counted by `report`)
        subscriptions.add(scale_set.subscription_id)
        if any(isinstance(r, Failure | Partial) for r in (out.history, out.rolling)):
            stale.add(scale_set.subscription_id)
        old = before.get(scale_set.key)
        ref = "/".join(scale_set.key)
        history = old.history if old else None
        if isinstance(out.history, list):
            history = parse_history(out.history, issues, ref)
        elif isinstance(out.history, Partial) and out.history.items:
            history = parse_history(out.history.items, issues, ref)
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
    subscriptions.update(s.subscription_id for s in (e.scale_set for e in entries))
    health = merge_health(subscriptions, stale, previous.subscription_health if previous else (), now)
    expectation = options.expect_automatic_os_upgrade_tag is not None
    return Snapshot(now, tuple(entries), requests, expectation, health)


MASS_NOT_FOUND_MIN = 3


def is_mass_not_found(gone: int, eligible: int) -> bool:
    """All eligible scale sets 404, or at least MASS_NOT_FOUND_MIN and more than half of them."""
    return gone > 0 and (gone == eligible or (gone >= MASS_NOT_FOUND_MIN and 2 * gone > eligible))


def _check_not_mass_not_found(outcomes: Mapping[tuple[str, str, str], Outcome]) -> None:
    gone = sum(1 for out in outcomes.values() if out.gone)
    if is_mass_not_found(gone, len(outcomes)):
        raise SourceError(
            Reason.NOT_FOUND,
            f"{gone} of {len(outcomes)} eligible scale sets listed by Resource Graph answered 404 from "
            "Compute; treated as a failure, previous data kept",
        )


def _check_not_all_failed(outcomes: Mapping[tuple[str, str, str], Outcome]) -> None:
    live = [out for out in outcomes.values() if not out.gone]
    failures = [out.history for out in live if isinstance(out.history, Failure)]  # a Partial read some
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
    """One problem per payload issue key, per (reason, subscription) of failed calls and of failed
    later history pages, and per subscription of scale sets listed but 404 from Compute."""
    ctx.report(issues)
    failed: dict[tuple[Reason, str], list[Failure]] = {}
    pages: dict[tuple[Reason, str], list[Failure]] = {}
    gone: Counter[str] = Counter()
    for scale_set in scale_sets:
        out = outcomes.get(scale_set.key)
        if out is None:
            continue
        if out.gone:
            gone[scale_set.subscription_id] += 1
            continue
        for result in (out.history, out.rolling):
            if isinstance(result, Failure):
                failed.setdefault((result.reason, scale_set.subscription_id), []).append(result)
            elif isinstance(result, Partial):
                key = (result.failure.reason, scale_set.subscription_id)
                pages.setdefault(key, []).append(result.failure)
    for sub, count in sorted(gone.items()):
        ctx.problem(
            Reason.NOT_FOUND,
            "scale sets listed by Resource Graph answered 404 from Compute; dropped",
            key=f"gone:{sub}",
            subscription=sub,
            scale_sets=count,
        )
    for (reason, sub), failures in sorted(pages.items()):
        ctx.problem(
            reason,
            "a later page of the OS upgrade history failed; the entries read before it are kept",
            key=f"history-page:{reason.value}:{sub}",
            subscription=sub,
            scale_sets=len(failures),
            error=repr(failures[0].message),
        )
    for (reason, sub), failures in sorted(failed.items()):
        ctx.problem(
            reason,
            "scale set upgrade calls failed; previous data kept",
            key=f"calls:{reason.value}:{sub}",
            subscription=sub,
            calls=len(failures),
            error=failures[0].message,
        )
