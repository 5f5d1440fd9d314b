"""The dpv: purpose rule (CAMARA Security and Interoperability profile): in every 3-legged flow (JWT
bearer, authorization code, CIBA) personal-data scopes need exactly one purpose, and two purposes are
always refused."""

from __future__ import annotations

import pytest

from gateway.errors import OAuthError, OAuthRedirect
from gateway.scopes import KNOWN_SCOPES, PERSONAL_DATA_SCOPES, is_purpose, purpose_error
from tests.unit.oauth.conftest import ISSUER, Harness, authorize_params, query

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
    ("scopes", "says"),
    [
        ({"openid", FRAUD, "sim-swap:check"}, None),
        ({"openid"}, None),
        ({"openid", FRAUD}, None),
        ({"templates:write"}, None),
        ({"sim-swap:check"}, "sim-swap:check processes personal data"),
        ({"openid", "number-verification:verify"}, "number-verification:verify processes personal data"),
        ({FRAUD, MARKETING, "sim-swap:check"}, "exactly one dpv: purpose scope, not 2"),
        ({FRAUD, MARKETING, "openid"}, "not 2"),
    ],
)
def test_purpose_error(scopes: set[str], says: str | None) -> None:
    """One purpose passes; none with a personal-data scope fails; two always fail."""
    problem = purpose_error(frozenset(scopes))
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


_CASES = pytest.mark.parametrize(
    ("purposes", "says"),
    [(FRAUD, None), ("", "processes personal data"), (f"{FRAUD} {MARKETING}", "exactly one")],
    ids=["one-purpose", "no-purpose", "two-purposes"],
)


@_CASES
async def test_ciba_requires_exactly_one_purpose(
    any_db_harness: Harness, purposes: str, says: str | None
) -> None:
    """A backchannel request for sim-swap:check is accepted with one purpose; with none or two it is
    invalid_scope saying why."""
    client = await any_db_harness.client(["sim-swap:check", FRAUD, MARKETING])
    form = {"scope": f"openid {purposes} sim-swap:check", "login_hint": "tel:+8613800138000"}
    try:
        started = await any_db_harness.runtime.oauth.backchannel.start(client.tenant, form)
    except OAuthError as exc:
        assert says is not None and exc.error == "invalid_scope" and says in exc.description
    else:
        assert says is None and started["auth_req_id"]


@_CASES
async def test_the_code_flow_requires_exactly_one_purpose(
    any_db_harness: Harness, purposes: str, says: str | None
) -> None:
    """An authorization request for number-verification:verify goes to the operator with one
    purpose; with none or two it is invalid_scope, redirected to the client with its state."""
    h = any_db_harness
    client = await h.client(["number-verification:verify", FRAUD, MARKETING])
    _, ip = h.subscriber("cmcc")
    params = authorize_params(client, scope=f"openid {purposes} number-verification:verify")
    service = h.runtime.oauth.authorization
    try:
        target = await service.start(params, peer="127.0.0.1", forwarded_for=ip)
    except OAuthRedirect as exc:
        answer = query(service.error_location(exc))
        assert says is not None and answer["error"] == "invalid_scope" and says in answer["error_description"]
        assert answer["state"] == "st-1" and answer["iss"] == ISSUER
    else:
        assert says is None and target.startswith("https://operator.invalid/cmcc/authorize?")
