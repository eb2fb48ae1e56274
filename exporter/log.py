"""Logging: logfmt or JSON lines, a level, and a filter that redacts anything secret-like."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

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
    def __init__(self, fmt: str) -> None:
        super().__init__()
        self._fmt_kind = fmt

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        message = redact(message)
        ts = (
            datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        level = record.levelname.lower()
        if self._fmt_kind == "json":
            return json.dumps({"ts": ts, "level": level, "logger": record.name, "msg": message})
        # "refresh failed source=x reason=y" → msg="refresh failed" source=x reason=y
        match = _FIELDS.match(message)
        phrase, fields = (match.group(1), match.group(2)) if match and "\n" not in message else (message, "")
        quoted = phrase if _is_bare(phrase) else json.dumps(phrase)
        tail = f" {fields}" if fields else ""
        return f"ts={ts} level={level} logger={record.name} msg={quoted}{tail}"


_FIELDS = re.compile(r"""^([^=]*?)\s+((?:[a-z_]+=(?:'[^']*'|"[^"]*"|\S+)(?:\s+|$))+)$""")


def _is_bare(text: str) -> bool:
    return bool(text) and not any(c in text for c in ' "=\n\t')


def setup(level: str = "info", fmt: str = "logfmt") -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(fmt))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # azure-core logs every request at INFO; that is noise for an exporter's operator.
    logging.getLogger("azure").setLevel(logging.WARNING if level != "debug" else logging.INFO)
    logging.getLogger("msal").setLevel(logging.WARNING)
