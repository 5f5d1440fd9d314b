"""The real adapters' SMS channel against a running sandbox: submit, then parse the callbacks the sandbox
POSTed to a receiver; and an H5 token from the operator's H5 endpoint spent on a number check."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest
from pytest_aiohttp import AiohttpClient

from carrier_adapters import (
    ADAPTER_CLASSES,
    CarrierError,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
    DeliveryReport,
    DeliveryState,
    MobileOriginated,
    NumberNotServed,
    OperatorConfig,
    SmsChannel,
    VerifyResult,
)
from carrier_adapters._adapter import OperatorAdapter
from gateway.outbound import GuardedTransport, build_operator_transport
from sandbox import SandboxConfig, create_sandbox_app
from tests.clocks import ManualClock
from tests.sandbox.conftest import CallbackReceiver, Inbox, SandboxClient, Subscribe
from tests.sandbox.dialects import OPERATORS, PHONES

MakeAdapter = Callable[..., OperatorAdapter]
TEXT = "【平安银行】排队叫号：请到3号窗口办理。详情 https://gw.example/l/Zx81 回T退订"  # noqa: RUF001


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, callback_config: SandboxConfig, clock: ManualClock
) -> SandboxClient:
    """A sandbox whose operators POST their callbacks to the receiver."""
    return await aiohttp_client(create_sandbox_app(callback_config, clock=clock))


@pytest.fixture
async def transport() -> AsyncIterator[GuardedTransport]:
    """The adapters' transport, the production one."""
    operator_transport = build_operator_transport()
    yield operator_transport
    await operator_transport.aclose()


@pytest.fixture
def adapter(
    client: SandboxClient, config: SandboxConfig, clock: ManualClock, transport: GuardedTransport
) -> MakeAdapter:
    """``adapter(op, now=…)``: the operator's adapter against the sandbox (default: the sandbox's clock)."""
    base = str(client.make_url("")).rstrip("/")

    def adapter(
        op: str, *, now: Callable[[], datetime] | None = None, timeout: float = 1.0
    ) -> OperatorAdapter:
        app = config.apps[op]
        settings = OperatorConfig(op, f"{base}/{op}", app.app_id, app.app_key, timeout=timeout)
        return ADAPTER_CLASSES[op](settings, transport, clock=now or clock.now)

    return adapter


@pytest.mark.parametrize("op", OPERATORS)
async def test_submission_and_its_delivery_report(
    op: str,
    adapter: MakeAdapter,
    subscribe: Subscribe,
    inbox: Inbox,
    receiver: CallbackReceiver,
    clock: ManualClock,
) -> None:
    """submit_sms reaches the phone from the adapter's sender; the report parses into a DeliveryReport."""
    await subscribe(PHONES[op], op)
    channel = adapter(op)
    assert isinstance(channel, SmsChannel)

    submission = await channel.submit_sms(PHONES[op], TEXT, reference="msg-1")

    assert submission.operator == op
    assert [(m["from"], m["text"]) for m in await inbox(PHONES[op])] == [(type(channel).SMS_SENDER, TEXT)]
    (callback,) = await receiver.wait_for(1)
    (report,) = channel.parse_callback(callback.body, callback.headers)
    assert isinstance(report, DeliveryReport)
    assert (report.operator, report.provider_message_id, report.reference) == (
        op,
        submission.provider_message_id,
        "msg-1",
    )
    assert (report.state, report.status) == (DeliveryState.DELIVERED, "DELIVRD")
    assert report.at.utcoffset() == timedelta(0)
    assert timedelta(0) <= clock.now() - report.at < timedelta(minutes=1)


@pytest.mark.parametrize("op", OPERATORS)
async def test_resubmission_is_deduplicated(
    op: str, adapter: MakeAdapter, subscribe: Subscribe, inbox: Inbox
) -> None:
    """The same reference again answers the same message id and delivers nothing new."""
    await subscribe(PHONES[op], op)
    channel = adapter(op)

    first = await channel.submit_sms(PHONES[op], TEXT, reference="same")
    again = await channel.submit_sms(PHONES[op], TEXT, reference="same")

    assert again == first
    assert len(await inbox(PHONES[op])) == 1


@pytest.mark.parametrize("op", OPERATORS)
async def test_unknown_number_is_not_served(op: str, adapter: MakeAdapter) -> None:
    """An unregistered number raises NumberNotServed with the operator's code."""
    with pytest.raises(NumberNotServed) as caught:
        await adapter(op).submit_sms(PHONES[op], TEXT, reference="r")

    assert caught.value.code is not None


@pytest.mark.parametrize("op", OPERATORS)
async def test_undelivered_report(
    op: str, client: SandboxClient, adapter: MakeAdapter, subscribe: Subscribe, receiver: CallbackReceiver
) -> None:
    """Under the UNDELIV fault the report parses as FAILED with status UNDELIV."""
    await subscribe(PHONES[op], op)
    await client.put(f"/sandbox/operators/{op}/faults", json={"deliveryReport": "UNDELIV"})
    channel = adapter(op)

    await channel.submit_sms(PHONES[op], TEXT, reference="lost")

    (callback,) = await receiver.wait_for(1)
    (report,) = channel.parse_callback(callback.body, callback.headers)
    assert isinstance(report, DeliveryReport)
    assert (report.state, report.status, report.reference) == (DeliveryState.FAILED, "UNDELIV", "lost")


@pytest.mark.parametrize("op", OPERATORS)
async def test_reply_parses_into_a_mobile_originated(
    op: str,
    client: SandboxClient,
    adapter: MakeAdapter,
    subscribe: Subscribe,
    receiver: CallbackReceiver,
    clock: ManualClock,
) -> None:
    """A phone's reply reaches the adapter as an MO with the E.164 number, text and reference."""
    await subscribe(PHONES[op], op)
    channel = adapter(op)
    await channel.submit_sms(PHONES[op], TEXT, reference="asked")
    await receiver.wait_for(1)

    await client.post(f"/sandbox/devices/{PHONES[op]}/reply", json={"text": "退订 TD"})

    callback = (await receiver.wait_for(2))[1]
    (reply,) = channel.parse_callback(callback.body, callback.headers)
    assert isinstance(reply, MobileOriginated)
    assert (reply.operator, reply.phone_number, reply.text, reply.reference) == (
        op,
        PHONES[op],
        "退订 TD",
        "asked",
    )
    assert abs(reply.at - clock.now()) < timedelta(seconds=1)


@pytest.mark.parametrize("op", OPERATORS)
async def test_callbacks_are_authenticated(
    op: str, adapter: MakeAdapter, subscribe: Subscribe, receiver: CallbackReceiver, clock: ManualClock
) -> None:
    """Read 301 s later a callback is stale; another operator cannot read it; a changed body fails."""
    await subscribe(PHONES[op], op)
    await adapter(op).submit_sms(PHONES[op], TEXT, reference="auth")
    (callback,) = await receiver.wait_for(1)
    late = adapter(op, now=lambda: clock.now() + timedelta(seconds=301))
    other = adapter({"cmcc": "cucc", "cucc": "ctcc", "ctcc": "cmcc"}[op])
    tampered = callback.body.replace(b"auth", b"auth2")

    with pytest.raises(CarrierRejected):
        late.parse_callback(callback.body, callback.headers)
    with pytest.raises(CarrierError):
        other.parse_callback(callback.body, callback.headers)
    with pytest.raises(CarrierRejected):
        adapter(op).parse_callback(tampered, callback.headers)


@pytest.mark.parametrize("op", OPERATORS)
async def test_faults_on_submission(
    op: str, client: SandboxClient, adapter: MakeAdapter, subscribe: Subscribe, inbox: Inbox
) -> None:
    """errorRate and down are CarrierUnavailable; latency beyond the deadline is CarrierTimeout."""
    await subscribe(PHONES[op], op)
    channel = adapter(op, timeout=0.3)

    await client.put(f"/sandbox/operators/{op}/faults", json={"errorRate": 1.0})
    with pytest.raises(CarrierUnavailable):
        await channel.submit_sms(PHONES[op], TEXT, reference="f1")
    await client.put(f"/sandbox/operators/{op}/faults", json={"errorRate": 0.0, "down": True})
    with pytest.raises(CarrierUnavailable):
        await channel.submit_sms(PHONES[op], TEXT, reference="f2")
    await client.put(f"/sandbox/operators/{op}/faults", json={"down": False, "latencyMs": 600})
    with pytest.raises(CarrierTimeout):
        await channel.submit_sms(PHONES[op], TEXT, reference="f3")

    assert await inbox(PHONES[op]) == []


@pytest.mark.parametrize("op", OPERATORS)
async def test_h5_token_passes_the_number_check(
    op: str, client: SandboxClient, config: SandboxConfig, adapter: MakeAdapter, subscribe: Subscribe
) -> None:
    """A token from the H5 endpoint (cookie-identified phone) verifies its own number once."""
    await subscribe(PHONES[op], op)
    response = await client.post(
        f"/{op}/h5/token",
        json={"appId": config.apps[op].app_id},
        headers={"Cookie": f"sandbox_phone={PHONES[op]}"},
    )
    token = (await response.json())["token"]
    channel = adapter(op)

    outcome = await channel.verify_number(token, PHONES[op])

    assert channel.recognises(token)
    assert (outcome.result, outcome.billed) == (VerifyResult.PASS, True)
