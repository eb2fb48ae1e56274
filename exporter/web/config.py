"""The exporter-toolkit web-config file: `tls_server_config`, `http_server_config`, `basic_auth_users`,
`rate_limit`, with the toolkit's keys, defaults and validation.

Every error names the dotted key; all errors are reported at once. Relative file names are
resolved against the directory of the web-config file, as the toolkit does.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Which headers may be set and, for the enumerated ones, to what: exporter-toolkit's
# `extraHTTPHeaders`, kept identical so one web-config works for every exporter.
ALLOWED_HEADERS: dict[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}

TLS_VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}

# Go's names (crypto/tls CipherSuites(), what the toolkit accepts) -> OpenSSL's. TLS 1.3 suites are
# not configurable in Go either; they are accepted and leave TLS 1.3 at its defaults.
CIPHER_SUITES: dict[str, str | None] = {
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
}

# Python's ssl module selects one ECDHE curve (SSLContext.set_ecdh_curve), not a preference list.
CURVES: dict[str, str] = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
}

# Go's tls.ClientAuthType names. Python's ssl verifies every client certificate it asks for, so the
# two "accept any certificate unverified" policies cannot be honoured and are refused, never weakened.
CLIENT_AUTH: dict[str, ssl.VerifyMode | None] = {
    "": ssl.CERT_NONE,
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
    "RequestClientCert": None,
    "RequireAnyClientCert": None,
    "RequireClientCert": None,
}

_BCRYPT = re.compile(r"^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$")
_GO_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h))+$")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

_TOP_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users", "rate_limit")
_TLS_KEYS = (
    "cert",
    "key",
    "client_ca",
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "client_allowed_sans",
    "cipher_suites",
    "curve_preferences",
    "min_version",
    "max_version",
    "prefer_server_cipher_suites",
)
_HTTP_KEYS = ("http2", "headers")
_RATE_KEYS = ("interval", "burst")


@dataclass(frozen=True)
class TlsSettings:
    """Where the server certificate and client CAs come from and how handshakes are negotiated."""

    cert_file: Path | None = None
    key_file: Path | None = None
    cert_pem: str | None = None
    key_pem: str | None = None
    client_ca_file: Path | None = None
    client_ca_pem: str | None = None
    verify_mode: ssl.VerifyMode = ssl.CERT_NONE
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3
    openssl_ciphers: tuple[str, ...] = ()
    prefer_server_cipher_suites: bool = True
    ecdh_curve: str | None = None

    def files(self) -> tuple[Path, ...]:
        """The files whose change on disk means a new TLS context."""
        return tuple(p for p in (self.cert_file, self.key_file, self.client_ca_file) if p is not None)


@dataclass(frozen=True)
class WebSettings:
    tls: TlsSettings | None = None
    http2: bool = True
    headers: tuple[tuple[str, str], ...] = ()
    # user -> bcrypt hash; empty means no authentication.
    users: Mapping[str, str] = field(default_factory=dict)
    rate_interval: float = 0.0
    rate_burst: int = 0


class WebConfigError(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def load_web_config(path: str | Path) -> WebSettings:
    """Read and validate a web-config file; raise WebConfigError naming every bad key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WebConfigError([f"cannot read web config file: {exc.strerror}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WebConfigError([f"not valid YAML: {exc}"]) from None
    return parse_web_config(data, path.parent)


def parse_web_config(data: object, base_dir: Path) -> WebSettings:
    parser = _Parser(base_dir)
    settings = parser.settings(data)
    if parser.errors:
        raise WebConfigError(parser.errors)
    return settings


class _Parser:
    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.errors: list[str] = []

    def fail(self, key: str, message: str) -> None:
        self.errors.append(f"{key}: {message}")

    def mapping(self, data: object, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            self.fail(key or "<root>", f"must be a mapping, got {type(data).__name__}")
            return {}
        for name in data:
            if name not in allowed:
                where = f"{key}.{name}" if key else str(name)
                self.fail(where, f"unknown key; allowed keys: {', '.join(allowed)}")
        return {str(k): v for k, v in data.items() if k in allowed}

    def string(self, raw: object, key: str, *, secret: bool = False) -> str:
        if isinstance(raw, str):
            return raw
        got = type(raw).__name__ if secret else repr(raw)  # never echo a private key
        self.fail(key, f"must be a string, got {got}")
        return ""

    def strings(self, raw: object, key: str) -> list[str]:
        if raw is None:
            return []
        if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
            return list(raw)
        self.fail(key, f"must be a list of strings, got {raw!r}")
        return []

    def boolean(self, raw: object, key: str) -> bool:
        if isinstance(raw, bool):
            return raw
        self.fail(key, f"must be true or false, got {raw!r}")
        return False

    def settings(self, data: object) -> WebSettings:
        top = self.mapping(data, "", _TOP_KEYS)
        http = self.mapping(top.get("http_server_config"), "http_server_config", _HTTP_KEYS)
        http2 = self.boolean(http["http2"], "http_server_config.http2") if "http2" in http else True
        interval, burst = self.rate_limit(top.get("rate_limit"))
        return WebSettings(
            tls=self.tls(top.get("tls_server_config")),
            http2=http2,
            headers=self.headers(http.get("headers")),
            users=self.users(top.get("basic_auth_users")),
            rate_interval=interval,
            rate_burst=burst,
        )

    def path(self, raw: object, key: str) -> Path | None:
        text = self.string(raw, key)
        if not text:
            return None
        path = Path(text)
        return path if path.is_absolute() else self.base_dir / path

    def tls(self, data: object) -> TlsSettings | None:
        key = "tls_server_config"
        raw = self.mapping(data, key, _TLS_KEYS)
        paths = {
            name: self.path(raw[name], f"{key}.{name}")
            for name in ("cert_file", "key_file", "client_ca_file")
            if raw.get(name) not in (None, "")
        }
        inline = {
            name: self.string(raw[name], f"{key}.{name}", secret=name == "key")
            for name in ("cert", "key", "client_ca")
            if raw.get(name) not in (None, "")
        }
        auth_name = self.string(raw.get("client_auth_type") or "", f"{key}.client_auth_type")
        # The toolkit's IsEnabled: any certificate, key, client CA or client auth setting turns TLS on.
        if not paths and not inline and not auth_name:
            for name in (
                "min_version",
                "max_version",
                "cipher_suites",
                "curve_preferences",
                "client_allowed_sans",
            ):
                if raw.get(name) is not None:
                    self.fail(f"{key}.{name}", "set without a certificate (cert_file and key_file)")
            return None
        for file_key, inline_key in (
            ("cert_file", "cert"),
            ("key_file", "key"),
            ("client_ca_file", "client_ca"),
        ):
            if file_key in paths and inline_key in inline:
                self.fail(f"{key}.{inline_key}", f"set both {inline_key} and {file_key}; use one")
        for file_key, inline_key in (("cert_file", "cert"), ("key_file", "key")):
            if file_key not in paths and inline_key not in inline:
                self.fail(f"{key}.{file_key}", f"required when TLS is on (or inline {inline_key})")
        for name, path in paths.items():
            if path is not None and not path.is_file():
                self.fail(f"{key}.{name}", f"{path} is not a readable file")
        if auth_name not in CLIENT_AUTH:
            self.fail(
                f"{key}.client_auth_type",
                f"invalid value {auth_name!r}; allowed: {', '.join(n for n in CLIENT_AUTH if n)}",
            )
            verify_mode = ssl.CERT_NONE
        elif (mode := CLIENT_AUTH[auth_name]) is None:
            self.fail(
                f"{key}.client_auth_type",
                f"{auth_name} accepts client certificates without verifying them, which this exporter "
                "does not support; use VerifyClientCertIfGiven or RequireAndVerifyClientCert",
            )
            verify_mode = ssl.CERT_NONE
        else:
            verify_mode = mode
        has_ca = "client_ca_file" in paths or "client_ca" in inline
        if has_ca and verify_mode == ssl.CERT_NONE and auth_name in ("", "NoClientCert"):
            self.fail(f"{key}.client_auth_type", "client CAs are configured without a client auth policy")
        if verify_mode != ssl.CERT_NONE and not has_ca:
            self.fail(f"{key}.client_ca_file", f"required with client_auth_type {auth_name}")
        if raw.get("client_allowed_sans") is not None:
            self.fail(
                f"{key}.client_allowed_sans",
                "not supported by this exporter (the handshake cannot check SANs)",
            )
        min_version = self.version(raw.get("min_version"), f"{key}.min_version", ssl.TLSVersion.TLSv1_2)
        max_version = self.version(raw.get("max_version"), f"{key}.max_version", ssl.TLSVersion.TLSv1_3)
        if min_version > max_version:
            self.fail(f"{key}.min_version", "is higher than max_version")
        ciphers = []
        for name in self.strings(raw.get("cipher_suites"), f"{key}.cipher_suites"):
            if name not in CIPHER_SUITES:
                self.fail(
                    f"{key}.cipher_suites", f"unknown cipher {name!r}; allowed: {', '.join(CIPHER_SUITES)}"
                )
            elif (openssl_name := CIPHER_SUITES[name]) is not None:
                ciphers.append(openssl_name)
        curves = self.strings(raw.get("curve_preferences"), f"{key}.curve_preferences")
        for name in curves:
            if name not in CURVES:
                self.fail(f"{key}.curve_preferences", f"unknown curve {name!r}; allowed: {', '.join(CURVES)}")
        if len(curves) > 1:
            self.fail(
                f"{key}.curve_preferences", "Python's ssl module uses one ECDHE curve; list exactly one"
            )
        prefer = raw.get("prefer_server_cipher_suites", True)
        return TlsSettings(
            cert_file=paths.get("cert_file"),
            key_file=paths.get("key_file"),
            cert_pem=inline.get("cert"),
            key_pem=inline.get("key"),
            client_ca_file=paths.get("client_ca_file"),
            client_ca_pem=inline.get("client_ca"),
            verify_mode=verify_mode,
            min_version=min_version,
            max_version=max_version,
            openssl_ciphers=tuple(ciphers),
            prefer_server_cipher_suites=self.boolean(prefer, f"{key}.prefer_server_cipher_suites"),
            ecdh_curve=CURVES.get(curves[0]) if curves else None,
        )

    def version(self, raw: object, key: str, default: ssl.TLSVersion) -> ssl.TLSVersion:
        if raw is None:
            return default
        if isinstance(raw, str) and raw in TLS_VERSIONS:
            return TLS_VERSIONS[raw]
        self.fail(key, f"invalid value {raw!r}; allowed: {', '.join(TLS_VERSIONS)}")
        return default

    def headers(self, data: object) -> tuple[tuple[str, str], ...]:
        key = "http_server_config.headers"
        if data is None:
            return ()
        if not isinstance(data, Mapping):
            self.fail(key, "must be a mapping of header name to value")
            return ()
        out = []
        for name, value in data.items():
            where = f"{key}.{name}"
            if name not in ALLOWED_HEADERS:
                self.fail(where, f"this header can not be configured; allowed: {', '.join(ALLOWED_HEADERS)}")
                continue
            text = self.string(value, where)
            allowed = ALLOWED_HEADERS[name]
            if allowed and text not in allowed:
                self.fail(where, f"invalid value {text!r}; allowed: {', '.join(allowed)}")
            elif text:
                out.append((str(name), text))
        return tuple(out)

    def users(self, data: object) -> dict[str, str]:
        key = "basic_auth_users"
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            self.fail(key, "must be a mapping of user name to bcrypt hash")
            return {}
        users = {}
        for user, hashed in data.items():
            # The hash is a secret too: an error names the user, never echoes the value.
            if not isinstance(hashed, str) or not _BCRYPT.match(hashed):
                self.fail(
                    f"{key}.{user}", "is not a bcrypt hash ($2y$10$... with 53 characters after the cost)"
                )
                continue
            users[str(user)] = hashed
        return users

    def rate_limit(self, data: object) -> tuple[float, int]:
        key = "rate_limit"
        raw = self.mapping(data, key, _RATE_KEYS)
        interval = 0.0
        if "interval" in raw:
            interval = self.go_duration(raw["interval"], f"{key}.interval")
        burst = raw.get("burst", 0)
        if not isinstance(burst, int) or isinstance(burst, bool) or burst < 0:
            self.fail(f"{key}.burst", f"must be a non-negative integer, got {burst!r}")
            burst = 0
        if interval > 0 and burst < 1:
            self.fail(f"{key}.burst", "must be at least 1 when rate_limit.interval is set")
        return interval, burst

    def go_duration(self, raw: object, key: str) -> float:
        if isinstance(raw, int) and not isinstance(raw, bool) and raw == 0:
            return 0.0
        if isinstance(raw, str) and (raw == "0" or _GO_DURATION.match(raw)):
            return sum(
                float(n) * _GO_UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", raw)
            )
        self.fail(key, f"invalid duration {raw!r}; e.g. 100ms, 1s, 1m")
        return 0.0
