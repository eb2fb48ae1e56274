"""Resource Graph ``POST /providers/Microsoft.ResourceGraph/resources`` (route ``resource_graph``).

KQL is not executed. A *provider* recognises a query by its text and supplies the rows the
query would return, already projected; the simulator then does what the service does around
them: subscription scoping, ``$top``/``$skip``/``$skipToken`` paging (only when ``id`` is
projected), ``resultTruncated``, table format and the per-user quota.

Scenario-driven rows need no code::

    resource_graph:
      datasets:
        - match: "patchassessmentresources"   # substring of the lowercased query
          rows: [{id: ..., subscriptionId: ..., ...}]
        - match: "let "                       # or answer 400 InvalidQuery
          error: InvalidQuery

Code-driven rows: ``register_provider(name, matches, rows)`` (see its docstring).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exporter.simulator.arm_helpers import SimError, require_api_version, require_bearer
from exporter.simulator.errors import arm_error, arm_fault_body, support_message
from exporter.simulator.router import Router, SimRequest, SimResponse
from exporter.simulator.state import ScenarioState

ACCEPTED_API_VERSIONS = ("2019-04-01", "2021-03-01", "2021-06-01-preview", "2022-10-01", "2024-04-01")
MAX_PAGE = 1000
QUOTA_WINDOW_SECONDS = 5.0

Rows = Callable[[ScenarioState, dict[str, Any]], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    matches: Callable[[str], bool]
    rows: Rows


_providers: list[Provider] = []
_providers_lock = threading.Lock()


def register_provider(name: str, matches: Callable[[str], bool], rows: Rows) -> None:
    """Answer Resource Graph queries for which ``matches(query)`` is true with ``rows(state, body)``.

    ``query`` is the request's KQL lowercased with whitespace runs collapsed to one space;
    ``body`` is the parsed request (``subscriptions``, ``query``, ``options``...). Rows are
    final, projected objects; give them ``id`` (and ``subscriptionId``) as the real query
    would. Scenario datasets are consulted first, then providers in registration order.
    Re-registering a name replaces the earlier provider.
    """
    with _providers_lock:
        _providers[:] = [p for p in _providers if p.name != name]
        _providers.append(Provider(name, matches, rows))


def providers() -> list[Provider]:
    with _providers_lock:
        return list(_providers)


def register(router: Router) -> None:
    router.add("POST", r"/providers/Microsoft\.ResourceGraph/resources/?", "resource_graph", query)
    router.add_fault_body("resource_graph", _fault_body)


def normalize_query(text: str) -> str:
    return " ".join(text.lower().split())


def query(req: SimRequest, state: ScenarioState) -> SimResponse:
    token = require_bearer(req, state)
    require_api_version(req, accepted=ACCEPTED_API_VERSIONS, provider_type="resources")
    headers = _charge_quota(state, token.principal)
    body = _parse_body(req, state)
    text = normalize_query(body["query"])
    rows = _scoped(_rows_for(state, body, text), body, state)
    options = body.get("options") or {}
    page_size = min(int(options.get("$top") or MAX_PAGE), MAX_PAGE)
    scope_hash = _scope_hash(text, body)
    token_in = options.get("$skipToken")
    offset = _decode_token(token_in, scope_hash, state) if token_in else int(options.get("$skip") or 0)
    page = rows[offset : offset + page_size]
    more = offset + len(page) < len(rows)
    pageable = projects_id(text)
    out: dict[str, Any] = {
        "totalRecords": len(rows),
        "count": len(page),
        "data": _format(page, rows, str(options.get("resultFormat") or "objectArray")),
        "facets": [],
        "resultTruncated": "true" if more and not pageable else "false",
    }
    if more and pageable:
        out["$skipToken"] = _encode_token(offset + len(page), scope_hash)
    return SimResponse(200, out, headers)


_LAST_SHAPING = re.compile(r"\|\s*(project|summarize)\s+((?:(?!\|\s*(?:project|summarize)\s).)*)$")


def projects_id(query_text: str) -> bool:
    """Crude stand-in for "the result has an ``id`` column": no ``project``/``summarize`` at all,
    or the last one names ``id`` as an output column (``project id, ...``, ``by id``)."""
    m = _LAST_SHAPING.search(query_text.lower())
    if m is None:
        return True
    verb, columns = m.group(1), m.group(2)
    if verb == "summarize":
        by = re.search(r"\bby\b(.*)", columns)
        columns = by.group(1) if by else ""
    columns = re.split(r"\|", columns, maxsplit=1)[0]
    return any(re.match(r"\s*id\s*(=|$)", item) for item in columns.split(","))


def _parse_body(req: SimRequest, state: ScenarioState) -> dict[str, Any]:
    try:
        body = req.json()
    except ValueError:
        body = None
    problem = None
    if not isinstance(body, dict):
        problem = "The request content was invalid and could not be deserialized."
    elif not isinstance(body.get("query"), str) or not body["query"].strip():
        problem = "The query is required."
    elif not all(isinstance(body.get(k) or [], list) for k in ("subscriptions", "managementGroups")):
        problem = "subscriptions and managementGroups must be arrays."
    else:
        problem = _options_problem(body.get("options") or {})
    if problem:
        raise SimError(
            arm_error(
                400,
                "BadRequest",
                support_message(state.clock.now()),
                details=[{"code": "InvalidRequestContent", "message": problem}],
            )
        )
    return body  # type: ignore[no-any-return]


def _options_problem(options: Any) -> str | None:
    if not isinstance(options, dict):
        return "options must be an object."
    top, skip = options.get("$top"), options.get("$skip")
    if top is not None and (not isinstance(top, int) or not 1 <= top <= MAX_PAGE):
        return f"$top must be between 1 and {MAX_PAGE}."
    if skip is not None and (not isinstance(skip, int) or skip < 0):
        return "$skip must be >= 0."
    fmt = options.get("resultFormat")
    if fmt is not None and fmt not in ("table", "objectArray"):
        return f"resultFormat '{fmt}' is not supported."
    return None


def _rows_for(state: ScenarioState, body: dict[str, Any], text: str) -> list[dict[str, Any]]:
    for dataset in state.section("resource_graph")["datasets"]:
        if normalize_query(dataset["match"]) in text:
            if "error" in dataset:
                raise SimError(_bad_query(state, str(dataset["error"])))
            return list(dataset.get("rows") or [])
    for provider in providers():
        if provider.matches(text):
            return list(provider.rows(state, body))
    return []


def _bad_query(state: ScenarioState, detail: str) -> SimResponse:
    details = [
        {
            "code": detail,
            "message": "Query is invalid. Please refer to the documentation for the Azure Resource Graph "
            "service and fix the error before retrying.",
        }
    ]
    return arm_error(400, "BadRequest", support_message(state.clock.now()), details=details)


_SUB_IN_ID = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)


def _scoped(rows: list[dict[str, Any]], body: dict[str, Any], state: ScenarioState) -> list[dict[str, Any]]:
    # Management groups are not modelled: they (and tenant scope) see every subscription.
    wanted = {str(s).lower() for s in body.get("subscriptions") or []} or set(state.subscription_ids)

    def keep(row: dict[str, Any]) -> bool:
        sub = row.get("subscriptionId")
        if sub is None and isinstance(row.get("id"), str):
            m = _SUB_IN_ID.match(row["id"])
            sub = m.group(1) if m else None
        return sub is None or str(sub).lower() in wanted

    return [row for row in rows if keep(row)]


def _format(page: list[dict[str, Any]], all_rows: list[dict[str, Any]], fmt: str) -> Any:
    if fmt != "table":
        return page
    names: dict[str, str] = {}
    for row in all_rows:  # columns from every row so all pages agree
        for key, value in row.items():
            if key not in names or (names[key] == "string" and value is not None):
                names[key] = _column_type(value)
    columns = [{"name": n, "type": t} for n, t in names.items()]
    return {"columns": columns, "rows": [[row.get(n) for n in names] for row in page]}


def _column_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict | list):
        return "object"
    return "string"


def _scope_hash(text: str, body: dict[str, Any]) -> str:
    subs = ",".join(sorted(str(s).lower() for s in body.get("subscriptions") or []))
    mgs = ",".join(sorted(str(s).lower() for s in body.get("managementGroups") or []))
    return hashlib.sha256(f"{text}|{subs}|{mgs}".encode()).hexdigest()[:16]


def _encode_token(offset: int, scope_hash: str) -> str:
    return base64.b64encode(json.dumps({"offset": offset, "scope": scope_hash}).encode()).decode()


def _decode_token(token: Any, scope_hash: str, state: ScenarioState) -> int:
    try:
        data = json.loads(base64.b64decode(str(token), validate=True))
        offset, scope = data["offset"], data["scope"]
        if isinstance(offset, int) and offset >= 0 and scope == scope_hash:
            return offset
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    details = [
        {
            "code": "InvalidSkipToken",
            "message": "The skip token is invalid or was issued for a different query or scope.",
        }
    ]
    raise SimError(arm_error(400, "BadRequest", support_message(state.clock.now()), details=details))


def _charge_quota(state: ScenarioState, principal: str) -> dict[str, str]:
    """Fixed 5-second windows per principal, on the real clock (the quota is about request rate)."""
    limit = int(state.section("resource_graph")["quota_per_5s"])
    if limit <= 0:
        return {}
    now = time.monotonic()
    with state.lock:
        windows: dict[str, list[float]] = state.store.setdefault("resource_graph.quota", {})
        window = windows.setdefault(principal, [now, 0.0])
        if now - window[0] >= QUOTA_WINDOW_SECONDS:
            window[:] = [now, 0.0]
        left = QUOTA_WINDOW_SECONDS - (now - window[0])
        resets = {"x-ms-user-quota-resets-after": _hhmmss(left)}
        if window[1] >= limit:
            headers = {"x-ms-user-quota-remaining": "0", "Retry-After": str(math.ceil(left)), **resets}
            raise SimError(_throttled(state, headers))
        window[1] += 1
        return {"x-ms-user-quota-remaining": str(int(limit - window[1])), **resets}


def _hhmmss(seconds: float) -> str:
    total = max(0, math.ceil(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _throttled(state: ScenarioState, headers: dict[str, str]) -> SimResponse:
    details = [
        {
            "code": "RateLimiting",
            "message": "Client application has been throttled and should not attempt to repeat the "
            "request until an amount of time has elapsed. Please see "
            "https://aka.ms/resourcegraph-throttling for help.",
        }
    ]
    return arm_error(
        429, "RateLimiting", support_message(state.clock.now()), details=details, headers=headers
    )


def _fault_body(status: int, req: SimRequest, state: ScenarioState) -> SimResponse:
    if status == 429:
        return _throttled(state, {})
    return arm_fault_body(status, req, state)
