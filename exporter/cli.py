"""Command line: serve (default), demo, collect --once, check-config, --version.

Exit codes: 0 success; 1 a source failed (collect); 2 invalid configuration or usage.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

from prometheus_client import generate_latest

from exporter import __version__, log
from exporter.app import Exporter
from exporter.buildinfo import build_revision
from exporter.config import ENV_PREFIX, Config, ConfigError, load
from exporter.core.registry import all_specs
from exporter.web.config import WebConfigError

COMMANDS = ("serve", "demo", "collect", "check-config")
logger = logging.getLogger("exporter.cli")


def _common_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--config.file", dest="config_file", metavar="PATH", help="YAML configuration file")
    parent.add_argument(
        "--web.listen-address", dest="listen_address", metavar="HOST:PORT", help="where to serve"
    )
    parent.add_argument(
        "--web.config.file",
        dest="web_config_file",
        metavar="PATH",
        help="exporter-toolkit web config (TLS, basic auth, headers); see docs/web-config.md",
    )
    parent.add_argument("--log.level", dest="log_level", choices=["debug", "info", "warning", "error"])
    parent.add_argument("--log.format", dest="log_format", choices=["logfmt", "json"])
    parent.add_argument(
        "--collector.disable-defaults",
        dest="collector_disable_defaults",
        action="store_true",
        help="turn every source off unless the config file, an environment variable or a "
        "--collector.<source> flag enables it",
    )
    parent.add_argument(
        "--shard", type=int, metavar="N", help="this replica's shard, 0 to --total-shards - 1"
    )
    parent.add_argument(
        "--total-shards", dest="total_shards", type=int, metavar="N", help="replicas sharing the work"
    )
    for name, spec in all_specs().items():
        parent.add_argument(
            f"--collector.{name}",
            dest=f"collector__{name}",
            action=argparse.BooleanOptionalAction,
            default=None,
            help=f"enable the {name} source ({spec.summary})",
        )
    return parent


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="azure-update-exporter",
        # Keeps --version on one line (it carries a 40-character revision).
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Prometheus exporter for Azure update signals.",
        epilog=f"Every config key can also be set with an {ENV_PREFIX}<SECTION>__<KEY> environment variable.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"azure-update-exporter {__version__} (revision {build_revision()})",
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", parents=[common], help="refresh sources in the background and serve /metrics")
    sub.add_parser("demo", parents=[common], help="serve against a built-in simulated Azure estate")
    collect = sub.add_parser(
        "collect", parents=[common], help="refresh every enabled source once, print metrics"
    )
    collect.add_argument("--once", action="store_true", default=True, help="one refresh (the only mode)")
    sub.add_parser("check-config", parents=[common], help="validate the configuration and exit")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.listen_address:
        out.setdefault("web", {})["listen_address"] = args.listen_address
    if args.web_config_file:
        out.setdefault("web", {})["config_file"] = args.web_config_file
    if args.log_level:
        out.setdefault("log", {})["level"] = args.log_level
    if args.log_format:
        out.setdefault("log", {})["format"] = args.log_format
    if args.shard is not None:
        out.setdefault("sharding", {})["shard"] = args.shard
    if args.total_shards is not None:
        out.setdefault("sharding", {})["total_shards"] = args.total_shards
    for key, value in vars(args).items():
        if key.startswith("collector__") and value is not None:
            out.setdefault("sources", {}).setdefault(key.removeprefix("collector__"), {})["enabled"] = value
    return out


def _base(args: argparse.Namespace) -> dict[str, Any]:
    """What the config file starts from: with --collector.disable-defaults every source is off."""
    if not getattr(args, "collector_disable_defaults", False):
        return {}
    return {"sources": {name: {"enabled": False} for name in all_specs()}}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "serve")
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from exporter.demo import run_demo

        return run_demo(_overrides(args))
    try:
        config = load(args.config_file, overrides=_overrides(args), base=_base(args))
    except ConfigError as exc:
        for line in exc.errors:
            print(f"config error: {line}", file=sys.stderr)  # noqa: T201 - CLI output
        return 2
    log.setup(config.log.level, config.log.format)
    if args.command == "check-config":
        return _check_config(config)
    if args.command == "collect":
        return _without_waiting_for_stragglers(collect_once(config))
    return serve(config)


def _check_config(config: Config) -> int:
    enabled = ", ".join(config.enabled_sources()) or "none"
    web = f" web_config={config.web.config_file}" if config.web.config_file else ""
    print(f"config ok: cloud={config.azure.cloud} sources={enabled}{web}")  # noqa: T201 - CLI output
    return 0


def collect_once(config: Config) -> int:
    exporter = Exporter(config, revision=build_revision())
    results = exporter.refresh_all_once()
    sys.stdout.write(generate_latest(exporter.registry).decode())
    exporter.stop()
    failed = sorted(name for name, ok in results.items() if not ok)
    if failed:
        logger.error("collect failed sources=%s", ",".join(failed))
        return 1
    return 0


def _without_waiting_for_stragglers(code: int) -> int:
    """Exit now if a call outlived the refresh timeout: Python would otherwise wait for its
    worker thread at exit, and `collect --once` must end within its timeout."""
    grace = time.monotonic() + 1.0  # idle pool workers leave as soon as their pool is shut down
    stragglers = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for thread in stragglers:
        thread.join(max(0.0, grace - time.monotonic()))
    stragglers = [t for t in stragglers if t.is_alive()]
    if stragglers:
        logger.warning("exiting without waiting for calls still running threads=%d", len(stragglers))
        sys.stdout.flush()
        logging.shutdown()
        os._exit(code)
    return code


def serve(config: Config, *, ready: threading.Event | None = None) -> int:
    exporter = Exporter(config, revision=build_revision())
    stop = threading.Event()

    def _handle(signum: int, _frame: FrameType | None) -> None:
        logger.info("shutting down signal=%s", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _handle)
        signal.signal(signal.SIGINT, _handle)
    try:
        exporter.start()
    except OSError as exc:
        logger.error("cannot listen address=%s error=%r", config.web.listen_address, exc.strerror)  # noqa: TRY400
        return 2
    except WebConfigError as exc:
        logger.error("web config invalid file=%s errors=%r", config.web.config_file, exc.errors)  # noqa: TRY400
        return 2
    if ready:
        ready.set()
    stop.wait()
    exporter.stop()
    return 0
