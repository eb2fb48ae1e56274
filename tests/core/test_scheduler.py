from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import pytest
from azure.core.exceptions import HttpResponseError

from exporter.core.errors import PayloadError, Reason
from exporter.core.scheduler import next_delay
from exporter.core.source import Issue
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
    # A 15 min source retries on its own schedule, never later than 5 minutes after a failure.
    assert next_delay(900.0, 5, random.Random(0)) == pytest.approx(80.0, rel=0.11)
    assert next_delay(900.0, 50, random.Random(0)) == pytest.approx(300.0, rel=0.11)


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (900.0, [5, 10, 20, 40, 80, 160, 300, 300]),  # subscriptions
        (300.0, [5, 10, 20, 40, 80, 160, 300, 300]),  # vmss_os_upgrades
        (30.0, [5, 10, 20, 40, 60, 60, 60, 60]),  # short intervals back off to a minute
        (1.0, [1, 2, 4, 8, 16, 32, 60, 60]),  # scheduled_events
    ],
)
def test_failed_refresh_is_retried_with_capped_exponential_backoff(interval: float, expected: list[float]):
    delays = [next_delay(interval, n, random.Random(n)) for n in range(1, len(expected) + 1)]
    assert delays == pytest.approx(expected, rel=0.11)
    # Jitter: two exporters that failed together do not retry in lockstep.
    spread = {round(next_delay(interval, 2, random.Random(seed)), 6) for seed in range(20)}
    assert len(spread) == 20


def test_a_pod_started_before_its_token_exists_recovers_within_seconds():
    """The runner's loop with an injected wait: two token failures, then the token is mounted."""
    fetch = ScriptedFetch()

    def no_token(ctx):
        raise PayloadError("token file missing", Reason.TOKEN)

    fetch.script.extend([no_token, no_token, lambda ctx: Snap(1.0, ctx.now())])
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return len(waits) >= 4  # stop the loop after the fourth pause

    runner = make_runner(fetch, interval=900.0, rng=random.Random(3), wait=wait)
    runner._run()
    assert fetch.calls == 4
    assert runner.state.view().up is True
    assert waits[:2] == pytest.approx([5.0, 10.0], rel=0.11)  # retried after ~5 s and ~10 s
    assert sum(waits[:2]) < 20
    assert waits[2] == pytest.approx(900.0, rel=0.11)  # healthy again: back on its interval


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


def test_a_problem_counts_and_logs_when_it_appears_and_again_after_it_cleared(
    caplog: pytest.LogCaptureFixture,
):
    """Episode dedup, the one rule for every source (not once per process, not every refresh)."""
    fetch = ScriptedFetch()

    def odd(ctx):
        ctx.report([Issue("state:Odd", Reason.UNKNOWN_ENUM, "unknown state", (("state", "Odd"),))])
        ctx.problem(Reason.FORBIDDEN, "subscription forbidden", key="sub:s1", subscription="s1")
        return Snap(1.0, ctx.now())

    def clean(ctx):
        return Snap(2.0, ctx.now())

    fetch.script.extend([odd, odd, odd, clean, odd, odd])
    runner = make_runner(fetch)
    with caplog.at_level("INFO"):
        counts = []
        for _ in range(6):
            assert runner.refresh_once() is True
            counts.append(runner.state.view().errors.get(Reason.UNKNOWN_ENUM, 0))
    assert counts == [1, 1, 1, 1, 2, 2]
    assert runner.state.view().errors[Reason.FORBIDDEN] == 2
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if m.startswith("unknown state")]) == 2
    assert len([m for m in messages if m.startswith("subscription forbidden")]) == 2
    assert len([m for m in messages if m.startswith("problem cleared")]) == 2  # both, at refresh 4


def test_an_internal_failure_logs_its_traceback_once_per_episode(caplog: pytest.LogCaptureFixture):
    fetch = ScriptedFetch()

    def bug(ctx):
        raise ZeroDivisionError("bug")

    fetch.script.extend([bug, bug, bug, lambda ctx: Snap(1.0, ctx.now()), bug])
    runner = make_runner(fetch)
    with caplog.at_level("DEBUG", logger="exporter.scheduler"):
        for _ in range(5):
            runner.refresh_once()
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 2  # the first failure and the one after the recovery
    assert runner.state.view().errors[Reason.INTERNAL] == 4


def test_a_failing_encode_logs_once_but_counts_every_time(caplog: pytest.LogCaptureFixture):
    def hook(state, snapshot):
        raise RuntimeError("encode failed")

    runner = make_runner(ScriptedFetch(), encode=hook)
    with caplog.at_level("DEBUG"):
        for _ in range(3):
            runner.refresh_once()
    assert len([r for r in caplog.records if r.exc_info]) == 1
    assert runner.state.view().errors[Reason.INTERNAL] == 3
