"""Refresh loops step aside for scrapes; big families are freed in slices; GC pauses nest."""

from __future__ import annotations

import gc
import threading
import time

from prometheus_client.core import GaugeMetricFamily

from exporter.core.gil import ScrapeGate, collection_paused, paced, release


def test_checkpoint_without_a_scrape_does_not_wait() -> None:
    gate = ScrapeGate()
    started = time.monotonic()
    for _ in range(10_000):
        gate.checkpoint()
    assert time.monotonic() - started < gate.MAX_WAIT


def test_checkpoint_waits_for_the_scrape_to_end() -> None:
    gate = ScrapeGate()
    gate.MAX_WAIT = 30.0  # only the end of the scrape can release it
    in_scrape, passed = threading.Event(), threading.Event()

    def scrape() -> None:
        with gate.scrape():
            in_scrape.set()
            assert not passed.wait(0.2)  # the refresh is held while the scrape runs

    scraper = threading.Thread(target=scrape)
    scraper.start()
    in_scrape.wait(5)
    refresh = threading.Thread(target=lambda: (gate.checkpoint(), passed.set()))
    refresh.start()
    scraper.join(5)
    assert passed.wait(5)
    refresh.join(5)
    assert gate.active == 0


def test_a_scrape_that_never_ends_only_slows_a_refresh_down() -> None:
    gate = ScrapeGate()
    gate.PRIORITY = 60.0
    with gate.scrape():
        started = time.monotonic()
        gate.checkpoint()
        waited = time.monotonic() - started
        # Waiting more than MAX_SHARE of the window: the next checkpoints pass at once.
        while time.monotonic() - started < gate.MAX_SHARE * gate.WINDOW * 1.2:
            gate.checkpoint()
        after = time.monotonic()
        for _ in range(100):
            gate.checkpoint()
        free = time.monotonic() - after
    assert gate.MAX_WAIT * 0.9 <= waited < gate.MAX_WAIT * 20
    assert free < gate.MAX_WAIT


def test_paced_checks_the_gate_every_n_items_and_keeps_every_item() -> None:
    class Counting(ScrapeGate):
        calls = 0

        def checkpoint(self) -> None:
            self.calls += 1

    gate = Counting()
    assert list(paced(range(1000), every=100, gate=gate)) == list(range(1000))
    assert gate.calls == 10


def test_release_frees_every_sample_in_slices() -> None:
    family = GaugeMetricFamily("g", "help", labels=["a"])
    for index in range(10_001):
        family.add_metric([str(index)], 1.0)
    samples = family.samples
    release(family)
    assert samples == []
    assert family.samples is samples


def test_collection_pauses_nest_across_threads_and_restore_the_collector() -> None:
    assert gc.isenabled()
    inner_entered, leave_inner = threading.Event(), threading.Event()

    def other() -> None:
        with collection_paused():
            inner_entered.set()
            leave_inner.wait(5)

    thread = threading.Thread(target=other)
    with collection_paused():
        assert not gc.isenabled()
        thread.start()
        inner_entered.wait(5)
    assert not gc.isenabled()  # the other thread is still inside its pause
    leave_inner.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_network_activity_holds_checkpoints_briefly() -> None:
    gate = ScrapeGate()
    gate.touch()
    started = time.monotonic()
    gate.checkpoint()
    held = time.monotonic() - started
    assert held >= gate.TOUCH_HOLD * 0.5
    time.sleep(gate.TOUCH_HOLD)
    started = time.monotonic()
    for _ in range(1000):
        gate.checkpoint()  # the hold has expired: no more waiting
    assert time.monotonic() - started < gate.TOUCH_HOLD


def test_a_scrape_loses_its_priority_after_a_while() -> None:
    gate = ScrapeGate()
    gate.PRIORITY = 0.05
    gate.MAX_WAIT = 30.0
    with gate.scrape():
        time.sleep(0.06)  # a client that reads slowly
        started = time.monotonic()
        gate.checkpoint()
        assert time.monotonic() - started < 1.0


def test_a_scrape_ending_between_two_reads_never_makes_a_checkpoint_fail() -> None:
    class Racing(ScrapeGate):
        reads = 0

        def _scraping(self) -> bool:
            self.reads += 1
            return self.reads <= 2  # in flight for the first checks, gone at the last

    gate = Racing()
    gate._touched_until = time.monotonic() - 10  # a touch long expired
    gate.checkpoint()  # must neither raise nor wait
