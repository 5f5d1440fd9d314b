"""The authorization endpoint's SMS-code fallback for CAMARA clients: off the mobile network, with a
``login_hint`` and without ``prompt=none``, the gateway sends its own code by SMS and the browser types
it on ``/oauth2/code-entry/{handle}``; the token's ``amr`` is ``sms_otp`` and Number Verification
refuses it. Real sockets: the sandbox phone's browser, SMS into its inbox, SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.leaks import SENSITIVE
from tests.stack import Stack, TenantCreds, open_stack, pkce_pair

pytestmark = pytest.mark.integration
REDIRECT = "https://bank.test/callback"
PURPOSE = "dpv:FraudPreventionAndDetection"
SCOPES = ["number-verification:verify", PURPOSE, "templates:write"]


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    """On SQLite and PostgreSQL; the gateway's public URL is its real address."""
    async with open_stack(database_url, public=True, push_dispatch_poll_seconds=0.05) as running:
        yield running


async def _tenant_with_code_template(stack: Stack) -> TenantCreds:
    creds = await stack.tenant(SCOPES, redirect_uris=[REDIRECT], sandbox=True)
    token = await stack.access_token(creds, scope="templates:write")
    installed = await stack.call(
        "/push/v1/templates/builtin/verification_code_zh-CN", token, {"signature": "平安银行"}
    )
    assert installed.status_code == 201, installed.text
    return creds


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


async def test_off_network_the_customer_types_our_code_and_nv_refuses_the_token(stack: Stack) -> None:
    """The phone on Wi-Fi runs the code flow with a login_hint: the gateway (not the operator) sends
    the code, the phone's browser types it on the code-entry page, the client gets a code whose ID
    token says amr ["sms_otp"], and Number Verification answers 403 for that token."""
    creds = await _tenant_with_code_template(stack)
    phone = await stack.subscriber("cucc")

    tokens = await stack.code_flow(
        creds,
        phone,
        f"openid {PURPOSE} number-verification:verify",
        REDIRECT,
        method="sms_otp",
        login_hint=f"tel:{phone}",
    )

    assert _claims(tokens["id_token"])["amr"] == ["sms_otp"]
    inbox = (await stack.http.get(f"{stack.sandbox_url}/sandbox/devices/{phone}/messages")).json()
    assert len(inbox) == 1 and inbox[0]["text"].startswith("【平安银行】您的验证码是")
    SENSITIVE.add(inbox[0]["text"][11:17])
    resp = await stack.call("/number-verification/v2/verify", tokens["access_token"], {"phoneNumber": phone})
    assert resp.status_code == 403, resp.text
    assert resp.json()["code"] == "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK"


async def _authorize(stack: Stack, creds: TenantCreds, phone: str, **extra: str) -> httpx.Response:
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": creds.client_id,
        "redirect_uri": REDIRECT,
        "scope": f"openid {PURPOSE} number-verification:verify",
        "state": "s-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "login_hint": f"tel:{phone}",
        **extra,
    }
    return await stack.http.get(f"{stack.gateway_url}/oauth2/authorize", params=params)


async def test_five_wrong_codes_send_access_denied_to_the_client(stack: Stack) -> None:
    """A browser off the mobile network is sent to the code-entry page (which shows the form); four
    wrong codes show the form again with the attempts left; the fifth redirects to the client with
    access_denied and its state; the page is then gone (400)."""
    creds = await _tenant_with_code_template(stack)
    phone = await stack.subscriber("cmcc")
    started = await _authorize(stack, creds, phone)
    assert started.status_code == 302, started.text
    entry = started.headers["Location"]
    assert entry.startswith(f"{stack.gateway_url}/oauth2/code-entry/vck_")
    SENSITIVE.add(entry.rsplit("/", 1)[1])
    page = await stack.http.get(entry)
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.text
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]

    answers = [await stack.http.post(entry, data={"code": "000000"}) for _ in range(5)]

    assert [a.status_code for a in answers] == [200] * 4 + [302]
    assert "还可尝试 1 次" in answers[3].text
    location = answers[4].headers["Location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s-1"]
    gone = await stack.http.get(entry)
    assert gone.status_code == 400 and gone.json()["code"] == "INVALID_ARGUMENT"


async def test_prompt_none_and_tenants_without_a_code_template_keep_the_old_answers(stack: Stack) -> None:
    """prompt=none off the network is still login_required; a tenant without an approved verification
    template still goes to the operator's own SMS-OTP fallback; an unknown handle is 400."""
    creds = await _tenant_with_code_template(stack)
    phone = await stack.subscriber("ctcc")
    silent = await _authorize(stack, creds, phone, prompt="none")
    assert "error=login_required" in silent.headers["Location"]
    bare = await stack.tenant(SCOPES, redirect_uris=[REDIRECT], sandbox=True)
    to_operator = await _authorize(stack, bare, phone)
    assert to_operator.status_code == 302
    assert to_operator.headers["Location"].startswith(f"{stack.sandbox_url}/ctcc/")
    unknown = await stack.http.get(f"{stack.gateway_url}/oauth2/code-entry/vck_{secrets.token_urlsafe(8)}")
    assert unknown.status_code == 400 and unknown.json()["code"] == "INVALID_ARGUMENT"
