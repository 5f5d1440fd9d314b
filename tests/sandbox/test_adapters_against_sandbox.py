"""The real adapters against a running sandbox over loopback sockets: each identity capability."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest

from carrier_adapters import (
    ADAPTER_CLASSES,
    AuthMethod,
    CarrierTimeout,
    CarrierUnavailable,
    LineNotEligible,
    NumberNotServed,
    Operator,
    OperatorConfig,
    TokenRejected,
)
from gateway.outbound import build_operator_transport
from sandbox import SandboxConfig
from tests.clocks import ManualClock
from tests.sandbox.conftest import SandboxClient, Subscribe
from tests.sandbox.dialects import ENRICHMENT, OPERATORS, PHONES, WINDOW_HOURS, national, query_of

KYC = {
    "name": "张三",
    "givenName": "三",
    "familyName": "张",
    "middleNames": "Li",
    "familyNameAtBirth": "王",
    "idDocument": "110101199001011234",
    "idDocumentType": "national_id_card",
    "idDocumentExpiryDate": "2035-06-30",
    "address": "北京市东城区东长安街1号",
    "streetName": "东长安街",
    "streetNumber": "1",
    "houseNumberExtension": "A",
    "postalCode": "100010",
    "region": "北京市",
    "locality": "东城区",
    "country": "CN",
    "birthdate": "1990-01-01",
    "email": "zhangsan@example.com",
    "gender": "MALE",
    "cityOfBirth": "北京",
    "countryOfBirth": "CN",
    "nationality": "CN",
}
CALLBACK = "https://gateway.example/oauth2/callback/cmcc?x=1"


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
async def operators(
    client: SandboxClient, config: SandboxConfig, clock: ManualClock
) -> AsyncIterator[dict[str, Operator]]:
    """Each operator's adapter, configured with the sandbox's credentials and clock."""
    base = str(client.make_url("")).rstrip("/")
    transport = build_operator_transport()
    yield {
        op: ADAPTER_CLASSES[op](
            OperatorConfig(op, f"{base}/{op}", config.apps[op].app_id, config.apps[op].app_key, timeout=3.0),
            transport,
            clock=clock.now,
        )
        for op in OPERATORS
    }
    await transport.aclose()


@pytest.mark.parametrize("op", OPERATORS)
async def test_sim_change_within_the_window_is_disclosed(
    operators: dict[str, Operator], subscribe: Subscribe, clock: ManualClock, op: str
) -> None:
    """A SIM change inside the window comes back as an aware UTC datetime with the operator's window."""
    changed = clock.now() - timedelta(days=10, milliseconds=250)
    await subscribe(PHONES[op], op, simChangedAt=_rfc3339(changed))

    history = await operators[op].sim_history(PHONES[op])

    precision = timedelta(seconds=1) if op == "ctcc" else timedelta(milliseconds=1)
    assert history.latest_change is not None
    assert history.latest_change.utcoffset() == timedelta(0)
    assert timedelta(0) <= changed - history.latest_change < precision
    assert (history.operator, history.window_days, history.known) == (op, WINDOW_HOURS[op] // 24, True)
    assert operators[op].history_window_hours == WINDOW_HOURS[op]


@pytest.mark.parametrize("op", OPERATORS)
async def test_change_older_than_the_window_is_withheld(
    operators: dict[str, Operator], subscribe: Subscribe, clock: ManualClock, op: str
) -> None:
    """Past the window the date is withheld: latest_change None, still known."""
    old = clock.now() - timedelta(hours=WINDOW_HOURS[op] + 1)
    await subscribe(
        PHONES[op], op, activatedAt=_rfc3339(old), simChangedAt=_rfc3339(old), imei="356938035643809"
    )

    sim = await operators[op].sim_history(PHONES[op])
    device = await operators[op].device_history(PHONES[op])

    assert (sim.latest_change, sim.known) == (None, True)
    assert (device.latest_change, device.known) == (None, True)


@pytest.mark.parametrize("op", OPERATORS)
async def test_without_changes_the_activation_is_reported(
    operators: dict[str, Operator], subscribe: Subscribe, clock: ManualClock, op: str
) -> None:
    """No SIM or device change: the activation date, for a line seen in a device."""
    activated = (clock.now() - timedelta(days=3)).replace(microsecond=0)
    await subscribe(PHONES[op], op, activatedAt=_rfc3339(activated), imei="356938035643809")

    assert (await operators[op].sim_history(PHONES[op])).latest_change == activated
    assert (await operators[op].device_history(PHONES[op])).latest_change == activated


@pytest.mark.parametrize("op", OPERATORS)
async def test_device_swap_is_reported_and_a_deviceless_line_is_unknown(
    operators: dict[str, Operator], subscribe: Subscribe, client: SandboxClient, clock: ManualClock, op: str
) -> None:
    """A line never in a device has no device history; after a device swap it has one."""
    await subscribe(PHONES[op], op)
    assert (await operators[op].device_history(PHONES[op])).known is False

    swapped = (clock.now() - timedelta(hours=5)).replace(microsecond=0)
    response = await client.post(
        f"/sandbox/subscribers/{PHONES[op]}/device-swap", json={"at": _rfc3339(swapped)}
    )
    assert response.status == 200
    history = await operators[op].device_history(PHONES[op])
    assert (history.latest_change, history.known) == (swapped, True)


@pytest.mark.parametrize("op", OPERATORS)
async def test_unknown_ported_and_ineligible_lines(
    operators: dict[str, Operator], subscribe: Subscribe, op: str
) -> None:
    """Unregistered and other operators' numbers are NumberNotServed; an ineligible line LineNotEligible."""
    other = next(candidate for candidate in OPERATORS if candidate != op)
    await subscribe(PHONES[other], other)
    await subscribe("+8613900139000", op, eligible=False, kyc={"name": "x"})
    adapter = operators[op]

    for call in (adapter.sim_history, adapter.device_history, adapter.customer_record):
        with pytest.raises(NumberNotServed):
            await call("+8613700137000")
        with pytest.raises(NumberNotServed):
            await call(PHONES[other])
        with pytest.raises(LineNotEligible):
            await call("+8613900139000")


@pytest.mark.parametrize("op", OPERATORS)
async def test_customer_record_round_trips_every_attribute(
    operators: dict[str, Operator], subscribe: Subscribe, op: str
) -> None:
    """Every KYC Match attribute seeded comes back under its KYC Match name and format."""
    await subscribe(PHONES[op], op, kyc=KYC | {"unheardOf": "ignored"})

    record = await operators[op].customer_record(PHONES[op])

    assert record.operator == op
    assert dict(record.attributes) == KYC


@pytest.mark.parametrize("op", OPERATORS)
async def test_line_without_customer_record_is_not_served(
    operators: dict[str, Operator], subscribe: Subscribe, op: str
) -> None:
    """A served line without a customer record raises NumberNotServed for the record only."""
    await subscribe(PHONES[op], op)

    with pytest.raises(NumberNotServed):
        await operators[op].customer_record(PHONES[op])
    assert (await operators[op].sim_history(PHONES[op])).known


@pytest.mark.parametrize("op", OPERATORS)
async def test_header_enrichment_code_exchanges_once(
    operators: dict[str, Operator], subscribe: Subscribe, client: SandboxClient, op: str
) -> None:
    """An enriched authorize redirects with a code; the adapter exchanges it once, for that redirect only."""
    await subscribe(PHONES[op], op)
    adapter = operators[op]
    url = adapter.authorization_url(redirect_uri=CALLBACK, state="st-1", login_hint=None)

    async with httpx.AsyncClient() as browser:
        response = await browser.get(url, headers={ENRICHMENT[op]: national(PHONES[op])})
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "&")
    callback = query_of(location)
    assert callback["state"] == "st-1"

    with pytest.raises(TokenRejected):
        await adapter.exchange_code(callback["code"], redirect_uri="https://gateway.example/other")
    identity = await adapter.exchange_code(callback["code"], redirect_uri=CALLBACK)
    assert (identity.operator, identity.phone_number, identity.method) == (op, PHONES[op], AuthMethod.NETWORK)
    assert identity.provider_ref
    with pytest.raises(TokenRejected):
        await adapter.exchange_code(callback["code"], redirect_uri=CALLBACK)


@pytest.mark.parametrize("op", OPERATORS)
async def test_login_hint_prefills_the_sms_form(
    operators: dict[str, Operator], subscribe: Subscribe, op: str
) -> None:
    """Without enrichment the operator shows its number form, pre-filled from the adapter's login hint."""
    await subscribe(PHONES[op], op)
    url = operators[op].authorization_url(redirect_uri=CALLBACK, state="s", login_hint=PHONES[op])

    async with httpx.AsyncClient() as browser:
        response = await browser.get(url)

    assert response.status_code == 200
    assert f'value="{national(PHONES[op])}"' in response.text
    assert 'autocomplete="tel-national"' in response.text


@pytest.mark.parametrize("op", OPERATORS)
async def test_expired_code_is_rejected(
    operators: dict[str, Operator], subscribe: Subscribe, clock: ManualClock, op: str
) -> None:
    """A code past its lifetime raises TokenRejected."""
    await subscribe(PHONES[op], op)
    url = operators[op].authorization_url(redirect_uri=CALLBACK, state="s", login_hint=None)
    async with httpx.AsyncClient() as browser:
        response = await browser.get(url, headers={ENRICHMENT[op]: national(PHONES[op])})
    code = query_of(response.headers["location"])["code"]

    clock.advance(61)
    with pytest.raises(TokenRejected):
        await operators[op].exchange_code(code, redirect_uri=CALLBACK)


@pytest.mark.parametrize("op", OPERATORS)
async def test_faults_apply_to_line_queries_and_code_exchange(
    operators: dict[str, Operator], subscribe: Subscribe, client: SandboxClient, op: str
) -> None:
    """A down operator makes line queries and code exchanges CarrierUnavailable; latency a CarrierTimeout."""
    await subscribe(PHONES[op], op)
    assert (await client.put(f"/sandbox/operators/{op}/faults", json={"down": True})).status == 200
    with pytest.raises(CarrierUnavailable):
        await operators[op].sim_history(PHONES[op])
    with pytest.raises(CarrierUnavailable):
        await operators[op].exchange_code("CMAC" + "0" * 32, redirect_uri=CALLBACK)

    assert (
        await client.put(f"/sandbox/operators/{op}/faults", json={"down": False, "latencyMs": 3500})
    ).status == 200
    with pytest.raises(CarrierTimeout):
        await operators[op].customer_record(PHONES[op])
