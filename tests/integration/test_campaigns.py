"""Campaigns over real sockets (issue 22): chunks of recipients, the lifecycle, the runner sending
through the sandbox operators, progress as a resource and as webhooks; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gateway.campaigns.models import idempotency_key
from gateway.campaigns.service import RECIPIENTS
from gateway.campaigns.views import CHUNK_MAX_LINES
from gateway.db import create_engine, run_unit
from tests.leaks import SENSITIVE
from tests.stack import Stack, open_stack
from tests.webhooks import webhook_receiver

pytestmark = pytest.mark.integration
SCOPES = ["push:send", "push:read", "templates:write", "webhooks:manage"]
CAMPAIGN_EVENTS = ["campaign.started", "campaign.progress", "campaign.completed", "campaign.cancelled"]


def _phone(prefix: str = "138") -> str:
    phone = f"+86{prefix}{secrets.randbelow(10**8):08d}"
    SENSITIVE.update({phone, phone[3:]})
    return phone


class Bank:
    """A tenant driving the campaign API."""

    def __init__(self, stack: Stack, bearer: str, tenant_id: str) -> None:
        self.stack = stack
        self.bearer = bearer
        self.tenant_id = tenant_id

    @classmethod
    async def create(cls, stack: Stack) -> Bank:
        creds = await stack.tenant(SCOPES, sandbox=True)
        await stack.sms_policy(creds.tenant_id, prefixPer10Min=10_000, prefixPerDay=100_000)
        return cls(stack, await stack.access_token(creds), creds.tenant_id)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer}"}

    async def template(
        self, text: str = "您的案件{{claimNo}}请点击 {{link}} 共享位置。", **params: dict[str, Any]
    ) -> str:
        resp = await self.stack.call(
            "/push/v1/templates",
            self.bearer,
            {
                "name": "claim",
                "category": "notification",
                "signature": "平安银行",
                "text": text,
                "flow": "claim_location",
                "quickApp": {"package": "com.example.claims", "page": "Location"},
                "params": params or {"claimNo": {"type": "string", "required": True}},
            },
        )
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    async def campaign(self, template_id: str, **extra: Any) -> str:
        resp = await self.stack.call("/push/v1/campaigns", self.bearer, {"templateId": template_id, **extra})
        assert resp.status_code == 201, resp.text
        assert resp.json()["status"] == "draft"
        return str(resp.json()["id"])

    async def upload(
        self, campaign_id: str, body: str | bytes, media_type: str = "text/csv"
    ) -> httpx.Response:
        return await self.stack.http.post(
            f"{self.stack.gateway_url}/push/v1/campaigns/{campaign_id}/recipients",
            content=body.encode() if isinstance(body, str) else body,
            headers={**self.headers, "Content-Type": media_type},
            timeout=60.0,
        )

    async def act(self, campaign_id: str, action: str) -> httpx.Response:
        return await self.stack.http.post(
            f"{self.stack.gateway_url}/push/v1/campaigns/{campaign_id}/{action}", headers=self.headers
        )

    async def get(self, campaign_id: str) -> dict[str, Any]:
        resp = await self.stack.http.get(
            f"{self.stack.gateway_url}/push/v1/campaigns/{campaign_id}", headers=self.headers
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def webhook(self, url: str) -> None:
        resp = await self.stack.http.put(
            f"{self.stack.gateway_url}/push/v1/webhook",
            json={"url": url, "events": CAMPAIGN_EVENTS},
            headers=self.headers,
        )
        assert resp.status_code == 200, resp.text
        SENSITIVE.add(resp.json()["secret"])


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


def _error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == status and body["code"] == code and isinstance(body["message"], str)


async def _inbox(stack: Stack, phone: str) -> list[str]:
    resp = await stack.http.get(f"{stack.sandbox_url}/sandbox/devices/{phone}/messages")
    assert resp.status_code == 200, resp.text
    return [m["text"] for m in resp.json()]


async def test_csv_chunk_reports_bad_lines_and_duplicates(database_url: str) -> None:
    """A CSV chunk: national numbers are normalised, bad numbers, fixed lines and missing or unknown
    parameters are reported by line, repeats in the chunk and of earlier chunks are duplicates; only
    the good lines are stored, and the campaign counts them as pending."""
    async with open_stack(database_url, push_dispatch_worker=False) as stack:
        bank = await Bank.create(stack)
        template = await bank.template()
        campaign = await bank.campaign(template, name="renewals", rate=20)
        first, second, third = _phone(), _phone("186"), _phone("189")
        csv = "\n".join(
            [
                "phoneNumber,claimNo",
                f"{first},C-1",  # line 2
                f"{second[3:6]} {second[6:10]} {second[10:]},C-2",  # line 3: national, spaced
                "not-a-number,C-3",  # line 4
                "+862161234567,C-4",  # line 5: a Shanghai fixed line
                f"{_phone()},",  # line 6: claimNo missing
                f"{first},C-1 again",  # line 7: duplicate of line 2
                f"{third},C-8,extra",  # line 8: a cell too many
                f"86{third[3:]},C-9",  # line 9: 86 + national
            ]
        )

        resp = await bank.upload(campaign, csv)

        assert resp.status_code == 202, resp.text
        report = resp.json()
        assert report["lines"] == 8 and report["accepted"] == 3
        assert [(i["line"], i["reason"]) for i in report["invalid"]] == [
            (4, "INVALID_PHONE_NUMBER"),
            (5, "INVALID_PHONE_NUMBER"),
            (6, "MISSING_PARAM"),
            (8, "INVALID_ARGUMENT"),
        ]
        assert report["duplicates"] == {"count": 1, "lines": [7]}
        assert first not in resp.text and "C-1" not in resp.text

        again = await bank.upload(campaign, f"phoneNumber,claimNo\n{second},C-2\n{_phone()},C-5\n")

        assert again.status_code == 202, again.text
        assert again.json()["accepted"] == 1 and again.json()["duplicates"] == {"count": 1, "lines": [2]}
        view = await bank.get(campaign)
        assert view["status"] == "draft" and view["recipients"] == 4 and view["name"] == "renewals"
        assert view["counts"]["recipients"]["pending"] == 4 and view["counts"]["messages"] == {}
        assert "estimatedFinishAt" not in view

        _error(await bank.upload(campaign, "number,claimNo\n+8613800000000,C\n"), 400, "INVALID_ARGUMENT")
        _error(await bank.upload(campaign, "phoneNumber,claimNo,other\n"), 400, "INVALID_ARGUMENT")
        _error(await bank.upload(campaign, "phoneNumber\n+8613800000000\n"), 400, "INVALID_ARGUMENT")
        _error(await bank.upload(campaign, b"phoneNumber,claimNo\n\xff\xfe,C\n"), 400, "INVALID_ARGUMENT")
        _error(await bank.upload(campaign, "{}", "application/json"), 415, "UNSUPPORTED_MEDIA_TYPE")
        too_many = "phoneNumber,claimNo\n" + "".join(f"+86138{n:08d},C\n" for n in range(CHUNK_MAX_LINES + 1))
        _error(await bank.upload(campaign, too_many), 413, "PAYLOAD_TOO_LARGE")
        _error(await bank.upload(campaign, b"x" * (4 * 1024 * 1024 + 1)), 413, "PAYLOAD_TOO_LARGE")
        assert (await bank.get(campaign))["recipients"] == 4


async def test_ndjson_chunk_and_campaign_validation(database_url: str) -> None:
    """NDJSON lines carry typed params; malformed lines are reported; a campaign's body is validated
    (rate bounds, the channel ladder ending in sms, unknown properties), and its channels stored."""
    async with open_stack(database_url, push_dispatch_worker=False) as stack:
        bank = await Bank.create(stack)
        template = await bank.template(
            "案件{{claimNo}}赔款{{amount}}元 {{link}}",
            claimNo={"type": "string", "required": True},
            amount={"type": "number", "required": False},
        )
        ladder = [{"type": "5g", "timeout": 60}, {"type": "card", "timeout": 60}, {"type": "sms"}]
        campaign = await bank.campaign(template, channels=ladder)
        lines = [
            json.dumps({"phoneNumber": _phone(), "params": {"claimNo": "C-1", "amount": 12.5}}),
            json.dumps({"phoneNumber": _phone(), "params": {"claimNo": "C-2", "amount": "lots"}}),
            "{not json",
            json.dumps({"phoneNumber": _phone(), "params": {"claimNo": "C-3"}, "extra": 1}),
            "",
            json.dumps({"phoneNumber": _phone(), "params": {"claimNo": "C-4", "other": "x"}}),
            json.dumps({"phoneNumber": _phone(), "params": {"claimNo": "C-5"}}),
        ]

        resp = await bank.upload(campaign, "\n".join(lines), "application/x-ndjson")

        assert resp.status_code == 202, resp.text
        report = resp.json()
        assert report["accepted"] == 2 and report["lines"] == 6
        assert [(i["line"], i["reason"]) for i in report["invalid"]] == [
            (2, "INVALID_ARGUMENT"),
            (3, "INVALID_ARGUMENT"),
            (4, "INVALID_ARGUMENT"),
            (6, "INVALID_ARGUMENT"),
        ]
        view = await bank.get(campaign)
        assert view["channels"] == ladder and view["rate"] == 50

        for body in (
            {"templateId": template, "rate": 0},
            {"templateId": template, "rate": 1001},
            {"templateId": template, "channels": [{"type": "sms"}, {"type": "5g"}]},
            {"templateId": template, "channels": [{"type": "sms", "timeout": 30}]},
            {"templateId": template, "channels": [{"type": "fax"}]},
            {"templateId": template, "scheduledAt": "2030-01-01T00:00:00"},
            {"templateId": template, "colour": "red"},
        ):
            _error(await stack.call("/push/v1/campaigns", bank.bearer, body), 400, "INVALID_ARGUMENT")
        _error(await stack.call("/push/v1/campaigns", bank.bearer, {"templateId": "nope"}), 404, "NOT_FOUND")


async def test_campaign_sends_to_sandbox_phones_with_progress_webhooks(own_database_url: str) -> None:
    """A started campaign sends every recipient one SMS with its own link through the sandbox
    operators, then completes; the bank gets campaign.started, campaign.progress and
    campaign.completed, and GET shows the recipients sent and their messages' states."""
    async with (
        open_stack(own_database_url, allow_private_webhooks=True, push_dispatch_poll_seconds=0.1) as stack,
        webhook_receiver() as (hook_url, received),
    ):
        bank = await Bank.create(stack)
        await bank.webhook(hook_url)
        template = await bank.template()
        campaign = await bank.campaign(template, rate=20)
        phones = [_phone(prefix) for prefix in ("138", "186", "189") for _ in range(3)]
        for phone in phones:
            await _register(stack, phone)
        csv = "phoneNumber,claimNo\n" + "".join(f"{p},C-{n}\n" for n, p in enumerate(phones))
        assert (await bank.upload(campaign, csv)).json()["accepted"] == len(phones)

        started = await bank.act(campaign, "start")

        assert started.status_code == 200, started.text
        assert started.json()["status"] == "running" and "estimatedFinishAt" in started.json()

        async def completed() -> bool:
            return bool((await bank.get(campaign))["status"] == "completed")

        await _eventually(completed)
        for n, phone in enumerate(phones):
            await _eventually(partial(_has_sms, stack, phone))
            [text] = await _inbox(stack, phone)
            assert text.startswith(f"【平安银行】您的案件C-{n}请点击 {stack.settings.issuer}/l/")
        links = {(await _inbox(stack, p))[0].split(" ")[1] for p in phones}
        assert len(links) == len(phones)
        view = await bank.get(campaign)
        assert view["counts"]["recipients"]["sent"] == len(phones)
        assert sum(view["counts"]["messages"].values()) == len(phones)
        assert "endedAt" in view and "estimatedFinishAt" not in view

        async def hooks() -> bool:
            return {"campaign.started", "campaign.completed"} <= {h["type"] for h in received}

        await _eventually(hooks)
        types = [h["type"] for h in received]
        assert "campaign.progress" in types
        done = next(h for h in received if h["type"] == "campaign.completed")
        assert done["data"]["campaignId"] == campaign and done["data"]["recipients"]["sent"] == len(phones)
        _error(await bank.act(campaign, "start"), 409, "CAMPAIGN_STATE_CONFLICT")
        _error(await bank.act(campaign, "cancel"), 409, "CAMPAIGN_STATE_CONFLICT")
        _error(
            await bank.upload(campaign, f"phoneNumber,claimNo\n{_phone()},C\n"),
            409,
            "CAMPAIGN_STATE_CONFLICT",
        )


async def _register(stack: Stack, phone: str) -> None:
    operator = {"138": "cmcc", "186": "cucc", "189": "ctcc"}[phone[3:6]]
    resp = await stack.http.post(
        f"{stack.sandbox_url}/sandbox/subscribers", json={"phoneNumber": phone, "operator": operator}
    )
    assert resp.status_code == 201, resp.text


async def _has_sms(stack: Stack, phone: str) -> bool:
    return bool(await _inbox(stack, phone))


async def test_pause_resume_and_cancel(own_database_url: str) -> None:
    """Pause stops sending (pending recipients stay pending), resume goes on, cancel ends the campaign:
    the recipients not yet taken are cancelled and never sent, and campaign.cancelled is published;
    illegal transitions answer 409."""
    async with (
        open_stack(
            own_database_url, sms_protocols=False, allow_private_webhooks=True, push_dispatch_poll_seconds=0.1
        ) as stack,
        webhook_receiver() as (hook_url, received),
    ):
        bank = await Bank.create(stack)
        await bank.webhook(hook_url)
        template = await bank.template()
        campaign = await bank.campaign(template, rate=2)
        phones = [_phone("186") for _ in range(30)]
        for phone in phones:
            await _register(stack, phone)
        csv = "phoneNumber,claimNo\n" + "".join(f"{p},C\n" for p in phones)
        assert (await bank.upload(campaign, csv)).json()["accepted"] == 30
        _error(await bank.act(campaign, "pause"), 409, "CAMPAIGN_STATE_CONFLICT")
        _error(await bank.act(campaign, "resume"), 409, "CAMPAIGN_STATE_CONFLICT")
        assert (await bank.act(campaign, "start")).status_code == 200

        async def some_sent() -> bool:
            return bool((await bank.get(campaign))["counts"]["recipients"]["sent"] >= 1)

        await _eventually(some_sent)
        paused = await bank.act(campaign, "pause")
        assert paused.status_code == 200 and paused.json()["status"] == "paused"
        await asyncio.sleep(1.5)
        held = (await bank.get(campaign))["counts"]["recipients"]
        await asyncio.sleep(2.0)
        assert (await bank.get(campaign))["counts"]["recipients"] == held
        assert held["pending"] > 0 and held["sending"] == 0
        extra = _phone("186")
        await _register(stack, extra)
        assert (await bank.upload(campaign, f"phoneNumber,claimNo\n{extra},C\n")).json()["accepted"] == 1

        resumed = await bank.act(campaign, "resume")
        assert resumed.status_code == 200 and resumed.json()["status"] == "running"

        async def more_sent() -> bool:
            return bool((await bank.get(campaign))["counts"]["recipients"]["sent"] > held["sent"])

        await _eventually(more_sent)
        cancelled = await bank.act(campaign, "cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        await asyncio.sleep(2.0)
        view = await bank.get(campaign)
        counts = view["counts"]["recipients"]
        assert counts["cancelled"] > 0 and counts["pending"] == 0 and counts["sending"] == 0
        assert counts["sent"] + counts["cancelled"] == 31
        sent_phones = [p for p in [*phones, extra] if await _inbox(stack, p)]
        assert len(sent_phones) == counts["sent"]
        _error(await bank.act(campaign, "resume"), 409, "CAMPAIGN_STATE_CONFLICT")

        async def cancelled_hook() -> bool:
            return any(h["type"] == "campaign.cancelled" for h in received)

        await _eventually(cancelled_hook)


async def test_scheduled_campaign_waits_and_start_needs_recipients(database_url: str) -> None:
    """A campaign without recipients cannot start; one with a future scheduledAt is scheduled and
    sends nothing before then; the list pages newest first with a cursor."""
    async with open_stack(database_url, push_dispatch_worker=False) as stack:
        bank = await Bank.create(stack)
        template = await bank.template()
        empty = await bank.campaign(template)
        _error(await bank.act(empty, "start"), 409, "CAMPAIGN_STATE_CONFLICT")
        later = (datetime.now(UTC) + timedelta(hours=2)).isoformat(timespec="seconds")
        scheduled = await bank.campaign(template, scheduledAt=later, rate=10)
        await bank.upload(scheduled, f"phoneNumber,claimNo\n{_phone()},C\n")

        resp = await bank.act(scheduled, "start")

        assert resp.status_code == 200 and resp.json()["status"] == "scheduled"
        assert resp.json()["estimatedFinishAt"] > later[:19]
        assert (await bank.act(scheduled, "pause")).json()["status"] == "paused"
        assert (await bank.act(scheduled, "resume")).json()["status"] == "scheduled"
        third = await bank.campaign(template)
        page = await stack.http.get(
            f"{stack.gateway_url}/push/v1/campaigns", params={"limit": 2}, headers=bank.headers
        )
        assert page.status_code == 200, page.text
        assert [c["id"] for c in page.json()["campaigns"]] == [third, scheduled]
        rest = await stack.http.get(
            f"{stack.gateway_url}/push/v1/campaigns",
            params={"limit": 2, "before": page.json()["nextBefore"]},
            headers=bank.headers,
        )
        assert [c["id"] for c in rest.json()["campaigns"]] == [empty] and rest.json()["nextBefore"] is None
        bad = await stack.http.get(
            f"{stack.gateway_url}/push/v1/campaigns", params={"before": "garbage"}, headers=bank.headers
        )
        _error(bad, 400, "INVALID_ARGUMENT")


async def test_another_tenants_campaign_is_not_found(database_url: str) -> None:
    """Every campaign route answers 404 for another tenant's campaign id (and a malformed id); that
    tenant's list does not show it; a token with push:read only may read but not write."""
    async with open_stack(database_url, push_dispatch_worker=False) as stack:
        owner = await Bank.create(stack)
        campaign = await owner.campaign(await owner.template())
        other = await Bank.create(stack)
        for target in (campaign, "not-a-uuid"):
            resp = await other.stack.http.get(
                f"{stack.gateway_url}/push/v1/campaigns/{target}", headers=other.headers
            )
            _error(resp, 404, "NOT_FOUND")
            _error(await other.upload(target, f"phoneNumber,claimNo\n{_phone()},C\n"), 404, "NOT_FOUND")
            for action in ("start", "pause", "resume", "cancel"):
                _error(await other.act(target, action), 404, "NOT_FOUND")
        listed = await stack.http.get(f"{stack.gateway_url}/push/v1/campaigns", headers=other.headers)
        assert listed.json() == {"campaigns": [], "nextBefore": None}
        creds = await stack.tenant(["push:read"], sandbox=True)
        reader = Bank(stack, await stack.access_token(creds), creds.tenant_id)
        assert (
            await stack.http.get(f"{stack.gateway_url}/push/v1/campaigns", headers=reader.headers)
        ).status_code == 200
        _error(
            await stack.call("/push/v1/campaigns", reader.bearer, {"templateId": "x"}),
            403,
            "PERMISSION_DENIED",
        )


async def test_large_chunk_is_checked_in_parts_with_one_report(sqlite_url: str) -> None:
    """A chunk large enough to be checked in the worker processes gets the same report as one checked
    in line order: bad lines by number, and a number repeated in the other part is a duplicate of
    its first line, whichever part it falls in."""
    async with open_stack(sqlite_url, push_dispatch_worker=False) as stack:
        bank = await Bank.create(stack)
        campaign = await bank.campaign(await bank.template())
        phones = [f"+86138{n:08d}" for n in range(3000)]
        rows = [f"{phone},C-{n}" for n, phone in enumerate(phones)]
        rows[10] = "+862161234567,C"  # line 12: a fixed line
        rows[2990] = f"{phones[5]},C-again"  # line 2992: repeats line 7, in the other part
        rows[1500] = f"{phones[1501]},"  # line 1502: claimNo missing

        resp = await bank.upload(campaign, "phoneNumber,claimNo\n" + "\n".join(rows) + "\n")

        assert resp.status_code == 202, resp.text
        report = resp.json()
        assert report["lines"] == 3000 and report["accepted"] == 2997
        assert [(i["line"], i["reason"]) for i in report["invalid"]] == [
            (12, "INVALID_PHONE_NUMBER"),
            (1502, "MISSING_PARAM"),
        ]
        assert report["duplicates"] == {"count": 1, "lines": [2992]}
        assert (await bank.get(campaign))["counts"]["recipients"]["pending"] == 2997


async def test_cancel_settles_recipients_a_dead_runner_left_sending(database_url: str) -> None:
    """Recipients left ``sending`` by a runner that died (no live lease) are settled by a cancel: the
    one whose message was accepted (its idempotency record exists) is ``sent`` with that message, the
    other ``cancelled``, and nothing stays ``sending``."""
    async with open_stack(database_url, push_dispatch_worker=False) as stack:
        bank = await Bank.create(stack)
        template = await bank.template()
        campaign = await bank.campaign(template)
        phones = [_phone(), _phone(), _phone()]
        await bank.upload(campaign, "phoneNumber,claimNo\n" + "".join(f"{p},C\n" for p in phones))
        assert (await bank.act(campaign, "start")).status_code == 200
        sent = await stack.http.post(
            f"{stack.gateway_url}/push/v1/messages",
            json={"templateId": template, "to": phones[0], "params": {"claimNo": "C"}},
            headers={**bank.headers, "Idempotency-Key": idempotency_key(campaign, 1)},
        )
        assert sent.status_code == 202, sent.text
        engine = create_engine(database_url)
        try:
            await run_unit(
                engine,
                lambda conn: conn.execute(
                    sa.update(RECIPIENTS)
                    .where(RECIPIENTS.c.campaign_id == campaign, RECIPIENTS.c.seq.in_([1, 2]))
                    .values(state="sending")
                ),
            )

            cancelled = await bank.act(campaign, "cancel")

            assert cancelled.status_code == 200, cancelled.text
            counts = cancelled.json()["counts"]["recipients"]
            assert (counts["sent"], counts["cancelled"], counts["sending"]) == (1, 2, 0)
            rows = await run_unit(
                engine,
                lambda conn: conn.execute(
                    sa.select(RECIPIENTS.c.seq, RECIPIENTS.c.state, RECIPIENTS.c.message_id)
                    .where(RECIPIENTS.c.campaign_id == campaign)
                    .order_by(RECIPIENTS.c.seq)
                ).all(),
                writes=False,
            )
            assert [tuple(r) for r in rows] == [
                (1, "sent", sent.json()["id"]),
                (2, "cancelled", None),
                (3, "cancelled", None),
            ]
        finally:
            await engine.dispose()
