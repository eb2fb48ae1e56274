"""Resources across refreshes: no thread started per refresh, no call through libuuid's leaking
`uuid1`, and (tests/test_soak.py) fds and threads flat under random faults."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from exporter.app import Exporter
from exporter.config import from_dict
from exporter.demo import simulator_config
from exporter.simulator import Simulator, start

SOURCES = ("subscriptions", "vmss_os_upgrades", "azure_stack_updates", "scheduled_events")


@pytest.fixture
def demo_sim() -> Iterator[Simulator]:
    with start("demo") as simulator:
        yield simulator


@pytest.fixture
def demo_exporter(demo_sim: Simulator) -> Iterator[Exporter]:
    raw = simulator_config(demo_sim.info(), "127.0.0.1:0")
    for name in SOURCES:
        raw["sources"][name] = {**raw["sources"].get(name, {}), "enabled": True}
    exporter = Exporter(from_dict(raw))
    yield exporter
    exporter.stop()


def _counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[str]:
    """Calls of `owner.name` outside the in-process simulator's own threads."""
    calls: list[str] = []
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        subject = args[0].name if args and isinstance(args[0], threading.Thread) else ""
        caller = threading.current_thread().name
        # The simulator's listeners start one thread per connection (socketserver).
        simulator = caller.startswith("azsim") or subject.startswith("azsim")
        if not simulator and "process_request_thread" not in subject:
            calls.append(subject or caller)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_refreshes_start_no_new_threads_after_the_first(
    demo_exporter: Exporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pools per refresh started new threads every time (each one a leaked fd through libuuid)."""
    assert all(demo_exporter.refresh_all_once().values())
    started = _counting(monkeypatch, threading.Thread, "start")
    for _ in range(3):
        assert all(demo_exporter.refresh_all_once().values())
    assert started == []


def test_no_azure_call_goes_through_uuid1(demo_exporter: Exporter, monkeypatch: pytest.MonkeyPatch) -> None:
    """azure-core's request-id policy calls uuid.uuid1(); libuuid keeps a per-thread clock file
    open that is never closed. Every pipeline the exporter builds (ARM, SDK clients, tokens)
    must avoid it."""
    calls = _counting(monkeypatch, uuid, "uuid1")
    assert all(demo_exporter.refresh_all_once().values())
    demo_exporter.azure().close()  # fresh credential: token requests too
    assert all(demo_exporter.refresh_all_once().values())
    assert calls == []
