"""HTTP: `/metrics` (text or OpenMetrics, gzip on request), `/healthz`, `/readyz` and a landing page.

The metrics path only renders what the background refresh stored; it never calls Azure.
Served by Hypercorn (asyncio): slow and stalled clients hold no thread, the app runs on a
bounded worker pool, a request's headers must arrive within the idle timeout and fit in
MAX_HEADER_BYTES (else 431). `--web.config.file` adds TLS, basic auth and headers (exporter.web).
"""

from __future__ import annotations

import asyncio
import gzip
import html
import logging
import selectors
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import choose_encoder, gzip_accepted

from exporter import __version__
from exporter.core.gil import GATE
from exporter.core.render import Body, FamilyFilter, Part, Renderer
from exporter.core.state import SourceState
from exporter.web.asgi import WsgiOnPool
from exporter.web.config import WebConfigError, load_web_config
from exporter.web.guard import Guard
from exporter.web.tls import ReloadingServerContext, WebConfigWatcher

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

log = logging.getLogger("exporter.http")

# Bounds. Scrapes are a handful of small requests; nothing legitimate comes near these.
WORKERS = 8
IDLE_TIMEOUT = 10.0  # keep-alive idle time, and the deadline for a request's headers to arrive
HANDSHAKE_TIMEOUT = 10.0
# Waiting for a peer's TLS close_notify; asyncio's default of 30 s lets every idle keep-alive
# client hold a connection (and shutdown) that long.
TLS_SHUTDOWN_TIMEOUT = 2.0
GRACEFUL_TIMEOUT = 3.0
WRITE_TIMEOUT = 60.0  # one response to a client that reads slowly
MAX_HEADER_BYTES = 32 * 1024
MAX_BODY_BYTES = 64 * 1024
BACKLOG = 128


def make_app(
    registry: CollectorRegistry, states: Sequence[SourceState], renderer: Renderer | None = None
) -> WsgiApp:
    # The renderer serves scrapes from its per-snapshot cache; `name[]` selects families from the
    # full registry; the registry app answers OPTIONS and other methods. HEAD gets GET's headers
    # (the server drops the body).
    registry_app = make_wsgi_app(registry)

    def metrics(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if renderer is None or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return registry_app(environ, start_response)  # type: ignore[no-any-return]
        encoder, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
        names = parse_qs(environ.get("QUERY_STRING", "")).get("name[]")
        compress = gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", ""))
        chunks: list[Part]
        if names:
            body = encoder(FamilyFilter(registry, set(names)))
            chunks = [gzip.compress(body, compresslevel=1) if compress else body]
        else:
            # Cached chunks (gzip members when compressed), written one after the other.
            chunks = renderer.body(encoder, content_type, gzip=compress)
        headers = [("Content-Type", content_type)]
        if compress:
            headers.append(("Content-Encoding", "gzip"))
        body_parts = Body(chunks)
        headers.append(("Content-Length", str(len(body_parts))))
        start_response("200 OK", headers)
        return body_parts

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


class _Config(HypercornConfig):
    """Hypercorn settings whose TLS context is ours (reloading, web-config driven)."""

    def __init__(self, context: ReloadingServerContext | None) -> None:
        super().__init__()
        self._context = context

    @property
    def ssl_enabled(self) -> bool:
        return self._context is not None

    def create_ssl_context(self) -> ReloadingServerContext | None:
        return self._context


class HttpServer:
    """Binds at construction (so a taken port fails `Exporter.start`), serves in a thread."""

    def __init__(
        self,
        host: str,
        port: int,
        app: WsgiApp,
        *,
        web_config_file: str | Path | None = None,
        workers: int = WORKERS,
        idle_timeout: float = IDLE_TIMEOUT,
        write_timeout: float = WRITE_TIMEOUT,
    ) -> None:
        context: ReloadingServerContext | None = None
        if web_config_file:
            watcher = WebConfigWatcher(Path(web_config_file), load_web_config)
            settings = watcher.current()
            if settings is None:
                load_web_config(web_config_file)  # raises WebConfigError with every problem
                raise WebConfigError(["web config changed while starting"])
            app = Guard(app, watcher.current)
            if settings.tls is not None:
                context = ReloadingServerContext(watcher)
                context.current()  # fail now, not on the first handshake
            if not settings.http2 and settings.tls is None:
                log.debug("http_server_config.http2 has no effect without TLS")
        self.tls = context is not None
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind((host, port))
            self._sock.listen(BACKLOG)
        except OSError:
            self._sock.close()
            raise
        self._port = int(self._sock.getsockname()[1])
        self._app = WsgiOnPool(
            app,
            workers=workers,
            write_timeout=write_timeout,
            max_header_bytes=MAX_HEADER_BYTES,
            max_body_bytes=MAX_BODY_BYTES,
        )
        config = _Config(context)
        config.bind = [f"fd://{self._sock.fileno()}"]
        config.keep_alive_timeout = idle_timeout
        config.ssl_handshake_timeout = HANDSHAKE_TIMEOUT
        config.graceful_timeout = GRACEFUL_TIMEOUT
        config.h11_max_incomplete_size = MAX_HEADER_BYTES
        config.h2_max_header_list_size = MAX_HEADER_BYTES
        config.wsgi_max_body_size = MAX_BODY_BYTES
        config.include_server_header = False
        config.accesslog = None
        quiet = logging.getLogger("exporter.http.server")
        quiet.setLevel(logging.WARNING)  # not hypercorn's "Running on ... (CTRL + C to quit)"
        config.errorlog = quiet
        self._config = config
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="http", daemon=True)

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> None:
        self._thread.start()
        self._started.wait(10)

    def _run(self) -> None:
        loop = _EventLoop()
        loop.set_exception_handler(_quiet_connection_errors)
        self._loop = loop
        self._stopping = asyncio.Event()
        self._sock.detach()  # hypercorn owns the descriptor from here on (fd:// binding)
        loop.call_soon(self._started.set)
        try:
            loop.run_until_complete(
                serve(self._app, self._config, shutdown_trigger=self._stopping.wait, mode="asgi")  # type: ignore[arg-type]
            )
        finally:
            loop.close()

    def stop(self) -> None:
        if not self._thread.is_alive() and self._loop is None:
            self._sock.close()
            self._app.close()
            return
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(GRACEFUL_TIMEOUT + TLS_SHUTDOWN_TIMEOUT + 5)
        self._app.close()


class _TouchingSelector(selectors.DefaultSelector):
    """Touches the scrape gate whenever a socket of the server is ready (exporter.core.gil)."""

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready: list[tuple[selectors.SelectorKey, int]] = super().select(timeout)
        if ready:
            GATE.touch()
        return ready


class _EventLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        super().__init__(_TouchingSelector())

    async def create_server(self, *args: Any, **kwargs: Any) -> asyncio.Server:
        # Hypercorn's start_server call has no TLS shutdown timeout; this is where asyncio takes it.
        if kwargs.get("ssl") is not None:
            kwargs.setdefault("ssl_shutdown_timeout", TLS_SHUTDOWN_TIMEOUT)
        return await super().create_server(*args, **kwargs)


def _quiet_connection_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # Clients that drop mid-handshake or send junk are routine on a network; not errors of ours.
    if isinstance(context.get("exception"), OSError):
        log.debug("http connection error %s", context.get("message"))
        return
    loop.default_exception_handler(context)
