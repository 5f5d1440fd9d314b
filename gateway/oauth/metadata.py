"""The authorization server's metadata: one document served both as OpenID Provider metadata
(``/.well-known/openid-configuration``, OIDC Discovery 1.0) and as OAuth 2.0 Authorization Server
Metadata (``/.well-known/oauth-authorization-server``, RFC 8414), so the two never disagree.

No refresh grant is offered; ``require_signed_request_object`` (RFC 9101 §10.5) appears, true,
only when the server requires signed requests of every client.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.oauth.client_auth import AUTH_METHODS
from gateway.oauth.keys import ALGORITHMS
from gateway.oauth.request_objects import SIGNING_ALGORITHMS
from gateway.scopes import KNOWN_SCOPES

__all__ = ["server_metadata"]


def server_metadata(
    issuer: str, *, grant_types: Iterable[str], require_signed_request_object: bool
) -> dict[str, Any]:
    """The metadata document of the server at ``issuer``."""
    metadata: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "token_endpoint": f"{issuer}/oauth2/token",
        "backchannel_authentication_endpoint": f"{issuer}/oauth2/bc-authorize",
        "jwks_uri": f"{issuer}/oauth2/jwks",
        "grant_types_supported": list(grant_types),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "backchannel_token_delivery_modes_supported": ["poll"],
        "backchannel_user_code_parameter_supported": False,
        "backchannel_authentication_request_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "scopes_supported": sorted(KNOWN_SCOPES),
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
        "claims_supported": ["iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "amr"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": True,
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "request_object_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "claims_parameter_supported": False,
    }
    if require_signed_request_object:
        metadata["require_signed_request_object"] = True
    return metadata
