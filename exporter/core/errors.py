"""The closed set of failure reasons and the one place that maps exceptions onto them.

`Reason` values are a stable contract: they appear as the `reason` label of
`azure_update_exporter_source_errors_total` and in log lines, and are pre-created at zero.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from concurrent.futures import TimeoutError as FutureTimeoutError
from enum import StrEnum

import requests
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)


class Reason(StrEnum):
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    THROTTLED = "throttled"
    SERVER_ERROR = "server_error"
    BAD_REQUEST = "bad_request"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    MALFORMED_PAYLOAD = "malformed_payload"
    UNKNOWN_ENUM = "unknown_enum"
    MISSING_FIELD = "missing_field"
    TOKEN = "token"  # noqa: S105 - a reason name, not a secret
    TLS = "tls"  # certificate verification failed (ARM, token endpoint, Azure Stack): CA bundle
    CONFIG = "config"  # the configuration cannot work (nothing to watch, unusable setting)
    INTERNAL = "internal"


class SourceError(Exception):
    """A failure whose reason is already known (raised by fetch/parse code)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PayloadError(SourceError):
    """The payload could not be understood: malformed JSON or a missing required field."""

    def __init__(self, message: str, reason: Reason = Reason.MALFORMED_PAYLOAD) -> None:
        super().__init__(reason, message)


def describe(exc: BaseException, limit: int = 300) -> str:
    """A one-line description for logs: type and first line of the message, bounded.

    azure-core's text carries the HTTP status and ARM error code; tokens never appear in it,
    and the log redaction filter removes anything bearer-like regardless.
    """
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:limit]


def reason_for_status(status: int | None) -> Reason:
    if status is None:
        return Reason.CONNECTION
    if status == 401:
        return Reason.UNAUTHORIZED
    if status == 403:
        return Reason.FORBIDDEN
    if status in (404, 410):
        return Reason.NOT_FOUND
    if status == 429:
        return Reason.THROTTLED
    if status == 408:
        return Reason.TIMEOUT
    if 400 <= status < 500:
        return Reason.BAD_REQUEST
    return Reason.SERVER_ERROR


def classify(exc: BaseException) -> Reason:
    if isinstance(exc, SourceError):
        return exc.reason
    if _is_tls_failure(exc):
        # Before the token check: azure-identity wraps a TLS failure of the token endpoint
        # in ClientAuthenticationError, and "check the credential" would be the wrong advice.
        return Reason.TLS
    if _is_cut_off(exc):
        return Reason.CONNECTION
    if isinstance(exc, ClientAuthenticationError):
        # azure-identity raises this for token acquisition failures (status None) and ARM
        # raises it for 401 responses.
        status = exc.status_code
        return Reason.UNAUTHORIZED if status == 401 else (Reason.FORBIDDEN if status == 403 else Reason.TOKEN)
    if isinstance(exc, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        return Reason.TIMEOUT
    if isinstance(exc, DecodeError):
        return Reason.MALFORMED_PAYLOAD
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        return reason_for_status(exc.status_code)
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return _classify_transport(exc)
    if isinstance(exc, requests.HTTPError):
        return reason_for_status(exc.response.status_code if exc.response is not None else None)
    if isinstance(exc, requests.Timeout | socket.timeout | TimeoutError | FutureTimeoutError):
        return Reason.TIMEOUT
    if isinstance(exc, requests.ConnectionError | ConnectionError | ssl.SSLError):
        return Reason.CONNECTION
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return Reason.MALFORMED_PAYLOAD
    if isinstance(exc, KeyError):
        return Reason.MISSING_FIELD
    if _is_credential_unavailable(exc) or _raised_by_the_credential(exc):
        return Reason.TOKEN
    return Reason.INTERNAL


def _raised_by_the_credential(exc: BaseException) -> bool:
    """An OS error from inside azure-identity: a federated token or certificate file that is
    missing or unreadable (a workload-identity pod started before its token was mounted)."""
    if not isinstance(exc, OSError):
        return False
    tb = exc.__traceback__
    while tb is not None:
        if "azure/identity/" in tb.tb_frame.f_code.co_filename.replace("\\", "/"):
            return True
        tb = tb.tb_next
    return False


def _chain(exc: BaseException, limit: int = 12) -> list[BaseException]:
    """`exc`, its causes and contexts, and the errors requests/urllib3 carry in their args."""
    out: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(out) < limit:
        current = todo.pop(0)
        if any(current is seen for seen in out):
            continue
        out.append(current)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        todo.extend(a for a in current.args if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)  # urllib3 MaxRetryError
        if isinstance(reason, BaseException):
            todo.append(reason)
        inner = getattr(current, "inner_exception", None)  # azure-core AzureError
        if isinstance(inner, BaseException):
            todo.append(inner)
    return out


def _is_tls_failure(exc: BaseException) -> bool:
    for err in _chain(exc):
        if isinstance(err, ssl.SSLCertVerificationError):
            return True
        text = str(err)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            return True
    return False


def _is_cut_off(exc: BaseException) -> bool:
    """A body cut off mid-transfer (IncompleteRead, ChunkedEncodingError, ProtocolError)."""
    names = {"IncompleteRead", "ChunkedEncodingError", "ProtocolError", "IncompleteReadError"}
    for err in _chain(exc):
        if isinstance(err, http.client.IncompleteRead | requests.exceptions.ChunkedEncodingError):
            return True
        if type(err).__name__ in names or "IncompleteRead" in str(err):
            return True
    return False


def _classify_transport(exc: BaseException) -> Reason:
    text = f"{type(exc.__cause__).__name__} {exc}".lower() if exc.__cause__ else str(exc).lower()
    if "timed out" in text or "timeout" in text:
        return Reason.TIMEOUT
    return Reason.CONNECTION


def _is_credential_unavailable(exc: BaseException) -> bool:
    # Imported lazily: azure.identity is heavy and only its exception type is needed here.
    from azure.identity import CredentialUnavailableError

    return isinstance(exc, CredentialUnavailableError)
