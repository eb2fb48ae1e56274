from __future__ import annotations

from datetime import UTC, datetime

from freezegun import freeze_time
from prometheus_client import CollectorRegistry, generate_latest

from exporter.azure.policies import AzureStats
from exporter.core.collector import ExporterCollector
from exporter.core.errors import PayloadError, Reason
from tests.core.fakes import ScriptedFetch, Snap, make_runner


def registry_for(runners, stats=None):
    reg = CollectorRegistry(auto_describe=False)
    reg.register(ExporterCollector([r.state for r in runners], stats or AzureStats(), revision="abc"))
    return reg


def test_relative_values_are_computed_at_scrape_time():
    fetch = ScriptedFetch()
    fetch.script.append(lambda ctx: Snap(1.0, datetime(2026, 11, 21, 10, 0, tzinfo=UTC)))
    runner = make_runner(fetch)
    runner.refresh_once()
    reg = registry_for([runner])
    with freeze_time("2026-11-21T10:00:30Z"):
        assert reg.get_sample_value("fake_age_seconds") == 30.0
    with freeze_time("2026-11-21T10:05:00Z"):
        assert reg.get_sample_value("fake_age_seconds") == 300.0


def test_one_failing_source_never_blanks_another():
    good, bad = ScriptedFetch(), ScriptedFetch()
    good.script.append(lambda ctx: Snap(5.0, ctx.now()))

    def boom(ctx):
        raise PayloadError("garbage")

    bad.script.append(boom)
    r1, r2 = make_runner(good, name="good"), make_runner(bad, name="bad")
    r1.refresh_once()
    r2.refresh_once()
    reg = registry_for([r1, r2])
    assert reg.get_sample_value("fake_value") == 5.0
    assert reg.get_sample_value("azure_update_exporter_source_up", {"source": "good"}) == 1.0
    assert reg.get_sample_value("azure_update_exporter_source_up", {"source": "bad"}) == 0.0
    assert (
        reg.get_sample_value(
            "azure_update_exporter_source_errors_total", {"source": "bad", "reason": "malformed_payload"}
        )
        == 1.0
    )


def test_every_reason_is_precreated_at_zero():
    runner = make_runner(ScriptedFetch())
    runner.refresh_once()
    reg = registry_for([runner])
    for reason in Reason:
        value = reg.get_sample_value(
            "azure_update_exporter_source_errors_total", {"source": "fake", "reason": reason.value}
        )
        assert value == 0.0


def test_translate_bug_is_contained():
    fetch = ScriptedFetch()
    fetch.script.append(lambda ctx: "not a snapshot")  # translate will raise on it
    runner = make_runner(fetch)
    runner.refresh_once()
    reg = registry_for([runner])
    text = generate_latest(reg).decode()
    assert "azure_update_exporter_build_info" in text
    assert "fake_value" not in text
    assert (
        reg.get_sample_value(
            "azure_update_exporter_source_errors_total", {"source": "fake", "reason": "internal"}
        )
        == 1.0
    )


def test_a_translate_bug_logs_its_traceback_once_per_snapshot_not_per_scrape(caplog):
    fetch = ScriptedFetch()
    fetch.script.extend([lambda ctx: "not a snapshot", lambda ctx: "another bad one"])
    runner = make_runner(fetch)
    runner.refresh_once()
    reg = registry_for([runner])
    with caplog.at_level("ERROR", logger="exporter.collector"):
        for _ in range(5):
            generate_latest(reg)
        runner.refresh_once()  # a new snapshot that fails too: a new episode
        for _ in range(5):
            generate_latest(reg)
    assert len([r for r in caplog.records if r.exc_info]) == 2
    errors = reg.get_sample_value(
        "azure_update_exporter_source_errors_total", {"source": "fake", "reason": "internal"}
    )
    assert errors == 10.0  # every failed render is still counted


def test_azure_request_counters():
    stats = AzureStats()
    stats.record("compute", 200)
    stats.record("compute", 429)
    stats.record("compute", 429)
    stats.record("arm", "error")
    reg = registry_for([], stats)
    assert (
        reg.get_sample_value("azure_update_exporter_azure_requests_total", {"api": "compute", "code": "429"})
        == 2
    )
    assert (
        reg.get_sample_value("azure_update_exporter_azure_requests_total", {"api": "arm", "code": "error"})
        == 1
    )
    assert reg.get_sample_value("azure_update_exporter_azure_throttled_total", {"api": "compute"}) == 2
    assert reg.get_sample_value("azure_update_exporter_azure_throttled_total", {"api": "imds"}) == 0
    assert (
        reg.get_sample_value(
            "azure_update_exporter_build_info",
            {
                "version": "0.1.0",
                "revision": "abc",
                "python_version": __import__("platform").python_version(),
            },
        )
        == 1
    )
