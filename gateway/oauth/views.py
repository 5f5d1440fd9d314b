"""OAuth 2.0 / OIDC endpoints: discovery, JWKS and the token endpoint (RFC 6749 §3.2, §4.4).

Grants implemented: ``client_credentials``. Token requests are form-encoded; errors use the RFC
6749 body. Responses carry ``Cache-Control: no-store`` (RFC 6749 §5.1).
"""

from __future__ import annotations

from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.auth import public
from gateway.errors import OAuthError
from gateway.oauth.tokens import Principal
from gateway.scopes import KNOWN_SCOPES
from gateway.wire import json_response

__all__ = ["routes"]

routes = web.RouteTableDef()
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORM = "application/x-www-form-urlencoded"


@routes.get("/.well-known/openid-configuration")
@public
async def discovery(request: web.Request) -> web.Response:
    """OpenID Provider metadata (OIDC Discovery 1.0 / RFC 8414)."""
    issuer = request.app[RUNTIME].settings.issuer
    return json_response(
        {
            "issuer": issuer,
            "token_endpoint": f"{issuer}/oauth2/token",
            "jwks_uri": f"{issuer}/oauth2/jwks",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
            "scopes_supported": sorted(KNOWN_SCOPES),
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256"],
        }
    )


@routes.get("/oauth2/jwks")
@public
async def jwks(request: web.Request) -> web.Response:
    """The public keys that verify this gateway's tokens."""
    return json_response(request.app[RUNTIME].keys.jwks(), headers={"Cache-Control": "max-age=300"})


@routes.post("/oauth2/token")
@public
async def token(request: web.Request) -> web.Response:
    """The token endpoint; see the module docstring."""
    runtime = request.app[RUNTIME]
    if request.content_type != _FORM:
        raise OAuthError("invalid_request", "The token request must be application/x-www-form-urlencoded.")
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    tenant = await runtime.client_auth.authenticate(request.headers.get("Authorization"), form)
    grant_type = form.get("grant_type")
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", "The grant type is not supported.")
    allowed = frozenset(tenant.scopes.split())
    requested = frozenset(form["scope"].split()) if form.get("scope") else allowed
    if not requested or not requested <= allowed:
        raise OAuthError("invalid_scope", "The requested scope exceeds the client's registration.")
    who = Principal(tenant_id=tenant.id, client_id=tenant.client_id, scopes=requested)
    access_token = runtime.tokens.issue(who)
    return json_response(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": runtime.tokens.ttl,
            "scope": " ".join(sorted(requested)),
        },
        headers=_NO_STORE,
    )
