"""What a source is: a name, defaults, a `fetch` that does I/O and a pure `translate`.

A source module builds a `SourceSpec` and passes it to `exporter.core.registry.register`;
the CLI flag, the config key and the docs row all derive from that one entry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from prometheus_client.metrics_core import Metric

from exporter.core.errors import Reason

if TYPE_CHECKING:
    from exporter.azure.clients import AzureContext
    from exporter.azure.policies import AzureStats

SnapT = TypeVar("SnapT")
OptT = TypeVar("OptT")


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
    """Everything a fetch may use. Built fresh for every refresh."""

    source: str
    options: OptT
    previous: SnapT | None
    now: Callable[[], datetime]
    stats: AzureStats
    timeout: float
    azure_factory: Callable[[], AzureContext] | None = None
    problems: list[Problem] = field(default_factory=list)
    logger: logging.LoggerAdapter[logging.Logger] = field(init=False)

    def __post_init__(self) -> None:
        self.logger = logging.LoggerAdapter(logging.getLogger("exporter.source"), {"source": self.source})

    @property
    def azure(self) -> AzureContext:
        if self.azure_factory is None:
            raise RuntimeError(f"source {self.source} did not declare needs_azure")
        return self.azure_factory()

    def problem(self, reason: Reason, message: str, *, key: str | None = None, **fields: Any) -> None:
        """Record a partial failure (one subscription, one odd value) without failing the refresh.

        It is counted in `source_errors_total{reason}`; it is logged once per `key` for the
        life of the process so that a persistent oddity does not flood the log.
        """
        self.problems.append(Problem(reason, message))
        if _first_time(f"{self.source}|{key or message}"):
            self.logger.warning(
                "%s reason=%s %s",
                message,
                reason.value,
                " ".join(f"{k}={v}" for k, v in sorted(fields.items())),
            )

    def report(self, issues: Iterable[Issue], *, already_reported: Container[str] = frozenset()) -> None:
        """Count and log each issue once per key, skipping keys in `already_reported`.

        Sources pass the keys of their previous snapshot there, so a persistent oddity is
        counted when it appears rather than on every refresh.
        """
        reported: set[str] = set()
        for issue in issues:
            if issue.key in already_reported or issue.key in reported:
                continue
            reported.add(issue.key)
            self.problem(issue.reason, issue.message, key=issue.key, **dict(issue.fields))


_seen: set[str] = set()
_seen_lock = threading.Lock()


def _first_time(key: str) -> bool:
    with _seen_lock:
        if key in _seen:
            return False
        if len(_seen) > 10_000:  # bound memory on pathological input
            _seen.clear()
        _seen.add(key)
        return True


AnySpec = SourceSpec[Any, Any]
