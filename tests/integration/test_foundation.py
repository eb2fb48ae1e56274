"""Foundation behaviour end to end against the simulator: no stubbed credentials, no patched SDK."""

from __future__ import annotations

import threading
import time
import urllib.request

import pytest
from azure.mgmt.resourcegraph import ResourceGraphClient
from prometheus_client import generate_latest

from exporter.azure.clients import USER_AGENT
from exporter.core.errors import Reason
from exporter.simulator import FaultRule

SUBS = "subscriptions"


def sample(exporter, name, labels=None):
    return exporter.registry.get_sample_value(name, labels or {})


def test_real_credential_and_arm_listing(sim, make_exporter):
    exporter = make_exporter()
    assert exporter.refresh_all_once() == {SUBS: True}
    assert sample(exporter, "azure_update_exporter_source_up", {"source": SUBS}) == 1.0
    for sub in sim.subscription_ids:
        assert (
            sample(
                exporter,
                "azure_subscription_info",
                {
                    "subscription_id": sub.lower(),
                    "resource_id": f"/subscriptions/{sub.lower()}",
                    "display_name": _name(sim, sub),
                    "tenant_id": sim.tenant_id.lower(),
                },
            )
            == 1.0
        )
    assert sim.requests.count("token.aad") == 1  # one token, cached by azure-identity
    assert sample(exporter, "azure_update_exporter_azure_requests_total", {"api": "arm", "code": "200"}) >= 1


def _name(sim, sub):
    return next(s["display_name"] for s in sim.info()["subscriptions"] if s["id"] == sub)


def test_user_agent_is_sent(sim, make_exporter):
    exporter = make_exporter()
    exporter.refresh_all_once()
    agents = {e.user_agent for e in sim.requests.entries if e.route == "arm.subscriptions"}
    assert agents
    assert all(a.startswith(USER_AGENT) for a in agents), agents


def test_resource_graph_client_from_one_place(sim, make_exporter):
    exporter = make_exporter()
    client = exporter.azure().resource_graph()
    assert isinstance(client, ResourceGraphClient)
    assert exporter.azure().resource_graph() is client  # built once, reused


FAULTS = [
    (FaultRule("arm.*", "status", status=401), Reason.UNAUTHORIZED),
    (FaultRule("arm.*", "status", status=403), Reason.FORBIDDEN),
    (FaultRule("arm.*", "status", status=404), Reason.NOT_FOUND),
    (FaultRule("arm.*", "status", status=500), Reason.SERVER_ERROR),
    (FaultRule("arm.*", "status", status=503), Reason.SERVER_ERROR),
    (FaultRule("arm.*", "status", status=429, retry_after=0.1), Reason.THROTTLED),
    (FaultRule("arm.*", "malformed"), Reason.MALFORMED_PAYLOAD),
    (FaultRule("arm.*", "empty"), Reason.MALFORMED_PAYLOAD),
    (FaultRule("arm.*", "reset"), Reason.CONNECTION),
    (FaultRule("arm.*", "timeout", seconds=5), Reason.TIMEOUT),
    (FaultRule("token.aad", "status", status=401), Reason.TOKEN),
]


@pytest.mark.parametrize(
    ("fault", "reason"),
    FAULTS,
    ids=lambda v: (
        getattr(v, "kind", "") + str(getattr(v, "status", "")) if isinstance(v, FaultRule) else str(v)
    ),
)
def test_fault_keeps_last_good_snapshot_and_counts_reason(sim, make_exporter, fault, reason):
    # Token faults must hit a fresh credential; ARM faults come after a token is cached.
    exporter = make_exporter(azure={"retry_total": 0, "request_timeout": "1s"})
    assert exporter.refresh_all_once() == {SUBS: True}
    before = generate_latest(exporter.registry).decode()
    good_info = [line for line in before.splitlines() if line.startswith("azure_subscription_info")]
    if fault.route.startswith("token"):
        exporter.azure().close()  # forget the cached token so the next refresh asks again
    sim.faults.add(fault)
    assert exporter.refresh_all_once() == {SUBS: False}
    after = generate_latest(exporter.registry).decode()
    assert [line for line in after.splitlines() if line.startswith("azure_subscription_info")] == good_info
    assert sample(exporter, "azure_update_exporter_source_up", {"source": SUBS}) == 0.0
    assert (
        sample(
            exporter, "azure_update_exporter_source_errors_total", {"source": SUBS, "reason": reason.value}
        )
        == 1.0
    )
    assert sample(exporter, "azure_update_exporter_source_consecutive_failures", {"source": SUBS}) == 1.0
    sim.faults.clear()
    assert exporter.refresh_all_once() == {SUBS: True}
    assert sample(exporter, "azure_update_exporter_source_up", {"source": SUBS}) == 1.0


def test_retry_after_is_honoured(sim, make_exporter):
    exporter = make_exporter(azure={"retry_total": 2})
    exporter.refresh_all_once()  # token cached
    sim.requests.clear()
    sim.faults.add(FaultRule("arm.subscriptions", "status", status=429, retry_after=2, count=1))
    started = time.monotonic()
    assert exporter.refresh_all_once() == {SUBS: True}
    elapsed = time.monotonic() - started
    times = [e.at for e in sim.requests.entries if e.route == "arm.subscriptions"]
    statuses = [e.status for e in sim.requests.entries if e.route == "arm.subscriptions"]
    assert statuses[:2] == [429, 200]
    assert (times[1] - times[0]).total_seconds() >= 1.9
    assert elapsed >= 1.9
    assert sample(exporter, "azure_update_exporter_azure_throttled_total", {"api": "arm"}) == 1.0


def test_expired_token_is_renewed(sim, make_exporter):
    exporter = make_exporter()
    assert exporter.refresh_all_once() == {SUBS: True}
    sim.clock.advance(7200)  # the server now considers the cached token expired
    assert exporter.refresh_all_once() == {SUBS: False}
    assert (
        sample(
            exporter, "azure_update_exporter_source_errors_total", {"source": SUBS, "reason": "unauthorized"}
        )
        == 1
    )
    # The rejected token was dropped: the next refresh fetches a new one and succeeds.
    assert exporter.refresh_all_once() == {SUBS: True}
    assert sim.requests.count("token.aad") == 2


def test_wrong_secret_is_a_token_error_without_leaking_the_secret(sim, make_exporter, tmp_path, caplog):
    secret = tmp_path / "secret"
    secret.write_text("canary-Secret-value-123")
    exporter = make_exporter(azure={"credential": {"client_secret_file": str(secret)}})
    with caplog.at_level("DEBUG"):
        assert exporter.refresh_all_once() == {SUBS: False}
    assert (
        sample(exporter, "azure_update_exporter_source_errors_total", {"source": SUBS, "reason": "token"})
        == 1.0
    )
    text = generate_latest(exporter.registry).decode()
    assert "canary-Secret" not in text
    from exporter.log import RedactingFormatter

    formatted = "\n".join(RedactingFormatter("logfmt").format(r) for r in caplog.records)
    assert "canary-Secret" not in formatted


def test_scrape_is_fast_while_refresh_is_stuck(sim, make_exporter):
    exporter = make_exporter(sources={SUBS: {"interval": "1h", "timeout": "60s"}})
    exporter.start()
    port = exporter.port
    deadline = time.monotonic() + 15
    while sample(exporter, "azure_update_exporter_source_up", {"source": SUBS}) != 1.0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sim.faults.add(FaultRule("arm.*", "latency", seconds=30))
    stuck = threading.Thread(target=exporter.runners[0].refresh_once, daemon=True)
    stuck.start()
    time.sleep(0.3)  # the refresh is now waiting on the simulator
    assert stuck.is_alive()
    durations = []
    for _ in range(20):
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            body = response.read().decode()
        durations.append(time.monotonic() - started)
    assert "azure_subscription_info" in body
    assert max(durations) < 0.1, durations
    sim.faults.clear()


def test_a_token_endpoint_that_never_answers_is_bounded_by_request_timeout(sim, make_exporter):
    """The token request reads for at most azure.request_timeout (azure-core's default is 300 s,
    retried), so the refresh fails fast as `token` instead of hanging until its own timeout."""
    exporter = make_exporter(
        azure={"request_timeout": "1s", "retry_total": 1}, sources={SUBS: {"timeout": "20s"}}
    )
    sim.faults.add(FaultRule("token.aad", "timeout", seconds=30))
    started = time.monotonic()
    assert exporter.refresh_all_once() == {SUBS: False}
    elapsed = time.monotonic() - started
    assert elapsed < 6, elapsed
    assert (
        sample(exporter, "azure_update_exporter_source_errors_total", {"source": SUBS, "reason": "token"})
        == 1
    )
    assert sim.requests.count("token.aad") == 2  # one retry, as azure.retry_total says
