"""The sandbox control API (``/sandbox/*``): subscribers, history events, one-tap tokens, faults, reset."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import ClientResponse

from tests.clocks import ManualClock
from tests.sandbox.conftest import OneTapToken, SandboxClient, Subscribe
from tests.sandbox.smsc_client import NO_FAULTS

PHONE = "+8613800138000"


async def assert_error(response: ClientResponse, status: int, code: str) -> None:
    assert response.status == status
    assert response.content_type == "application/json"
    body = await response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]


async def test_healthz(client: SandboxClient) -> None:
    """The health endpoint answers 200."""
    assert (await client.get("/sandbox/healthz")).status == 200


async def test_create_subscriber_stores_every_field(client: SandboxClient) -> None:
    """A created subscriber is answered 201 with every given field, in UTC, seeded history, and its
    phone on cellular data."""
    body = {
        "phoneNumber": PHONE,
        "operator": "cmcc",
        "imei": "356938035643809",
        "activatedAt": "2020-01-01T08:00:00+08:00",
        "simChangedAt": "2025-06-01T00:00:00Z",
        "deviceChangedAt": "2025-07-01T00:00:00Z",
        "eligible": False,
        "kyc": {"name": "张三", "givenName": "三", "familyName": "张", "birthdate": "1990-01-01"},
        "rcs": True,
        "vendor": "huawei",
    }
    response = await client.post("/sandbox/subscribers", json=body)
    assert response.status == 201
    record = await response.json()
    assert record == {
        **body,
        "activatedAt": "2020-01-01T00:00:00Z",
        "simHistory": [{"at": "2025-06-01T00:00:00Z"}],
        "deviceHistory": [{"at": "2025-07-01T00:00:00Z", "imei": "356938035643809"}],
        "network": "cellular",
    }
    assert await (await client.get(f"/sandbox/subscribers/{PHONE}")).json() == record


async def test_create_subscriber_defaults(client: SandboxClient, clock: ManualClock) -> None:
    """Omitted fields default to eligible, no device, no history, activated now."""
    record = await (
        await client.post("/sandbox/subscribers", json={"phoneNumber": PHONE, "operator": "ctcc"})
    ).json()
    assert record["eligible"] is True
    assert record["imei"] is None
    assert record["simChangedAt"] is None
    assert record["deviceChangedAt"] is None
    assert record["activatedAt"] == "2026-03-02T01:30:15.250000Z"


async def test_duplicate_subscriber_is_409(client: SandboxClient, subscribe: Subscribe) -> None:
    """Registering a number twice answers 409 ALREADY_EXISTS."""
    await subscribe(PHONE, "cmcc")
    response = await client.post("/sandbox/subscribers", json={"phoneNumber": PHONE, "operator": "cucc"})
    await assert_error(response, 409, "ALREADY_EXISTS")


@pytest.mark.parametrize(
    "payload",
    [
        b"{",
        b"[]",
        b"",
        b'{"phoneNumber": "+8613800138000"}',
        b'{"phoneNumber": "13800138000", "operator": "cmcc"}',
        b'{"phoneNumber": "+8613800138000", "operator": "att"}',
        b'{"phoneNumber": "+8613800138000", "operator": "cmcc", "eligible": "yes"}',
        b'{"phoneNumber": "+8613800138000", "operator": "cmcc", "activatedAt": "2020-01-01T00:00:00"}',
        b'{"phoneNumber": "+8613800138000", "operator": "cmcc", "kyc": {"name": 1}}',
        b'{"phoneNumber": "+8613800138000", "operator": "cmcc", "activatedAt": "0001-01-01T00:00:00+05:00"}',
        b"[" * 10_000,
    ],
)
async def test_bad_subscriber_body_is_400(client: SandboxClient, payload: bytes) -> None:
    """Malformed JSON, missing fields, bad values and wrong types answer 400 INVALID_ARGUMENT."""
    await assert_error(await client.post("/sandbox/subscribers", data=payload), 400, "INVALID_ARGUMENT")


async def test_unknown_field_is_400(client: SandboxClient) -> None:
    """An unknown property answers 400 INVALID_ARGUMENT naming it."""
    response = await client.post(
        "/sandbox/subscribers", json={"phoneNumber": PHONE, "operator": "cmcc", "colour": "blue"}
    )
    await assert_error(response, 400, "INVALID_ARGUMENT")
    assert "colour" in (await response.json())["message"]


async def test_unknown_subscriber_is_404(client: SandboxClient) -> None:
    """Reading an unregistered number answers 404 NOT_FOUND."""
    await assert_error(await client.get(f"/sandbox/subscribers/{PHONE}"), 404, "NOT_FOUND")


async def test_malformed_phone_in_path_is_400(client: SandboxClient) -> None:
    """A path number that is not E.164 answers 400 INVALID_ARGUMENT."""
    await assert_error(await client.get("/sandbox/subscribers/13800138000"), 400, "INVALID_ARGUMENT")


async def test_sim_swap_records_history(
    client: SandboxClient, subscribe: Subscribe, clock: ManualClock
) -> None:
    """A SIM swap without a date happens now; a dated one is placed in time order."""
    await subscribe(PHONE, "cmcc")
    response = await client.post(f"/sandbox/subscribers/{PHONE}/sim-swap")
    assert response.status == 200
    assert (await response.json())["simChangedAt"] == "2026-03-02T01:30:15.250000Z"
    response = await client.post(
        f"/sandbox/subscribers/{PHONE}/sim-swap", json={"at": "2026-01-01T00:00:00Z"}
    )
    record = await response.json()
    assert record["simChangedAt"] == "2026-03-02T01:30:15.250000Z"
    assert [event["at"] for event in record["simHistory"]] == [
        "2026-01-01T00:00:00Z",
        "2026-03-02T01:30:15.250000Z",
    ]


async def test_device_swap_sets_imei(client: SandboxClient, subscribe: Subscribe) -> None:
    """A device swap records the new IMEI, or a fresh 15-digit one when none is given."""
    await subscribe(PHONE, "cmcc", imei="356938035643809")
    response = await client.post(
        f"/sandbox/subscribers/{PHONE}/device-swap",
        json={"at": "2026-02-01T00:00:00Z", "imei": "490154203237518"},
    )
    record = await response.json()
    assert (record["imei"], record["deviceChangedAt"]) == ("490154203237518", "2026-02-01T00:00:00Z")
    record = await (await client.post(f"/sandbox/subscribers/{PHONE}/device-swap", json={})).json()
    assert re.fullmatch(r"[0-9]{15}", record["imei"])
    assert record["imei"] != "490154203237518"
    assert len(record["deviceHistory"]) == 2


async def test_swap_of_unknown_subscriber_is_404(client: SandboxClient) -> None:
    """A history event for an unregistered number answers 404."""
    await assert_error(await client.post(f"/sandbox/subscribers/{PHONE}/sim-swap", json={}), 404, "NOT_FOUND")


async def test_swap_with_unknown_field_is_400(client: SandboxClient, subscribe: Subscribe) -> None:
    """A history event with an unknown property answers 400."""
    await subscribe(PHONE, "cmcc")
    response = await client.post(f"/sandbox/subscribers/{PHONE}/sim-swap", json={"when": "now"})
    await assert_error(response, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(("operator", "lifetime"), [("cmcc", 120), ("cucc", 1800), ("ctcc", 600)])
async def test_one_tap_token_uses_the_lines_operator(
    client: SandboxClient, subscribe: Subscribe, operator: str, lifetime: int
) -> None:
    """A phone's token comes from its own operator with that operator's lifetime."""
    await subscribe(PHONE, operator)
    response = await client.post(f"/sandbox/devices/{PHONE}/one-tap-token", json={"purpose": "login"})
    assert response.status == 200
    body = await response.json()
    assert (body["operator"], body["expiresIn"]) == (operator, lifetime)
    assert body["token"]


async def test_one_tap_token_for_unknown_number_is_404(client: SandboxClient) -> None:
    """A phone whose number is not registered gets no token: 404 NOT_FOUND."""
    response = await client.post(f"/sandbox/devices/{PHONE}/one-tap-token", json={"purpose": "login"})
    await assert_error(response, 404, "NOT_FOUND")


async def test_one_tap_token_for_foreign_number_is_404(client: SandboxClient, subscribe: Subscribe) -> None:
    """A registered number outside China gets no China operator token: 404 NOT_FOUND."""
    await subscribe("+34600123456", "cmcc")
    response = await client.post("/sandbox/devices/+34600123456/one-tap-token", json={"purpose": "login"})
    await assert_error(response, 404, "NOT_FOUND")


async def test_one_tap_token_rejects_bad_purpose(client: SandboxClient, subscribe: Subscribe) -> None:
    """An unknown purpose answers 400 INVALID_ARGUMENT."""
    await subscribe(PHONE, "cmcc")
    response = await client.post(f"/sandbox/devices/{PHONE}/one-tap-token", json={"purpose": "pay"})
    await assert_error(response, 400, "INVALID_ARGUMENT")


async def test_faults_update_keeps_fields_not_given(client: SandboxClient) -> None:
    """A faults update changes only the given fields and answers the full state, as GET does."""
    response = await client.put(
        "/sandbox/operators/cucc/faults", json={"latencyMs": 50, "deliveryReport": "none"}
    )
    assert response.status == 200
    expected = {**NO_FAULTS, "latencyMs": 50, "deliveryReport": "none"}
    assert await response.json() == expected
    response = await client.put("/sandbox/operators/cucc/faults", json={"errorRate": 0.25})
    assert await response.json() == {**expected, "errorRate": 0.25}
    assert await (await client.get("/sandbox/operators/cucc/faults")).json() == {
        **expected,
        "errorRate": 0.25,
    }
    assert (await (await client.get("/sandbox/operators/cmcc/faults")).json())["latencyMs"] == 0


@pytest.mark.parametrize(
    "payload",
    [{"latencyMs": -1}, {"errorRate": 1.5}, {"down": "yes"}, {"deliveryReport": "LOST"}, {"latency": 5}],
)
async def test_bad_faults_are_400(client: SandboxClient, payload: dict[str, Any]) -> None:
    """Out-of-range values, wrong types and unknown fields answer 400 and change nothing."""
    await assert_error(
        await client.put("/sandbox/operators/cmcc/faults", json=payload), 400, "INVALID_ARGUMENT"
    )
    assert (await (await client.get("/sandbox/operators/cmcc/faults")).json())["latencyMs"] == 0


async def test_faults_of_unknown_operator_is_404(client: SandboxClient) -> None:
    """Faults of an operator the sandbox does not mock answer 404."""
    await assert_error(await client.get("/sandbox/operators/att/faults"), 404, "NOT_FOUND")
    await assert_error(await client.put("/sandbox/operators/att/faults", json={}), 404, "NOT_FOUND")


async def test_reset_clears_everything(
    client: SandboxClient, subscribe: Subscribe, one_tap_token: OneTapToken
) -> None:
    """Reset forgets subscribers and tokens and clears faults."""
    await subscribe(PHONE, "cmcc")
    await one_tap_token(PHONE, "login")
    await client.put("/sandbox/operators/cmcc/faults", json={"down": True})
    assert (await client.post("/sandbox/reset")).status == 204
    assert (await client.get(f"/sandbox/subscribers/{PHONE}")).status == 404
    assert (await (await client.get("/sandbox/operators/cmcc/faults")).json())["down"] is False


async def test_unknown_route_and_method_use_the_error_body(client: SandboxClient) -> None:
    """aiohttp's own 404 and 405 answers carry the contract's error body."""
    await assert_error(await client.get("/sandbox/nothing"), 404, "NOT_FOUND")
    await assert_error(await client.delete("/sandbox/subscribers"), 405, "METHOD_NOT_ALLOWED")
