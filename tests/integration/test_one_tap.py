"""Every one-tap outcome of contract §4, over real sockets to the sandbox operators, on both databases."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import select

from gateway.app import create_app
from gateway.crypto import BlindIndex, FieldCipher, Keyring
from gateway.db import create_engine, session_factory
from gateway.one_tap.models import UsageRecord
from gateway.one_tap.service import phone_scope
from tests.stack import Stack

pytestmark = pytest.mark.integration
OPERATORS = ["cmcc", "cucc", "ctcc"]


async def _bank(stack: Stack) -> tuple[str, str]:
    creds = await stack.tenant(["one-tap:login", "one-tap:verify"])
    return creds.tenant_id, await stack.access_token(creds)


async def _usage(stack: Stack, tenant_id: str) -> list[UsageRecord]:
    engine = create_engine(stack.settings.database_url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.exec(select(UsageRecord).where(UsageRecord.tenant_id == tenant_id))
            return list(rows)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("operator", OPERATORS)
async def test_login_returns_the_number_and_records_billed_usage(stack: Stack, operator: str) -> None:
    """A login token exchanges for the SIM's number; one billed usage row stores it encrypted and indexed."""
    tenant_id, bearer = await _bank(stack)
    phone = await stack.subscriber(operator)
    token = await stack.sdk_token(phone)

    resp = await stack.call("/one-tap/v1/login", bearer, {"token": token, "operator": operator})

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["phoneNumber"] == phone
    assert body["operator"] == operator
    assert body["assurance"] == "network"
    assert body["billed"] is True
    assert body["providerRef"]
    [row] = await _usage(stack, tenant_id)
    assert row.billed and row.capability == "one_tap_login" and row.operator == operator
    assert phone not in row.phone_cipher
    assert (
        data_cipher(stack).decrypt(row.phone_cipher, aad=f"usage_records|phone|{tenant_id}|{row.id}") == phone
    )
    index = BlindIndex(Keyring.parse(stack.settings.index_keys.get_secret_value()))  # type: ignore[union-attr]
    assert row.phone_index in index.candidates(phone, scope=phone_scope(tenant_id))


def data_cipher(stack: Stack) -> FieldCipher:
    """The gateway's field cipher, rebuilt from its settings."""
    return FieldCipher(Keyring.parse(stack.settings.data_keys.get_secret_value()))  # type: ignore[union-attr]


async def test_login_without_declared_operator_uses_the_token_shape(stack: Stack) -> None:
    """With no operator given, the operator whose token shape matches is asked."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber("ctcc")
    resp = await stack.call("/one-tap/v1/login", bearer, {"token": await stack.sdk_token(phone)})
    assert resp.status_code == 200, resp.text
    assert resp.json()["operator"] == "ctcc"


async def test_sms_uplink_token_reports_sms_assurance(stack: Stack) -> None:
    """A token the SDK obtained by SMS uplink is reported with assurance "sms"."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber("cmcc")
    token = await stack.sdk_token(phone, method="sms")
    resp = await stack.call("/one-tap/v1/login", bearer, {"token": token})
    assert resp.json()["assurance"] == "sms"


@pytest.mark.parametrize("operator", OPERATORS)
async def test_verify_pass_and_reject(stack: Stack, operator: str) -> None:
    """The local number check answers PASS for the SIM's own number and REJECT for another subscriber's."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber(operator)
    other = await stack.subscriber(operator)

    ok = await stack.call(
        "/one-tap/v1/verify", bearer, {"token": await stack.sdk_token(phone, "verify"), "phoneNumber": phone}
    )
    no = await stack.call(
        "/one-tap/v1/verify", bearer, {"token": await stack.sdk_token(phone, "verify"), "phoneNumber": other}
    )

    assert ok.status_code == 200, ok.text
    assert ok.json()["result"] == "PASS" and ok.json()["billed"] is True
    assert no.status_code == 200, no.text
    assert no.json()["result"] == "REJECT" and no.json()["billed"] is True


@pytest.mark.parametrize("operator", OPERATORS)
async def test_verify_against_an_unknown_number_rejects(stack: Stack, operator: str) -> None:
    """A number no operator knows is simply not the phone's number: REJECT, not an error."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber(operator)
    unknown = f"+86{phone[3:6]}00000000"
    resp = await stack.call(
        "/one-tap/v1/verify",
        bearer,
        {"token": await stack.sdk_token(phone, "verify"), "phoneNumber": unknown},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["result"] == "REJECT"


@pytest.mark.parametrize("operator", ["cucc", "ctcc"])
async def test_verify_a_number_of_another_operator_is_a_mismatch(stack: Stack, operator: str) -> None:
    """Operators that see the number in clear refuse one they do not serve: 422 ONE_TAP.OPERATOR_MISMATCH."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber(operator)
    elsewhere = await stack.subscriber("cmcc")
    token = await stack.sdk_token(phone, "verify")
    resp = await stack.call("/one-tap/v1/verify", bearer, {"token": token, "phoneNumber": elsewhere})
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "ONE_TAP.OPERATOR_MISMATCH"


@pytest.mark.parametrize("operator", OPERATORS)
async def test_expired_token_is_invalid(stack: Stack, operator: str) -> None:
    """A token older than its operator's lifetime (2 / 30 / 10 min) is 422 ONE_TAP.TOKEN_INVALID."""
    creds = await stack.tenant(["one-tap:login"])
    phone = await stack.subscriber(operator)
    token = await stack.sdk_token(phone)
    stack.clock.advance({"cmcc": 121, "cucc": 1801, "ctcc": 601}[operator])
    resp = await stack.call("/one-tap/v1/login", await stack.access_token(creds), {"token": token})
    assert resp.status_code == 422
    assert resp.json() == {"status": 422, "code": "ONE_TAP.TOKEN_INVALID", "message": resp.json()["message"]}


@pytest.mark.parametrize("operator", OPERATORS)
async def test_reused_token_is_refused_without_a_second_operator_call(stack: Stack, operator: str) -> None:
    """A token presented twice is refused by the gateway itself the second time."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber(operator)
    token = await stack.sdk_token(phone)
    first = await stack.call("/one-tap/v1/login", bearer, {"token": token})
    await stack.faults(operator, down=True)
    second = await stack.call("/one-tap/v1/login", bearer, {"token": token})
    assert first.status_code == 200
    assert second.status_code == 422 and second.json()["code"] == "ONE_TAP.TOKEN_INVALID"


async def test_token_replayed_at_the_operator_is_invalid(stack: Stack) -> None:
    """A token already spent through another gateway process is refused by the operator's replay check."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber("cmcc")
    token = await stack.sdk_token(phone)
    assert (await stack.call("/one-tap/v1/login", bearer, {"token": token})).status_code == 200
    second_process = TestServer(create_app(stack.settings), host="127.0.0.1")
    await second_process.start_server()
    try:
        resp = await stack.http.post(
            str(second_process.make_url("/one-tap/v1/login")),
            json={"token": token},
            headers={"Authorization": f"Bearer {bearer}"},
        )
    finally:
        await second_process.close()
    assert resp.status_code == 422 and resp.json()["code"] == "ONE_TAP.TOKEN_INVALID"


async def test_token_from_another_operator_is_a_mismatch(stack: Stack) -> None:
    """A Unicom token declared as China Mobile's is 422 ONE_TAP.OPERATOR_MISMATCH, and nothing is spent."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber("cucc")
    token = await stack.sdk_token(phone)
    resp = await stack.call("/one-tap/v1/login", bearer, {"token": token, "operator": "cmcc"})
    assert resp.status_code == 422 and resp.json()["code"] == "ONE_TAP.OPERATOR_MISMATCH"
    retry = await stack.call("/one-tap/v1/login", bearer, {"token": token, "operator": "cucc"})
    assert retry.status_code == 200


@pytest.mark.parametrize("operator", OPERATORS)
async def test_token_minted_for_another_app_is_invalid(stack: Stack, operator: str) -> None:
    """A token the SDK obtained for another bank's app id is refused: 422 ONE_TAP.TOKEN_INVALID."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber(operator)
    token = await stack.sdk_token(phone, appId="another-bank-app")
    resp = await stack.call("/one-tap/v1/login", bearer, {"token": token})
    assert resp.status_code == 422 and resp.json()["code"] == "ONE_TAP.TOKEN_INVALID"


async def test_verify_token_cannot_log_in(stack: Stack) -> None:
    """A number-check token used for login is refused (tokens are bound to their purpose)."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber("cmcc")
    resp = await stack.call("/one-tap/v1/login", bearer, {"token": await stack.sdk_token(phone, "verify")})
    assert resp.status_code == 422 and resp.json()["code"] == "ONE_TAP.TOKEN_INVALID"


@pytest.mark.parametrize("operator", OPERATORS)
async def test_operator_down_is_503(stack: Stack, operator: str) -> None:
    """An operator that drops connections answers 503 UNAVAILABLE, quickly."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber(operator)
    token = await stack.sdk_token(phone)
    await stack.faults(operator, down=True)
    resp = await stack.call("/one-tap/v1/login", bearer, {"token": token})
    assert resp.status_code == 503 and resp.json()["code"] == "UNAVAILABLE"


async def test_operator_errors_are_503(stack: Stack) -> None:
    """An operator answering HTTP 500 is 503 UNAVAILABLE."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber("cucc")
    token = await stack.sdk_token(phone)
    await stack.faults("cucc", errorRate=1.0)
    resp = await stack.call("/one-tap/v1/login", bearer, {"token": token})
    assert resp.status_code == 503


@pytest.mark.parametrize("operator", OPERATORS)
async def test_operator_slower_than_the_timeout_is_504(stack: Stack, operator: str) -> None:
    """An operator slower than the configured deadline (2 s here) answers 504 TIMEOUT."""
    _, bearer = await _bank(stack)
    phone = await stack.subscriber(operator)
    token = await stack.sdk_token(phone)
    await stack.faults(operator, latencyMs=2500)
    resp = await stack.call("/one-tap/v1/login", bearer, {"token": token})
    assert resp.status_code == 504 and resp.json()["code"] == "TIMEOUT"


async def test_tenants_see_only_their_own_usage(stack: Stack) -> None:
    """Usage rows belong to the tenant whose token made the call."""
    tenant_a, bearer_a = await _bank(stack)
    tenant_b, _ = await _bank(stack)
    phone = await stack.subscriber("cmcc")
    await stack.call("/one-tap/v1/login", bearer_a, {"token": await stack.sdk_token(phone)})
    assert len(await _usage(stack, tenant_a)) == 1
    assert await _usage(stack, tenant_b) == []
