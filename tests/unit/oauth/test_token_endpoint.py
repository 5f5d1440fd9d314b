"""The token endpoint's grant registry: every advertised grant has a handler; an unknown or missing
grant type is answered only once the client has authenticated."""

from __future__ import annotations

import pytest

from gateway.errors import OAuthError
from gateway.oauth.token_endpoint import GRANT_TYPES
from tests.unit.oauth.conftest import Harness


async def test_every_advertised_grant_type_has_a_handler(harness: Harness) -> None:
    """The grant types the API reference advertises are exactly the registry's."""
    assert harness.runtime.oauth.token_endpoint.grant_types == GRANT_TYPES


@pytest.mark.parametrize(
    ("grant_type", "authenticated", "error"),
    [
        ("password", True, "unsupported_grant_type"),
        ("", True, "unsupported_grant_type"),
        (None, True, "invalid_request"),
        ("password", False, "invalid_client"),
        (None, False, "invalid_client"),
    ],
)
async def test_unknown_or_missing_grant_types(
    harness: Harness, grant_type: str | None, authenticated: bool, error: str
) -> None:
    """With a valid client an unknown grant type is unsupported_grant_type and a missing one
    invalid_request; without one, invalid_client comes first."""
    client = await harness.client(["sim-swap:check"])
    form = {} if grant_type is None else {"grant_type": grant_type}
    with pytest.raises(OAuthError) as caught:
        await harness.runtime.oauth.token_endpoint.handle(client.basic if authenticated else None, form)
    assert caught.value.error == error
