"""Threaded HTTP(S) listeners, dispatch to routes, and the fault behaviours on the wire."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from exporter.simulator.arm_helpers import SimError
from exporter.simulator.errors import arm_error, arm_fault_body
from exporter.simulator.faults import FaultRule
from exporter.simulator.requestlog import NO_RESPONSE, LoggedRequest
from exporter.simulator.router import CIDict, Handler, Listener, Router, SimRequest, SimResponse
from exporter.simulator.state import ScenarioState

log = logging.getLogger("exporter.simulator")

# A JSON document cut off mid-way, as a dropped proxy connection would deliver it.
MALFORMED_BODY = b'{"value":[{"id":"/subscriptions/6f1c0b0e-2c5a-4b3e-9a51-3f0d2d7c1a10","displayName":"Con'
HANDSHAKE_TIMEOUT = 10.0
IDLE_KEEPALIVE_TIMEOUT = 30.0
MAX_BODY = 16 * 1024 * 1024
# Harness polling must not show up in the counts it is polling.
UNLOGGED_ROUTES = frozenset({"control"})


@dataclass
class Dispatcher:
    router: Router
    state: ScenarioState
    stopping: threading.Event = field(default_factory=threading.Event)


class SimHTTPServer(ThreadingHTTPServer):
    """One listener. TLS is set up per connection on the worker thread, so a slow or failing
    handshake (a client that does not trust our CA) never blocks ``accept``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], dispatcher: Dispatcher, listener: Listener, tls: ssl.SSLContext | None
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.dispatcher = dispatcher
        self.listener: Listener = listener
        self.tls = tls
        self._open: set[socket.socket] = set()
        self._to_abort: set[int] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{shown}:{port}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        conn: socket.socket = request
        if self.tls is not None:
            request.settimeout(HANDSHAKE_TIMEOUT)
            try:
                conn = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.debug("tls handshake failed peer=%s error=%s", client_address, exc)
                return
        with self._lock:
            self._open.add(conn)
        try:
            _Handler(conn, client_address, self)
        except OSError as exc:  # the client went away mid-request
            log.debug("connection error peer=%s error=%s", client_address, exc)
        finally:
            with self._lock:
                self._open.discard(conn)
            self._close(conn)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver would print a traceback to stderr; keep the simulator quiet.
        log.debug("request failed peer=%s", client_address, exc_info=True)

    def shutdown_request(self, request: Any) -> None:
        # finish_request already closed it (abortively when asked to); just release the fd.
        request.close()

    def abort_on_close(self, conn: socket.socket) -> None:
        with self._lock:
            self._to_abort.add(id(conn))

    def _close(self, conn: socket.socket) -> None:
        with self._lock:
            abort = id(conn) in self._to_abort
            self._to_abort.discard(id(conn))
        try:
            if abort:
                # SO_LINGER 0 makes close() send RST instead of FIN: a "connection reset by peer".
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        conn.close()

    def drop_connections(self) -> None:
        """Wake idle keep-alive workers at stop so they exit instead of serving on."""
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as azure-core and requests expect
    server_version = "azure-update-exporter-simulator"
    sys_version = ""
    timeout = IDLE_KEEPALIVE_TIMEOUT
    # Headers and body used to leave in two writes: with Nagle's algorithm on, the body waited for
    # the client's delayed ACK of the headers (~40 ms per reply). One write, and no Nagle.
    disable_nagle_algorithm = True
    server: SimHTTPServer

    def parse_request(self) -> bool:
        # The request line has just been read: a latency fault counts from here (headers, body,
        # routing and the handler are all part of the reply's time).
        self._arrived = time.monotonic()
        return super().parse_request()

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("http %s", format % args)

    def _handle(self) -> None:
        dispatcher = self.server.dispatcher
        state = dispatcher.state
        split = urlsplit(self.path)
        path = unquote(split.path) or "/"
        body = self._read_body()
        match = dispatcher.router.match(self.command, path, self.server.listener)
        route_name = match.route.name if match.route else "unknown"
        req = SimRequest(
            method=self.command,
            path=path,
            query=CIDict(dict(parse_qsl(split.query, keep_blank_values=True))),
            headers=CIDict(dict(self.headers.items())),
            body=body,
            params=match.params,
            route=route_name,
            listener=self.server.listener,
            base_url=self._base_url(),
        )
        fault = state.faults.pick(route_name, path) if match.route else None
        response = self._respond(req, match.route.handler if match.route else None, match.allowed, fault)
        # Log before answering: a client that got its reply must find it in the log.
        if route_name not in UNLOGGED_ROUTES:
            status = response.status if response else NO_RESPONSE
            kind = fault.kind if fault else None
            state.requests.record(
                LoggedRequest(
                    route_name,
                    self.command,
                    path,
                    status,
                    state.clock.now(),
                    kind,
                    self.headers.get("User-Agent", ""),
                )
            )
        if response is not None:
            self._send(response, truncate=fault is not None and fault.kind == "truncated")
            return
        self.close_connection = True
        if fault is not None and fault.kind == "timeout":
            dispatcher.stopping.wait(fault.timeout_seconds)
        else:  # reset
            self.server.abort_on_close(self.connection)

    def _respond(
        self, req: SimRequest, handler: Handler | None, allowed: tuple[str, ...], fault: FaultRule | None
    ) -> SimResponse | None:
        """The response to send, or None to send nothing (timeout and reset faults)."""
        dispatcher = self.server.dispatcher
        started = getattr(self, "_arrived", time.monotonic())
        if fault is not None and fault.kind not in ("latency", "truncated"):
            return _fault_response(fault, req, dispatcher)
        if handler is None:
            response = _not_routed(req, allowed)
        else:
            try:
                response = handler(req, dispatcher.state)
            except SimError as exc:
                response = exc.response
            except Exception:
                log.exception("route handler failed route=%s path=%s", req.route, req.path)
                response = arm_error(
                    500, "InternalServerError", "The simulator failed to handle the request."
                )
        if fault is not None and fault.kind == "latency":
            # A service's latency is the time its reply takes, its own work included: only the
            # rest is waited (the simulator's CPU on a shared machine is not added on top).
            dispatcher.stopping.wait(max(0.0, fault.seconds - (time.monotonic() - started)))
        return response

    def _send(self, response: SimResponse, *, truncate: bool = False) -> None:
        """Answer `response`; `truncate` sends the full Content-Length but half the body, then
        closes (a body cut off mid-transfer)."""
        payload, content_type = response.encode()
        self.send_response(response.status)
        headers = {k.lower(): (k, v) for k, v in response.headers.items()}
        if self.server.listener == "https":
            client_corr = self.headers.get("x-ms-correlation-request-id")
            request_id = str(uuid.uuid4())
            headers.setdefault("x-ms-request-id", ("x-ms-request-id", request_id))
            headers.setdefault(
                "x-ms-correlation-request-id", ("x-ms-correlation-request-id", client_corr or request_id)
            )
            stamp = self.server.dispatcher.state.clock.now().strftime("%Y%m%dT%H%M%SZ")
            routing = f"SIMULATOR:{stamp}:{request_id}"
            headers.setdefault("x-ms-routing-request-id", ("x-ms-routing-request-id", routing))
        if content_type and "content-type" not in headers:
            headers["content-type"] = ("Content-Type", content_type)
        headers["content-length"] = ("Content-Length", str(len(payload)))
        for name, value in headers.values():
            self.send_header(name, value)
        if truncate:
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
            return
        # end_headers() would flush the headers on their own; send them with the body instead
        # (http.server keeps them in _headers_buffer until flush_headers()).
        pending: list[bytes] = self._headers_buffer  # type: ignore[attr-defined]
        pending.append(b"\r\n")
        if self.command != "HEAD" and payload:
            pending.append(payload)
        self.flush_headers()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _base_url(self) -> str:
        # Links we hand out point back at the name the client used to reach us.
        host = self.headers.get("Host")
        scheme = "https" if self.server.listener == "https" else "http"
        return f"{scheme}://{host}" if host else self.server.url


def _fault_response(fault: FaultRule, req: SimRequest, dispatcher: Dispatcher) -> SimResponse | None:
    if fault.kind in ("timeout", "reset"):
        return None
    if fault.kind == "malformed":
        return SimResponse(200, MALFORMED_BODY, {"Content-Type": "application/json"})
    if fault.kind == "empty":
        return SimResponse(200, b"", {"Content-Type": "application/json"})
    builder = dispatcher.router.fault_body(req.route) or arm_fault_body
    response = builder(fault.status, req, dispatcher.state)
    if fault.retry_after is not None:
        ra = fault.retry_after
        response.headers["Retry-After"] = str(int(ra)) if float(ra).is_integer() else str(ra)
    return response


def _not_routed(req: SimRequest, allowed: tuple[str, ...]) -> SimResponse:
    if allowed:
        msg = f"The requested resource does not support http method '{req.method}'."
        return arm_error(
            405, "UnsupportedHttpMethod", msg, headers={"Allow": ", ".join(sorted(set(allowed)))}
        )
    msg = f"The request path '{req.path}' does not match any route of the simulator."
    return arm_error(404, "NotFound", msg)
