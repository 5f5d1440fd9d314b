"""The authorization server metadata over real sockets, judged by authlib: the RFC 8414 document
at ``/.well-known/oauth-authorization-server`` is the OpenID configuration's and passes authlib's
RFC 8414, RFC 9101 and OpenID Discovery validators."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata, get_well_known_url
from authlib.oauth2.rfc9101 import AuthorizationServerMetadata as JarMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

from gateway.oauth.metadata import server_metadata
from tests.integration.test_authorization import AuthStack, open_auth_stack

pytestmark = pytest.mark.integration


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[AuthStack]:
    """On SQLite and PostgreSQL."""
    async with open_auth_stack(database_url) as running:
        yield running


async def test_rfc8414_metadata_is_the_discovery_document_and_passes_authlib(
    stack: AuthStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The RFC 8414 address (built by authlib from the issuer) serves the OpenID configuration's
    document; authlib's RFC 8414 + RFC 9101 and OpenID Discovery validators accept it (plain http
    allowed only because the test gateway listens on loopback without TLS)."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    oauth = await stack.http.get(get_well_known_url(stack.url, external=True))
    oidc = await stack.http.get(get_well_known_url(stack.url, external=True, suffix="openid-configuration"))
    assert oauth.status_code == 200 and oauth.headers["content-type"].startswith("application/json")
    document = oauth.json()
    assert document == oidc.json() and document["issuer"] == stack.url
    AuthorizationServerMetadata(document).validate(metadata_classes=[JarMetadata])
    OpenIDProviderMetadata(document).validate()
    assert document["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert (
        document["request_parameter_supported"] is True
        and document["request_uri_parameter_supported"] is False
    )
    assert "none" not in document["request_object_signing_alg_values_supported"]
    assert set(document["backchannel_authentication_request_signing_alg_values_supported"]) >= {
        "ES256",
        "RS256",
    }
    assert "require_signed_request_object" not in document


def test_a_server_requiring_signed_requests_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """With GATEWAY_REQUIRE_SIGNED_REQUEST_OBJECT the document carries require_signed_request_object
    true, which authlib's RFC 9101 validator accepts; otherwise the member is absent."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    issuer = "https://gw.example"
    required = server_metadata(issuer, grant_types=["authorization_code"], require_signed_request_object=True)
    assert required["require_signed_request_object"] is True
    AuthorizationServerMetadata(required).validate(metadata_classes=[JarMetadata])
    relaxed = server_metadata(issuer, grant_types=["authorization_code"], require_signed_request_object=False)
    assert "require_signed_request_object" not in relaxed
