"""One HTTP session for every Azure client of the process, with its environment read once.

requests re-reads the environment on every call: `~/.netrc` (for an Authorization it would then
put over our bearer token), the proxy variables with their `no_proxy` matching, and
`REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE`. That was 13 % of the exporter's CPU per Azure request.
`SettledSession` asks requests once per (scheme, host, settings) and reuses the answer: the
same proxies and CA bundle as before, TLS verification untouched; the environment of a running
process does not change. One session for all clients also means one connection pool per host,
so 50 subscriptions' clients reuse the same TLS connections instead of handshaking 50 times.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from azure.core.pipeline.transport import RequestsTransport

# What azure-core mounts on the sessions it builds (larger socket reads than requests' 4 KiB).
from azure.core.pipeline.transport._requests_basic import (  # type: ignore[attr-defined]
    BiggerBlockSizeHTTPAdapter,
)
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.util.retry import Retry

from exporter.core.gil import GATE

if TYPE_CHECKING:
    from requests.sessions import _Settings

# Kept connections per host; more concurrent requests still work (extra connections are closed).
POOL_SIZE = 64


class _NoNetrc(AuthBase):
    """Session-level auth that changes nothing: its presence stops requests' netrc lookup."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class SettledAdapter(BiggerBlockSizeHTTPAdapter):
    """azure-core's adapter, with each host's connection pool key worked out once.

    requests builds it on every call, and with a CA bundle path (`azure.ca_bundle`, Azure Stack
    Hub, the simulator) that includes an `os.path.isdir` of the bundle; `cert_verify` checks the
    bundle (exists, isdir) on every call too. Each is a system call per request, which gives the
    GIL away and waits to get it back while a refresh is busy; the answers are kept per bundle,
    like the rest of the environment (a missing bundle still fails the first call).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool_keys: dict[tuple[Any, ...], tuple[Any, Any]] = {}
        # CA bundle path -> is a directory; checked (exists, isdir) by requests on every call.
        self._bundles: dict[str, bool] = {}

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if cert or not verify or not url.lower().startswith("https"):
            HTTPAdapter.cert_verify(self, conn, url, verify, cert)  # type: ignore[no-untyped-call]
            return
        bundle = verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH
        is_dir = self._bundles.get(bundle)
        if is_dir is None:
            # Raises if the bundle is missing.
            HTTPAdapter.cert_verify(self, conn, url, verify, cert)  # type: ignore[no-untyped-call]
            self._bundles[bundle] = Path(bundle).is_dir()
            return
        conn.cert_reqs = "CERT_REQUIRED"
        if is_dir:
            conn.ca_cert_dir = bundle
        else:
            conn.ca_certs = bundle

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        parts = urlsplit(request.url or "")
        key = (parts.scheme.lower(), parts.netloc.lower(), verify, cert)
        built = self._pool_keys.get(key)
        if built is None:
            built = super().build_connection_pool_key_attributes(request, verify, cert)
            self._pool_keys[key] = built
        host, pool = built
        return dict(host), dict(pool)  # copies: urllib3 may add to them


class SettledSession(requests.Session):
    def __init__(self, pool_size: int = POOL_SIZE) -> None:
        super().__init__()
        self.auth = _NoNetrc()
        self._settled: dict[tuple[Any, ...], _Settings] = {}
        self._lock = threading.Lock()
        # What azure-core mounts on the sessions it creates: retries are the pipeline's job.
        no_retries = Retry(total=False, redirect=False, raise_on_status=False)
        adapter = SettledAdapter(max_retries=no_retries, pool_connections=pool_size, pool_maxsize=pool_size)
        for prefix in ("http://", "https://"):
            self.mount(prefix, adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        # Each call is a checkpoint where a refresh steps aside for a scrape (exporter.core.gil).
        GATE.checkpoint()
        response = super().send(request, **kwargs)
        GATE.checkpoint()
        return response

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        parts = urlsplit(url.decode() if isinstance(url, bytes) else (url or ""))
        key = (parts.scheme, parts.netloc, tuple(sorted((proxies or {}).items())), stream, verify, cert)
        with self._lock:
            settled = self._settled.get(key)
        if settled is None:
            # requests fills the proxies it is given from the environment: give it a copy.
            given = dict(proxies) if proxies is not None else None
            settled = super().merge_environment_settings(url, given, stream, verify, cert)
            with self._lock:
                self._settled[key] = settled
        copy = settled.copy()
        copy["proxies"] = dict(settled["proxies"] or {})
        return copy


def shared_transport(session: requests.Session, **connection: Any) -> RequestsTransport:
    """A transport over the shared session; closing a client leaves the session open."""
    return RequestsTransport(session=session, session_owner=False, **connection)
