"""HTTP: `/metrics` (text or OpenMetrics, gzip on request), `/healthz`, `/readyz` and a landing page.

The metrics path only renders what the background refresh stored; it never calls Azure.
"""

from __future__ import annotations

import gzip
import html
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import choose_encoder, gzip_accepted

from exporter import __version__
from exporter.core.render import FamilyFilter, Renderer
from exporter.core.state import SourceState

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _ThreadingWSGIServer6(_ThreadingWSGIServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    # The body goes out as several writes (headers, then cached chunks): no Nagle stall between.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Access logs would be one line per scrape; deliberately silent."""


def make_app(
    registry: CollectorRegistry, states: Sequence[SourceState], renderer: Renderer | None = None
) -> WsgiApp:
    # The renderer serves scrapes from its per-snapshot cache; `name[]` selects families from the
    # full registry; the registry app answers OPTIONS and other methods.
    registry_app = make_wsgi_app(registry)

    def metrics(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if renderer is None or environ.get("REQUEST_METHOD") != "GET":
            return registry_app(environ, start_response)  # type: ignore[no-any-return]
        encoder, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
        names = parse_qs(environ.get("QUERY_STRING", "")).get("name[]")
        compress = gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", ""))
        if names:
            body = encoder(FamilyFilter(registry, set(names)))
            chunks = [gzip.compress(body, compresslevel=1) if compress else body]
        else:
            # Cached chunks (gzip members when compressed), written one after the other.
            chunks = renderer.body(encoder, content_type, gzip=compress)
        headers = [("Content-Type", content_type)]
        if compress:
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(sum(map(len, chunks)))))
        start_response("200 OK", headers)
        return chunks

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/healthz":
            return _text(start_response, "200 OK", "ok\n")
        if path == "/readyz":
            # Ready once every enabled source has finished its first refresh, successful or not:
            # a source failing against Azure must stay visible (source_up 0), not be hidden.
            pending = [s.name for s in states if not s.view().attempted]
            if pending:
                return _text(
                    start_response, "503 Service Unavailable", f"waiting for: {', '.join(pending)}\n"
                )
            return _text(start_response, "200 OK", "ready\n")
        if path == "/":
            return _landing(start_response, states)
        return _text(start_response, "404 Not Found", "not found\n")

    return app


def _text(start_response: StartResponse, status: str, body: str) -> list[bytes]:
    data = body.encode()
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]


def _landing(start_response: StartResponse, states: Sequence[SourceState]) -> list[bytes]:
    rows = "".join(
        f"<tr><td>{html.escape(v.name)}</td><td>{'up' if v.up else 'down'}</td><td>{v.interval:g}s</td></tr>"
        for v in (s.view() for s in states)
    )
    page = (
        "<!doctype html><html><head><title>azure-update-exporter</title></head><body>"
        f"<h1>azure-update-exporter {html.escape(__version__)}</h1>"
        '<ul><li><a href="/metrics">/metrics</a></li><li><a href="/healthz">/healthz</a></li>'
        '<li><a href="/readyz">/readyz</a></li></ul>'
        "<h2>Enabled sources</h2><table><tr><th>source</th><th>last refresh</th><th>interval</th></tr>"
        f"{rows}</table>"
        "</body></html>"
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(page)))]
    )
    return [page]


class HttpServer:
    def __init__(self, host: str, port: int, app: WsgiApp) -> None:
        server_class: type[_ThreadingWSGIServer] = (
            _ThreadingWSGIServer6 if ":" in host else _ThreadingWSGIServer
        )
        self._server = make_server(host, port, app, server_class, handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
