"""Per-route fault injection: latency, error statuses, timeouts, resets, bad and cut-off bodies.

Rules match route names with :func:`fnmatch.fnmatchcase`, and optionally the request path
(``path``, a case-insensitive glob: one scale set, one stamp). Every matching rule counts each
request it sees (for ``after``); the first rule still within its ``after``/``count`` window is
applied. Exhausted rules stay listed but no longer fire.

``latency`` is the time a reply takes from the request's arrival, the simulator's own work
included (as a service's latency is measured): only what is left of it is waited.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal, get_args

FaultKind = Literal["latency", "status", "timeout", "reset", "malformed", "empty", "truncated"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
DEFAULT_TIMEOUT_SECONDS = 60.0
# The control API must stay reachable whatever the rules say.
UNFAULTABLE_ROUTES = frozenset({"control"})


@dataclass(frozen=True, slots=True)
class FaultRule:
    route: str
    kind: FaultKind
    status: int = 500
    retry_after: float | None = None
    seconds: float = 0.0
    count: int | None = None
    after: int = 0
    path: str = "*"

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("invalid FaultRule: " + "; ".join(problems))

    @property
    def timeout_seconds(self) -> float:
        return self.seconds if self.seconds > 0 else DEFAULT_TIMEOUT_SECONDS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "fault") -> FaultRule:
        """Build from JSON/YAML; raises ValueError naming ``where`` and the bad key."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
        allowed = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        for key in ("route", "kind"):
            if not isinstance(data.get(key), str):
                raise ValueError(f"{where}.{key}: required string, got {data.get(key)!r}")
        checks: dict[str, tuple[type, ...]] = {
            "status": (int,),
            "retry_after": (int, float, type(None)),
            "seconds": (int, float),
            "count": (int, type(None)),
            "after": (int,),
            "path": (str,),
        }
        for key, types in checks.items():
            if key in data and (isinstance(data[key], bool) or not isinstance(data[key], types)):
                raise ValueError(f"{where}.{key}: bad value {data[key]!r}")
        try:
            return cls(**{k: data[k] for k in data})
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None


def _problems(rule: FaultRule) -> list[str]:
    problems = []
    if rule.kind not in FAULT_KINDS:
        problems.append(f"kind {rule.kind!r} not one of {list(FAULT_KINDS)}")
    if not 100 <= rule.status <= 599:
        problems.append(f"status {rule.status} outside 100..599")
    if rule.seconds < 0 or (rule.retry_after is not None and rule.retry_after < 0):
        problems.append("seconds/retry_after must be >= 0")
    if rule.count is not None and rule.count < 1:
        problems.append("count must be >= 1 or None")
    if rule.after < 0:
        problems.append("after must be >= 0")
    return problems


@dataclass(slots=True)
class _Entry:
    rule: FaultRule
    seen: int = 0
    applied: int = 0

    def active(self) -> bool:
        return self.rule.count is None or self.applied < self.rule.count


@dataclass
class FaultInjector:
    _entries: list[_Entry] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._entries.append(_Entry(rule))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [e.rule for e in self._entries if e.active()]

    def pick(self, route: str, path: str = "/") -> FaultRule | None:
        """Record one request on ``route`` (at ``path``) and return the fault to apply, if any."""
        if route in UNFAULTABLE_ROUTES:
            return None
        chosen: FaultRule | None = None
        with self._lock:
            for entry in self._entries:
                if not entry.active() or not fnmatchcase(route, entry.rule.route):
                    continue
                if not fnmatchcase(path.lower(), entry.rule.path.lower()):
                    continue
                entry.seen += 1
                if chosen is None and entry.seen > entry.rule.after:
                    entry.applied += 1
                    chosen = entry.rule
        return chosen
