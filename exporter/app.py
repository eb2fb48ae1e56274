"""Wires configuration, sources, the scheduler, the collector and the HTTP server together."""

from __future__ import annotations

import gc
import logging
import socket
import sys
import threading
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from exporter.azure.clients import AzureContext
from exporter.azure.policies import AzureStats
from exporter.config import Config, parse_listen_address
from exporter.core.collector import ExporterCollector
from exporter.core.registry import all_specs
from exporter.core.render import Renderer
from exporter.core.scheduler import Scheduler, SourceRunner
from exporter.core.sharding import Shard
from exporter.core.state import SourceState
from exporter.server import HttpServer, make_app

log = logging.getLogger("exporter.app")
SWITCH_INTERVAL = 0.0005
GC_THRESHOLDS = (10_000, 10, 100)


@dataclass
class Exporter:
    config: Config
    revision: str = "unknown"
    stats: AzureStats = field(default_factory=AzureStats)

    def __post_init__(self) -> None:
        specs = all_specs()
        self.states = [
            SourceState(spec=specs[name], interval=src.interval, timeout=src.timeout, options=src.options)
            for name, src in self.config.sources.items()
            if src.enabled
        ]
        self._azure: AzureContext | None = None
        self._azure_lock = threading.Lock()
        self._renderer: Renderer | None = None
        self.runners = [
            SourceRunner(state, self.stats, self.azure, encode=self._encode) for state in self.states
        ]
        self.scheduler = Scheduler(self.runners)
        # `runtime` holds prometheus-client's process/platform/gc collectors; `registry` is the
        # complete view (collect --once, name[] filtering, tests); the renderer serves scrapes.
        self.runtime = CollectorRegistry(auto_describe=False)
        self.registry = CollectorRegistry(auto_describe=False)
        runtime_collectors = (
            ProcessCollector(registry=self.runtime),
            PlatformCollector(registry=self.runtime),
            GCCollector(registry=self.runtime),
        )
        for runtime_collector in runtime_collectors:
            self.registry.register(runtime_collector)
        self.shard = Shard(self.config.sharding.shard, self.config.sharding.total_shards)
        self.collector = ExporterCollector(self.states, self.stats, revision=self.revision, shard=self.shard)
        self.registry.register(self.collector)
        self.renderer = self._renderer = Renderer(self.collector, self.runtime)
        self._server: HttpServer | None = None

    def _encode(self, state: SourceState, snapshot: object) -> object:
        return self._renderer.encode(state, snapshot) if self._renderer is not None else None

    def azure(self) -> AzureContext:
        with self._azure_lock:
            if self._azure is None:
                self._azure = AzureContext(self.config.azure, self.stats, self.shard)
            return self._azure

    def refresh_all_once(self) -> dict[str, bool]:
        return {runner.state.name: runner.refresh_once() for runner in self.runners}

    def start(self, *, serve: bool = True, schedule: bool = True) -> None:
        tune_interpreter()
        if serve:
            host, port = parse_listen_address(self.config.web.listen_address)
            self._server = HttpServer(
                host,
                port,
                make_app(self.registry, self.states, self.renderer),
                web_config_file=self.config.web.config_file,
            )
            self._server.start()
            log.info(
                "listening address=%s tls=%s sources=%s",
                f"{_display_host(host)}:{self._server.port}",
                str(self._server.tls).lower(),
                ",".join(s.name for s in self.states) or "none",
            )
        if schedule:
            self.scheduler.start()

    @property
    def port(self) -> int | None:
        return self._server.port if self._server else None

    def stop(self) -> None:
        self.scheduler.stop()
        if self._server:
            self._server.stop()
        if self._azure:
            self._azure.close()


def tune_interpreter() -> None:
    """Keep scrapes fast while a refresh builds and encodes hundreds of thousands of objects.

    - A scrape gives up the GIL at every socket call and waits up to the switch interval to get it
      back from a refresh thread: 0.5 ms instead of 5 ms.
    - The cyclic garbage collector's full collections walk every tracked object while holding the
      GIL (about 100 ms per 100k series). The objects alive at start (modules, clients, config)
      are frozen out of those walks, and collections run after 10,000 allocations instead of 700,
      with a full collection considered 10 times less often: none in a typical refresh. The big
      structures (snapshots, metric families) have no reference cycles and are freed by
      reference counting anyway.
    """
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host
