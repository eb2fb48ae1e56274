"""Each fault kind as a plain HTTP client sees it on the wire."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from exporter.simulator import FaultRule, Simulator, start


def _get(http: requests.Session, sim: Simulator, bearer: str, timeout: float = 5) -> requests.Response:
    return http.get(
        f"{sim.base_url}/subscriptions",
        params={"api-version": "2022-12-01"},
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=timeout,
    )


def test_latency(sim: Simulator, http: requests.Session, bearer: str) -> None:
    sim.faults.add(FaultRule("arm.*", "latency", seconds=0.3))
    started = time.monotonic()
    assert _get(http, sim, bearer).status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (403, "AuthorizationFailed"),
        (404, "ResourceNotFound"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
    ],
)
def test_status_uses_the_arm_envelope(
    sim: Simulator, http: requests.Session, bearer: str, status: int, code: str
) -> None:
    sim.faults.add(FaultRule("arm.subscriptions", "status", status=status, count=1))
    response = _get(http, sim, bearer)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_status_401_and_429_carry_their_headers(sim: Simulator, http: requests.Session, bearer: str) -> None:
    sim.faults.add(FaultRule("arm.*", "status", status=401, count=1))
    sim.faults.add(FaultRule("arm.*", "status", status=429, retry_after=7, count=1, after=1))
    unauthorized = _get(http, sim, bearer)
    assert unauthorized.status_code == 401
    assert unauthorized.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    throttled = _get(http, sim, bearer)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "7")
    assert throttled.json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert _get(http, sim, bearer).status_code == 200


def test_token_route_faults_use_the_oauth_error_shape(sim: Simulator, http: requests.Session) -> None:
    sim.faults.add(FaultRule("token.aad", "status", status=503, count=1))
    response = http.post(f"{sim.base_url}/{sim.tenant_id}/oauth2/v2.0/token", data={})
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_timeout_holds_the_request_then_closes(sim: Simulator, http: requests.Session, bearer: str) -> None:
    sim.faults.add(FaultRule("arm.*", "timeout", seconds=0.5, count=2))
    with pytest.raises(requests.ReadTimeout):
        _get(http, sim, bearer, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        _get(http, sim, bearer, timeout=5)
    assert 0.4 <= time.monotonic() - started < 3


def test_reset_sends_rst(sim: Simulator, http: requests.Session, bearer: str) -> None:
    sim.faults.add(FaultRule("arm.*", "reset", count=1))
    # Over TLS, Python's ssl module reports the RST as an unexpected EOF ("Connection aborted").
    with pytest.raises(requests.ConnectionError, match="aborted"):
        _get(http, sim, bearer)
    assert sim.requests.count("arm.subscriptions", status=0) == 1
    assert _get(http, sim, bearer).status_code == 200
    # On the plain-HTTP listener the RST is visible as such.
    sim.faults.add(FaultRule("token.imds", "reset", count=1))
    with pytest.raises(requests.ConnectionError, match=r"(?i)reset by peer"):
        requests.get(f"{sim.imds_url}/metadata/identity/oauth2/token", timeout=5)


def test_malformed_and_empty_bodies(sim: Simulator, http: requests.Session, bearer: str) -> None:
    sim.faults.add(FaultRule("arm.*", "malformed", count=1))
    sim.faults.add(FaultRule("arm.*", "empty", count=1, after=1))
    malformed = _get(http, sim, bearer)
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        malformed.json()
    empty = _get(http, sim, bearer)
    assert (empty.status_code, empty.content) == (200, b"")


def test_after_and_count_window(sim: Simulator, http: requests.Session, bearer: str) -> None:
    sim.faults.add(FaultRule("arm.subscriptions", "status", status=500, after=1, count=2))
    assert [_get(http, sim, bearer).status_code for _ in range(4)] == [200, 500, 500, 200]
    assert sim.faults.rules() == []  # exhausted


def test_control_is_never_faulted(sim: Simulator, http: requests.Session) -> None:
    sim.faults.add(FaultRule("*", "status", status=500))
    assert http.get(f"{sim.base_url}/_sim/health").json() == {"ok": True}


def test_timeout_returns_early_when_the_simulator_stops() -> None:
    own = start({"faults": [{"route": "*", "kind": "timeout", "seconds": 30}]})
    stopper = threading.Timer(0.3, own.stop)
    stopper.start()
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{own.base_url}/subscriptions", verify=str(own.ca_path), timeout=10)
    assert time.monotonic() - started < 5


def test_invalid_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        FaultRule("arm.*", "explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        FaultRule.from_dict({"route": "x", "kind": "status", "count": 0})
