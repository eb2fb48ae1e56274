"""Logging: logfmt or JSON lines, a level, and a filter that redacts anything secret-like."""

from __future__ import annotations

import ast
import json
import logging
import re
import sys
from datetime import UTC, datetime

from exporter.azure.identity_hint import CredentialHintFilter

_SECRET_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/=]+"), r"\1[REDACTED]"),
    (
        re.compile(
            r"(?i)((?:access_token|refresh_token|client_secret|client_assertion|password)[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
        ),
        r"\1[REDACTED]",
    ),
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\n,}]+"), r"\1[REDACTED]"),
    (re.compile(r"(?i)([?&]sig=)[^&\s\"']+"), r"\1[REDACTED]"),
    (re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"), "[REDACTED-JWT]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """One line per event. Messages are written "phrase key=value key=value"; the phrase becomes
    `msg` and every field its own key, so a logfmt or JSON reader gets them field by field."""

    def __init__(self, fmt: str) -> None:
        super().__init__()
        self._fmt_kind = fmt

    def format(self, record: logging.LogRecord) -> str:
        phrase, fields = split_fields(redact(record.getMessage()))
        if record.exc_info:
            fields.append(("exc", redact(self.formatException(record.exc_info))))
        ts = (
            datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        head = [("ts", ts), ("level", record.levelname.lower()), ("logger", record.name), ("msg", phrase)]
        pairs = head + [(k, v) for k, v in fields if k not in _RESERVED]
        if self._fmt_kind == "json":
            return json.dumps(dict(pairs), ensure_ascii=False)
        return " ".join(f"{k}={quote(v)}" for k, v in pairs)


_RESERVED = frozenset({"ts", "level", "logger", "msg"})
_KEY = re.compile(r"(?:^|(?<=\s))([a-z_][a-z0-9_.]*)=")
_VALUE = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S*""")


def split_fields(message: str) -> tuple[str, list[tuple[str, str]]]:
    """("refresh failed", [("source", "x"), ...]) from "refresh failed source=x ...".

    Values may be bare, "double-quoted" (JSON escapes) or 'single-quoted' (a Python repr);
    words after a bare value that are not `key=` belong to that value (an error text).
    """
    first = _KEY.search(message)
    if first is None or "\n" in message[: first.start()]:
        return message.strip(), []
    phrase, rest = message[: first.start()].strip(), message[first.start() :]
    fields: list[tuple[str, str]] = []
    while rest:
        key = _KEY.match(rest)
        if key is None:  # continuation of the previous bare value
            word, _, rest = rest.partition(" ")
            if fields:
                fields[-1] = (fields[-1][0], f"{fields[-1][1]} {word}".strip())
            rest = rest.lstrip()
            continue
        rest = rest[key.end() :]
        raw = _VALUE.match(rest)
        text = raw.group(0) if raw else ""
        fields.append((key.group(1), _unquote(text)))
        rest = rest[len(text) :].lstrip()
    return phrase, fields


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        try:
            value = json.loads(text) if text[0] == '"' else ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text[1:-1]
        return str(value)
    return text


def quote(value: object) -> str:
    """A logfmt value: bare when it has no space, quote, '=' or control character, else
    double-quoted with backslash escapes."""
    text = str(value)
    if text and text.isprintable() and not any(c in text for c in ' "=\\'):
        return text
    return json.dumps(text, ensure_ascii=False)


def setup(level: str = "info", fmt: str = "logfmt") -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(fmt))
    handler.addFilter(CredentialHintFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # azure-core logs every request at INFO; that is noise for an exporter's operator.
    logging.getLogger("azure").setLevel(logging.WARNING if level != "debug" else logging.INFO)
    logging.getLogger("msal").setLevel(logging.WARNING)
