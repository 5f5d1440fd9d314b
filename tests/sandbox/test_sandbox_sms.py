"""The operators' SMS dialects over real sockets: submission, deduplication, inbox delivery, delivery
reports and replies POSTed to a callback receiver (docs: "SMS: submission, delivery reports and
replies"). Requests and callbacks are built and checked with tests/sandbox/dialects.py."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from sandbox import SandboxConfig, create_sandbox_app
from sandbox.callbacks import Callback, CallbackPoster
from tests.clocks import ManualClock
from tests.sandbox.conftest import Call, CallbackReceiver, Inbox, SandboxClient, Subscribe
from tests.sandbox.dialects import (
    OPERATORS,
    PHONES,
    SMS_ACCEPTED,
    SMS_MESSAGE_IDS,
    SMS_SENDER,
    SMS_SIGN_ERROR,
    SMS_SUBMIT,
    SMS_UNKNOWN_APP,
    SMS_UNKNOWN_NUMBER,
    callback_summary,
    national,
    open_callback,
    sms_message_id,
    sms_result,
    sms_submission,
)

TEXT = "【平安银行】您的理赔进度已更新，请点击 https://gw.example/l/aB3dE?x=1&y=2 查看。回T退订"  # noqa: RUF001
OTHER_OPERATOR = {"cmcc": "cucc", "cucc": "ctcc", "ctcc": "cmcc"}
OTHER_PHONE = {"cmcc": "+8618600186001", "cucc": "+8618900189001", "ctcc": "+8613800138001"}
NO_REPORT = {"cmcc": {"registeredDelivery": "0"}, "cucc": {"reportFlag": "2"}, "ctcc": {"report": "0"}}


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, callback_config: SandboxConfig, clock: ManualClock
) -> SandboxClient:
    """A sandbox whose operators POST their callbacks to the receiver."""
    return await aiohttp_client(create_sandbox_app(callback_config, clock=clock))


@pytest.fixture
def submit(client: SandboxClient, config: SandboxConfig, clock: ManualClock) -> Call:
    """POST a signed submission in the operator's dialect; the JSON answer."""

    async def submit(
        op: str, to: str, *, text: str = TEXT, reference: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        submission = sms_submission(
            op,
            config.apps[op],
            clock.now(),
            to=to,
            text=text,
            reference=reference or secrets.token_hex(8),
            **extra,
        )
        response = await client.post(SMS_SUBMIT[op], **submission)
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer

    return submit


async def _quiet(receiver: CallbackReceiver, count: int) -> None:
    """Give stray callbacks a chance to arrive, then check that exactly ``count`` did."""
    await asyncio.sleep(0.15)
    assert len(receiver.received) == count


@pytest.mark.parametrize("op", OPERATORS)
async def test_submission_reaches_the_inbox_and_is_reported(
    op: str,
    submit: Call,
    subscribe: Subscribe,
    inbox: Inbox,
    receiver: CallbackReceiver,
    config: SandboxConfig,
) -> None:
    """An accepted SMS lands in the inbox from the sender; a signed DELIVRD report names it."""
    await subscribe(PHONES[op], op)

    answer = await submit(op, PHONES[op], reference="ref-1")

    assert sms_result(op, answer) == SMS_ACCEPTED[op]
    message_id = sms_message_id(op, answer)
    assert message_id is not None and SMS_MESSAGE_IDS[op].fullmatch(message_id)
    assert [(m["from"], m["text"]) for m in await inbox(PHONES[op])] == [(SMS_SENDER, TEXT)]
    (callback,) = await receiver.wait_for(1)
    assert callback.operator == op
    fields = open_callback(op, config.apps[op], callback.body, callback.headers)
    assert callback_summary(op, fields) == {"id": message_id, "reference": "ref-1", "status": "DELIVRD"}
    destination = {"cmcc": "destTerminalId", "cucc": "userNumber", "ctcc": "srcTermId"}[op]
    assert fields[destination] == national(PHONES[op])


@pytest.mark.parametrize("op", OPERATORS)
async def test_the_same_reference_answers_the_first_message_id(
    op: str, submit: Call, subscribe: Subscribe, inbox: Inbox, receiver: CallbackReceiver
) -> None:
    """A resubmission under a known reference answers the first id and delivers and reports nothing."""
    await subscribe(PHONES[op], op)

    first = await submit(op, PHONES[op], reference="dup-1")
    again = await submit(op, PHONES[op], reference="dup-1", text="another text")
    other = await submit(op, PHONES[op], reference="dup-2")

    assert sms_message_id(op, again) == sms_message_id(op, first)
    assert sms_message_id(op, other) != sms_message_id(op, first)
    assert [m["text"] for m in await inbox(PHONES[op])] == [TEXT, TEXT]
    await receiver.wait_for(2)
    await _quiet(receiver, 2)


@pytest.mark.parametrize("op", OPERATORS)
async def test_unknown_numbers_are_refused(
    op: str, submit: Call, subscribe: Subscribe, inbox: Inbox, receiver: CallbackReceiver
) -> None:
    """An unregistered number and another operator's subscriber answer the unknown-number code."""
    await subscribe(OTHER_PHONE[op], OTHER_OPERATOR[op])

    unregistered = await submit(op, PHONES[op])
    foreign = await submit(op, OTHER_PHONE[op])

    assert sms_result(op, unregistered) == SMS_UNKNOWN_NUMBER[op]
    assert sms_result(op, foreign) == SMS_UNKNOWN_NUMBER[op]
    assert sms_message_id(op, foreign) is None
    assert await inbox(OTHER_PHONE[op]) == []
    await _quiet(receiver, 0)


@pytest.mark.parametrize("op", OPERATORS)
async def test_a_refused_submission_is_not_remembered(
    op: str, submit: Call, subscribe: Subscribe, inbox: Inbox
) -> None:
    """A reference first refused (unknown number) is accepted once the number is served."""
    first = await submit(op, PHONES[op], reference="later")
    await subscribe(PHONES[op], op)

    second = await submit(op, PHONES[op], reference="later")

    assert sms_result(op, first) == SMS_UNKNOWN_NUMBER[op]
    assert sms_result(op, second) == SMS_ACCEPTED[op]
    assert len(await inbox(PHONES[op])) == 1


@pytest.mark.parametrize("op", OPERATORS)
async def test_signature_and_app_are_checked(
    op: str,
    client: SandboxClient,
    config: SandboxConfig,
    clock: ManualClock,
    subscribe: Subscribe,
    inbox: Inbox,
) -> None:
    """A submission signed with another key is a sign error; another app id is unknown."""
    await subscribe(PHONES[op], op)
    app = config.apps[op]
    fields = {"to": PHONES[op], "text": TEXT, "reference": "r"}

    forged = sms_submission(op, app, clock.now(), key="k" * 32, **fields)
    forged_answer = await (await client.post(SMS_SUBMIT[op], **forged)).json()
    stranger = type(app)(app_id="0" + app.app_id, app_key=app.app_key)
    foreign = sms_submission(op, stranger, clock.now(), **fields)
    foreign_answer = await (await client.post(SMS_SUBMIT[op], **foreign)).json()

    assert sms_result(op, forged_answer) == SMS_SIGN_ERROR[op]
    assert sms_result(op, foreign_answer) == SMS_UNKNOWN_APP[op]
    assert await inbox(PHONES[op]) == []


@pytest.mark.parametrize(
    ("op", "bad", "code"),
    [
        ("cmcc", {"msgFmt": "15"}, "1"),
        ("cmcc", {"srcId": "95555"}, "1"),
        ("cucc", {"messageCoding": "15"}, "1004"),
        ("cucc", {"spNumber": "95555"}, "1004"),
        ("cucc", {"userNumber": "00" * 16}, "1004"),
    ],
)
async def test_malformed_submissions(
    op: str,
    bad: dict[str, str],
    code: str,
    client: SandboxClient,
    config: SandboxConfig,
    clock: ManualClock,
    subscribe: Subscribe,
) -> None:
    """Another message format, a sender that is not an SP access number or a bad number is refused."""
    await subscribe(PHONES[op], op)
    submission = sms_submission(
        op, config.apps[op], clock.now(), to=PHONES[op], text=TEXT, reference="r", **bad
    )

    answer = await (await client.post(SMS_SUBMIT[op], **submission)).json()

    assert sms_result(op, answer) == code


@pytest.mark.parametrize(("op", "code"), [("cucc", "1002"), ("ctcc", "-10002")])
async def test_stale_submissions_are_refused(
    op: str, code: str, client: SandboxClient, config: SandboxConfig, clock: ManualClock, subscribe: Subscribe
) -> None:
    """cucc and ctcc refuse a submission stamped more than 300 s away from their clock."""
    await subscribe(PHONES[op], op)
    stale = clock.now() - timedelta(seconds=301)
    submission = sms_submission(op, config.apps[op], stale, to=PHONES[op], text=TEXT, reference="r")

    answer = await (await client.post(SMS_SUBMIT[op], **submission)).json()

    assert sms_result(op, answer) == code


@pytest.mark.parametrize("op", OPERATORS)
async def test_undeliv_fault_keeps_the_sms_out_of_the_inbox(
    op: str,
    client: SandboxClient,
    submit: Call,
    subscribe: Subscribe,
    inbox: Inbox,
    receiver: CallbackReceiver,
    config: SandboxConfig,
) -> None:
    """With deliveryReport UNDELIV the SMS is accepted, not delivered, and reported UNDELIV."""
    await subscribe(PHONES[op], op)
    await client.put(f"/sandbox/operators/{op}/faults", json={"deliveryReport": "UNDELIV"})

    answer = await submit(op, PHONES[op], reference="u-1")

    assert sms_result(op, answer) == SMS_ACCEPTED[op]
    assert await inbox(PHONES[op]) == []
    (callback,) = await receiver.wait_for(1)
    summary = callback_summary(op, open_callback(op, config.apps[op], callback.body, callback.headers))
    assert summary == {"id": sms_message_id(op, answer), "reference": "u-1", "status": "UNDELIV"}


@pytest.mark.parametrize("op", OPERATORS)
async def test_none_fault_delivers_without_a_report(
    op: str,
    client: SandboxClient,
    submit: Call,
    subscribe: Subscribe,
    inbox: Inbox,
    receiver: CallbackReceiver,
) -> None:
    """With deliveryReport none the SMS reaches the inbox and no report is ever sent."""
    await subscribe(PHONES[op], op)
    await client.put(f"/sandbox/operators/{op}/faults", json={"deliveryReport": "none"})

    await submit(op, PHONES[op])

    assert len(await inbox(PHONES[op])) == 1
    await _quiet(receiver, 0)


@pytest.mark.parametrize("op", OPERATORS)
async def test_no_report_when_the_submission_asks_for_none(
    op: str, submit: Call, subscribe: Subscribe, inbox: Inbox, receiver: CallbackReceiver
) -> None:
    """registeredDelivery 0 / reportFlag 2 / needReport 0: delivered, not reported."""
    await subscribe(PHONES[op], op)

    answer = await submit(op, PHONES[op], **NO_REPORT[op])

    assert sms_result(op, answer) == SMS_ACCEPTED[op]
    assert len(await inbox(PHONES[op])) == 1
    await _quiet(receiver, 0)


async def test_cucc_report_flag_0_reports_failures_only(
    client: SandboxClient,
    submit: Call,
    subscribe: Subscribe,
    receiver: CallbackReceiver,
    config: SandboxConfig,
) -> None:
    """SGIP ReportFlag 0: a delivered SMS is not reported, an undelivered one is."""
    await subscribe(PHONES["cucc"], "cucc")
    await submit("cucc", PHONES["cucc"], reference="ok", reportFlag="0")
    await client.put("/sandbox/operators/cucc/faults", json={"deliveryReport": "UNDELIV"})
    await submit("cucc", PHONES["cucc"], reference="lost", reportFlag="0")

    (callback,) = await receiver.wait_for(1)
    fields = open_callback("cucc", config.apps["cucc"], callback.body, callback.headers)
    assert (fields["spSequence"], fields["state"], fields["errorCode"]) == ("lost", "2", "1")
    await _quiet(receiver, 1)


@pytest.mark.parametrize("op", OPERATORS)
async def test_reports_are_retried_until_acknowledged(
    op: str, submit: Call, subscribe: Subscribe, receiver: CallbackReceiver, config: SandboxConfig
) -> None:
    """A receiver answering 500 then 503 gets the report again, signed afresh, until it answers 2xx."""
    await subscribe(PHONES[op], op)
    receiver.statuses = [500, 503]

    await submit(op, PHONES[op], reference="retry-1")

    callbacks = await receiver.wait_for(3)
    summaries = [
        callback_summary(op, open_callback(op, config.apps[op], c.body, c.headers)) for c in callbacks
    ]
    assert len({tuple(summary.items()) for summary in summaries}) == 1
    assert summaries[0]["reference"] == "retry-1"
    await _quiet(receiver, 3)


async def test_reports_are_given_up_after_the_retries(
    submit: Call, subscribe: Subscribe, receiver: CallbackReceiver
) -> None:
    """Without a 2xx the report is sent 1 + len(retry delays) times, then given up."""
    await subscribe(PHONES["cmcc"], "cmcc")
    receiver.statuses = [500] * 10

    await submit("cmcc", PHONES["cmcc"])

    await receiver.wait_for(4)
    await _quiet(receiver, 4)


@pytest.mark.parametrize("op", OPERATORS)
async def test_reply_is_posted_as_a_signed_mo(
    op: str,
    client: SandboxClient,
    submit: Call,
    subscribe: Subscribe,
    receiver: CallbackReceiver,
    config: SandboxConfig,
) -> None:
    """A reply goes to the latest submitted SMS's sender; the MO names the phone, text and reference."""
    await subscribe(PHONES[op], op)
    await submit(op, PHONES[op], reference="first")
    await submit(op, PHONES[op], reference="second")
    await receiver.wait_for(2)

    response = await client.post(f"/sandbox/devices/{PHONES[op]}/reply", json={"text": "TD"})

    assert response.status == 202
    assert await response.json() == {"to": SMS_SENDER}
    callback = (await receiver.wait_for(3))[2]
    fields = open_callback(op, config.apps[op], callback.body, callback.headers)
    assert fields["kind"] == "reply"
    assert callback_summary(op, fields) == {
        "number": national(PHONES[op]),
        "text": "TD",
        "reference": "second",
        "to": SMS_SENDER,
    }


async def test_reply_needs_a_submitted_sms(client: SandboxClient, subscribe: Subscribe) -> None:
    """No submitted SMS reached the phone: 409; unknown phone 404; empty or unknown fields 400."""
    await subscribe(PHONES["cmcc"], "cmcc")
    nothing = await client.post(f"/sandbox/devices/{PHONES['cmcc']}/reply", json={"text": "TD"})
    unknown = await client.post("/sandbox/devices/+8613700137000/reply", json={"text": "TD"})
    empty = await client.post(f"/sandbox/devices/{PHONES['cmcc']}/reply", json={"text": ""})
    extra = await client.post(f"/sandbox/devices/{PHONES['cmcc']}/reply", json={"text": "T", "to": "1"})

    assert (nothing.status, (await nothing.json())["code"]) == (409, "CONFLICT")
    assert unknown.status == 404
    assert (empty.status, extra.status) == (400, 400)


@pytest.mark.parametrize("op", OPERATORS)
async def test_faults_apply_to_submission(
    op: str,
    client: SandboxClient,
    config: SandboxConfig,
    clock: ManualClock,
    subscribe: Subscribe,
    inbox: Inbox,
) -> None:
    """errorRate 1 answers HTTP 500; down drops the connection; neither delivers anything."""
    await subscribe(PHONES[op], op)
    submission = sms_submission(op, config.apps[op], clock.now(), to=PHONES[op], text=TEXT, reference="f")

    await client.put(f"/sandbox/operators/{op}/faults", json={"errorRate": 1.0})
    failing = await client.post(SMS_SUBMIT[op], **submission)
    await client.put(f"/sandbox/operators/{op}/faults", json={"errorRate": 0.0, "down": True})
    with pytest.raises(aiohttp.ClientError):
        await client.post(SMS_SUBMIT[op], **submission)

    assert failing.status == 500
    assert await inbox(PHONES[op]) == []


async def test_latency_applies_to_submission(
    client: SandboxClient, submit: Call, subscribe: Subscribe
) -> None:
    """latencyMs delays the submission's answer."""
    await subscribe(PHONES["ctcc"], "ctcc")
    await client.put("/sandbox/operators/ctcc/faults", json={"latencyMs": 300})
    loop = asyncio.get_running_loop()

    started = loop.time()
    await submit("ctcc", PHONES["ctcc"])

    assert loop.time() - started >= 0.3


async def test_poster_without_a_url_sends_nothing(receiver: CallbackReceiver) -> None:
    """A poster without a base URL is disabled and schedules nothing."""
    poster = CallbackPoster(None, delay=0, retry_delays=())

    poster.post("cmcc", lambda: Callback(b"{}", {}))

    assert (poster.enabled, poster.pending) == (False, 0)
    await poster.close()


async def test_poster_cancel_pending_stops_retries(receiver: CallbackReceiver) -> None:
    """cancel_pending gives up a callback that is still being retried."""
    receiver.statuses = [500] * 100
    poster = CallbackPoster(receiver.url, delay=0, retry_delays=(0.05,) * 50)

    poster.post("cmcc", lambda: Callback(b"{}", {"Content-Type": "application/json"}))
    await receiver.wait_for(2)
    poster.cancel_pending()
    await asyncio.sleep(0)
    count = len(receiver.received)

    await _quiet(receiver, count)
    assert poster.pending == 0
    await poster.close()
