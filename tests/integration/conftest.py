"""Integration fixtures: the real exporter (credentials, SDK clients, scheduler, collector) against
the HTTPS simulator over real sockets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from exporter.app import Exporter
from exporter.config import from_dict, merge
from exporter.demo import simulator_config
from exporter.simulator import Simulator, start


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with start() as simulator:
        yield simulator


@pytest.fixture
def make_exporter(sim: Simulator) -> Iterator[Callable[..., Exporter]]:
    made: list[Exporter] = []

    def make(only: tuple[str, ...] = ("subscriptions",), **overrides: Any) -> Exporter:
        raw = simulator_config(sim.info(), "127.0.0.1:0")
        raw["sources"] = {name: {**raw["sources"].get(name, {}), "enabled": True} for name in only}
        raw = merge(raw, {"sources": {n: {"enabled": False} for n in _all_sources() if n not in only}})
        exporter = Exporter(from_dict(merge(raw, overrides)))
        made.append(exporter)
        return exporter

    yield make
    for exporter in made:
        exporter.stop()


def _all_sources() -> list[str]:
    from exporter.core.registry import all_specs

    return list(all_specs())


class ConnectionRecorder:
    """A TCP listener that only counts connections: the "other host" a hostile nextLink names.

    Any connection at all (TLS handshake or not) would mean the exporter tried to follow it.
    """

    def __init__(self) -> None:
        import socket
        import threading

        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.port}"  # another host name for the same loopback

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


@pytest.fixture
def foreign_host() -> Iterator[ConnectionRecorder]:
    recorder = ConnectionRecorder()
    yield recorder
    recorder.close()
