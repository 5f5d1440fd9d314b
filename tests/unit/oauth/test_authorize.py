"""The authorization endpoint and operator callback as services (fake operators, real database)."""

from __future__ import annotations

import pytest

from carrier_adapters import AuthMethod, CarrierTimeout, CarrierUnavailable
from gateway.errors import InvalidArgument, OAuthRedirect
from gateway.oauth.authorize import AuthorizationService
from tests.unit.oauth.conftest import ISSUER, PURPOSE, REDIRECT, Harness, authorize_params, query


def _service(h: Harness) -> AuthorizationService:
    return h.runtime.oauth.authorization


async def _redirect_error(
    h: Harness, params: dict[str, list[str]], *, ip: str | None = None
) -> dict[str, str]:
    with pytest.raises(OAuthRedirect) as caught:
        await _service(h).start(params, peer="127.0.0.1", forwarded_for=ip)
    return query(_service(h).error_location(caught.value))


async def test_a_client_id_no_client_can_have_is_unknown_on_both_engines(any_db_harness: Harness) -> None:
    """A client_id with a NUL, a control character or past the column's length is an unknown client
    (400, never redirected), not a database error: PostgreSQL refuses a NUL in a parameter."""
    client = await any_db_harness.client(["number-verification:verify", PURPOSE])
    for odd in ("gw_\x00x", "gw_\nx", "gw_" + "x" * 62, "gw_\u00e9"):
        with pytest.raises(InvalidArgument):
            await _service(any_db_harness).start(
                authorize_params(client, client_id=odd), peer="127.0.0.1", forwarded_for="10.64.0.7"
            )
        assert await any_db_harness.runtime.tenants.by_client_id(odd) is None
    assert await any_db_harness.runtime.tenants.by_client_id(client.tenant.client_id) is not None


async def test_unknown_client_and_unregistered_redirect_uri_are_answered_directly(harness: Harness) -> None:
    """client_id and redirect_uri errors are never redirected: a URI differing by one character is refused."""
    client = await harness.client(["number-verification:verify", PURPOSE])
    for params in (
        authorize_params(client, client_id="gw_nope"),
        authorize_params(client, client_id=None),
        authorize_params(client, redirect_uri=REDIRECT + "x"),
        authorize_params(client, redirect_uri=REDIRECT.replace("https", "http")),
        authorize_params(client, redirect_uri=None),
        {**authorize_params(client), "redirect_uri": [REDIRECT, REDIRECT]},
    ):
        with pytest.raises(InvalidArgument):
            await _service(harness).start(params, peer="127.0.0.1", forwarded_for="10.64.0.7")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"scope": "number-verification:verify"}, "invalid_scope"),
        ({"scope": "openid kyc-match:match"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"request": "eyJhbGciOi"}, "invalid_request_object"),
        ({"request_uri": "https://x"}, "request_uri_not_supported"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"login_hint": "+8613800138000"}, "invalid_request"),
        ({"state": "s" * 513}, "invalid_request"),
    ],
)
async def test_request_errors_are_redirected_with_state_and_iss(
    harness: Harness, overrides: dict[str, str | None], error: str
) -> None:
    """Once the client and redirect URI are known good, errors go back to the client with state and iss."""
    client = await harness.client(["number-verification:verify", PURPOSE])
    answer = await _redirect_error(harness, authorize_params(client, **overrides), ip="10.64.0.7")
    assert answer["error"] == error and answer["iss"] == ISSUER
    assert answer.get("state") == (None if "state" in overrides else "st-1")


async def test_repeated_parameters_are_invalid_request(harness: Harness) -> None:
    """A parameter sent twice (RFC 6749 §3.1) is refused."""
    client = await harness.client(["number-verification:verify", PURPOSE])
    params = {**authorize_params(client), "scope": ["openid", f"openid {PURPOSE} number-verification:verify"]}
    assert (await _redirect_error(harness, params, ip="10.64.0.7"))["error"] == "invalid_request"


async def test_device_on_cellular_data_goes_to_its_operator_with_an_opaque_handle(harness: Harness) -> None:
    """The source IP picks the operator; the operator gets the per-operator callback and a fresh handle."""
    client = await harness.client(["number-verification:verify", PURPOSE])
    phone, ip = harness.subscriber("cucc")
    target = await _service(harness).start(authorize_params(client), peer="127.0.0.1", forwarded_for=ip)
    sent = query(target)
    assert target.startswith("https://operator.invalid/cucc/authorize?")
    assert sent["redirect_uri"] == f"{ISSUER}/oauth2/callback/cucc"
    assert sent["state"] != "st-1" and len(sent["state"]) >= 43 and "login_hint" not in sent
    location = harness.operators["cucc"].authorize(target, device_ip=ip)
    back = query(await _service(harness).finish("cucc", {k: [v] for k, v in query(location).items()}))
    assert back["state"] == "st-1" and back["iss"] == ISSUER and len(back["code"]) >= 43
    assert phone not in back.values()


async def test_off_network_device_uses_the_login_hint_or_is_denied(harness: Harness) -> None:
    """Off the mobile network the hinted number picks the operator (its SMS-OTP fallback); no hint: denied."""
    client = await harness.client(["number-verification:verify", PURPOSE])
    answer = await _redirect_error(harness, authorize_params(client), ip="203.0.113.5")
    assert answer["error"] == "access_denied" and "mobile network" in answer["error_description"]
    phone = "+8618900189000"
    target = await _service(harness).start(
        authorize_params(client, login_hint=f"tel:{phone}"), peer="127.0.0.1", forwarded_for="203.0.113.5"
    )
    assert target.startswith("https://operator.invalid/ctcc/") and query(target)["login_hint"] == phone


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(harness: Harness) -> None:
    """Only a trusted proxy's X-Forwarded-For counts: a device cannot claim a cellular address."""
    client = await harness.client(["number-verification:verify", PURPOSE])
    _, ip = harness.subscriber("cmcc")
    with pytest.raises(OAuthRedirect) as caught:
        await _service(harness).start(authorize_params(client), peer="198.51.100.4", forwarded_for=ip)
    assert caught.value.error == "access_denied"


async def test_prompt_none_requires_network_authentication(harness: Harness) -> None:
    """prompt=none off the mobile network, or an SMS-OTP answer from the operator, is login_required."""
    client = await harness.client(["number-verification:verify", PURPOSE])
    hinted = authorize_params(client, prompt="none", login_hint="tel:+8613800138000")
    assert (await _redirect_error(harness, hinted, ip="203.0.113.5"))["error"] == "login_required"
    phone, ip = harness.subscriber("cmcc")
    target = await _service(harness).start(
        authorize_params(client, prompt="none"), peer="127.0.0.1", forwarded_for=ip
    )
    fake = harness.operators["cmcc"]
    code = fake.issue_code(phone, query(target)["redirect_uri"], AuthMethod.SMS_OTP)
    with pytest.raises(OAuthRedirect) as caught:
        await _service(harness).finish("cmcc", {"code": [code], "state": [query(target)["state"]]})
    assert caught.value.error == "login_required" and caught.value.state == "st-1"


async def _started(h: Harness, operator: str = "cmcc") -> tuple[str, str]:
    client = await h.client(["number-verification:verify", PURPOSE])
    phone, ip = h.subscriber(operator)
    target = await _service(h).start(authorize_params(client), peer="127.0.0.1", forwarded_for=ip)
    return target, phone


async def test_callback_state_is_single_use_and_bound_to_its_operator(harness: Harness) -> None:
    """A handle completes once, only on its own operator's callback, and not after 300 s."""
    target, phone = await _started(harness)
    handle = query(target)["state"]
    fake = harness.operators["cmcc"]
    code = fake.issue_code(phone, query(target)["redirect_uri"])
    with pytest.raises(InvalidArgument):
        await _service(harness).finish("cucc", {"code": [code], "state": [handle]})
    with pytest.raises(InvalidArgument):
        await _service(harness).finish("cmcc", {"code": [code], "state": [handle]})
    target, phone = await _started(harness)
    harness.clock.advance(301)
    with pytest.raises(InvalidArgument):
        await _service(harness).finish("cmcc", {"code": ["x"], "state": [query(target)["state"]]})
    with pytest.raises(InvalidArgument):
        await _service(harness).finish("cmcc", {"code": ["x"]})


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (CarrierUnavailable("cmcc", "down"), "temporarily_unavailable"),
        (CarrierTimeout("cmcc", "slow"), "temporarily_unavailable"),
        (None, "access_denied"),
    ],
)
async def test_operator_failures_and_refused_codes(
    harness: Harness, failure: Exception | None, error: str
) -> None:
    """An operator that fails is temporarily_unavailable; one that refuses the code is access_denied."""
    target, _ = await _started(harness)
    if failure is not None:
        harness.operators["cmcc"].code_failures.append(failure)  # type: ignore[arg-type]
    with pytest.raises(OAuthRedirect) as caught:
        await _service(harness).finish("cmcc", {"code": ["forged"], "state": [query(target)["state"]]})
    assert caught.value.error == error and caught.value.redirect_uri == REDIRECT


async def test_operator_errors_are_passed_on_as_access_denied_or_unavailable(harness: Harness) -> None:
    """The operator's own error answer maps to access_denied (user refusals) or temporarily_unavailable."""
    target, _ = await _started(harness)
    with pytest.raises(OAuthRedirect) as caught:
        await _service(harness).finish(
            "cmcc", {"error": ["access_denied"], "state": [query(target)["state"]]}
        )
    assert caught.value.error == "access_denied"
    target, _ = await _started(harness)
    with pytest.raises(OAuthRedirect) as caught:
        await _service(harness).finish("cmcc", {"error": ["server_error"], "state": [query(target)["state"]]})
    assert caught.value.error == "temporarily_unavailable"
