from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exporter.config import ConfigError, load, parse_duration, parse_listen_address

ROOT = Path(__file__).resolve().parents[1]
SUB_A = "6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10"
SUB_B = "1A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D"
INVALID = sorted((ROOT / "tests/configs/invalid").glob("*.yaml"))

# The dotted key each invalid fixture must name in its error.
EXPECTED_KEY = {
    "bad-cloud": "azure.cloud",
    "bad-duration": "sources.subscriptions.interval",
    "bad-port": "web.listen_address",
    "custom-without-endpoint": "azure.arm_endpoint",
    "http-endpoint": "azure.arm_endpoint",
    "not-a-bool": "sources.subscriptions.enabled",
    "secret-missing": "azure.credential.client_secret_file",
    "unknown-key": "web.listen_adress",
    "unknown-source": "sources.nope",
    "shard-out-of-range": "sharding.shard",
    "sharded-node-source": "sources.scheduled_events",
    # issue 9 class 8: accepted before, failed at run time
    "nothing-to-watch": "sources.azure_stack_updates.hub_admin_endpoints",
    "timeout-over-interval": "sources.vmss_os_upgrades.timeout",
    "imds-not-http": "sources.scheduled_events.endpoint",
    "subscription-not-guid": "azure.subscriptions[1]",
    "authority-with-tenant-path": "azure.authority_host",
    "adfs-with-entra-tenant": "azure.credential.tenant_id",
}


def test_every_invalid_fixture_has_an_expectation():
    assert {p.stem for p in INVALID} == set(EXPECTED_KEY)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_config_names_the_key(path: Path):
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    assert any(err.startswith(EXPECTED_KEY[path.stem]) for err in info.value.errors), info.value.errors


def test_error_message_names_value_and_allowed():
    with pytest.raises(ConfigError) as info:
        load(ROOT / "tests/configs/invalid/bad-cloud.yaml", environ={})
    assert info.value.errors == [
        "azure.cloud: invalid value 'mars'; allowed: public | china | usgov | custom"
    ]


def test_all_errors_are_reported_at_once(tmp_path: Path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("azure:\n  cloud: mars\nlog:\n  level: loud\nextra: 1\n")
    with pytest.raises(ConfigError) as info:
        load(cfg, environ={})
    keys = sorted(e.split(":")[0] for e in info.value.errors)
    assert keys == ["azure.cloud", "extra", "log.level"]


def test_documented_example_is_valid():
    cfg = load(ROOT / "docs/config.example.yaml", environ={})
    assert cfg.web.listen_address == ":10061"
    assert cfg.sources["subscriptions"].interval == 900.0


def test_environment_overrides_file(tmp_path: Path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("azure:\n  cloud: public\n")
    env = {
        "AUE_AZURE__CLOUD": "usgov",
        "AUE_SOURCES__SUBSCRIPTIONS__INTERVAL": "2m",
        "AUE_AZURE__SUBSCRIPTIONS": f"{SUB_A},{SUB_B}",
        "OTHER": "x",
    }
    config = load(cfg, environ=env)
    assert config.azure.cloud == "usgov"
    assert config.sources["subscriptions"].interval == 120.0
    assert config.azure.subscriptions == (SUB_A, SUB_B)


def test_flags_override_environment():
    config = load(
        None, environ={"AUE_WEB__LISTEN_ADDRESS": ":1"}, overrides={"web": {"listen_address": ":2"}}
    )
    assert config.web.listen_address == ":2"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("250ms", 0.25), (12, 12.0), ("1.5m", 90.0)],
)
def test_durations(text: object, seconds: float):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("address", "expected"),
    [(":10061", ("0.0.0.0", 10061)), ("127.0.0.1:9", ("127.0.0.1", 9)), ("[::1]:80", ("::1", 80))],
)
def test_listen_address(address: str, expected: tuple[str, int]):
    assert parse_listen_address(address) == expected


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def test_check_config_cli_accepts_example():
    result = run_cli("check-config", "--config.file", "docs/config.example.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("config ok: cloud=public sources=")
    assert "subscriptions" in result.stdout.split("sources=", 1)[1].strip().split(", ")


def test_check_config_cli_rejects_with_exit_2():
    result = run_cli("check-config", "--config.file", "tests/configs/invalid/bad-cloud.yaml")
    assert result.returncode == 2
    assert "config error: azure.cloud: invalid value 'mars'" in result.stderr


def test_version_flag():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("azure-update-exporter ")


def test_disable_defaults_turns_off_sources_nothing_enables(tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("sources:\n  scheduled_events:\n    enabled: true\n", encoding="utf-8")
    only_file = run_cli("check-config", "--config.file", str(config), "--collector.disable-defaults")
    assert only_file.returncode == 0, only_file.stderr
    assert only_file.stdout.strip().endswith("sources=scheduled_events")
    with_flag = run_cli("check-config", "--collector.disable-defaults", "--collector.vmss_os_upgrades")
    assert with_flag.stdout.strip().endswith("sources=vmss_os_upgrades"), with_flag.stdout
    nothing = run_cli("check-config", "--collector.disable-defaults")
    assert nothing.stdout.strip().endswith("sources=none"), nothing.stdout
    defaults = run_cli("check-config")
    assert "subscriptions" in defaults.stdout


def test_sharding_from_flags_and_environment():
    from exporter.cli import _overrides, build_parser

    args = build_parser().parse_args(["serve", "--shard", "2", "--total-shards", "4"])
    config = load(None, environ={}, overrides=_overrides(args))
    assert (config.sharding.shard, config.sharding.total_shards) == (2, 4)
    config = load(None, environ={"AUE_SHARDING__SHARD": "1", "AUE_SHARDING__TOTAL_SHARDS": "3"})
    assert (config.sharding.shard, config.sharding.total_shards) == (1, 3)
    assert (load(None, environ={}).sharding.shard, load(None, environ={}).sharding.total_shards) == (0, 1)


def test_an_error_from_an_environment_variable_names_the_variable():
    with pytest.raises(ConfigError) as info:
        load(environ={"AUE_AZURE__RETRY_TOTAL": "many", "AUE_AZURE__SUBSCRIPTIONS": "prod-subscription"})
    expected = (
        "azure.retry_total: invalid value 'many'; allowed: an integer "
        "(set by environment variable AUE_AZURE__RETRY_TOTAL)"
    )
    assert expected in info.value.errors
    assert any(
        e.startswith("azure.subscriptions[0]")
        and e.endswith("(set by environment variable AUE_AZURE__SUBSCRIPTIONS)")
        for e in info.value.errors
    ), info.value.errors


def test_a_flag_overriding_the_variable_is_not_blamed_on_it():
    with pytest.raises(ConfigError) as info:
        load(environ={"AUE_LOG__LEVEL": "debug"}, overrides={"log": {"level": "loud"}})
    assert not any("environment variable" in e for e in info.value.errors)


def test_the_scheduled_events_timeout_may_cover_its_slow_first_call():
    """IMDS polls every second but its first call may take ~2 min: the one documented exception."""
    config = load(environ={"AUE_SOURCES__SCHEDULED_EVENTS__ENABLED": "true"})
    assert config.sources["scheduled_events"].timeout > config.sources["scheduled_events"].interval


def test_an_adfs_authority_as_the_stamp_reports_it_is_accepted():
    config = load(
        environ={
            "AUE_AZURE__AUTHORITY_HOST": "https://adfs.local.azurestack.external/adfs/",
            "AUE_AZURE__CREDENTIAL__TENANT_ID": "adfs",
        }
    )
    assert config.azure.authority_host == "https://adfs.local.azurestack.external/adfs/"
