"""Server TLS contexts from `tls_server_config`, rebuilt when the web-config or certificate files change.

The toolkit re-reads its files on every handshake. Here every new connection compares the
files' (inode, size, mtime) with those of the context in use and builds a new context only when
one changed, so a certificate renewed on disk (cert-manager, a Kubernetes Secret update) is
served from the next connection on, without a restart and without re-reading files per scrape.
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exporter.web.config import TlsSettings, WebConfigError, WebSettings

log = logging.getLogger("exporter.web")

Signature = tuple[tuple[str, int, int, int], ...]


def build_context(tls: TlsSettings, *, http2: bool) -> ssl.SSLContext:
    """A server-side context; raises OSError/ssl.SSLError when a file does not load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = tls.min_version
    context.maximum_version = tls.max_version
    _load_certificate(context, tls)
    if tls.openssl_ciphers:
        context.set_ciphers(":".join(tls.openssl_ciphers))
    if tls.prefer_server_cipher_suites:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if tls.ecdh_curve:
        context.set_ecdh_curve(tls.ecdh_curve)
    context.verify_mode = tls.verify_mode
    if tls.client_ca_file is not None:
        context.load_verify_locations(cafile=str(tls.client_ca_file))
    elif tls.client_ca_pem:
        context.load_verify_locations(cadata=tls.client_ca_pem)
    context.set_alpn_protocols(["h2", "http/1.1"] if http2 else ["http/1.1"])
    return context


def _load_certificate(context: ssl.SSLContext, tls: TlsSettings) -> None:
    if tls.cert_pem is None and tls.key_pem is None:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
        return
    # load_cert_chain only reads files: inline PEM goes through a private, immediately removed directory.
    with tempfile.TemporaryDirectory(prefix="aue-tls-") as tmp:
        cert = tls.cert_file or _write_private(Path(tmp) / "cert.pem", tls.cert_pem or "")
        key = tls.key_file or _write_private(Path(tmp) / "key.pem", tls.key_pem or "")
        context.load_cert_chain(str(cert), str(key))


def _write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def file_signature(paths: tuple[Path, ...]) -> Signature:
    out = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            out.append((str(path), -1, -1, -1))
        else:
            out.append((str(path), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


class WebConfigWatcher:
    """The current WebSettings of a web-config file, re-read when the file changes.

    `current()` returns None while the file on disk is invalid: callers fail closed (500, no
    handshake), like the toolkit, and the error is logged once per broken version of the file.
    """

    def __init__(self, path: Path, loader: Callable[[Path], WebSettings]) -> None:
        self.path = path
        self._loader = loader
        self._lock = threading.Lock()
        self._signature: Signature = ()
        self._settings: WebSettings | None = None
        self._reload()

    def _reload(self) -> None:
        signature = file_signature((self.path,))
        try:
            settings: WebSettings | None = self._loader(self.path)
        except WebConfigError as exc:
            if self._signature:  # at start the caller reports the errors itself
                log.error("web config invalid file=%s errors=%r", self.path, exc.errors)  # noqa: TRY400
            settings = None
        self._signature, self._settings = signature, settings

    def current(self) -> WebSettings | None:
        with self._lock:
            if file_signature((self.path,)) != self._signature:
                self._reload()
            return self._settings


class ReloadingServerContext(ssl.SSLContext):
    """Hands each new connection to the context built from the files as they are now.

    asyncio's TLS transport calls `wrap_bio` once per accepted connection; everything negotiated
    (certificate, versions, ciphers, client verification) comes from the delegate context.
    """

    def __new__(cls, *_args: Any, **_kwargs: Any) -> ReloadingServerContext:
        return super().__new__(cls, ssl.PROTOCOL_TLS_SERVER)

    def __init__(self, watcher: WebConfigWatcher) -> None:
        super().__init__()
        self._watcher = watcher
        self._lock = threading.Lock()
        # (settings object, file signature) the context was built from; identity, not equality:
        # the watcher makes a new settings object on every re-read of the web-config file.
        self._built_from: tuple[WebSettings, Signature] | None = None
        self._context: ssl.SSLContext | None = None
        self._failed: tuple[WebSettings, Signature] | None = None

    def current(self) -> ssl.SSLContext:
        settings = self._watcher.current()
        if settings is None or settings.tls is None:
            return _refusing_context()
        signature = file_signature(settings.tls.files())
        with self._lock:
            if not _same(self._built_from, settings, signature):
                try:
                    self._context = build_context(settings.tls, http2=settings.http2)
                except (OSError, ssl.SSLError) as exc:
                    if not _same(self._failed, settings, signature):
                        log.error("tls certificate not loaded error=%r", str(exc))  # noqa: TRY400
                        self._failed = (settings, signature)
                    return _refusing_context()
                if self._built_from is not None:
                    log.info("tls context reloaded files=%s", ",".join(str(p) for p in settings.tls.files()))
                self._built_from = (settings, signature)
            assert self._context is not None
            return self._context

    def wrap_bio(  # type: ignore[override]
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        return self.current().wrap_bio(incoming, outgoing, server_side, server_hostname, session)


def _same(built: tuple[WebSettings, Signature] | None, settings: WebSettings, signature: Signature) -> bool:
    return built is not None and built[0] is settings and built[1] == signature


def _refusing_context() -> ssl.SSLContext:
    # No certificate: every handshake fails, which is what "no valid TLS configuration" must mean.
    return ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
