"""Runs the (WSGI) exporter app under Hypercorn's asyncio server on a bounded worker pool.

Why not Hypercorn's own WSGI mode: its worker thread waits for every write of the response to
reach the client, so a client that reads slowly holds a worker. Here a worker only produces the
response bytes (they are built in full anyway: cached exposition, gzip); the event loop writes
them, bounded by `write_timeout`, and slow or stalled clients hold no thread.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from exporter.core.gil import GATE
from exporter.core.render import Body

log = logging.getLogger("exporter.http")

WRITE_CHUNK = 256 * 1024

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class WsgiOnPool:
    def __init__(
        self, app: WsgiApp, *, workers: int, write_timeout: float, max_header_bytes: int, max_body_bytes: int
    ) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="http-worker")
        self.write_timeout = write_timeout
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        # Refresh loops step aside until this response is written (exporter.core.gil).
        with GATE.scrape():
            await self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        # h11 refuses a header block it is still waiting on beyond its limit, but one that arrives
        # complete in a single read passes it: this makes the cap exact.
        header_bytes = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
        if header_bytes > self.max_header_bytes:
            await _respond(send, 431, [(b"content-length", b"0"), (b"connection", b"close")], b"")
            return
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if len(body) > self.max_body_bytes:
                await _respond(send, 413, [(b"content-length", b"0")], b"")
                return
            if not message.get("more_body"):
                break
        environ = build_environ(scope, bytes(body))
        loop = asyncio.get_running_loop()
        status, headers, payload = await loop.run_in_executor(self.pool, _run_wsgi, self.app, environ)
        try:
            async with asyncio.timeout(self.write_timeout):
                await _respond(send, status, headers, payload)
        except TimeoutError:
            # Returning with the body incomplete makes Hypercorn close the connection.
            log.debug("http write timed out client=%s", scope.get("client"))

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


async def _respond(
    send: Send,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes | Sequence[bytes | Iterable[bytes]],
) -> None:
    # The body's chunks (cached exposition bytes) are written as they are, never joined, in
    # pieces of at most WRITE_CHUNK: each send waits for the socket to drain, so a client that
    # stops reading holds at most one piece in the transport's buffer.
    await send({"type": "http.response.start", "status": status, "headers": headers})
    for piece in pieces([body] if isinstance(body, bytes) else body):
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def pieces(chunks: Iterable[bytes | Iterable[bytes]], size: int = WRITE_CHUNK) -> Iterator[bytes]:
    """The chunks cut or gathered into pieces of about `size` bytes (small chunks are joined).

    A chunk that is not bytes is an iterable of pieces (a cached gzip member inflated for an
    uncompressed scrape, exporter.core.render.Inflated), produced only as they are written.
    """
    pending: list[bytes] = []
    pending_bytes = 0
    for chunk in chunks:
        if not isinstance(chunk, bytes):
            if pending:
                yield b"".join(pending)
                pending, pending_bytes = [], 0
            yield from chunk
            continue
        if len(chunk) >= size:
            if pending:
                yield b"".join(pending)
                pending, pending_bytes = [], 0
            view = memoryview(chunk)
            for start in range(0, len(chunk), size):
                yield bytes(view[start : start + size])
            continue
        pending.append(chunk)
        pending_bytes += len(chunk)
        if pending_bytes >= size:
            yield b"".join(pending)
            pending, pending_bytes = [], 0
    if pending:
        yield b"".join(pending)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _run_wsgi(
    app: WsgiApp, environ: Environ
) -> tuple[int, list[tuple[bytes, bytes]], list[bytes | Iterable[bytes]]]:
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [(status, headers)]
        return lambda _data: None

    try:
        result = app(environ, start_response)
        try:
            payload: list[bytes | Iterable[bytes]] = (
                list(result.parts) if isinstance(result, Body) else list(result)
            )
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception:
        log.exception("http handler failed path=%s", environ.get("PATH_INFO"))
        return 500, [(b"content-length", b"0")], []
    if not started:
        log.error("http handler sent no status path=%s", environ.get("PATH_INFO"))
        return 500, [(b"content-length", b"0")], []
    status, headers = started[0]
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    return int(status.split(" ", 1)[0]), raw, payload


def build_environ(scope: Scope, body: bytes) -> Environ:
    """PEP 3333 environ from an ASGI HTTP scope."""
    server = scope.get("server") or ("localhost", 0)
    client = scope.get("client") or ("", 0)
    environ: Environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "REMOTE_ADDR": str(client[0]),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif name == "CONTENT_LENGTH":
            environ["CONTENT_LENGTH"] = value
        else:
            key = f"HTTP_{name}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
