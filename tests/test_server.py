"""The HTTP surface: content negotiation, gzip, health and readiness, landing page."""

from __future__ import annotations

import gzip
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message

import pytest
from prometheus_client import CollectorRegistry

from exporter.azure.policies import AzureStats
from exporter.core.collector import ExporterCollector
from exporter.core.render import Renderer
from exporter.server import HttpServer, make_app
from tests.core.fakes import ScriptedFetch, Snap, make_runner


@pytest.fixture
def served() -> Iterator[tuple[str, object, threading.Event]]:
    gate = threading.Event()
    fetch = ScriptedFetch()

    def slow_first(ctx):
        gate.wait(5)
        return Snap(4.0, ctx.now())

    fetch.script.append(slow_first)
    runner = make_runner(fetch)
    registry = CollectorRegistry(auto_describe=False)
    collector = ExporterCollector([runner.state], AzureStats())
    registry.register(collector)
    server = HttpServer("127.0.0.1", 0, make_app(registry, [runner.state], Renderer(collector)))
    server.start()
    yield f"http://127.0.0.1:{server.port}", runner, gate
    gate.set()
    server.stop()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    # Header names are case-insensitive (HTTP/2 and h11 send them lower-case): keep the Message.
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_readyz_waits_for_first_refresh_then_healthz(served):
    base, runner, gate = served
    assert get(f"{base}/healthz")[0] == 200
    status, _, body = get(f"{base}/readyz")
    assert status == 503
    assert b"fake" in body
    worker = threading.Thread(target=runner.refresh_once)
    worker.start()
    gate.set()
    worker.join(5)
    assert get(f"{base}/readyz")[0] == 200


def test_readyz_is_ready_after_a_failed_first_refresh(served):
    base, runner, gate = served
    runner.state.timeout = 0.05  # the first refresh times out: attempted, failed, still "ready"
    runner.refresh_once()
    assert get(f"{base}/readyz")[0] == 200
    gate.set()


def test_metrics_text_openmetrics_and_gzip(served):
    base, runner, gate = served
    gate.set()
    runner.refresh_once()
    status, headers, body = get(f"{base}/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"fake_value 4.0" in body
    _, headers, body = get(f"{base}/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})
    assert headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")
    _, headers, body = get(f"{base}/metrics", {"Accept-Encoding": "gzip"})
    assert headers.get("Content-Encoding") == "gzip"
    assert b"fake_value 4.0" in gzip.decompress(body)


def test_landing_page_and_404(served):
    base, _, gate = served
    gate.set()
    status, _, body = get(f"{base}/")
    assert status == 200
    assert b'href="/metrics"' in body
    assert b"<td>fake</td>" in body
    assert get(f"{base}/nope")[0] == 404


def test_name_filter_is_served_from_the_registry(served):
    base, runner, gate = served
    gate.set()
    runner.refresh_once()
    _, _, body = get(f"{base}/metrics?name[]=fake_value")
    assert body.decode().strip().splitlines()[-1] == "fake_value 4.0"
    assert b"azure_update_exporter_source_up" not in body


def test_a_request_touches_the_scrape_gate_and_is_marked_while_served():
    from exporter.core.gil import GATE

    seen: list[int] = []

    def app(environ, start_response):
        seen.append(GATE.active)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    server = HttpServer("127.0.0.1", 0, app)
    server.start()
    try:
        before = GATE._touched_until
        status, _, body = get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.stop()
    assert (status, body) == (200, b"ok")
    assert seen == [1]  # refresh checkpoints wait while the response is produced and written
    assert GATE.active == 0
    assert GATE._touched_until > before  # the loop touched the gate when the request arrived


def test_an_uncompressed_scrape_streams_the_inflated_members_with_their_length():
    from exporter.core.render import Inflated

    fetch = ScriptedFetch()
    fetch.script.append(lambda ctx: Snap(4.0, ctx.now()))
    runner = make_runner(fetch, uses_now=False)  # all static: served from the cached member
    registry = CollectorRegistry(auto_describe=False)
    collector = ExporterCollector([runner.state], AzureStats())
    registry.register(collector)
    renderer = Renderer(collector)
    runner._encode = renderer.encode
    assert runner.refresh_once()
    from prometheus_client.exposition import choose_encoder

    encoder, content_type = choose_encoder("")
    assert any(isinstance(part, Inflated) for part in renderer.body(encoder, content_type, gzip=False))
    server = HttpServer("127.0.0.1", 0, make_app(registry, [runner.state], renderer))
    server.start()
    try:
        status, headers, body = get(f"http://127.0.0.1:{server.port}/metrics")
        _, _, compressed = get(f"http://127.0.0.1:{server.port}/metrics", {"Accept-Encoding": "gzip"})
    finally:
        server.stop()
    assert status == 200
    assert int(headers["Content-Length"]) == len(body)
    static = [line for line in body.split(b"\n") if line.startswith(b"fake_")]
    assert static
    assert static == [line for line in gzip.decompress(compressed).split(b"\n") if line.startswith(b"fake_")]
