"""The running simulator: two listeners, shared state, and the handles tests use."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from exporter.simulator import routes, sources
from exporter.simulator.clock import SimClock
from exporter.simulator.faults import FaultInjector
from exporter.simulator.requestlog import RequestLog
from exporter.simulator.router import Router
from exporter.simulator.scenario import Scenario, load_scenario
from exporter.simulator.server import Dispatcher, SimHTTPServer
from exporter.simulator.state import ScenarioState, TokenStore
from exporter.simulator.tls import make_tls

log = logging.getLogger("exporter.simulator")

if TYPE_CHECKING:
    from azure.identity import ClientSecretCredential


class Simulator:
    """A running simulator. Build it with :func:`start`; stop it with :meth:`stop` or ``with``."""

    def __init__(self, scenario: Scenario, host: str, https_port: int, http_port: int) -> None:
        ident = scenario.section("identity")
        clock = SimClock(scenario.start_time, scenario.speed)
        self.faults = FaultInjector()
        for rule in scenario.faults:
            self.faults.add(rule)
        self.requests = RequestLog()
        self.clock = clock
        tokens = TokenStore(clock, ident["tenant_id"], float(ident["token_lifetime_seconds"]))
        self.state = ScenarioState(scenario, clock, tokens, self.faults, self.requests)
        self.router = Router()
        routes.register_all(self.router)
        sources.register_all(self.router)
        self._tls = make_tls(host)
        dispatcher = Dispatcher(self.router, self.state)
        self._dispatcher = dispatcher
        https = SimHTTPServer((host, https_port), dispatcher, "https", self._tls.context)
        try:
            http = SimHTTPServer((host, http_port), dispatcher, "http", None)
        except OSError:
            https.server_close()
            self._tls.tmpdir.cleanup()
            raise
        self._servers = [https, http]
        self.state.base_url = self._servers[0].url
        self.state.imds_url = self._servers[1].url
        self.state.ca_path = self._tls.ca_path
        self._threads: list[threading.Thread] = []
        self._stopped = False

    def _serve(self) -> None:
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"azsim-{server.listener}"
            )
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
        log.info("simulator listening base_url=%s imds_url=%s", self.base_url, self.imds_url)

    @property
    def base_url(self) -> str:
        return self.state.base_url

    @property
    def imds_url(self) -> str:
        return self.state.imds_url

    @property
    def ca_path(self) -> Path:
        return self._tls.ca_path

    @property
    def tenant_id(self) -> str:
        return str(self.state.identity["tenant_id"])

    @property
    def client_id(self) -> str:
        return str(self.state.identity["client_id"])

    @property
    def client_secret(self) -> str:
        return str(self.state.identity["client_secret"])

    @property
    def subscription_ids(self) -> list[str]:
        return self.state.subscription_ids

    def info(self) -> dict[str, Any]:
        return self.state.info()

    def credential(self, client_secret: str | None = None) -> ClientSecretCredential:
        """A real azure-identity credential that gets its tokens from this simulator.

        Instance discovery is off: MSAL would otherwise ask login.microsoftonline.com about us.
        """
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(
            self.tenant_id,
            self.client_id,
            self.client_secret if client_secret is None else client_secret,
            authority=self.base_url,
            disable_instance_discovery=True,
            connection_verify=str(self.ca_path),
        )

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._dispatcher.stopping.set()  # releases "timeout" and "latency" faults early
        for server in self._servers:
            server.shutdown()
            server.drop_connections()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._tls.tmpdir.cleanup()
        log.info("simulator stopped")

    def __enter__(self) -> Simulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start(
    scenario: str | Path | Mapping[str, Any] | Scenario | None = None,
    host: str = "127.0.0.1",
    https_port: int = 0,
    http_port: int = 0,
) -> Simulator:
    """Start a simulator on background threads; ports 0 pick free ephemeral ports."""
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    sim = Simulator(loaded, host, https_port, http_port)
    sim._serve()
    return sim
