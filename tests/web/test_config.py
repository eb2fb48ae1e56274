"""The web-config file: exporter-toolkit's keys, defaults and errors (every error names its key)."""

from __future__ import annotations

import re
import shutil
import ssl
import textwrap
from pathlib import Path

import bcrypt
import pytest
import yaml

from exporter.web.config import CIPHER_SUITES, WebConfigError, load_web_config, parse_web_config
from tests.web.support import PASSWORD_HASH, make_pki, write_web_config


@pytest.fixture
def pki_dir(tmp_path: Path) -> Path:
    return make_pki(tmp_path).directory


def errors_of(document: object, base: Path) -> list[str]:
    with pytest.raises(WebConfigError) as info:
        parse_web_config(document, base)
    return info.value.errors


def test_empty_file_means_plain_http_without_auth(tmp_path):
    settings = parse_web_config(None, tmp_path)
    assert settings.tls is None
    assert settings.users == {}
    assert settings.http2 is True


def test_toolkit_defaults_and_relative_paths(pki_dir):
    settings = load_web_config(
        write_web_config(
            pki_dir, {"tls_server_config": {"cert_file": "server.crt", "key_file": "server.key"}}
        )
    )
    assert settings.tls is not None
    assert settings.tls.cert_file == pki_dir / "server.crt"
    assert settings.tls.min_version == ssl.TLSVersion.TLSv1_2
    assert settings.tls.max_version == ssl.TLSVersion.TLSv1_3
    assert settings.tls.verify_mode == ssl.CERT_NONE
    assert settings.tls.prefer_server_cipher_suites is True


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"tls_server_config": {"cert_fil": "x"}}, "tls_server_config.cert_fil: unknown key"),
        ({"basic_auth_user": {}}, "basic_auth_user: unknown key"),
        ({"http_server_config": {"http3": True}}, "http_server_config.http3: unknown key"),
        (
            {"http_server_config": {"headers": {"X-Powered-By": "me"}}},
            "http_server_config.headers.X-Powered-By: this header can not be configured",
        ),
        (
            {"http_server_config": {"headers": {"X-Frame-Options": "allow"}}},
            "http_server_config.headers.X-Frame-Options: invalid value",
        ),
        ({"basic_auth_users": {"alice": "plaintext"}}, "basic_auth_users.alice: is not a bcrypt hash"),
        ({"rate_limit": {"interval": "fast", "burst": 1}}, "rate_limit.interval: invalid duration"),
        ({"tls_server_config": {"cert_file": "server.crt"}}, "tls_server_config.key_file: required"),
        (
            {"tls_server_config": {"cert_file": "missing.crt", "key_file": "server.key"}},
            "tls_server_config.cert_file: ",
        ),
        (
            {
                "tls_server_config": {
                    "cert_file": "server.crt",
                    "key_file": "server.key",
                    "min_version": "TLS14",
                }
            },
            "tls_server_config.min_version: invalid value 'TLS14'",
        ),
        (
            {
                "tls_server_config": {
                    "cert_file": "server.crt",
                    "key_file": "server.key",
                    "min_version": "TLS13",
                    "max_version": "TLS12",
                }
            },
            "tls_server_config.min_version: is higher",
        ),
        (
            {
                "tls_server_config": {
                    "cert_file": "server.crt",
                    "key_file": "server.key",
                    "cipher_suites": ["TLS_MADE_UP"],
                }
            },
            "tls_server_config.cipher_suites: unknown cipher 'TLS_MADE_UP'",
        ),
        (
            {
                "tls_server_config": {
                    "cert_file": "server.crt",
                    "key_file": "server.key",
                    "client_auth_type": "RequireAnyClientCert",
                    "client_ca_file": "client-ca.pem",
                }
            },
            "tls_server_config.client_auth_type: RequireAnyClientCert accepts",
        ),
        (
            {
                "tls_server_config": {
                    "cert_file": "server.crt",
                    "key_file": "server.key",
                    "client_auth_type": "Whatever",
                }
            },
            "tls_server_config.client_auth_type: invalid value",
        ),
        (
            {
                "tls_server_config": {
                    "cert_file": "server.crt",
                    "key_file": "server.key",
                    "client_ca_file": "client-ca.pem",
                }
            },
            "tls_server_config.client_auth_type: client CAs are configured",
        ),
        (
            {
                "tls_server_config": {
                    "cert_file": "server.crt",
                    "key_file": "server.key",
                    "client_auth_type": "RequireAndVerifyClientCert",
                }
            },
            "tls_server_config.client_ca_file: required",
        ),
        (
            {
                "tls_server_config": {
                    "cert_file": "server.crt",
                    "key_file": "server.key",
                    "client_allowed_sans": ["a"],
                }
            },
            "tls_server_config.client_allowed_sans: not supported",
        ),
        (
            {
                "tls_server_config": {
                    "cert_file": "server.crt",
                    "key_file": "server.key",
                    "curve_preferences": ["X25519", "CurveP256"],
                }
            },
            "tls_server_config.curve_preferences: Python",
        ),
        (
            {"tls_server_config": {"min_version": "TLS13"}},
            "tls_server_config.min_version: set without a certificate",
        ),
    ],
)
def test_bad_keys_are_named(pki_dir, document, key):
    errors = errors_of(document, pki_dir)
    assert any(error.startswith(key) for error in errors), errors


def test_password_hash_is_never_echoed(tmp_path):
    errors = errors_of({"basic_auth_users": {"alice": "$2y$10$tooshort"}}, tmp_path)
    assert "tooshort" not in " ".join(errors)


def test_all_errors_reported_at_once(tmp_path):
    errors = errors_of({"nope": 1, "basic_auth_users": {"a": "x"}, "rate_limit": {"burst": -1}}, tmp_path)
    assert len(errors) == 3


def test_users_headers_rate_limit_and_http2(tmp_path):
    settings = parse_web_config(
        {
            "basic_auth_users": {"prometheus": PASSWORD_HASH},
            "http_server_config": {
                "http2": False,
                "headers": {"X-Frame-Options": "deny", "Content-Security-Policy": ""},
            },
            "rate_limit": {"interval": "1m30s", "burst": 5},
        },
        tmp_path,
    )
    assert settings.users == {"prometheus": PASSWORD_HASH}
    assert settings.headers == (("X-Frame-Options", "deny"),)  # blank values unset the header
    assert settings.http2 is False
    assert (settings.rate_interval, settings.rate_burst) == (90.0, 5)


def test_every_mapped_cipher_is_known_to_openssl():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("ALL:@SECLEVEL=0")
    known = {c["name"] for c in context.get_ciphers()}
    for go_name, openssl_name in CIPHER_SUITES.items():
        if openssl_name is None:
            assert "_WITH_" not in go_name  # only TLS 1.3 suites have no OpenSSL cipher-list name
        else:
            assert openssl_name in known, go_name


def test_inline_certificate_and_key(pki_dir, tmp_path):
    from exporter.web.tls import build_context

    document = {
        "tls_server_config": {
            "cert": (pki_dir / "server.crt").read_text(),
            "key": (pki_dir / "server.key").read_text(),
        }
    }
    settings = parse_web_config(document, tmp_path)
    assert settings.tls is not None
    assert settings.tls.cert_file is None
    build_context(settings.tls, http2=True)  # loads without files on disk


def test_the_documented_example_is_valid(tmp_path):
    docs = (Path(__file__).resolve().parents[2] / "docs/web-config.md").read_text()
    blocks = [textwrap.dedent(b) for b in re.findall(r"```yaml\n(.*?)```", docs, flags=re.DOTALL)]
    example = next(b for b in blocks if "tls_server_config" in b and "basic_auth_users" in b)
    pki = make_pki(tmp_path / "pki")
    shutil.copy(pki.cert_file, tmp_path / "tls.crt")
    shutil.copy(pki.key_file, tmp_path / "tls.key")
    settings = load_web_config(write_web_config(tmp_path, yaml.safe_load(example)))
    assert settings.tls is not None
    assert bcrypt.checkpw(b"example-password", settings.users["prometheus"].encode())
