"""Error bodies in the shapes the real services use (ARM envelope, AAD OAuth errors)."""

from __future__ import annotations

import uuid
from datetime import datetime
from http import HTTPStatus
from typing import Any

from exporter.simulator.router import SimRequest, SimResponse
from exporter.simulator.state import ScenarioState


def arm_error(
    status: int,
    code: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> SimResponse:
    """``{"error": {"code", "message"[, "details"]}}`` — the common-types ErrorResponse."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return SimResponse(status, {"error": error}, dict(headers or {}))


def www_authenticate(state: ScenarioState, error: str, description: str) -> str:
    tenant = state.identity["tenant_id"]
    return (
        f'Bearer authorization_uri="{state.base_url}/{tenant}", '
        f'error="{error}", error_description="{description}"'
    )


def arm_unauthorized(state: ScenarioState, code: str, message: str) -> SimResponse:
    return arm_error(
        401, code, message, headers={"WWW-Authenticate": www_authenticate(state, "invalid_token", message)}
    )


def support_message(now: datetime) -> str:
    """Resource Graph's opaque top-level message."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    return (
        f"Please provide below info when asking for support: timestamp = {stamp}, "
        f"correlationId = {uuid.uuid4()}."
    )


def arm_fault_body(status: int, req: SimRequest, state: ScenarioState) -> SimResponse:
    """Body for a "status" fault on an ARM-style route: the envelope ARM uses for that code."""
    tracking = uuid.uuid4()
    client = state.identity["client_id"]
    sub = req.params.get("subscription_id", state.subscription_ids[0] if state.subscription_ids else "")
    match status:
        case 401:
            msg = "The access token is invalid."
            return arm_unauthorized(state, "InvalidAuthenticationToken", msg)
        case 403:
            msg = (
                f"The client '{client}' with object id '{client}' does not have authorization to perform "
                f"action '{req.method.lower()}' over scope '{req.path}' or the scope is invalid. If access "
                "was recently granted, please refresh your credentials."
            )
            return arm_error(403, "AuthorizationFailed", msg)
        case 404:
            msg = f"The Resource '{req.path}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            return arm_error(404, "ResourceNotFound", msg)
        case 429:
            msg = (
                f"Number of 'read' requests for subscription '{sub}' actor '{client}' exceeded. Please try "
                "again after some time. Refer to https://aka.ms/arm-throttling for additional information."
            )
            return arm_error(429, "SubscriptionRequestsThrottled", msg)
        case 500:
            msg = (
                "Encountered internal server error. Diagnostic information: timestamp "
                f"'{state.clock.now():%Y%m%dT%H%M%SZ}', subscription id '{sub}', tracking id '{tracking}', "
                f"request correlation id '{tracking}'."
            )
            return arm_error(500, "InternalServerError", msg)
        case 503:
            msg = "The service is currently unavailable. Please try again later."
            return arm_error(503, "ServiceUnavailable", msg)
        case 504:
            msg = "The gateway did not receive a response within the specified time period."
            return arm_error(504, "GatewayTimeout", msg)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return arm_error(status, phrase.replace(" ", "").replace("-", ""), f"{phrase}.")


# AAD error names and AADSTS codes per HTTP status, for "status" faults on token routes.
_AAD_BY_STATUS: dict[int, tuple[str, int, str]] = {
    400: ("invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."),
    401: ("invalid_client", 7000215, "Invalid client secret provided."),
    403: ("unauthorized_client", 700016, "Application was not found in the directory."),
    429: (
        "temporarily_unavailable",
        50196,
        "The server terminated an operation because it encountered a client request loop.",
    ),
    500: ("server_error", 90033, "A transient error has occurred. Please try again."),
    503: ("temporarily_unavailable", 90033, "A transient error has occurred. Please try again."),
}


def aad_error(state: ScenarioState, status: int, error: str, aadsts: int, text: str) -> SimResponse:
    """OAuth error body as login.microsoftonline.com returns it."""
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = state.clock.now().strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error,
        "error_description": (
            f"AADSTS{aadsts}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {stamp}"
        ),
        "error_codes": [aadsts],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": f"{state.base_url}/error?code={aadsts}",
    }
    return SimResponse(status, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})


def aad_fault_body(status: int, req: SimRequest, state: ScenarioState) -> SimResponse:
    error, code, text = _AAD_BY_STATUS.get(status, ("server_error", 90033, "An error occurred."))
    return aad_error(state, status, error, code, text)
