from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import pytest
from azure.core.exceptions import HttpResponseError

from exporter.core.errors import PayloadError, Reason
from exporter.core.scheduler import next_delay
from tests.core.fakes import ScriptedFetch, Snap, make_runner

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC).timestamp()


def test_success_stores_snapshot_and_timestamps():
    fetch = ScriptedFetch()
    fetch.script.append(lambda ctx: Snap(7.0, ctx.now()))
    runner = make_runner(fetch, clock=lambda: T0)
    assert runner.refresh_once() is True
    view = runner.state.view()
    assert view.snapshot == Snap(7.0, datetime.fromtimestamp(T0, UTC))
    assert (view.up, view.last_success, view.refreshes, view.consecutive_failures) == (True, T0, 1, 0)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (PayloadError("bad json"), Reason.MALFORMED_PAYLOAD),
        (TimeoutError(), Reason.TIMEOUT),
        (ConnectionResetError(), Reason.CONNECTION),
        (KeyError("Events"), Reason.MISSING_FIELD),
        (ZeroDivisionError(), Reason.INTERNAL),
    ],
)
def test_failure_keeps_last_good_snapshot(exc: Exception, reason: Reason):
    fetch = ScriptedFetch()
    fetch.script.append(lambda ctx: Snap(1.0, ctx.now()))

    def boom(ctx):
        raise exc

    fetch.script.extend([boom, boom])
    runner = make_runner(fetch, clock=lambda: T0)
    runner.refresh_once()
    assert runner.refresh_once() is False
    assert runner.refresh_once() is False
    view = runner.state.view()
    assert view.snapshot.value == 1.0
    assert view.up is False
    assert view.last_success == T0
    assert view.consecutive_failures == 2
    assert view.errors == {reason: 2}


def test_recovery_resets_consecutive_failures():
    fetch = ScriptedFetch()

    def boom(ctx):
        raise PayloadError("x")

    fetch.script.extend([boom, lambda ctx: Snap(2.0, ctx.now())])
    runner = make_runner(fetch)
    runner.refresh_once()
    assert runner.state.view().consecutive_failures == 1
    runner.refresh_once()
    view = runner.state.view()
    assert (view.up, view.consecutive_failures, view.errors) == (True, 0, {Reason.MALFORMED_PAYLOAD: 1})


def test_timeout_then_no_overlap_while_stuck():
    release = threading.Event()
    fetch = ScriptedFetch()

    def stuck(ctx):
        release.wait(10)
        return Snap(9.0, ctx.now())

    fetch.script.append(stuck)
    runner = make_runner(fetch, timeout=0.2)
    assert runner.refresh_once() is False
    # The stuck fetch still occupies the source: the next refresh must not start a second one.
    assert runner.refresh_once() is False
    assert fetch.calls == 1
    assert fetch.max_running == 1
    view = runner.state.view()
    assert view.errors == {Reason.TIMEOUT: 2}
    assert view.snapshot is None
    release.set()


def test_partial_problems_are_counted_without_failing():
    fetch = ScriptedFetch()

    def partial(ctx):
        ctx.problem(Reason.FORBIDDEN, "subscription forbidden", subscription="s1")
        ctx.problem(Reason.UNKNOWN_ENUM, "odd state", key="state:Odd")
        return Snap(3.0, ctx.now())

    fetch.script.append(partial)
    runner = make_runner(fetch)
    assert runner.refresh_once() is True
    assert runner.state.view().errors == {Reason.FORBIDDEN: 1, Reason.UNKNOWN_ENUM: 1}


def test_http_errors_are_classified_by_status():
    fetch = ScriptedFetch()

    def throttled(ctx):
        err = HttpResponseError(message="Too many requests")
        err.status_code = 429
        raise err

    fetch.script.append(throttled)
    runner = make_runner(fetch)
    runner.refresh_once()
    assert runner.state.view().last_reason is Reason.THROTTLED


def test_jitter_bounds_and_failure_backoff():
    rng = random.Random(1)
    delays = [next_delay(60.0, 0, rng) for _ in range(1000)]
    assert min(delays) >= 54.0
    assert max(delays) <= 66.0
    assert max(delays) - min(delays) > 6.0  # jitter is actually applied
    # A 1 s poller backs off while failing, capped at a minute.
    assert next_delay(1.0, 3, random.Random(0)) == pytest.approx(4.0, rel=0.11)
    assert next_delay(1.0, 50, random.Random(0)) == pytest.approx(60.0, rel=0.11)
    # A 15 min source never waits longer than its interval.
    assert next_delay(900.0, 5, random.Random(0)) == pytest.approx(900.0, rel=0.11)


def test_failure_logs_once_per_reason(caplog: pytest.LogCaptureFixture):
    fetch = ScriptedFetch()

    def boom(ctx):
        raise ConnectionRefusedError("no route")

    fetch.script.extend([boom] * 5)
    runner = make_runner(fetch)
    with caplog.at_level("WARNING", logger="exporter.scheduler"):
        for _ in range(5):
            runner.refresh_once()
    lines = [r for r in caplog.records if "refresh failed" in r.getMessage()]
    assert len(lines) == 1
    assert "reason=connection" in lines[0].getMessage()
