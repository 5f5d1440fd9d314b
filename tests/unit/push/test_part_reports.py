"""Reports naming message parts by the operator's ids (binary protocols), on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Connection
from sqlmodel import select

from carrier_adapters import DeliveryState, MobileOriginated
from carrier_adapters.smsc import PartReport
from gateway.db.units import run_unit
from gateway.push.models import EarlyReport, MessagePart
from gateway.push.reports import ReportSink, apply_part_reports
from tests.unit.push.conftest import PushEnv, new_phone

D, F = DeliveryState.DELIVERED, DeliveryState.FAILED


def _sink(env: PushEnv, replies: list[MobileOriginated] | None = None) -> ReportSink:
    async def reply(item: MobileOriginated) -> str:
        (replies if replies is not None else []).append(item)
        return "ignored"

    return ReportSink(env.engine, clock=env.clock, events=env.publisher, replies=reply)


def _report(
    env: PushEnv, message_id: str, n: int, state: DeliveryState | None, status: str = ""
) -> PartReport:
    word = status or {D: "DELIVRD", F: "UNDELIV", None: "ENROUTE"}[state]
    return PartReport("cmcc", env.channels["cmcc"].part_id(message_id, n), state, word, datetime.now(UTC))


async def _accept(env: PushEnv) -> str:
    accepted = await env.send(new_phone(), env.templates.add(env.tenant_id))
    return str(accepted.body["id"])


async def _submitted(env: PushEnv, parts: int) -> str:
    env.channels["cmcc"].parts = parts
    message_id = await _accept(env)
    await env.dispatcher().dispatch_once()
    return message_id


async def test_the_submission_stores_each_part_under_the_operators_id(push_env: PushEnv) -> None:
    """A two-part message is stored with both ids in order; the message keeps the first."""
    message_id = await _submitted(push_env, parts=2)
    async with push_env.sessions() as session:
        parts = (await session.exec(select(MessagePart).where(MessagePart.message_id == message_id))).all()
    assert [(p.seq, p.provider_id, p.state) for p in sorted(parts, key=lambda p: p.seq)] == [
        (1, f"cmcc-{message_id}-1", None),
        (2, f"cmcc-{message_id}-2", None),
    ]
    assert (await push_env.message(message_id)).provider_message_id == f"cmcc-{message_id}-1"


async def test_a_message_is_delivered_when_its_last_part_is(push_env: PushEnv) -> None:
    """Part 1's report leaves the message submitted; part 2's delivers it, with one webhook and event."""
    message_id = await _submitted(push_env, parts=2)
    sink = _sink(push_env)
    await sink([_report(push_env, message_id, 1, D)])
    assert (await push_env.message(message_id)).status == "submitted"
    await sink([_report(push_env, message_id, 2, D)])
    assert (await push_env.message(message_id)).status == "delivered"
    assert await push_env.events(message_id) == ["queued", "submitted", "delivered"]
    assert push_env.publisher.types(message_id) == ["message.submitted", "message.delivered"]


async def test_the_two_parts_of_one_message_reported_in_two_concurrent_units_deliver_it(
    push_env: PushEnv,
) -> None:
    """Part 1's report is applied in one unit, part 2's in another before the first commits (two
    sessions, or two processes): the second waits for the first, sees both parts final and delivers
    the message once (neither unit may settle on a read that misses the other's part)."""
    message_id = await _submitted(push_env, parts=2)
    now = push_env.clock.now()

    def apply(n: int) -> Callable[[Connection], bool]:
        report = _report(push_env, message_id, n, D)
        return lambda conn: apply_part_reports(conn, [report], now=now, events=push_env.publisher)

    async with push_env.engine.connect() as first:
        transaction = await first.begin()
        await first.run_sync(apply(1))
        second = asyncio.create_task(run_unit(push_env.engine, apply(2)))
        await asyncio.sleep(0.3)
        assert not second.done()
        await transaction.commit()
    await second
    assert (await push_env.message(message_id)).status == "delivered"
    assert await push_env.events(message_id) == ["queued", "submitted", "delivered"]


async def test_one_failed_part_fails_the_message_with_its_status_word(push_env: PushEnv) -> None:
    """Every part reported, one of them EXPIRED: the message is failed and names EXPIRED."""
    message_id = await _submitted(push_env, parts=3)
    await _sink(push_env)(
        [
            _report(push_env, message_id, 1, D),
            _report(push_env, message_id, 2, F, "EXPIRED"),
            _report(push_env, message_id, 3, D),
        ]
    )
    row = await push_env.message(message_id)
    assert (row.status, row.failure_reason) == ("failed", "EXPIRED")
    assert push_env.publisher.types(message_id)[-1] == "message.failed"


async def test_repeated_and_intermediate_reports_change_nothing(push_env: PushEnv) -> None:
    """A report sent twice settles once; an intermediate report (no final state) is ignored."""
    message_id = await _submitted(push_env, parts=1)
    sink = _sink(push_env)
    await sink([_report(push_env, message_id, 1, None)])
    assert (await push_env.message(message_id)).status == "submitted"
    await sink([_report(push_env, message_id, 1, D)])
    await sink([_report(push_env, message_id, 1, F, "UNDELIV")])
    assert (await push_env.message(message_id)).status == "delivered"
    assert push_env.publisher.types(message_id) == ["message.submitted", "message.delivered"]


async def test_a_report_that_overtakes_its_submission_is_kept_and_applied_at_submission(
    push_env: PushEnv,
) -> None:
    """The report arrives while the message is still queued; storing the submission applies it."""
    push_env.channels["cmcc"].parts = 1
    message_id = await _accept(push_env)
    await _sink(push_env)([_report(push_env, message_id, 1, D)])
    assert await push_env.count(EarlyReport) == 1
    await push_env.dispatcher().dispatch_once()
    assert (await push_env.message(message_id)).status == "delivered"
    assert await push_env.count(EarlyReport) == 0
    assert push_env.publisher.types(message_id) == ["message.submitted", "message.delivered"]


async def test_reports_arriving_together_are_all_applied(push_env: PushEnv) -> None:
    """Twenty sessions' reports at once (one group commit or a few): every message ends delivered."""
    push_env.channels["cmcc"].parts = 1
    ids = [await _accept(push_env) for _ in range(20)]
    await push_env.dispatcher(batch=50).dispatch_once()
    sink = _sink(push_env)
    await asyncio.gather(*(sink([_report(push_env, message_id, 1, D)]) for message_id in ids))
    assert {(await push_env.message(message_id)).status for message_id in ids} == {"delivered"}


async def test_replies_go_to_the_reply_handler_not_the_report_batch(push_env: PushEnv) -> None:
    """An MO in the same DELIVER batch is handed to the reply handling, one by one."""
    replies: list[MobileOriginated] = []
    phone = new_phone()
    mo = MobileOriginated("cmcc", phone, "TD", None, datetime.now(UTC))
    await _sink(push_env, replies)([mo])
    assert replies == [mo]


async def test_a_message_without_a_report_ends_unknown_after_the_report_timeout(push_env: PushEnv) -> None:
    """Submitted and never reported: the sweep after PUSH_REPORT_TIMEOUT ends it 'unknown' with its
    webhook; one reported in time, and one not yet due, are left alone."""
    reported = await _submitted(push_env, parts=1)
    silent = await _submitted(push_env, parts=1)
    await _sink(push_env)([_report(push_env, reported, 1, D)])
    dispatcher = push_env.dispatcher(report_timeout_seconds=3600)
    push_env.clock.advance(3599)
    assert await dispatcher.sweep() == 0
    push_env.clock.advance(2)
    fresh = await _submitted(push_env, parts=1)
    assert await dispatcher.sweep() == 1
    row = await push_env.message(silent)
    assert (row.status, row.failure_reason) == ("unknown", "NO_REPORT")
    assert push_env.publisher.types(silent)[-1] == "message.unknown"
    assert (await push_env.message(reported)).status == "delivered"
    assert (await push_env.message(fresh)).status == "submitted"
    assert await dispatcher.sweep() == 0


async def test_an_early_report_missed_by_a_concurrent_submission_is_applied_by_the_sweep(
    push_env: PushEnv,
) -> None:
    """A report kept as early while its submission committed in a concurrent unit (so neither saw the
    other) is applied by the next sweep; early reports older than the report timeout are dropped."""
    message_id = await _submitted(push_env, parts=1)
    async with push_env.engine.begin() as conn:
        await conn.execute(
            EarlyReport.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "operator": "cmcc",
                    "provider_id": push_env.channels["cmcc"].part_id(message_id, 1),
                    "state": "delivered",
                    "detail": "DELIVRD",
                    "reported_at": push_env.clock.now(),
                    "received_at": push_env.clock.now(),
                },
                {
                    "operator": "cmcc",
                    "provider_id": "never-submitted",
                    "state": "delivered",
                    "detail": "DELIVRD",
                    "reported_at": push_env.clock.now(),
                    "received_at": push_env.clock.now(),
                },
            ],
        )
    dispatcher = push_env.dispatcher(report_timeout_seconds=3600)
    await dispatcher.sweep()
    assert (await push_env.message(message_id)).status == "delivered"
    assert await push_env.count(EarlyReport) == 1
    push_env.clock.advance(3601)
    await dispatcher.sweep()
    assert await push_env.count(EarlyReport) == 0
