"""The authorization_code grant: single use, binding to client, redirect URI and PKCE; ID token."""

from __future__ import annotations

import asyncio

import jwt
import pytest

from gateway.errors import OAuthError
from gateway.oauth.tokens import InvalidToken
from tests.unit.oauth.conftest import ISSUER, PURPOSE, REDIRECT, Client, Harness, authorize_params, query

VERIFIER = "v" * 43


async def _code(h: Harness, client: Client, operator: str = "cmcc", **overrides: str) -> tuple[str, str]:
    """Run the authorization request from a device on ``operator``'s network; returns (code, number)."""
    phone, ip = h.subscriber(operator)
    service = h.runtime.oauth.authorization
    target = await service.start(authorize_params(client, **overrides), peer="127.0.0.1", forwarded_for=ip)
    callback = h.operators[operator].authorize(target, device_ip=ip)
    back = query(await service.finish(operator, {k: [v] for k, v in query(callback).items()}))
    return back["code"], phone


async def _redeem(h: Harness, client: Client, code: str, **form: str) -> dict[str, object]:
    request = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        **form,
    }
    return await h.runtime.oauth.token_endpoint.handle(client.basic, {k: v for k, v in request.items() if v})


async def _refused(h: Harness, client: Client, code: str, **form: str) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        await _redeem(h, client, code, **form)
    return caught.value


async def test_code_yields_a_three_legged_token_and_an_id_token(any_db_harness: Harness) -> None:
    """The token names the subscriber (number sealed, operator, amr network, pairwise sub); the ID token
    is RS256 (the registration default) with our RSA key's kid, aud = client, the nonce, amr and
    auth_time; NV scopes cap the lifetime at 300 s."""
    h = any_db_harness
    client = await h.client(["number-verification:verify", "dpv:FraudPreventionAndDetection"])
    code, phone = await _code(
        h, client, scope="openid dpv:FraudPreventionAndDetection number-verification:verify"
    )
    body = await _redeem(h, client, code)
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300 and "refresh_token" not in body
    assert body["scope"] == "dpv:FraudPreventionAndDetection number-verification:verify openid"
    who = await h.runtime.tokens.verify(str(body["access_token"]))
    assert who.subscriber is not None and who.subscriber.phone_number == phone
    assert who.subscriber.operator == "cmcc" and who.subscriber.amr == {"network"}
    header = jwt.get_unverified_header(str(body["id_token"]))
    rsa_key = h.runtime.keys.signing_key_for("RS256")
    assert header["typ"] == "JWT" and header["kid"] == rsa_key.kid
    claims = jwt.decode(
        str(body["id_token"]),
        rsa_key.public_key,
        algorithms=["RS256"],
        audience=client.tenant.client_id,
        issuer=ISSUER,
    )
    access = jwt.decode(str(body["access_token"]), options={"verify_signature": False})
    assert claims["nonce"] == "n-1" and claims["amr"] == ["network"] and claims["sub"] == access["sub"]
    assert claims["exp"] - claims["iat"] <= 300 and abs(claims["auth_time"] - claims["iat"]) <= 2
    assert phone not in str(claims) and phone[1:] not in str(access)


async def test_subject_is_pairwise_per_tenant(harness: Harness) -> None:
    """The same number gets different, stable subjects at two tenants."""
    a = await harness.client(["number-verification:verify", PURPOSE])
    b = await harness.client(["number-verification:verify", PURPOSE])
    subjects = harness.runtime.oauth.token_endpoint._user_tokens
    assert subjects.subject(a.tenant.id, "+8613800138000") == subjects.subject(a.tenant.id, "+8613800138000")
    assert subjects.subject(a.tenant.id, "+8613800138000") != subjects.subject(b.tenant.id, "+8613800138000")


async def test_non_nv_scopes_get_the_configured_lifetime(harness: Harness) -> None:
    """Only number-verification scopes shorten the token to 300 s."""
    client = await harness.client(["sim-swap:check", PURPOSE])
    code, _ = await _code(harness, client, scope=f"openid {PURPOSE} sim-swap:check")
    assert (await _redeem(harness, client, code))["expires_in"] == harness.runtime.tokens.ttl


async def test_second_use_fails_and_revokes_the_first_token(any_db_harness: Harness) -> None:
    """A code redeemed twice is invalid_grant, and the token of the first redemption stops verifying."""
    h = any_db_harness
    client = await h.client(["number-verification:verify", PURPOSE])
    code, _ = await _code(h, client)
    token = str((await _redeem(h, client, code))["access_token"])
    assert (await h.runtime.tokens.verify(token)).subscriber is not None
    assert (await _refused(h, client, code)).error == "invalid_grant"
    with pytest.raises(InvalidToken):
        await h.runtime.tokens.verify(token)


async def test_another_tenants_code_is_invalid_grant_and_stays_usable(harness: Harness) -> None:
    """Tenant B cannot redeem (or burn) tenant A's code."""
    a = await harness.client(["number-verification:verify", PURPOSE])
    b = await harness.client(["number-verification:verify", PURPOSE])
    code, _ = await _code(harness, a)
    assert (await _refused(harness, b, code)).error == "invalid_grant"
    assert "access_token" in await _redeem(harness, a, code)


async def test_redirect_uri_must_equal_the_authorization_requests(harness: Harness) -> None:
    """A redirect_uri differing by one character is invalid_grant (and the code is spent)."""
    client = await harness.client(["number-verification:verify", PURPOSE])
    code, _ = await _code(harness, client)
    assert (await _refused(harness, client, code, redirect_uri=REDIRECT + "/")).error == "invalid_grant"
    assert (await _refused(harness, client, code)).error == "invalid_grant"


async def test_pkce_verifier_missing_or_wrong(harness: Harness) -> None:
    """No verifier is invalid_request (code kept); a wrong verifier is invalid_grant (code spent)."""
    client = await harness.client(["number-verification:verify", PURPOSE])
    code, _ = await _code(harness, client)
    assert (await _refused(harness, client, code, code_verifier="")).error == "invalid_request"
    assert (await _refused(harness, client, code, code_verifier="w" * 43)).error == "invalid_grant"
    assert (await _refused(harness, client, code)).error == "invalid_grant"


async def test_code_expires_after_60_seconds(harness: Harness) -> None:
    """A code older than 60 s is invalid_grant."""
    client = await harness.client(["number-verification:verify", PURPOSE])
    code, _ = await _code(harness, client)
    harness.clock.advance(61)
    assert (await _refused(harness, client, code)).error == "invalid_grant"


async def test_sms_otp_authentication_is_recorded_in_amr(harness: Harness) -> None:
    """A subscriber the operator authenticated by SMS-OTP gets amr sms_otp (which NV refuses)."""
    client = await harness.client(["number-verification:verify", PURPOSE])
    harness.operators["ctcc"].sms_fallback.add("+8618900189000")
    service = harness.runtime.oauth.authorization
    params = authorize_params(client, login_hint="tel:+8618900189000")
    target = await service.start(params, peer="127.0.0.1", forwarded_for=None)
    callback = harness.operators["ctcc"].authorize(target, device_ip=None)
    code = query(await service.finish("ctcc", {k: [v] for k, v in query(callback).items()}))["code"]
    who = await harness.runtime.tokens.verify(str((await _redeem(harness, client, code))["access_token"]))
    assert who.subscriber is not None and who.subscriber.amr == {"sms_otp"}


async def test_unknown_and_missing_grant_types(harness: Harness) -> None:
    """refresh_token (never issued) is unsupported_grant_type; no grant_type is invalid_request."""
    client = await harness.client(["number-verification:verify", PURPOSE])
    endpoint = harness.runtime.oauth.token_endpoint
    with pytest.raises(OAuthError) as caught:
        await endpoint.handle(client.basic, {"grant_type": "refresh_token", "refresh_token": "x"})
    assert caught.value.error == "unsupported_grant_type"
    with pytest.raises(OAuthError) as caught:
        await endpoint.handle(client.basic, {})
    assert caught.value.error == "invalid_request"


async def test_concurrent_redemptions_have_one_winner(any_db_harness: Harness) -> None:
    """Two simultaneous redemptions of one code (as from two gateway processes): exactly one succeeds."""
    h = any_db_harness
    client = await h.client(["number-verification:verify", PURPOSE])
    code, _ = await _code(h, client)
    outcomes = await asyncio.gather(
        _redeem(h, client, code), _redeem(h, client, code), return_exceptions=True
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["OAuthError", "dict"]
