"""Runtime state shared by route modules: the scenario, the clock and issued tokens."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from exporter.simulator.clock import SimClock
from exporter.simulator.faults import FaultInjector
from exporter.simulator.requestlog import RequestLog
from exporter.simulator.scenario import Scenario, SubscriptionSpec


@dataclass(frozen=True, slots=True)
class TokenInfo:
    principal: str  # client id of the app or managed identity the token was issued to
    audience: str  # resource the token is for, e.g. "https://management.azure.com"
    expires_at: datetime  # virtual time
    kind: str  # "client_credentials", "app_service_mi", "imds_mi"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    info: TokenInfo
    expires_in: int  # real seconds the client should consider it valid
    expires_on: int  # real epoch seconds


class TokenStore:
    """Remembers issued tokens; lifetimes run on the virtual clock so ``advance`` expires them."""

    def __init__(self, clock: SimClock, tenant_id: str, lifetime_seconds: float) -> None:
        self._clock = clock
        self._tenant = tenant_id
        self._lifetime = lifetime_seconds
        self._tokens: dict[str, TokenInfo] = {}
        self._lock = threading.Lock()

    def issue(self, principal: str, audience: str, kind: str) -> IssuedToken:
        info = TokenInfo(principal, audience, self._clock.now() + timedelta(seconds=self._lifetime), kind)
        # Clients schedule refreshes on the wall clock, so tell them the real-time equivalent.
        real_lifetime = max(1, int(self._clock.to_real_seconds(self._lifetime)))
        token = self._jwt_shaped(info, real_lifetime)
        with self._lock:
            self._prune()
            self._tokens[token] = info
        return IssuedToken(token, info, real_lifetime, int(time.time()) + real_lifetime)

    def lookup(self, token: str) -> TokenInfo | None:
        with self._lock:
            return self._tokens.get(token)

    def _prune(self) -> None:
        # Keep expired tokens a while so callers get ExpiredAuthenticationToken, not "invalid".
        horizon = self._clock.now() - timedelta(days=1)
        for key in [k for k, v in self._tokens.items() if v.expires_at < horizon]:
            del self._tokens[key]

    def _jwt_shaped(self, info: TokenInfo, real_lifetime: int) -> str:
        # Unsigned JWT look-alike: code that peeks at claims works, the signature is random.
        def b64(obj: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

        now = int(time.time())
        claims = {
            "aud": info.audience,
            "iss": f"https://sts.windows.net/{self._tenant}/",
            "tid": self._tenant,
            "appid": info.principal,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, info.principal)),
            "iat": now,
            "nbf": now,
            "exp": now + real_lifetime,
        }
        return f"{b64({'typ': 'JWT', 'alg': 'RS256'})}.{b64(claims)}.{secrets.token_urlsafe(32)}"


@dataclass
class ScenarioState:
    """Everything a route handler may read or update. Handlers run on many threads at once:
    guard your own mutable data in ``store`` with ``lock``."""

    scenario: Scenario
    clock: SimClock
    tokens: TokenStore
    faults: FaultInjector
    requests: RequestLog
    base_url: str = ""
    imds_url: str = ""
    ca_path: Path | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    store: dict[str, Any] = field(default_factory=dict)  # per-module runtime data, keyed by module

    @property
    def sections(self) -> dict[str, Any]:
        return self.scenario.sections

    def section(self, name: str) -> dict[str, Any]:
        return self.scenario.section(name)

    @property
    def identity(self) -> dict[str, Any]:
        return self.scenario.section("identity")

    @property
    def subscriptions(self) -> tuple[SubscriptionSpec, ...]:
        return self.scenario.subscriptions

    @property
    def subscription_ids(self) -> list[str]:
        return [s.id for s in self.scenario.subscriptions]

    def info(self) -> dict[str, Any]:
        """What /_sim/info and the CLI info file report."""
        ident = self.identity
        return {
            "base_url": self.base_url,
            "imds_url": self.imds_url,
            "ca_path": str(self.ca_path) if self.ca_path else None,
            "tenant_id": ident["tenant_id"],
            "client_id": ident["client_id"],
            "client_secret": ident["client_secret"],
            "managed_identity_client_id": ident["managed_identity_client_id"],
            "identity_endpoint": f"{self.base_url}/msi/token",
            "identity_header": ident["identity_header"],
            "subscriptions": [
                {"id": s.id, "display_name": s.display_name, "state": s.state} for s in self.subscriptions
            ],
            "subscription_ids": self.subscription_ids,
            "now": self.clock.now().isoformat(),
        }
