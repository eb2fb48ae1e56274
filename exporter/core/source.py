"""What a source is: a name, defaults, a `fetch` that does I/O and a pure `translate`.

A source module builds a `SourceSpec` and passes it to `exporter.core.registry.register`;
the CLI flag, the config key and the docs row all derive from that one entry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from prometheus_client.metrics_core import Metric

from exporter.core import deadline
from exporter.core.errors import Reason
from exporter.core.pool import SourcePool
from exporter.log import quote

if TYPE_CHECKING:
    from exporter.azure.clients import AzureContext
    from exporter.azure.policies import AzureStats

SnapT = TypeVar("SnapT")
OptT = TypeVar("OptT")
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class NoOptions:
    """Options type for a source that has no options of its own."""


@dataclass(frozen=True)
class SourceSpec(Generic[SnapT, OptT]):
    name: str
    summary: str
    fetch: Callable[[FetchContext[OptT, SnapT]], SnapT]
    translate: Callable[[SnapT, datetime], Iterable[Metric]]
    options_type: type[OptT]
    default_enabled: bool = True
    default_interval: float = 300.0
    default_timeout: float = 60.0
    # False for sources that never talk to ARM (IMDS), so no credential is built for them.
    needs_azure: bool = True
    # False when translate ignores `now`: its rendered exposition is then cached per snapshot and
    # reused by every scrape until the next refresh (what makes large estates cheap to scrape).
    uses_now: bool = True
    # A source with a few time-relative families splits translate in two: `translate_static`
    # (encoded once per snapshot) and `translate_live` (encoded at every scrape); `translate`
    # must yield exactly the static families followed by the live ones.
    translate_static: Callable[[SnapT], Iterable[Metric]] | None = None
    translate_live: Callable[[SnapT, datetime], Iterable[Metric]] | None = None
    # False for sources whose data belongs to the machine the exporter runs on (IMDS): every
    # replica would expose the same series, so they cannot be enabled with sharding.
    shardable: bool = True
    # The `sources.<name>` settings for demo mode, given the simulator's info document
    # (base_url, imds_url, ca_path, ...). None: the source stays off in the demo.
    demo_config: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Problems `check-config` reports for an enabled source with these options, as
    # (option key, what is wrong and what to do): nothing to watch, an unusable endpoint.
    check_options: Callable[[OptT], list[tuple[str, str]]] | None = None
    # True for a source whose timeout must cover a slow first call while it polls more often
    # (IMDS); for every other source a timeout longer than the interval is a config error.
    timeout_may_exceed_interval: bool = False

    def __post_init__(self) -> None:
        if (self.translate_static is None) != (self.translate_live is None):
            raise ValueError(f"source {self.name}: set both translate_static and translate_live, or neither")


@dataclass
class Problem:
    reason: Reason
    message: str


@dataclass(frozen=True, slots=True)
class Issue:
    """Odd input found by a pure parser (unknown enum, missing field, bad date).

    Parsers collect these into their snapshot; `FetchContext.report` counts and logs them.
    """

    key: str
    reason: Reason
    message: str
    fields: tuple[tuple[str, str], ...] = ()


@dataclass
class FetchContext(Generic[OptT, SnapT]):
    """Everything a fetch may use. Built fresh for every refresh.

    `deadline` is the `time.monotonic()` instant the refresh must be done by (set by the
    scheduler a little before its timeout); Azure calls are bounded by it through
    `exporter.core.deadline`, and `submit` runs work on the source's long-lived pool.
    `ongoing` holds the problem keys of the previous refresh (episode dedup, see `problem`).
    """

    source: str
    options: OptT
    previous: SnapT | None
    now: Callable[[], datetime]
    stats: AzureStats
    timeout: float
    azure_factory: Callable[[], AzureContext] | None = None
    deadline: float | None = None
    pool: SourcePool | None = None
    ongoing: Mapping[str, Problem] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    active: dict[str, Problem] = field(default_factory=dict)
    logger: logging.LoggerAdapter[logging.Logger] = field(init=False)

    def __post_init__(self) -> None:
        self.logger = logging.LoggerAdapter(logging.getLogger("exporter.source"), {"source": self.source})
        if self.deadline is None:
            self.deadline = time.monotonic() + self.timeout

    @property
    def azure(self) -> AzureContext:
        if self.azure_factory is None:
            raise RuntimeError(f"source {self.source} did not declare needs_azure")
        return self.azure_factory()

    def remaining(self) -> float:
        """Seconds left before this refresh's deadline (never negative)."""
        return max(0.0, (self.deadline or 0.0) - time.monotonic())

    def submit(self, size: int, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Run `fn` on the source's long-lived pool of `size` workers, within this deadline."""
        if self.pool is None:
            self.pool = SourcePool(self.source)
        with deadline.scope(self.deadline):
            return self.pool.submit(size, fn, *args, **kwargs)

    def problem(self, reason: Reason, message: str, *, key: str | None = None, **fields: Any) -> None:
        """Record a partial failure (one subscription, one stamp, one odd value) without failing
        the refresh.

        One rule for every source: a problem is counted in `source_errors_total{reason}` and
        logged when it appears, that is when the previous refresh did not have it; while it
        persists it is neither counted nor logged again; once it has cleared (a refresh without
        it, logged at info) it counts as new when it comes back.
        """
        ident = f"{reason.value}|{key or message}"
        if ident in self.active:
            return  # the same problem twice in one refresh
        found = Problem(reason, message)
        self.active[ident] = found
        if ident in self.ongoing:
            return
        self.problems.append(found)
        self.logger.warning(
            "%s reason=%s %s",
            message,
            reason.value,
            " ".join(f"{k}={quote(v)}" for k, v in sorted(fields.items())),
        )

    def report(self, issues: Iterable[Issue], *, already_reported: Container[str] = frozenset()) -> None:
        """`problem` for each issue found by a parser (same episode rule).

        Keys in `already_reported` (a source's own record of its previous snapshot's issues)
        are treated as ongoing.
        """
        for issue in issues:
            if issue.key in already_reported:
                ident = f"{issue.reason.value}|{issue.key}"
                self.active.setdefault(ident, Problem(issue.reason, issue.message))
                continue
            self.problem(issue.reason, issue.message, key=issue.key, **dict(issue.fields))


AnySpec = SourceSpec[Any, Any]
