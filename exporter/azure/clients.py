"""The one place that builds credentials and Azure clients.

Cloud endpoints, token scopes, the CA bundle, retries, timeouts, the user agent and request
counting are decided here so that every source talks to Azure the same way.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.core.credentials import TokenCredential
from azure.core.pipeline.policies import (
    ContentDecodePolicy,
    HeadersPolicy,
    HttpLoggingPolicy,
    ProxyPolicy,
    RedirectPolicy,
    SensitiveHeaderCleanupPolicy,
    UserAgentPolicy,
)
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

from exporter import __version__
from exporter.azure.clouds import CloudEndpoints, resolve
from exporter.azure.identity_hint import set_credential_type
from exporter.azure.policies import AzureStats, RequestCountingPolicy, RequestIdPolicy
from exporter.azure.retry import DeadlineRetryPolicy
from exporter.azure.transport import SettledSession, shared_transport
from exporter.config import AzureConfig, adfs_root
from exporter.core.errors import Reason, SourceError
from exporter.core.sharding import Shard

if TYPE_CHECKING:
    from azure.mgmt.resourcegraph import ResourceGraphClient

USER_AGENT = f"azure-update-exporter/{__version__}"
SUBSCRIPTIONS_API_VERSION = "2022-12-01"
# How long a sharded replica reuses the list of visible subscriptions it divides.
VISIBLE_TTL = 300.0


@dataclass(frozen=True, slots=True)
class Scope:
    """The subscriptions a source queries: every visible one, or exactly `subscriptions`."""

    subscriptions: tuple[str, ...] = ()
    everything: bool = True

    @property
    def empty(self) -> bool:
        """True when this replica owns no subscription at all (more shards than subscriptions)."""
        return not self.everything and not self.subscriptions


def build_credential(cfg: AzureConfig, cloud: CloudEndpoints) -> TokenCredential:
    """Credential for the configured identity; secrets are read from files, never logged."""
    from azure import identity  # heavy import, deferred until a source needs Azure

    cred = cfg.credential
    set_credential_type(cred.type)
    adfs = adfs_root(cloud.authority_host)
    tenant_id = cred.tenant_id or ("adfs" if adfs else None)
    common: dict[str, Any] = {"authority": adfs or cloud.authority_host, **token_request_bounds(cfg)}
    if cfg.ca_bundle:
        common["connection_verify"] = cfg.ca_bundle
    if cred.disable_instance_discovery or adfs:
        common["disable_instance_discovery"] = True  # AD FS has no Entra ID instance discovery
    if cred.type == "client_secret":
        secret = Path(str(cred.client_secret_file)).read_text(encoding="utf-8").strip()
        return identity.ClientSecretCredential(
            str(tenant_id), str(cred.client_id), secret, **common, **aad_request_bounds(cfg)
        )
    if cred.type == "client_certificate":
        return identity.CertificateCredential(
            str(tenant_id),
            str(cred.client_id),
            certificate_path=cred.client_certificate_file,
            **common,
            **aad_request_bounds(cfg),
        )
    if cred.type == "workload_identity":
        return identity.WorkloadIdentityCredential(
            tenant_id=tenant_id,
            client_id=cred.client_id,
            token_file_path=cred.federated_token_file,
            **common,
            **aad_request_bounds(cfg),
        )
    if cred.type == "managed_identity":
        kwargs = {k: v for k, v in common.items() if k != "authority"}
        return identity.ManagedIdentityCredential(client_id=cred.client_id, **kwargs)
    if cred.client_id:
        common["managed_identity_client_id"] = cred.client_id
        common["workload_identity_client_id"] = cred.client_id
    if tenant_id:
        common["workload_identity_tenant_id"] = tenant_id
    return identity.DefaultAzureCredential(**common)


def token_request_bounds(cfg: AzureConfig) -> dict[str, Any]:
    """A token endpoint that accepts the connection and never answers must not hold a refresh:
    every token request reads for at most `azure.request_timeout` (azure-core's default is
    300 s). The connect timeout is left to azure-identity, whose IMDS probe relies on its own
    short one and its own retry schedule (both tuned for IMDS).

    `auto_request_id=False` turns off azure-core's request-id policy in azure-identity's
    pipelines: it calls `uuid.uuid1()`, which leaks a file descriptor per thread through libuuid
    (see `exporter.azure.policies.RequestIdPolicy`); MSAL sends its own uuid4 correlation id."""
    return {"read_timeout": cfg.request_timeout, "auto_request_id": False}


def aad_request_bounds(cfg: AzureConfig) -> dict[str, Any]:
    """For the credentials that only talk to Entra ID: a connect timeout, and the retry policy
    and count of ARM calls (azure-core's default would retry a timed-out token request 3 times
    with backoff, well past a short source timeout)."""
    return {
        "connection_timeout": min(cfg.request_timeout, 10.0),
        "retry_total": cfg.retry_total,
        "retry_policy_class": DeadlineRetryPolicy,
    }


class AzureContext:
    """Credentials and clients for one configuration, created lazily and reused across refreshes."""

    def __init__(self, cfg: AzureConfig, stats: AzureStats, shard: Shard | None = None) -> None:
        self.cfg = cfg
        self.shard = shard or Shard()
        self.cloud = resolve(cfg)
        self.stats = stats
        self._lock = threading.Lock()
        self._credential: TokenCredential | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._session: SettledSession | None = None
        self._visible: tuple[float, tuple[str, ...]] | None = None

    @property
    def credential(self) -> TokenCredential:
        with self._lock:
            if self._credential is None:
                try:
                    self._credential = build_credential(self.cfg, self.cloud)
                except (OSError, ValueError) as exc:
                    # An unreadable secret file or certificate: a credential problem, not a bug.
                    raise SourceError(
                        Reason.TOKEN, f"cannot build the credential: {type(exc).__name__}"
                    ) from exc
            return self._credential

    def scope(self) -> Scope:
        """This replica's subscriptions: `azure.subscriptions` (every visible one if empty), and
        when sharded only those that hash to this shard, so no replica reads the whole tenant."""
        configured = tuple(s.lower() for s in self.cfg.subscriptions)
        if not self.shard.sharded:
            return Scope(configured, everything=not configured)
        candidates = configured or self.visible_subscriptions()
        return Scope(tuple(s for s in candidates if self.shard.owns(s)), everything=False)

    def visible_subscriptions(self) -> tuple[str, ...]:
        """Every subscription the identity sees (ARM `GET /subscriptions`), reused for VISIBLE_TTL."""
        now = time.monotonic()
        with self._lock:
            if self._visible is not None and now - self._visible[0] < VISIBLE_TTL:
                return self._visible[1]
        from exporter.azure.arm import list_paged

        items = list_paged(self.arm("arm"), "/subscriptions", SUBSCRIPTIONS_API_VERSION)
        ids = tuple(sorted({str(i["subscriptionId"]).lower() for i in items if i.get("subscriptionId")}))
        with self._lock:
            self._visible = (now, ids)
        return ids

    def client_kwargs(self, api: str) -> dict[str, Any]:
        """Keyword arguments understood by every generated azure-mgmt client.

        `policies` replaces the SDK's own list with `pipeline_policies`, so SDK clients and the
        raw ARM pipelines share one retry policy and one request-id policy.
        """
        kwargs: dict[str, Any] = {
            "base_url": self.cloud.arm_endpoint,
            # With base_url set the default scope would still follow the *public* cloud.
            "credential_scopes": [self.cloud.arm_scope],
            "user_agent": USER_AGENT,
            "retry_total": self.cfg.retry_total,
            "retry_backoff_factor": 0.8,
            "retry_backoff_max": 60,
            "connection_timeout": min(self.cfg.request_timeout, 10.0),
            "read_timeout": self.cfg.request_timeout,
            "custom_hook_policy": RequestCountingPolicy(api, self.stats),
        }
        if self.cfg.ca_bundle:
            kwargs["connection_verify"] = self.cfg.ca_bundle
        kwargs["transport"] = self.transport(kwargs)
        kwargs["policies"] = self.pipeline_policies(kwargs, self.cloud.arm_scope)
        return kwargs

    def pipeline_policies(self, kwargs: dict[str, Any], scope: str) -> list[Any]:
        """The policies of every Azure pipeline, in azure-mgmt's order (retry before auth, one
        count per attempt after it)."""
        return [
            RequestIdPolicy(),
            HeadersPolicy(),
            UserAgentPolicy(user_agent=USER_AGENT),
            ProxyPolicy(),
            ContentDecodePolicy(),
            RedirectPolicy(),
            DeadlineRetryPolicy(
                retry_total=self.cfg.retry_total,
                retry_backoff_factor=kwargs["retry_backoff_factor"],
                retry_backoff_max=kwargs["retry_backoff_max"],
            ),
            ARMChallengeAuthenticationPolicy(self.credential, scope),
            kwargs["custom_hook_policy"],
            SensitiveHeaderCleanupPolicy(),
            HttpLoggingPolicy(),
        ]

    def transport(self, kwargs: dict[str, Any]) -> Any:
        """Each client's transport over the one shared session (`exporter.azure.transport`)."""
        with self._lock:
            if self._session is None:
                self._session = SettledSession()
            session = self._session
        connection = {
            k: kwargs[k] for k in ("connection_timeout", "read_timeout", "connection_verify") if k in kwargs
        }
        return shared_transport(session, **connection)

    def _cached(self, key: tuple[str, str], factory: Any) -> Any:
        with self._lock:
            client = self._clients.get(key)
        if client is None:
            client = factory()
            with self._lock:
                client = self._clients.setdefault(key, client)
        return client

    def arm(
        self, api: str = "arm", base_url: str | None = None, scope: str | None = None
    ) -> ARMPipelineClient[Any, Any]:
        """A raw ARM pipeline for REST calls that have no SDK (subscriptions, Azure Stack admin)."""
        url = (base_url or self.cloud.arm_endpoint).rstrip("/")
        client: ARMPipelineClient[Any, Any] = self._cached(
            (api, url), lambda: self._build_arm(api, url, scope or self.cloud.arm_scope)
        )
        return client

    def _build_arm(self, api: str, base_url: str, scope: str) -> ARMPipelineClient[Any, Any]:
        kwargs = self.client_kwargs(api)
        policies = self.pipeline_policies(kwargs, scope)
        return ARMPipelineClient(base_url=base_url, policies=policies, transport=kwargs["transport"])

    def resource_graph(self) -> ResourceGraphClient:
        """The pipeline of Resource Graph queries (`exporter.azure.resource_graph` posts raw
        requests through it; only the client's pipeline and endpoint handling are used)."""
        from azure.mgmt.resourcegraph import ResourceGraphClient

        client: ResourceGraphClient = self._cached(
            ("resource_graph", ""),
            lambda: ResourceGraphClient(self.credential, **self.client_kwargs("resource_graph")),
        )
        return client

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
            credential, self._credential = self._credential, None
            session, self._session = self._session, None
        for client in clients:
            close = getattr(client, "close", None)
            if callable(close):
                close()
        close_cred = getattr(credential, "close", None)
        if callable(close_cred):
            close_cred()
        if session is not None:
            session.close()


def proxy_free_environment() -> dict[str, str]:
    """The environment minus proxy settings (IMDS must be reached directly)."""
    return {
        k: v for k, v in os.environ.items() if k.lower() not in {"http_proxy", "https_proxy", "all_proxy"}
    }
