"""Building blocks for ARM-style route modules: auth, api-version, throttling, paging.

Helpers raise :class:`SimError`; the server turns it into the response it carries, so a
handler reads top to bottom::

    def get_thing(req: SimRequest, state: ScenarioState) -> SimResponse:
        require_subscription(req, state)
        return SimResponse(200, paged(items, req, page_size=50))

    router.add("GET", r"/subscriptions/(?P<subscription_id>[^/]+)/things", "arm.things",
               arm_route(get_thing, min_api_version="2020-01-01"))
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections.abc import Collection, Sequence
from typing import Any, Literal
from urllib.parse import urlencode

from exporter.simulator.errors import arm_error, arm_unauthorized
from exporter.simulator.router import Handler, SimRequest, SimResponse
from exporter.simulator.state import ScenarioState, TokenInfo

_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-(preview|privatepreview|beta|alpha))?", re.IGNORECASE)
Scope = Literal["subscription", "tenant"]


class SimError(Exception):
    """Raised by helpers and handlers to answer with ``response`` instead of continuing."""

    def __init__(self, response: SimResponse) -> None:
        super().__init__(response.status)
        self.response = response


def require_bearer(req: SimRequest, state: ScenarioState) -> TokenInfo:
    """The token behind ``Authorization: Bearer``; 401 with ``WWW-Authenticate`` otherwise."""
    header = req.headers.get("Authorization", "")
    if not header:
        msg = "Authentication failed. The 'Authorization' header is missing."
        raise SimError(arm_unauthorized(state, "AuthenticationFailed", msg))
    scheme, _, token = header.partition(" ")
    info = state.tokens.lookup(token.strip()) if scheme.lower() == "bearer" else None
    if info is None:
        if state.identity["accept_unknown_tokens"] and scheme.lower() == "bearer" and token.strip():
            return TokenInfo("unknown", "unknown", state.clock.now(), "unknown")
        raise SimError(arm_unauthorized(state, "InvalidAuthenticationToken", "The access token is invalid."))
    now = state.clock.now()
    if info.expires_at <= now:
        msg = (
            f"The access token expiry UTC time '{info.expires_at:%m/%d/%Y %I:%M:%S %p}' is earlier than "
            f"current UTC time '{now:%m/%d/%Y %I:%M:%S %p}'."
        )
        raise SimError(arm_unauthorized(state, "ExpiredAuthenticationToken", msg))
    return info


def require_api_version(
    req: SimRequest,
    *,
    accepted: Collection[str] | None = None,
    minimum: str | None = None,
    provider_type: str | None = None,
) -> str:
    """Return the request's api-version or raise the 400 ARM sends.

    Give ``accepted`` (exact list) and/or ``minimum`` (any well-formed version at or after it).
    With ``provider_type`` the error is NoRegisteredProviderFound, as for resource providers.
    """
    version = req.query.get("api-version")
    if not version:
        msg = "The api-version query parameter (?api-version=) is required for all requests."
        raise SimError(arm_error(400, "MissingApiVersionParameter", msg))
    ok = _API_VERSION.fullmatch(version) is not None
    if ok and accepted is not None:
        ok = version.lower() in {v.lower() for v in accepted} or (
            minimum is not None and version[:10] >= minimum[:10]
        )
    elif ok and minimum is not None:
        ok = version[:10] >= minimum[:10]
    if ok:
        return version
    supported = ", ".join(sorted(accepted)) if accepted else f"{minimum} or later"
    if provider_type:
        msg = (
            f"No registered resource provider found for location 'global' and API version '{version}' "
            f"for type '{provider_type}'. The supported api-versions are '{supported}'."
        )
        raise SimError(arm_error(400, "NoRegisteredProviderFound", msg))
    msg = f"The api-version '{version}' is invalid. The supported versions are '{supported}'."
    raise SimError(arm_error(400, "InvalidApiVersionParameter", msg))


def require_subscription(req: SimRequest, state: ScenarioState, param: str = "subscription_id") -> str:
    sub = req.params.get(param, "").lower()
    if sub not in state.subscription_ids:
        msg = f"The subscription '{req.params.get(param, '')}' could not be found."
        raise SimError(arm_error(404, "SubscriptionNotFound", msg))
    return sub


class _Bucket:
    def __init__(self, size: int, refill: float) -> None:
        self.size, self.refill = size, refill
        self.level, self.at = float(size), time.monotonic()


def charge_read(state: ScenarioState, principal: str, scope: Scope) -> dict[str, str]:
    """Take one token from the ARM read bucket (per principal and scope, real time).

    Returns the ``x-ms-ratelimit-remaining-*`` header; raises 429 + Retry-After when empty.
    """
    arm = state.section("arm")
    size, refill = int(arm["read_bucket_size"]), float(arm["read_refill_per_second"])
    header = f"x-ms-ratelimit-remaining-{scope}-reads"
    if size <= 0:
        return {header: "11999"}
    with state.lock:
        buckets: dict[tuple[str, str], _Bucket] = state.store.setdefault("arm.read_buckets", {})
        bucket = buckets.setdefault((principal, scope), _Bucket(size, refill))
        now = time.monotonic()
        bucket.level = min(bucket.size, bucket.level + (now - bucket.at) * bucket.refill)
        bucket.at = now
        if bucket.level < 1:
            wait = math.ceil((1 - bucket.level) / bucket.refill) if bucket.refill > 0 else 60
            msg = (
                f"Number of 'read' requests for {scope} actor '{principal}' exceeded. Please try again "
                f"after '{wait}' seconds after additional tokens are available. Refer to "
                "https://aka.ms/arm-throttling for additional information."
            )
            code = "SubscriptionRequestsThrottled" if scope == "subscription" else "TenantRequestsThrottled"
            raise SimError(arm_error(429, code, msg, headers={"Retry-After": str(wait), header: "0"}))
        bucket.level -= 1
        return {header: str(int(bucket.level))}


def arm_route(
    handler: Handler,
    *,
    accepted_api_versions: Collection[str] | None = None,
    min_api_version: str | None = None,
    provider_type: str | None = None,
    scope: Scope = "subscription",
) -> Handler:
    """Wrap ``handler`` with the checks every ARM call goes through, in ARM's order:
    authentication, api-version, then read throttling (its header is added to the answer)."""

    def wrapped(req: SimRequest, state: ScenarioState) -> SimResponse:
        token = require_bearer(req, state)
        if accepted_api_versions is not None or min_api_version is not None:
            require_api_version(
                req, accepted=accepted_api_versions, minimum=min_api_version, provider_type=provider_type
            )
        limit_headers = charge_read(state, token.principal, scope) if req.method == "GET" else {}
        response = handler(req, state)
        for key, value in limit_headers.items():
            response.headers.setdefault(key, value)
        return response

    return wrapped


def paged(
    items: Sequence[Any], req: SimRequest, page_size: int, link_base: str | None = None
) -> dict[str, Any]:
    """One page of an ARM list: ``{"value": [...], "nextLink": <absolute URL>}``.

    The offset travels in an opaque ``$skiptoken``; other query parameters are kept. The
    nextLink points at `link_base` when given (scenario ``arm.next_link_base``), else at the
    listener that received the request.
    """
    offset = _decode_skiptoken(req.query.get("$skiptoken"))
    page = list(items[offset : offset + max(1, page_size)])
    body: dict[str, Any] = {"value": page}
    if offset + len(page) < len(items):
        params = {k: v for k, v in req.query.items() if k.lower() != "$skiptoken"}
        params["$skiptoken"] = _encode_skiptoken(offset + len(page))
        body["nextLink"] = (
            f"{(link_base or req.base_url).rstrip('/')}{req.path}?{urlencode(params, safe='$')}"
        )
    return body


def arm_paged(items: Sequence[Any], req: SimRequest, state: ScenarioState) -> dict[str, Any]:
    """`paged` with the scenario's ARM page size and nextLink base."""
    arm = state.section("arm")
    return paged(items, req, int(arm["page_size"]), arm.get("next_link_base"))


def _encode_skiptoken(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _decode_skiptoken(token: str | None) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["o"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise SimError(arm_error(400, "InvalidSkipToken", "The provided skip token is invalid."))
    return offset
