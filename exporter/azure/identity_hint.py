"""azure-identity's own warnings, condensed into one line that says what to configure.

A failing DefaultAzureCredential logs a multi-KB, multi-line warning listing every credential
it tried, on every attempt. The operator needs: which credential, the first line of why, and
which setting to look at. `CredentialHintFilter` sits on the log handler (logger filters do not
apply to azure-identity's child loggers), rewrites those records and drops a repeat of the same
line for `REPEAT_AFTER` seconds; the refresh failure itself is logged by the scheduler.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

DOCS = "docs/configuration.md#credentials"
REPEAT_AFTER = 600.0
MAX_DETAIL = 200
_ATTEMPTED = re.compile(r"^\s*(\w+Credential):", re.MULTILINE)
_credential_type = "default"
_type_lock = threading.Lock()


def set_credential_type(value: str) -> None:
    global _credential_type
    with _type_lock:
        _credential_type = value


def condense(message: str, credential_type: str) -> str:
    """One line: "credential could not get a token credential=… detail=… hint=…"."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    first = lines[0] if lines else message
    credential = first.split(".", 1)[0].split(" ", 1)[0]
    if not credential.endswith("Credential"):
        credential = "-"
    attempted = [name for name in _ATTEMPTED.findall(message) if name != credential]
    detail = first[:MAX_DETAIL].replace('"', "'")
    fields = [f"credential={credential}", f"credential_type={credential_type}", f'detail="{detail}"']
    if attempted:
        fields.append(f"attempted={','.join(dict.fromkeys(attempted))}")
    hint = f"check azure.credential.type and its settings for this environment, see {DOCS}"
    return "credential could not get a token " + " ".join(fields) + f' hint="{hint}"'


class CredentialHintFilter(logging.Filter):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("azure.identity") or record.levelno < logging.WARNING:
            return True
        with _type_lock:
            credential_type = _credential_type
        line = condense(record.getMessage(), credential_type)
        now = self._clock()
        with self._lock:
            if now - self._last.get(line, -REPEAT_AFTER - 1) < REPEAT_AFTER:
                return False
            self._last[line] = now
            if len(self._last) > 1000:  # bounded on pathological input
                self._last.clear()
        record.msg, record.args, record.exc_info, record.exc_text = line, None, None, None
        return True
