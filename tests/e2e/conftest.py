"""Fixtures for the end-to-end tests (see ``harness.py``).

- ``binaries``: paths of prometheus, promtool and alertmanager; a missing one fails the test.
- ``webhook``: a started :class:`WebhookSink` (Alertmanager's receiver).
- ``alertmanager``: a started :class:`Alertmanager` sending to ``webhook``.
- ``start_prometheus(targets, rule_files=(), alertmanager=None, **options)``: starts a :class:`Prometheus`
  (``scrape_options``, ``extra_scrape_configs``: TLS, basic auth, more jobs).
- ``alert_rules``: ``alerts/*.yaml`` copied to a temp dir with every ``for:`` set to ``E2E_FOR``.
- ``start_exporter(exporter)``: starts an :class:`ExporterProcess` (``.demo(...)``/``.serve(...)``).
- ``demo_exporter``: one ``python -m exporter demo`` per module, ready.
- ``simulator``: a started standalone :class:`SimulatorProcess`.

Everything started here is stopped at teardown (terminate, then kill). All waits of one test
share a budget of ``harness.TEST_BUDGET`` (60 s). When a test fails on a plain assert, the log
tails of the processes still running are attached as a report section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness
from tests.e2e.harness import (
    Alertmanager,
    ExporterProcess,
    HarnessError,
    Prometheus,
    SimulatorProcess,
    WebhookSink,
)

# The e2e speed knob: every `for:` in alerts/*.yaml becomes this in the rules Prometheus loads.
E2E_FOR = "2s"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    if report.failed and call.excinfo is not None and not call.excinfo.errisinstance(HarnessError):
        logs = harness.diagnostics()
        if logs:
            report.sections.append(("e2e process logs", logs))
    return report


@pytest.fixture(autouse=True)
def _wait_budget() -> Iterator[None]:
    # All waits of one test together stop after harness.TEST_BUDGET seconds.
    with harness.wait_budget():
        yield


@pytest.fixture(scope="session")
def binaries() -> dict[str, str]:
    return {name: harness.require_binary(name) for name in ("prometheus", "promtool", "alertmanager")}


@pytest.fixture
def webhook() -> Iterator[WebhookSink]:
    sink = WebhookSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def alertmanager(binaries: dict[str, str], webhook: WebhookSink, tmp_path: Path) -> Iterator[Alertmanager]:
    am = Alertmanager(tmp_path / "alertmanager", webhook.url, binary=binaries["alertmanager"])
    try:
        yield am.start()
    finally:
        am.stop()


@pytest.fixture
def start_prometheus(binaries: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Prometheus]]:
    started: list[Prometheus] = []

    def start(
        targets: Sequence[str],
        rule_files: Sequence[Path] = (),
        alertmanager: Alertmanager | None = None,
        **options: Any,
    ) -> Prometheus:
        prom = Prometheus(
            tmp_path / f"prometheus-{len(started)}",
            targets,
            rule_files=rule_files,
            alertmanager=alertmanager.address if alertmanager else None,
            binary=binaries["prometheus"],
            **options,
        )
        started.append(prom)
        return prom.start()

    yield start
    for prom in reversed(started):
        prom.stop()


@pytest.fixture
def alert_rules(tmp_path: Path) -> list[Path]:
    return harness.load_rules(tmp_path / "rules", for_override=E2E_FOR)


@pytest.fixture
def start_exporter() -> Iterator[Callable[[ExporterProcess], ExporterProcess]]:
    started: list[ExporterProcess] = []

    def start(exporter: ExporterProcess) -> ExporterProcess:
        started.append(exporter)
        return exporter.start()

    yield start
    for exporter in reversed(started):
        exporter.stop()


@pytest.fixture(scope="module")
def demo_exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExporterProcess]:
    exporter = ExporterProcess.demo(tmp_path_factory.mktemp("demo"))
    try:
        yield exporter.start()
    finally:
        exporter.stop()


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[SimulatorProcess]:
    sim = SimulatorProcess(tmp_path / "simulator")
    try:
        yield sim.start()
    finally:
        sim.stop()
