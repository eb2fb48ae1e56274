"""Basic auth, its verification cache, the rate limit and runtime changes of the web-config file."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path

import bcrypt
import requests

from exporter.web.config import WebSettings
from exporter.web.guard import Guard
from tests.web.support import PASSWORD, PASSWORD_HASH, served, write_web_config


def hello(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"hi"]


def call(guard: Guard, authorization: str | None = None) -> tuple[str, dict[str, str]]:
    seen: dict[str, object] = {}

    def start_response(status, headers, *exc):
        seen["status"], seen["headers"] = status, dict(headers)

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics"}
    if authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization
    b"".join(guard(environ, start_response))
    return str(seen["status"]), seen["headers"]  # type: ignore[return-value]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_successful_verification_is_cached_so_bcrypt_runs_once():
    settings = WebSettings(users={"prometheus": PASSWORD_HASH})
    guard = Guard(hello, lambda: settings)
    for _ in range(5):
        assert call(guard, basic("prometheus", PASSWORD))[0] == "200 OK"
    assert guard.auth.bcrypt_calls == 1
    for _ in range(3):
        assert call(guard, basic("prometheus", "wrong"))[0] == "401 Unauthorized"
    assert guard.auth.bcrypt_calls == 2  # a repeated wrong password is not re-hashed either


def test_unknown_users_still_pay_a_bcrypt_comparison():
    guard = Guard(hello, lambda: WebSettings(users={"prometheus": PASSWORD_HASH}))
    assert call(guard, basic("mallory", PASSWORD))[0] == "401 Unauthorized"
    assert guard.auth.bcrypt_calls == 1


def test_malformed_authorization_headers_are_401():
    guard = Guard(hello, lambda: WebSettings(users={"prometheus": PASSWORD_HASH}))
    for header in ("", "Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode()):
        status, headers = call(guard, header)
        assert status == "401 Unauthorized"
        assert headers["WWW-Authenticate"] == "Basic"


def test_changing_the_hash_invalidates_the_cached_success():
    current = {"settings": WebSettings(users={"prometheus": PASSWORD_HASH})}
    guard = Guard(hello, lambda: current["settings"])
    assert call(guard, basic("prometheus", PASSWORD))[0] == "200 OK"
    current["settings"] = WebSettings(
        users={"prometheus": bcrypt.hashpw(b"rotated", bcrypt.gensalt(4)).decode()}
    )
    assert call(guard, basic("prometheus", PASSWORD))[0] == "401 Unauthorized"
    assert call(guard, basic("prometheus", "rotated"))[0] == "200 OK"


def test_rate_limit_answers_429_then_refills():
    guard = Guard(hello, lambda: WebSettings(rate_interval=0.2, rate_burst=2))
    assert [call(guard)[0][:3] for _ in range(3)] == ["200", "200", "429"]
    time.sleep(0.25)
    assert call(guard)[0] == "200 OK"


def test_web_config_edited_while_running(tmp_path: Path):
    path = write_web_config(tmp_path, {})
    for _, base in served(path):
        assert requests.get(f"{base}/metrics", timeout=5).status_code == 200
        time.sleep(0.01)
        write_web_config(tmp_path, {"basic_auth_users": {"prometheus": PASSWORD_HASH}})
        assert requests.get(f"{base}/metrics", timeout=5).status_code == 401
        assert requests.get(f"{base}/metrics", auth=("prometheus", PASSWORD), timeout=5).status_code == 200
        # A broken edit fails closed (as exporter-toolkit), a fixed one serves again.
        time.sleep(0.01)
        write_web_config(tmp_path, {"basic_auth_users": {"prometheus": "not-a-hash"}})
        broken = requests.get(f"{base}/metrics", auth=("prometheus", PASSWORD), timeout=5)
        assert broken.status_code == 500
        assert "fake_value" not in broken.text
        time.sleep(0.01)
        write_web_config(tmp_path, {"http_server_config": {"headers": {"X-Frame-Options": "deny"}}})
        fixed = requests.get(f"{base}/metrics", timeout=5)
        assert fixed.status_code == 200
        assert fixed.headers["X-Frame-Options"] == "deny"


def test_concurrent_first_scrapes_share_one_bcrypt_comparison():
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(8)).decode()  # slow enough to overlap
    guard = Guard(hello, lambda: WebSettings(users={"prometheus": hashed}))
    statuses: list[str] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(call(guard, basic("prometheus", PASSWORD))[0]))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert statuses == ["200 OK"] * 8
    assert guard.auth.bcrypt_calls == 1
