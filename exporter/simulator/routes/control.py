"""Unauthenticated control API under ``/_sim`` (route ``control``, never faulted or logged).

It lets a harness in another process do what in-process tests do through the Simulator object.
"""

from __future__ import annotations

from typing import Any

from exporter.simulator.arm_helpers import SimError
from exporter.simulator.errors import arm_error
from exporter.simulator.faults import FaultRule
from exporter.simulator.router import Router, SimRequest, SimResponse
from exporter.simulator.state import ScenarioState

ROUTE = "control"


def register(router: Router) -> None:
    router.add("GET", r"/_sim/health", ROUTE, health)
    router.add("GET", r"/_sim/info", ROUTE, info)
    router.add("GET", r"/_sim/faults", ROUTE, list_faults)
    router.add("POST", r"/_sim/faults", ROUTE, add_fault)
    router.add("DELETE", r"/_sim/faults", ROUTE, clear_faults)
    router.add("GET", r"/_sim/clock", ROUTE, get_clock)
    router.add("POST", r"/_sim/clock", ROUTE, advance_clock)
    router.add("GET", r"/_sim/requests", ROUTE, request_counts)
    router.add("DELETE", r"/_sim/requests", ROUTE, clear_requests)


def _json(req: SimRequest) -> Any:
    try:
        return req.json()
    except ValueError as exc:
        raise SimError(arm_error(400, "InvalidRequestContent", f"body is not JSON: {exc}")) from None


def health(req: SimRequest, state: ScenarioState) -> SimResponse:
    return SimResponse(200, {"ok": True})


def info(req: SimRequest, state: ScenarioState) -> SimResponse:
    return SimResponse(200, state.info())


def list_faults(req: SimRequest, state: ScenarioState) -> SimResponse:
    return SimResponse(200, {"faults": [r.to_dict() for r in state.faults.rules()]})


def add_fault(req: SimRequest, state: ScenarioState) -> SimResponse:
    try:
        rule = FaultRule.from_dict(_json(req))
    except ValueError as exc:
        return arm_error(400, "InvalidFaultRule", str(exc))
    state.faults.add(rule)
    return SimResponse(201, rule.to_dict())


def clear_faults(req: SimRequest, state: ScenarioState) -> SimResponse:
    state.faults.clear()
    return SimResponse(204)


def get_clock(req: SimRequest, state: ScenarioState) -> SimResponse:
    return SimResponse(200, {"now": state.clock.now().isoformat(), "elapsed": state.clock.elapsed()})


def advance_clock(req: SimRequest, state: ScenarioState) -> SimResponse:
    body = _json(req)
    seconds = body.get("advance") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return arm_error(400, "InvalidRequestContent", '"advance" must be a number of seconds >= 0')
    now = state.clock.advance(float(seconds))
    return SimResponse(200, {"now": now.isoformat(), "elapsed": state.clock.elapsed()})


def request_counts(req: SimRequest, state: ScenarioState) -> SimResponse:
    summary = state.requests.summary()
    total = sum(sum(by_status.values()) for by_status in summary.values())
    return SimResponse(200, {"total": total, "by_route": summary})


def clear_requests(req: SimRequest, state: ScenarioState) -> SimResponse:
    state.requests.clear()
    return SimResponse(204)
