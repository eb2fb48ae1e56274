"""The server's bounds, probed the way an attacker or a broken client would: stalled requests,
huge header blocks, slow TLS handshakes; plus HEAD /metrics."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from exporter.server import MAX_HEADER_BYTES, WORKERS, HttpServer
from tests.web.support import make_pki, served, write_web_config

STALLED = 150
IDLE_TIMEOUT = 1.0


def open_stalled(port: int, count: int, first_bytes: bytes) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if first_bytes:
            sock.sendall(first_bytes)
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0.05)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def wait_all_closed(sockets: list[socket.socket], within: float) -> int:
    deadline = time.monotonic() + within
    open_ = list(sockets)
    while open_ and time.monotonic() < deadline:
        open_ = [s for s in open_ if not closed_by_server(s)]
    return len(open_)


@pytest.fixture
def plain():
    yield from served(None, idle_timeout=IDLE_TIMEOUT)


def test_stalled_half_requests_hold_no_threads_and_are_closed(plain):
    server, base = plain
    threads_before = threading.active_count()
    stalled = open_stalled(server.port, STALLED, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    try:
        started = time.perf_counter()
        response = requests.get(f"{base}/metrics", timeout=5)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200
        assert "fake_value" in response.text
        assert elapsed < 1.0, f"scrape took {elapsed:.2f}s behind {STALLED} stalled clients"
        # The worker pool is the only thread growth, whatever the number of connections.
        assert threading.active_count() <= threads_before + WORKERS
        # Headers must be complete within the idle timeout: the server hangs up on every one.
        assert wait_all_closed(stalled, within=IDLE_TIMEOUT + 4) == 0
    finally:
        for sock in stalled:
            sock.close()


def test_trickled_headers_do_not_extend_the_deadline(plain):
    server, _ = plain
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < IDLE_TIMEOUT + 4:
            try:
                sock.sendall(b"X-A: b\r\n")  # one header line every 0.2 s, never the blank line
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_by_server(sock):
                closed = True
                break
            time.sleep(0.2)
        assert closed
        assert time.monotonic() - started < IDLE_TIMEOUT + 3


@pytest.mark.parametrize("size", [MAX_HEADER_BYTES + 1024, 6 * 1024 * 1024])
def test_oversized_header_block_is_refused_with_431(plain, size):
    server, _ = plain
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        head = b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
        sent = 0
        try:
            sock.sendall(head)
            line = b"X-Filler: " + b"a" * 8000 + b"\r\n"
            while sent < size:
                sock.sendall(line)
                sent += len(line)
            sock.sendall(b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before we finished sending: what a cap is for
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except ConnectionResetError:
            pass
    assert received.startswith(b"HTTP/1.1 431"), received[:100]


def test_head_metrics_has_get_headers_and_no_body(plain):
    server, base = plain
    # One fixed family: the full exposition's length moves with process CPU seconds and the like.
    path = "/metrics?name[]=fake_value"
    length = len(requests.get(f"{base}{path}", timeout=5).content)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("HEAD", path)
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type", "").startswith("text/plain; version=0.0.4")
        assert int(response.getheader("Content-Length", "-1")) == length
        assert response.read() == b""
        # The connection stays usable: no stray body bytes were sent after the HEAD response.
        connection.request("GET", "/healthz")
        assert connection.getresponse().read() == b"ok\n"
    finally:
        connection.close()


def test_post_metrics_is_405(plain):
    _, base = plain
    assert requests.post(f"{base}/metrics", data=b"x", timeout=5).status_code == 405


def test_silent_tls_clients_do_not_block_handshakes(tmp_path: Path):
    pki = make_pki(tmp_path / "pki")
    config = {"tls_server_config": {"cert_file": "server.crt", "key_file": "server.key"}}
    for server, base in served(write_web_config(pki.directory, config), idle_timeout=IDLE_TIMEOUT):
        silent = open_stalled(server.port, 50, b"")  # TCP open, no ClientHello
        try:
            started = time.perf_counter()
            assert requests.get(f"{base}/metrics", verify=pki.ca_file, timeout=5).status_code == 200
            assert time.perf_counter() - started < 1.0
        finally:
            for sock in silent:
                sock.close()


def test_a_client_that_stops_reading_is_cut_off_after_the_write_timeout():
    body = b"x" * (64 * 1024 * 1024)  # far more than the kernel's socket buffers hold

    def big(environ, start_response):
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    server = HttpServer("127.0.0.1", 0, big, write_timeout=0.3)
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(1.0)  # not reading: the server's writes stall, then time out
            received = 0
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        assert 0 < received < len(body) // 2, received  # cut off, then closed (EOF)
    finally:
        server.stop()
