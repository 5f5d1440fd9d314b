"""Login check (contract §5) over real sockets to the sandbox operators, on SQLite and PostgreSQL.

Subscribers are seeded with their SIM/device history through the sandbox control API; one-tap
tokens come from the sandbox "phone"; operator failures are injected with the sandbox fault API.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from gateway.db import create_engine, session_factory
from gateway.login_check.models import DeviceBinding
from tests.leaks import SENSITIVE
from tests.stack import PREFIXES, Stack, open_stack

pytestmark = pytest.mark.integration
EVALUATE = "/login-check/v1/evaluate"
DEVICES = "/login-check/v1/devices"
POLICY = "/login-check/v1/policy"


async def _bank(stack: Stack) -> str:
    return await stack.access_token(await stack.tenant(["login-check"]))


def _ago(stack: Stack, hours: float) -> str:
    return (stack.clock.now() - timedelta(hours=hours)).isoformat()


async def _line(stack: Stack, operator: str = "cmcc", **history: Any) -> str:
    """A subscriber with a long, quiet history unless ``history`` says otherwise."""
    seeded = {
        "imei": f"35693803{secrets.randbelow(10**7):07d}",
        "activatedAt": _ago(stack, 24 * 400),
        **history,
    }
    return await stack.subscriber(operator, **{k: v for k, v in seeded.items() if v is not None})


def _device() -> str:
    device = f"dev-{secrets.token_hex(8)}"
    SENSITIVE.add(device)
    return device


async def _bind(stack: Stack, bearer: str, phone: str, device: str, **extra: Any) -> httpx.Response:
    return await stack.call(DEVICES, bearer, {"phoneNumber": phone, "deviceId": device, **extra})


async def _evaluate(stack: Stack, bearer: str, phone: str, device: str, **extra: Any) -> dict[str, Any]:
    resp = await stack.call(EVALUATE, bearer, {"phoneNumber": phone, "deviceId": device, **extra})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _get(stack: Stack, bearer: str, path: str, **params: str) -> httpx.Response:
    return await stack.http.get(
        f"{stack.gateway_url}{path}", params=params, headers={"Authorization": f"Bearer {bearer}"}
    )


async def _delete(stack: Stack, bearer: str, path: str) -> httpx.Response:
    return await stack.http.delete(
        f"{stack.gateway_url}{path}", headers={"Authorization": f"Bearer {bearer}"}
    )


def _assert_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == status and body["code"] == code and body["message"]


# --- device registry ---------------------------------------------------------------------------


async def test_device_binding_lifecycle(stack: Stack) -> None:
    """Bind (201), bind again (200, same binding), list, delete (204), then gone (404 on a second delete)."""
    bearer = await _bank(stack)
    phone, device = await _line(stack), _device()

    created = await _bind(stack, bearer, phone, device, label="Work phone")
    again = await _bind(stack, bearer, phone, device, label="renamed")

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["phoneNumber"] == phone and body["deviceId"] == device and body["label"] == "Work phone"
    assert body["createdAt"].endswith("Z") and body["id"]
    assert again.status_code == 200 and again.json() == body
    listed = await _get(stack, bearer, DEVICES, phoneNumber=phone)
    assert listed.status_code == 200 and listed.json() == {"devices": [body]}

    gone = await _delete(stack, bearer, f"{DEVICES}/{body['id']}")
    assert gone.status_code == 204 and gone.content == b""
    assert (await _get(stack, bearer, DEVICES, phoneNumber=phone)).json() == {"devices": []}
    _assert_error(await _delete(stack, bearer, f"{DEVICES}/{body['id']}"), 404, "NOT_FOUND")


async def test_bindings_are_stored_encrypted(stack: Stack) -> None:
    """The database holds neither the number nor the device id in the clear."""
    bearer = await _bank(stack)
    phone, device = await _line(stack), _device()
    assert (await _bind(stack, bearer, phone, device)).status_code == 201
    engine = create_engine(stack.settings.database_url)
    try:
        async with session_factory(engine)() as session:
            rows = list(await session.exec(select(DeviceBinding)))
    finally:
        await engine.dispose()
    stored = " ".join(str(v) for row in rows for v in row.model_dump().values())
    assert rows and phone not in stored and phone[3:] not in stored and device not in stored


async def test_another_tenants_bindings_are_invisible(stack: Stack) -> None:
    """Tenant B lists nothing for A's number, gets 404 deleting A's binding, and A's device is new to B."""
    bank, other = await _bank(stack), await _bank(stack)
    phone, device = await _line(stack), _device()
    binding = (await _bind(stack, bank, phone, device)).json()

    assert (await _get(stack, other, DEVICES, phoneNumber=phone)).json() == {"devices": []}
    _assert_error(await _delete(stack, other, f"{DEVICES}/{binding['id']}"), 404, "NOT_FOUND")
    assert (await _evaluate(stack, other, phone, device))["checks"]["deviceKnown"] is False
    assert (await _evaluate(stack, bank, phone, device))["checks"]["deviceKnown"] is True
    assert (await _get(stack, bank, DEVICES, phoneNumber=phone)).json()["devices"] == [binding]


async def test_the_login_check_scope_is_required(sqlite_stack: Stack) -> None:
    """A token without ``login-check`` gets 403 on every login-check route; no token gets 401."""
    creds = await sqlite_stack.tenant(["one-tap:login"])
    bearer = await sqlite_stack.access_token(creds)
    _assert_error(
        await sqlite_stack.call(EVALUATE, bearer, {"phoneNumber": "+8613800138000", "deviceId": "d"}),
        403,
        "PERMISSION_DENIED",
    )
    _assert_error(await _get(sqlite_stack, bearer, POLICY), 403, "PERMISSION_DENIED")
    _assert_error(await _get(sqlite_stack, "not-a-token", POLICY), 401, "UNAUTHENTICATED")


# --- policy --------------------------------------------------------------------------------------


async def test_policy_defaults_replacement_and_isolation(stack: Stack) -> None:
    """GET answers the defaults; PUT replaces (omitted fields back to defaults); other tenants keep theirs."""
    bank, other = await _bank(stack), await _bank(stack)
    defaults = (await _get(stack, bank, POLICY)).json()
    assert defaults == {
        "simSwapMaxAgeHours": 72,
        "deviceSwapMaxAgeHours": 72,
        "attemptsPerNumber": 10,
        "attemptsPerDevice": 10,
        "attemptsPerIp": 50,
        "windowSeconds": 900,
    }
    put = await stack.http.put(
        f"{stack.gateway_url}{POLICY}",
        json={"simSwapMaxAgeHours": 24, "attemptsPerNumber": 3},
        headers={"Authorization": f"Bearer {bank}"},
    )
    assert put.status_code == 200, put.text
    assert put.json() == {**defaults, "simSwapMaxAgeHours": 24, "attemptsPerNumber": 3}
    again = await stack.http.put(
        f"{stack.gateway_url}{POLICY}",
        json={"windowSeconds": 60},
        headers={"Authorization": f"Bearer {bank}"},
    )
    assert again.json() == {**defaults, "windowSeconds": 60}
    assert (await _get(stack, bank, POLICY)).json() == {**defaults, "windowSeconds": 60}
    assert (await _get(stack, other, POLICY)).json() == defaults


@pytest.mark.parametrize(
    "body",
    [
        {"simSwapMaxAgeHours": 0},
        {"deviceSwapMaxAgeHours": 2401},
        {"attemptsPerNumber": "5"},
        {"windowSeconds": 86401},
        {"tenantId": "someone-else"},
    ],
)
async def test_bad_policies_are_400(sqlite_stack: Stack, body: dict[str, Any]) -> None:
    """Out-of-range, mistyped or unknown policy fields are 400 INVALID_ARGUMENT."""
    bearer = await _bank(sqlite_stack)
    resp = await sqlite_stack.http.put(
        f"{sqlite_stack.gateway_url}{POLICY}", json=body, headers={"Authorization": f"Bearer {bearer}"}
    )
    _assert_error(resp, 400, "INVALID_ARGUMENT")


# --- evaluate: one test per reason ------------------------------------------------------------


async def test_clean_login_is_allowed(stack: Stack) -> None:
    """Network-verified number, quiet line, bound device: allow with every check clean."""
    bearer = await _bank(stack)
    phone, device = await _line(stack), _device()
    await _bind(stack, bearer, phone, device)
    token = await stack.sdk_token(phone, "verify")
    body = await _evaluate(stack, bearer, phone, device, oneTapToken=token, ip="198.51.100.4")
    assert body == {
        "decision": "allow",
        "reasons": [],
        "checks": {"numberVerified": True, "simSwapped": False, "deviceSwapped": False, "deviceKnown": True},
    }


@pytest.mark.parametrize("operator", ["cucc", "ctcc"])
async def test_every_operator_answers_the_swap_checks(stack: Stack, operator: str) -> None:
    """The other operators' dialects give the same clean answer for a quiet line."""
    bearer = await _bank(stack)
    phone, device = await _line(stack, operator, activatedAt=_ago(stack, 24 * 20)), _device()
    await _bind(stack, bearer, phone, device)
    body = await _evaluate(stack, bearer, phone, device, oneTapToken=await stack.sdk_token(phone, "verify"))
    assert body["decision"] == "allow", body


async def test_token_from_another_phone_is_denied_as_mismatch(stack: Stack) -> None:
    """A token obtained on another subscriber's phone: NUMBER_MISMATCH, numberVerified false, deny."""
    bearer = await _bank(stack)
    phone, other, device = await _line(stack), await _line(stack), _device()
    await _bind(stack, bearer, phone, device)
    body = await _evaluate(stack, bearer, phone, device, oneTapToken=await stack.sdk_token(other, "verify"))
    assert body["decision"] == "deny" and body["reasons"] == ["NUMBER_MISMATCH"]
    assert body["checks"]["numberVerified"] is False


async def test_reused_token_is_never_an_allow(stack: Stack) -> None:
    """The same token twice: the second evaluation is TOKEN_INVALID and a challenge."""
    bearer = await _bank(stack)
    phone, device = await _line(stack), _device()
    await _bind(stack, bearer, phone, device)
    token = await stack.sdk_token(phone, "verify")
    assert (await _evaluate(stack, bearer, phone, device, oneTapToken=token))["decision"] == "allow"
    body = await _evaluate(stack, bearer, phone, device, oneTapToken=token)
    assert body["decision"] == "challenge" and body["reasons"] == ["TOKEN_INVALID"]
    assert body["checks"]["numberVerified"] is False


async def test_recent_sim_swap_challenges_a_known_device_and_denies_a_new_one(stack: Stack) -> None:
    """SIM changed 5 h ago: SIM_SWAPPED_RECENTLY; with an unbound device as well, deny."""
    bearer = await _bank(stack)
    phone, device = await _line(stack, simChangedAt=_ago(stack, 5)), _device()
    await _bind(stack, bearer, phone, device)
    known = await _evaluate(stack, bearer, phone, device)
    new = await _evaluate(stack, bearer, phone, _device())
    assert known["decision"] == "challenge" and known["reasons"] == ["SIM_SWAPPED_RECENTLY"]
    assert known["checks"]["simSwapped"] is True
    assert new["decision"] == "deny" and new["reasons"] == ["SIM_SWAPPED_RECENTLY", "NEW_DEVICE"]


async def test_max_sim_swap_age_in_the_request_overrides_the_policy(stack: Stack) -> None:
    """A SIM change 100 h ago is outside the 72 h default and inside maxSimSwapAge=120."""
    bearer = await _bank(stack)
    phone, device = await _line(stack, simChangedAt=_ago(stack, 100)), _device()
    await _bind(stack, bearer, phone, device)
    assert (await _evaluate(stack, bearer, phone, device))["checks"]["simSwapped"] is False
    body = await _evaluate(stack, bearer, phone, device, maxSimSwapAge=120)
    assert body["checks"]["simSwapped"] is True and body["reasons"] == ["SIM_SWAPPED_RECENTLY"]


async def test_recent_device_swap_is_a_challenge(stack: Stack) -> None:
    """The line moved to another handset 3 h ago: DEVICE_SWAPPED_RECENTLY, challenge."""
    bearer = await _bank(stack)
    phone, device = await _line(stack, deviceChangedAt=_ago(stack, 3)), _device()
    await _bind(stack, bearer, phone, device)
    body = await _evaluate(stack, bearer, phone, device)
    assert body["decision"] == "challenge" and body["reasons"] == ["DEVICE_SWAPPED_RECENTLY"]
    assert body["checks"]["deviceSwapped"] is True


async def test_unbound_device_is_a_challenge(stack: Stack) -> None:
    """A device never bound to the number: NEW_DEVICE, deviceKnown false, challenge."""
    bearer = await _bank(stack)
    phone = await _line(stack)
    body = await _evaluate(
        stack, bearer, phone, _device(), oneTapToken=await stack.sdk_token(phone, "verify")
    )
    assert body["decision"] == "challenge" and body["reasons"] == ["NEW_DEVICE"]
    assert body["checks"]["deviceKnown"] is False and body["checks"]["numberVerified"] is True


async def test_too_many_attempts_denies_and_spends_no_token(stack: Stack) -> None:
    """Past the tenant's per-number limit: deny TOO_MANY_ATTEMPTS; the token stays usable after the window."""
    bearer = await _bank(stack)
    await stack.http.put(
        f"{stack.gateway_url}{POLICY}",
        json={"attemptsPerNumber": 2, "windowSeconds": 60},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    phone, device = await _line(stack), _device()
    await _bind(stack, bearer, phone, device)
    for _ in range(2):
        assert (await _evaluate(stack, bearer, phone, device))["decision"] == "allow"
    token = await stack.sdk_token(phone, "verify")
    body = await _evaluate(stack, bearer, phone, device, oneTapToken=token)
    assert body == {
        "decision": "deny",
        "reasons": ["TOO_MANY_ATTEMPTS"],
        "checks": {"numberVerified": None, "simSwapped": None, "deviceSwapped": None, "deviceKnown": True},
    }
    stack.clock.advance(61)
    assert (await _evaluate(stack, bearer, phone, device, oneTapToken=token))["decision"] == "allow"


@pytest.mark.parametrize("fault", [{"down": True}, {"errorRate": 1.0}, {"latencyMs": 2500}], ids=str)
async def test_operator_failure_fails_closed(stack: Stack, fault: dict[str, Any]) -> None:
    """Operator down, failing or slow: 200, every operator check null, OPERATOR_UNAVAILABLE, challenge."""
    bearer = await _bank(stack)
    phone, device = await _line(stack), _device()
    await _bind(stack, bearer, phone, device)
    token = await stack.sdk_token(phone, "verify")
    await stack.faults("cmcc", **fault)
    body = await _evaluate(stack, bearer, phone, device, oneTapToken=token)
    assert body == {
        "decision": "challenge",
        "reasons": ["OPERATOR_UNAVAILABLE"],
        "checks": {"numberVerified": None, "simSwapped": None, "deviceSwapped": None, "deviceKnown": True},
    }


async def test_number_unknown_to_its_operator_is_a_challenge(stack: Stack) -> None:
    """A number no operator has registered: NUMBER_NOT_SERVED, swap checks null, challenge."""
    bearer = await _bank(stack)
    phone = f"+86{PREFIXES['cmcc']}{secrets.randbelow(10**8):08d}"
    SENSITIVE.update({phone, phone[3:]})
    device = _device()
    await _bind(stack, bearer, phone, device)
    body = await _evaluate(stack, bearer, phone, device)
    assert body["decision"] == "challenge" and body["reasons"] == ["NUMBER_NOT_SERVED"]
    assert body["checks"]["simSwapped"] is None and body["checks"]["deviceSwapped"] is None


async def test_line_never_seen_in_a_device_has_unknown_device_status(stack: Stack) -> None:
    """No device record at the operator: deviceSwapped null, SWAP_STATUS_UNKNOWN, challenge."""
    bearer = await _bank(stack)
    phone, device = await _line(stack, imei=None), _device()
    await _bind(stack, bearer, phone, device)
    body = await _evaluate(stack, bearer, phone, device)
    assert body["decision"] == "challenge" and body["reasons"] == ["SWAP_STATUS_UNKNOWN"]
    assert body["checks"]["deviceSwapped"] is None and body["checks"]["simSwapped"] is False


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"phoneNumber": "+8613800138000", "deviceId": "d", "extra": 1},
        {"phoneNumber": "13800138000", "deviceId": "d"},
        {"phoneNumber": "+8613800138000"},
        {"phoneNumber": "+8613800138000", "deviceId": ""},
        {"phoneNumber": "+8613800138000", "deviceId": "has space"},
        {"phoneNumber": "+8613800138000", "deviceId": "d", "maxSimSwapAge": 0},
        {"phoneNumber": "+8613800138000", "deviceId": "d", "maxSimSwapAge": 2401},
        {"phoneNumber": "+8613800138000", "deviceId": "d", "maxSimSwapAge": "72"},
        {"phoneNumber": "+8613800138000", "deviceId": "d", "maxSimSwapAge": 72.5},
        {"phoneNumber": "+8613800138000", "deviceId": "d", "ip": "999.1.1.1"},
        {"phoneNumber": "+8613800138000", "deviceId": "d", "operator": "vodafone"},
        {"phoneNumber": "+8613800138000", "deviceId": "d", "oneTapToken": ""},
    ],
    ids=[
        "unknown-field",
        "national-number",
        "missing-device",
        "empty-device",
        "device-with-space",
        "max-age-0",
        "max-age-2401",
        "max-age-string",
        "max-age-fraction",
        "bad-ip",
        "bad-operator",
        "empty-token",
    ],
)
async def test_bad_evaluate_bodies_are_400(sqlite_stack: Stack, body: dict[str, Any]) -> None:
    """Every malformed evaluate body is 400 INVALID_ARGUMENT, without echoing the number."""
    bearer = await _bank(sqlite_stack)
    resp = await sqlite_stack.call(EVALUATE, bearer, body)
    _assert_error(resp, 400, "INVALID_ARGUMENT")
    assert "13800138000" not in resp.text


@pytest.mark.parametrize(
    "body",
    [
        {"phoneNumber": "+8613800138000", "deviceId": "d", "tenantId": "x"},
        {"phoneNumber": "+86 138 0013 8000", "deviceId": "d"},
        {"phoneNumber": "+8613800138000", "deviceId": "d", "label": "x" * 65},
        {"phoneNumber": "+8613800138000", "deviceId": "d", "label": "line\nbreak"},
        {"phoneNumber": "+8613800138000", "deviceId": "x" * 129},
    ],
)
async def test_bad_device_bodies_are_400(sqlite_stack: Stack, body: dict[str, Any]) -> None:
    """Malformed bindings are 400 INVALID_ARGUMENT."""
    bearer = await _bank(sqlite_stack)
    _assert_error(await sqlite_stack.call(DEVICES, bearer, body), 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    "params",
    [{}, {"phoneNumber": "13800138000"}, {"phoneNumber": "+8613800138000", "page": "2"}],
    ids=["missing", "national", "unknown-parameter"],
)
async def test_bad_device_queries_are_400(sqlite_stack: Stack, params: dict[str, str]) -> None:
    """Listing needs exactly one valid E.164 ``phoneNumber``."""
    bearer = await _bank(sqlite_stack)
    _assert_error(await _get(sqlite_stack, bearer, DEVICES, **params), 400, "INVALID_ARGUMENT")


async def test_repeated_query_parameter_is_400(sqlite_stack: Stack) -> None:
    """``phoneNumber`` given twice is ambiguous: 400."""
    bearer = await _bank(sqlite_stack)
    resp = await sqlite_stack.http.get(
        f"{sqlite_stack.gateway_url}{DEVICES}?phoneNumber=%2B8613800138000&phoneNumber=%2B8613900139000",
        headers={"Authorization": f"Bearer {bearer}"},
    )
    _assert_error(resp, 400, "INVALID_ARGUMENT")


async def test_malformed_binding_id_is_404(sqlite_stack: Stack) -> None:
    """An id that cannot exist is simply not found."""
    bearer = await _bank(sqlite_stack)
    _assert_error(await _delete(sqlite_stack, bearer, f"{DEVICES}/not-an-id"), 404, "NOT_FOUND")


async def test_too_many_devices_for_one_number_is_422(sqlite_url: str) -> None:
    """Past the per-number cap, binding answers 422 LOGIN_CHECK.DEVICE_LIMIT_REACHED."""
    async with open_stack(sqlite_url, login_check_max_devices=2) as stack:
        bearer = await _bank(stack)
        phone = await _line(stack)
        for _ in range(2):
            assert (await _bind(stack, bearer, phone, _device())).status_code == 201
        _assert_error(await _bind(stack, bearer, phone, _device()), 422, "LOGIN_CHECK.DEVICE_LIMIT_REACHED")
