"""The code flow end to end through the sandbox operators and the real adapters: the sandbox phone's
browser (``POST /sandbox/devices/{phone}/authorize``) runs the gateway's authorize URL on cellular
data (network authentication) or on Wi-Fi with the operator's SMS-OTP fallback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.stack import Stack, open_stack

pytestmark = pytest.mark.integration
REDIRECT = "https://bank.test/callback"
PURPOSE = "dpv:FraudPreventionAndDetection"


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    """On SQLite and PostgreSQL; the gateway's public URL is its real address (the operator's callback)."""
    async with open_stack(database_url, public=True) as running:
        yield running


async def _verify_after_code_flow(stack: Stack, phone: str, method: str) -> httpx.Response:
    creds = await stack.tenant(["number-verification:verify", PURPOSE], redirect_uris=[REDIRECT])
    tokens = await stack.code_flow(
        creds,
        phone,
        f"openid {PURPOSE} number-verification:verify",
        REDIRECT,
        method=method,
        login_hint=f"tel:{phone}",
    )
    return await stack.call("/number-verification/v2/verify", tokens["access_token"], {"phoneNumber": phone})


@pytest.mark.parametrize("operator", ["cmcc", "cucc", "ctcc"])
async def test_sandbox_phone_on_cellular_data_passes_number_verification(stack: Stack, operator: str) -> None:
    """On cellular data the operator authenticates the phone by its network: NV confirms the number."""
    phone = await stack.subscriber(operator)
    resp = await _verify_after_code_flow(stack, phone, "network")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"devicePhoneNumberVerified": True}


async def test_sandbox_phone_on_sms_otp_is_refused_by_number_verification(stack: Stack) -> None:
    """Off the mobile network the operator falls back to SMS-OTP: the token works, but NV refuses it."""
    phone = await stack.subscriber("cmcc")
    resp = await _verify_after_code_flow(stack, phone, "sms_otp")
    assert resp.status_code == 403, resp.text
    assert resp.json()["code"] == "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK"
