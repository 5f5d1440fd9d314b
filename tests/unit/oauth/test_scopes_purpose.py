"""The dpv: purpose rule (CAMARA Security and Interoperability profile): personal-data scopes need
exactly one purpose in the JWT-bearer grant; two purposes are refused in every 3-legged flow."""

from __future__ import annotations

import pytest

from gateway.errors import OAuthError
from gateway.scopes import KNOWN_SCOPES, PERSONAL_DATA_SCOPES, is_purpose, purpose_error
from tests.unit.oauth.conftest import Harness

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FRAUD, MARKETING = "dpv:FraudPreventionAndDetection", "dpv:Marketing"


def test_personal_data_scopes_are_known_scopes() -> None:
    """Every personal-data scope is a scope the gateway knows; the CAMARA line APIs are among them."""
    assert PERSONAL_DATA_SCOPES <= KNOWN_SCOPES
    assert {"number-verification:verify", "sim-swap:check", "device-swap", "kyc-match:match"} <= (
        PERSONAL_DATA_SCOPES
    )
    assert not PERSONAL_DATA_SCOPES & {"openid", "templates:write", "webhooks:manage", "branches:manage"}


@pytest.mark.parametrize(
    ("scopes", "required", "says"),
    [
        ({"openid", FRAUD, "sim-swap:check"}, True, None),
        ({"openid"}, True, None),
        ({"templates:write"}, True, None),
        ({"sim-swap:check"}, True, "sim-swap:check processes personal data"),
        ({"sim-swap:check"}, False, None),
        ({FRAUD, MARKETING, "sim-swap:check"}, True, "exactly one dpv: purpose scope, not 2"),
        ({FRAUD, MARKETING, "openid"}, False, "not 2"),
    ],
)
def test_purpose_error(scopes: set[str], required: bool, says: str | None) -> None:
    """One purpose passes; none with a personal-data scope fails when required; two always fail."""
    problem = purpose_error(frozenset(scopes), required=required)
    assert (problem is None) if says is None else (problem is not None and says in problem)


def test_only_dpv_scopes_are_purposes() -> None:
    """dpv:<Purpose> with a capitalised purpose name; nothing else."""
    assert is_purpose(FRAUD) and not is_purpose("dpv:") and not is_purpose("dpv:lowercase")
    assert not is_purpose("sim-swap")


async def _grant(h: Harness, scope: str) -> OAuthError | None:
    client = await h.client(["sim-swap:check", FRAUD, MARKETING], signing=True)
    try:
        await h.runtime.oauth.token_endpoint.handle(
            None,
            {
                "grant_type": GRANT,
                "assertion": client.assertion({"sub": "tel:+8613800138002", "scope": scope}),
            },
        )
    except OAuthError as exc:
        return exc
    return None


@pytest.mark.parametrize(
    ("scope", "error"),
    [
        (f"{FRAUD} sim-swap:check", None),
        ("sim-swap:check", "invalid_scope"),
        (f"{FRAUD} {MARKETING} sim-swap:check", "invalid_scope"),
    ],
    ids=["one-purpose", "no-purpose", "two-purposes"],
)
async def test_the_jwt_bearer_grant_requires_exactly_one_purpose(
    harness: Harness, scope: str, error: str | None
) -> None:
    """The assertion's scope claim needs exactly one purpose beside sim-swap:check."""
    refused = await _grant(harness, scope)
    assert (refused is None) if error is None else (refused is not None and refused.error == error)


async def test_two_purposes_are_refused_in_ciba(harness: Harness) -> None:
    """A backchannel request with two purposes is invalid_scope naming the rule."""
    client = await harness.client(["sim-swap:check", FRAUD, MARKETING])
    with pytest.raises(OAuthError) as caught:
        await harness.runtime.oauth.backchannel.start(
            client.tenant,
            {"scope": f"openid {FRAUD} {MARKETING} sim-swap:check", "login_hint": "tel:+8613800138000"},
        )
    assert caught.value.error == "invalid_scope" and "dpv:" in caught.value.description
