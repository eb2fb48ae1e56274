"""What the web-config file applies to every request, on every path: response headers, the rate
limit, then basic auth (401 with `WWW-Authenticate: Basic`), in the toolkit's order.

bcrypt is slow on purpose (about 70 ms at cost 10), so verifications are cached like the
toolkit does: a bounded map keyed by a SHA-256 of user, stored hash and password (plaintext
passwords are not kept), and at most one bcrypt comparison runs at a time so a flood of bad
passwords costs one core, not all of them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import bcrypt

from exporter.web.config import WebSettings

log = logging.getLogger("exporter.web")

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

CACHE_SIZE = 100
# Compared against when the user does not exist, so response time does not reveal valid user names
# (the toolkit's hash of "fakepassword").
_UNKNOWN_USER_HASH = b"$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"


class BasicAuth:
    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._bcrypt_lock = threading.Lock()
        self.bcrypt_calls = 0

    def check(self, users: Mapping[str, str], header: str) -> bool:
        credentials = _parse_basic(header)
        if credentials is None:
            return False
        user, password = credentials
        stored = users.get(user)
        hashed = stored.encode() if stored is not None else _UNKNOWN_USER_HASH
        key = hashlib.sha256(b"\0".join((user.encode(), hashed, password.encode()))).digest()
        verified = self._cached(key)
        if verified is None:
            with self._bcrypt_lock:
                # Scrapers that arrived together wait here for the first one's answer.
                verified = self._cached(key)
                if verified is None:
                    self.bcrypt_calls += 1
                    try:
                        verified = bcrypt.checkpw(password.encode(), hashed)
                    except ValueError:
                        verified = False
                    with self._cache_lock:
                        self._cache[key] = verified
                        while len(self._cache) > self._cache_size:
                            self._cache.popitem(last=False)
        return verified and stored is not None

    def _cached(self, key: bytes) -> bool | None:
        with self._cache_lock:
            verified = self._cache.get(key)
            if verified is not None:
                self._cache.move_to_end(key)
            return verified


def _parse_basic(header: str) -> tuple[str, str] | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class RateLimiter:
    """Token bucket: one token per `interval`, at most `burst` saved up (golang.org/x/time/rate)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens = 0.0
        self._last = time.monotonic()
        self._shape: tuple[float, int] = (0.0, 0)

    def allow(self, interval: float, burst: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._shape != (interval, burst):
                self._shape, self._tokens, self._last = (interval, burst), float(burst), now
            self._tokens = min(float(burst), self._tokens + (now - self._last) / interval)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class Guard:
    """Wraps a WSGI app with the web-config's headers, rate limit and basic auth."""

    def __init__(self, app: WsgiApp, current: Callable[[], WebSettings | None]) -> None:
        self.app = app
        self.current = current
        self.auth = BasicAuth()
        self.limiter = RateLimiter()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        settings = self.current()
        if settings is None:
            return _plain(start_response, "500 Internal Server Error", [], "web config invalid\n")
        headers = list(settings.headers)

        def with_headers(status: str, response_headers: list[tuple[str, str]], *exc: Any) -> Any:
            return start_response(status, [*response_headers, *headers], *exc)

        if settings.rate_interval > 0 and not self.limiter.allow(settings.rate_interval, settings.rate_burst):
            return _plain(start_response, "429 Too Many Requests", headers, "too many requests\n")
        if settings.users and not self.auth.check(settings.users, environ.get("HTTP_AUTHORIZATION", "")):
            challenge = [*headers, ("WWW-Authenticate", "Basic")]
            return _plain(start_response, "401 Unauthorized", challenge, "unauthorized\n")
        return self.app(environ, with_headers)


def _plain(
    start_response: StartResponse, status: str, headers: list[tuple[str, str]], body: str
) -> list[bytes]:
    data = body.encode()
    start_response(
        status,
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data))), *headers],
    )
    return [data]
