"""Request/response types and the route table shared by all route modules."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

if TYPE_CHECKING:
    from exporter.simulator.state import ScenarioState

Listener = Literal["https", "http"]


class CIDict(Mapping[str, str]):
    """Read-only mapping with case-insensitive keys (query strings, headers)."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._data: dict[str, tuple[str, str]] = {}
        for key, value in (items or {}).items():
            self._data[key.lower()] = (key, value)

    def __getitem__(self, key: str) -> str:
        return self._data[key.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._data.values())

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._data

    def __repr__(self) -> str:
        return f"CIDict({dict(self.items())!r})"


@dataclass(frozen=True)
class SimRequest:
    method: str
    path: str  # without the query string, as sent (not lowercased)
    query: CIDict
    headers: CIDict
    body: bytes
    params: dict[str, str]  # named groups of the route's path regex
    route: str
    listener: Listener
    base_url: str  # scheme://host:port of the listener that received the request

    def json(self) -> Any:
        """Parsed JSON body; raises ValueError when absent or invalid."""
        if not self.body:
            raise ValueError("empty request body")
        return json.loads(self.body)

    @property
    def url(self) -> str:
        qs = urlencode(dict(self.query.items()))
        return f"{self.base_url}{self.path}" + (f"?{qs}" if qs else "")


@dataclass
class SimResponse:
    status: int = 200
    body: Any = None  # JSON-able value, raw bytes, or None for no body
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str | None]:
        """Wire bytes and the content type they imply (None when there is no body)."""
        if self.body is None:
            return b"", None
        if isinstance(self.body, bytes | bytearray):
            return bytes(self.body), "application/octet-stream"
        return json.dumps(self.body, separators=(",", ":")).encode(), "application/json; charset=utf-8"


Handler = Callable[[SimRequest, "ScenarioState"], SimResponse]
# Builds the body a "status" fault answers with, given the status code.
FaultBody = Callable[[int, SimRequest, "ScenarioState"], SimResponse]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Handler
    listener: Listener


@dataclass(frozen=True, slots=True)
class Match:
    route: Route | None
    params: dict[str, str]
    allowed: tuple[str, ...]  # methods that exist for the path, for 405 answers


class Router:
    """Ordered route table; the first route whose method and path both match wins."""

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._fault_bodies: list[tuple[str, FaultBody]] = []

    def add(
        self, method: str, path_regex: str, route_name: str, handler: Handler, listener: Listener = "https"
    ) -> None:
        """Register ``handler`` for ``method`` on paths fully matching ``path_regex``.

        Matching ignores case (ARM treats path segments case-insensitively); use named groups
        to receive path values in ``SimRequest.params``.
        """
        if listener not in ("https", "http"):
            raise ValueError(f"listener must be 'https' or 'http', got {listener!r}")
        pattern = re.compile(path_regex, re.IGNORECASE)
        self._routes.append(Route(method.upper(), pattern, route_name, handler, listener))

    def add_fault_body(self, route_glob: str, builder: FaultBody) -> None:
        """Use ``builder`` for "status" faults on routes matching ``route_glob`` (default: ARM).

        Later registrations win, so a module can refine what an earlier one set.
        """
        self._fault_bodies.insert(0, (route_glob, builder))

    def fault_body(self, route_name: str) -> FaultBody | None:
        for glob, builder in self._fault_bodies:
            if fnmatchcase(route_name, glob):
                return builder
        return None

    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    def match(self, method: str, path: str, listener: Listener) -> Match:
        allowed: list[str] = []
        for route in self._routes:
            if route.listener != listener:
                continue
            m = route.pattern.fullmatch(path)
            if m is None:
                continue
            if route.method == method.upper():
                return Match(route, {k: v for k, v in m.groupdict().items() if v is not None}, ())
            allowed.append(route.method)
        return Match(None, {}, tuple(allowed))
