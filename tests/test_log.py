from __future__ import annotations

import logging

import pytest

from exporter.log import RedactingFormatter, quote, redact

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


def parse_logfmt(line: str) -> dict[str, str]:
    """A logfmt reader written from the spec (go-logfmt's decoder): `key=value` pairs separated
    by spaces; a key is any run of printable characters but space, '=' and '"'; a value is bare
    (up to the next space, no '"' or '=' inside) or double-quoted with backslash escapes
    (\\" \\\\ \\n \\t \\uXXXX). Anything else is a syntax error, raised."""
    out: dict[str, str] = {}
    i, n = 0, len(line)
    assert "\n" not in line, "one line per event"
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        start = i
        while i < n and line[i] not in ' ="':
            i += 1
        key = line[start:i]
        if not key or i >= n or line[i] != "=":
            raise ValueError(f"bad key at {start}: {line[start : start + 20]!r}")
        i += 1
        if i < n and line[i] == '"':
            j, chars = i + 1, []
            while True:
                if j >= n:
                    raise ValueError("unterminated quoted value")
                c = line[j]
                if c == '"':
                    break
                if c == "\\":
                    esc = line[j + 1]
                    if esc == "u":
                        chars.append(chr(int(line[j + 2 : j + 6], 16)))
                        j += 6
                        continue
                    chars.append({"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "/": "/"}[esc])
                    j += 2
                    continue
                chars.append(c)
                j += 1
            value, i = "".join(chars), j + 1
            if i < n and line[i] != " ":
                raise ValueError("garbage after a quoted value")
        else:
            start = i
            while i < n and line[i] != " ":
                if line[i] in '="':
                    raise ValueError(f"unquoted {line[i]!r} in a bare value")
                i += 1
            value = line[start:i]
        if key in out:
            raise ValueError(f"duplicate key {key}")
        out[key] = value
    return out


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise RuntimeError("boom\nsecond line")
        except RuntimeError:
            import sys

            info = sys.exc_info()
    return logging.LogRecord("exporter.scheduler", logging.WARNING, __file__, 1, msg, args, info)


@pytest.mark.parametrize(
    ("msg", "args", "expected"),
    [
        (
            "refresh failed source=%s reason=%s consecutive_failures=%d error=%r",
            ("vmss", "throttled", 2, 'HttpResponseError: (Throttled) it\'s "busy" = retry'),
            {
                "msg": "refresh failed",
                "source": "vmss",
                "reason": "throttled",
                "consecutive_failures": "2",
                "error": 'HttpResponseError: (Throttled) it\'s "busy" = retry',
            },
        ),
        (
            "update API unreachable; last data kept reason=%s error=%s stamp=%s",
            ("server_error", "HttpResponseError: (ServiceUnavailable) The service is unavailable.", "north"),
            {
                "msg": "update API unreachable; last data kept",
                "reason": "server_error",
                "error": "HttpResponseError: (ServiceUnavailable) The service is unavailable.",
                "stamp": "north",
            },
        ),
        ("hello world", (), {"msg": "hello world"}),
        (
            "odd value state=%s",
            (quote("Ünïcode\ttab = x"),),
            {"msg": "odd value", "state": "Ünïcode\ttab = x"},
        ),
        ("multi\nline message", (), {"msg": "multi\nline message"}),
    ],
)
def test_logfmt_lines_parse_back_field_by_field(msg: str, args: tuple[object, ...], expected: dict[str, str]):
    line = RedactingFormatter("logfmt").format(_record(msg, *args))
    parsed = parse_logfmt(line)
    assert {k: parsed[k] for k in expected} == expected
    assert parsed["level"] == "warning"
    assert parsed["logger"] == "exporter.scheduler"
    doc = __import__("json").loads(RedactingFormatter("json").format(_record(msg, *args)))
    assert {k: doc[k] for k in expected} == expected


def test_a_traceback_is_one_quoted_field():
    line = RedactingFormatter("logfmt").format(
        _record("refresh failed source=%s reason=internal", "x", exc=True)
    )
    parsed = parse_logfmt(line)
    assert parsed["msg"] == "refresh failed"
    assert parsed["reason"] == "internal"
    assert parsed["exc"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: boom\nsecond line" in parsed["exc"]


def test_the_reader_rejects_what_logfmt_forbids():
    for bad in ['msg="open', "k='a=b'", "=value", 'k="a"b']:
        with pytest.raises((ValueError, KeyError)):
            parse_logfmt(bad)
