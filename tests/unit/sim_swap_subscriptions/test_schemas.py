"""The subscription request body: strict structure, and the CAMARA codes of the sink credential."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.camara.subscriptions.schemas import SubscriptionRequest, sink_credential
from gateway.errors import ApiError, InvalidCredential, InvalidSinkToken

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SWAPPED = "org.camaraproject.sim-swap-subscriptions.v0.swapped"


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "protocol": "HTTP",
        "sink": "https://bank.example.com/sink",
        "types": [SWAPPED],
        "config": {"subscriptionDetail": {"phoneNumber": "+8613800138000"}},
    }
    body.update(overrides)
    return body


def _credential(**overrides: Any) -> dict[str, Any]:
    credential: dict[str, Any] = {
        "credentialType": "ACCESSTOKEN",
        "accessTokenType": "bearer",
        "accessToken": "tok-123",
        "accessTokenExpiresUtc": (NOW + timedelta(days=1)).isoformat(),
    }
    credential.update(overrides)
    return {k: v for k, v in credential.items() if v is not None}


def test_a_valid_body_parses() -> None:
    """The CAMARA example shape parses, with the optional config fields."""
    body = _body(
        config={
            "subscriptionDetail": {},
            "subscriptionExpireTime": "2026-04-01T08:00:00.250+08:00",
            "subscriptionMaxEvents": 3,
            "initialEvent": False,
        }
    )
    parsed = SubscriptionRequest.model_validate_json(json.dumps(body))
    assert parsed.config.subscriptionMaxEvents == 3
    assert parsed.config.subscriptionExpireTime == datetime(2026, 4, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert parsed.config.subscriptionDetail.phoneNumber is None
    assert parsed.event_type == SWAPPED


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"types": ["org.camaraproject.sim-swap-subscriptions.v0.unknown"]}, "an unknown event type"),
        ({"types": [SWAPPED, SWAPPED]}, "two event types"),
        ({"types": []}, "no event type"),
        ({"config": {"subscriptionDetail": {}, "subscriptionMaxEvents": 0}}, "maxEvents below 1"),
        ({"config": {"subscriptionDetail": {}, "subscriptionExpireTime": "2026-04-01T00:00:00"}}, "no zone"),
        ({"config": {"subscriptionDetail": {}, "subscriptionExpireTime": 1775000000}}, "a number"),
        ({"config": {"subscriptionDetail": {}, "subscriptionExpireTime": "2026-04-01"}}, "a date"),
        ({"config": {"subscriptionDetail": {"phoneNumber": "13800138000"}}}, "a number without +"),
        ({"config": {"subscriptionDetail": {}, "extra": 1}}, "an unknown config property"),
        ({"config": {}}, "no subscriptionDetail"),
        ({"sinkCredential": None}, "an explicit null"),
        ({"unknown": True}, "an unknown top-level property"),
        ({"protocol": 1}, "a non-string protocol"),
    ],
)
def test_structural_errors_are_validation_errors(change: dict[str, Any], why: str) -> None:
    """Each structural problem fails validation (rendered 400 INVALID_ARGUMENT)."""
    with pytest.raises(ValidationError):
        SubscriptionRequest.model_validate_json(json.dumps(_body(**change)))


def test_no_credential_is_none() -> None:
    """Without sinkCredential there is no token."""
    assert sink_credential(None, NOW) is None


def test_an_access_token_credential_gives_the_token() -> None:
    """ACCESSTOKEN + bearer gives the token and its expiry."""
    token = sink_credential(_credential(), NOW)
    assert token is not None
    assert token.access_token == "tok-123" and token.expires_at == NOW + timedelta(days=1)


@pytest.mark.parametrize(
    ("credential", "error"),
    [
        ({"credentialType": "PLAIN", "identifier": "a", "secret": "b"}, InvalidCredential),
        ({"credentialType": "REFRESHTOKEN"}, InvalidCredential),
        ({"credentialType": "PRIVATE_KEY_JWT"}, InvalidCredential),
        ({}, InvalidCredential),
        (_credential(accessToken=None), InvalidCredential),
        (_credential(accessTokenExpiresUtc="tomorrow"), InvalidCredential),
        (_credential(accessTokenExpiresUtc="2026-04-01T00:00:00"), InvalidCredential),
        (_credential(refreshToken="r"), InvalidCredential),
        (_credential(accessTokenExpiresUtc=1775000000), InvalidCredential),
        (_credential(accessTokenType="mac"), InvalidSinkToken),
        (_credential(accessToken=""), InvalidSinkToken),
        (_credential(accessToken="with space"), InvalidSinkToken),
        (_credential(accessToken="line\r\nX-Injected: 1"), InvalidSinkToken),
        (_credential(accessToken="x" * 4097), InvalidSinkToken),
        (_credential(accessTokenExpiresUtc=(NOW - timedelta(seconds=1)).isoformat()), InvalidSinkToken),
    ],
)
def test_credential_errors_have_their_camara_codes(credential: dict[str, Any], error: type[ApiError]) -> None:
    """Other credential types and shapes are INVALID_CREDENTIAL; a bad bearer token INVALID_TOKEN."""
    with pytest.raises(error) as raised:
        sink_credential(credential, NOW)
    assert raised.value.status == 400
    assert "tok-123" not in raised.value.message and "Injected" not in raised.value.message
