"""Token endpoints azure-identity/MSAL really call: Entra ID (AAD) discovery and token,
App Service managed identity (``IDENTITY_ENDPOINT``) and IMDS managed identity.

Route names: ``token.openid``, ``token.aad``, ``token.managed_identity``, ``token.imds``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import parse_qsl, unquote

from exporter.simulator.errors import aad_error, aad_fault_body
from exporter.simulator.router import Router, SimRequest, SimResponse
from exporter.simulator.state import ScenarioState

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_NO_CACHE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
_TENANT = r"/(?P<tenant>[^/]+)"


def register(router: Router) -> None:
    router.add(
        "GET", _TENANT + r"/v2\.0/\.well-known/openid-configuration", "token.openid", openid_configuration
    )
    router.add("GET", _TENANT + r"/\.well-known/openid-configuration", "token.openid", openid_configuration)
    router.add("GET", r"/common/discovery/instance", "token.openid", instance_discovery)
    router.add("POST", _TENANT + r"/oauth2/v2\.0/token", "token.aad", token)
    router.add("POST", _TENANT + r"/oauth2/token", "token.aad", token)  # v1 and AD FS (tenant "adfs")
    router.add("GET", r"/msi/token/?", "token.managed_identity", app_service_token)
    router.add("GET", r"/metadata/identity/oauth2/token/?", "token.imds", imds_token, listener="http")
    router.add_fault_body("token.*", aad_fault_body)


def _tenant_ok(tenant: str, state: ScenarioState, *, discovery: bool) -> bool:
    known = {str(state.identity["tenant_id"]).lower(), "adfs"}
    if discovery:
        known |= {"common", "organizations"}
    return tenant.lower() in known


def _tenant_not_found(state: ScenarioState, tenant: str) -> SimResponse:
    text = (
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud."
    )
    return aad_error(state, 400, "invalid_request", 90002, text)


def openid_configuration(req: SimRequest, state: ScenarioState) -> SimResponse:
    tenant = req.params["tenant"]
    if not _tenant_ok(tenant, state, discovery=True):
        return _tenant_not_found(state, tenant)
    v2 = "/v2.0/" in req.path.lower()
    adfs = tenant.lower() == "adfs"
    base = f"{req.base_url}/{tenant}"
    oauth = f"{base}/oauth2" + ("/v2.0" if v2 else "")
    tid = "adfs" if adfs else state.identity["tenant_id"]
    body = {
        "token_endpoint": f"{oauth}/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/discovery" + ("/v2.0" if v2 else "") + "/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        # MSAL accepts an issuer on the same scheme and host as the authority.
        "issuer": f"{req.base_url}/{tid}" + ("/v2.0" if v2 else "/"),
        "request_uri_parameter_supported": False,
        "authorization_endpoint": f"{oauth}/authorize",
        "device_authorization_endpoint": f"{oauth}/devicecode",
        "end_session_endpoint": f"{oauth}/logout",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "tenant_region_scope": "EU",
        "cloud_instance_name": "simulator",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
    }
    return SimResponse(200, body, {"Cache-Control": "max-age=86400, private"})


def instance_discovery(req: SimRequest, state: ScenarioState) -> SimResponse:
    host = req.base_url.split("://", 1)[1]
    tenant = state.identity["tenant_id"]
    body = {
        "tenant_discovery_endpoint": f"{req.base_url}/{tenant}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }
    return SimResponse(200, body)


def token(req: SimRequest, state: ScenarioState) -> SimResponse:
    tenant = req.params["tenant"]
    if not _tenant_ok(tenant, state, discovery=False):
        return _tenant_not_found(state, tenant)
    form = dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
    basic_id, basic_secret = _basic_auth(req)
    grant = form.get("grant_type", "")
    ident = state.identity
    if not grant:
        text = "The request body must contain the following parameter: 'grant_type'."
        return aad_error(state, 400, "invalid_request", 900144, text)
    if grant != "client_credentials":
        text = f"The app requested an unsupported grant type '{grant}'."
        return aad_error(state, 400, "unsupported_grant_type", 70003, text)
    client_id = form.get("client_id") or basic_id or ""
    if client_id.lower() != str(ident["client_id"]).lower():
        text = (
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{ident['tenant_id']}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant."
        )
        return aad_error(state, 400, "unauthorized_client", 700016, text)
    secret = form.get("client_secret") or basic_secret
    if secret is not None:
        if not hmac.compare_digest(secret.encode(), str(ident["client_secret"]).encode()):
            text = (
                "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                f"secret value, not the client secret ID, for a secret added to app '{client_id}'."
            )
            return aad_error(state, 401, "invalid_client", 7000215, text)
    elif not (form.get("client_assertion") and form.get("client_assertion_type") == JWT_BEARER):
        # Certificate and federated (workload identity) assertions are accepted unverified.
        text = (
            "'client_assertion', 'client_secret' or 'request' is required for the "
            "'client_credentials' grant type."
        )
        return aad_error(state, 401, "invalid_client", 7000216, text)
    v1 = "/v2.0/" not in req.path.lower()
    audience = form.get("resource", "") if v1 else _audience(form.get("scope", ""))
    if v1 and not audience and tenant.lower() == "adfs":
        # AD FS 2019+ takes MSAL's `scope` (`<resource>/.default`) when `resource` is absent.
        audience = _audience(form.get("scope", ""))
    if not audience:
        if v1:
            text = "The request body must contain the following parameter: 'resource'."
            return aad_error(state, 400, "invalid_request", 900144, text)
        scope = form.get("scope", "")
        text = (
            f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
            "value with /.default suffixed to the resource identifier (application ID URI)."
        )
        return aad_error(state, 400, "invalid_scope", 1002012, text)
    issued = state.tokens.issue(client_id, audience, "client_credentials")
    body: dict[str, object] = {
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "ext_expires_in": issued.expires_in,
        "access_token": issued.access_token,
    }
    if v1:  # v1 answers with strings and echoes the resource
        body = {k: str(v) for k, v in body.items()}
        body |= {"expires_on": str(issued.expires_on), "resource": audience}
    return SimResponse(200, body, dict(_NO_CACHE))


def _audience(scope: str) -> str:
    resources = [s[: -len("/.default")] for s in scope.split() if s.endswith("/.default")]
    return resources[0] if len(resources) == 1 else ""


def _basic_auth(req: SimRequest) -> tuple[str | None, str | None]:
    scheme, _, value = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return unquote(user), unquote(password)


def _mi_error(status: int, message: str) -> SimResponse:
    # App Service's local token service answers errors in this shape (unconfirmed).
    return SimResponse(status, {"statusCode": status, "message": message, "correlationId": ""})


def app_service_token(req: SimRequest, state: ScenarioState) -> SimResponse:
    ident = state.identity
    given = req.headers.get("X-IDENTITY-HEADER", "")
    if not hmac.compare_digest(given.encode(), str(ident["identity_header"]).encode()):
        return _mi_error(401, "The X-IDENTITY-HEADER header is missing or invalid.")
    if req.query.get("api-version") != "2019-08-01":
        return _mi_error(400, "api-version 2019-08-01 is required.")
    resource = req.query.get("resource", "")
    if not resource:
        return _mi_error(400, "The 'resource' query parameter is required.")
    mi_client = str(ident["managed_identity_client_id"])
    if req.query.get("client_id", mi_client).lower() != mi_client.lower():
        return _mi_error(400, "Unable to load the proper Managed Identity.")
    audience = _strip_default(resource)
    issued = state.tokens.issue(mi_client, audience, "app_service_mi")
    body = {
        "access_token": issued.access_token,
        "expires_on": str(issued.expires_on),
        "resource": audience,
        "token_type": "Bearer",
        "client_id": mi_client,
    }
    return SimResponse(200, body, dict(_NO_CACHE))


def imds_token(req: SimRequest, state: ScenarioState) -> SimResponse:
    def bad(text: str) -> SimResponse:
        return SimResponse(400, {"error": "invalid_request", "error_description": text})

    if req.headers.get("Metadata", "").lower() != "true":
        return bad("Required metadata header not specified")
    if "X-Forwarded-For" in req.headers:
        return bad("Request contains an X-Forwarded-For header")
    if not req.query.get("api-version"):
        return bad("Required query variable 'api-version' is missing")
    resource = req.query.get("resource", "")
    if not resource:
        return bad("Required query variable 'resource' is missing")
    mi_client = str(state.identity["managed_identity_client_id"])
    if req.query.get("client_id", mi_client).lower() != mi_client.lower():
        return bad("Identity not found")
    audience = _strip_default(resource)
    issued = state.tokens.issue(mi_client, audience, "imds_mi")
    not_before = issued.expires_on - issued.expires_in
    body = {
        "access_token": issued.access_token,
        "client_id": mi_client,
        "expires_in": str(issued.expires_in),
        "expires_on": str(issued.expires_on),
        "ext_expires_in": str(issued.expires_in),
        "not_before": str(not_before),
        "resource": resource,
        "token_type": "Bearer",
    }
    return SimResponse(200, body)


def _strip_default(resource: str) -> str:
    return resource[: -len("/.default")] if resource.endswith("/.default") else resource
