from __future__ import annotations

import logging

import pytest

from exporter.log import RedactingFormatter, redact

SECRETS = [
    ("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "eyJhbGci"),
    ('{"access_token": "opaque-token-value", "expires_in": 3599}', "opaque-token-value"),
    ("client_secret=hunter2-canary&grant_type=client_credentials", "hunter2-canary"),
    ("https://acct.blob.core.windows.net/c/b?sv=2022&sig=AbCdEf%2B123", "AbCdEf"),
    ("token eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "eyJ0eXAi"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_redact_removes_secrets(text: str, secret: str):
    assert secret not in redact(text)


def test_formatter_redacts_messages_and_tracebacks():
    try:
        raise ValueError("request failed: Bearer canary-token-123")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("Bearer canary-token-456",), sys.exc_info()
        )
    line = RedactingFormatter("logfmt").format(record)
    assert "canary-token" not in line
    assert "[REDACTED]" in line


def test_logfmt_fields_are_split_out():
    record = logging.LogRecord(
        "exporter.scheduler",
        logging.WARNING,
        __file__,
        1,
        "refresh failed source=%s reason=%s",
        ("vmss", "throttled"),
        None,
    )
    line = RedactingFormatter("logfmt").format(record)
    assert line.endswith('logger=exporter.scheduler msg="refresh failed" source=vmss reason=throttled')


def test_json_format():
    import json

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    doc = json.loads(RedactingFormatter("json").format(record))
    assert doc["msg"] == "hello world"
    assert doc["level"] == "info"
