"""The rich-channel services on a real database (SQLite and PostgreSQL) with a fake platform behind
the adapters' transport: card template rules, registration and review refresh, account isolation,
and callbacks verified, stored once, ignored or refused."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import CarrierUnavailable
from carrier_adapters._signed import callback_signature
from carrier_adapters.cards import CardButton, CardTemplateSpec, ReviewState
from gateway.crypto import FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.errors import (
    ChannelIdTaken,
    ChannelNotConfigured,
    InvalidArgument,
    NotFound,
    TemplateNotApproved,
    Unauthenticated,
)
from gateway.rich.accounts import RichAccounts, RichPlatforms
from gateway.rich.callbacks import RichCallbacks
from gateway.rich.card_templates import CardTemplates, check_card_spec
from gateway.rich.models import Chatbot, secret_aad
from tests.clocks import ManualClock
from tests.leaks import SENSITIVE
from tests.unit.verify.conftest import add_tenants

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SPEC = CardTemplateSpec(
    "claim", "${company}理赔", "案件 ${case} 已受理", (CardButton("查看", "OPEN_URL", "${link}"),)
)
PARAMS = ("company", "case", "link")


@dataclass
class FakeVendor:
    """A card platform behind the transport: registration answers ``pending``, a query answers
    ``state``; ``down`` makes every call fail as unavailable. Keeps the paths it was called on."""

    state: str = "pending"
    reason: str | None = None
    down: bool = False
    calls: list[str] = field(default_factory=list)

    async def post(
        self,
        url: str,
        body: bytes,
        content_type: str,
        *,
        operator: str,
        timeout: float,  # noqa: ASYNC109 - the Transport protocol's signature
        connect_timeout: float,
    ) -> tuple[int, bytes]:
        path = urlsplit(url).path
        self.calls.append(path)
        if self.down:
            raise CarrierUnavailable(operator, "down")
        if path.endswith("/v1/templates"):
            data: dict[str, Any] = {"templateId": "huawei-1001", "state": "pending"}
        else:
            data = {"templateId": json.loads(body)["templateId"], "state": self.state, "reason": self.reason}
        return 200, json.dumps({"code": "0", "message": "ok", "data": data}).encode()

    async def get(self, url: str, *, operator: str, timeout: float) -> int:  # noqa: ASYNC109
        raise AssertionError("not used")


@dataclass
class Env:
    accounts: RichAccounts
    templates: CardTemplates
    callbacks: RichCallbacks
    vendor: FakeVendor
    clock: ManualClock
    tenants: list[str]
    sessions: async_sessionmaker[AsyncSession]
    cipher: FieldCipher


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    """The services over a migrated database with two tenants of their own."""
    engine = create_engine(database_url)
    await migrate(engine)
    tenants = await add_tenants(engine, 2)
    sessions = session_factory(engine)
    clock = ManualClock(NOW)
    vendor = FakeVendor()
    cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
    platforms = RichPlatforms({"cmcc": "http://maap.test/cmcc/maap"}, "http://cards.test/cards")
    accounts = RichAccounts(
        sessions,
        platforms=platforms,
        transport=vendor,
        cipher=cipher,
        clock=clock,
    )
    try:
        yield Env(
            accounts,
            CardTemplates(sessions, accounts=accounts, clock=clock),
            RichCallbacks(sessions, accounts=accounts, clock=clock),
            vendor,
            clock,
            tenants,
            sessions,
            cipher,
        )
    finally:
        await engine.dispose()


def _key() -> str:
    value = secrets.token_hex(16)
    SENSITIVE.add(value)
    return value


def test_card_spec_rules() -> None:
    """Every placeholder declared, every parameter used, once each; an action is a placeholder or a
    link of its type."""
    check_card_spec(SPEC, PARAMS)
    for params in (("company", "case"), (*PARAMS, "extra"), (*PARAMS, "case")):
        with pytest.raises(InvalidArgument):
            check_card_spec(SPEC, params)
    quick = CardTemplateSpec("q", "t", "d", (CardButton("开", "OPEN_QUICK", "https://bank.example/x"),))
    with pytest.raises(InvalidArgument, match="hap://app/"):
        check_card_spec(quick, ())
    check_card_spec(
        CardTemplateSpec("q", "t", "d", (CardButton("开", "OPEN_QUICK", "hap://app/com.a/b"),)), ()
    )


async def test_review_moves_on_read_and_survives_a_vendor_outage(env: Env) -> None:
    """Registration stores the vendor's id as pending; a read asks again only while pending, keeps
    the stored state when the vendor is down, and stores approved (then no more queries); another
    tenant's read is 404 and a send needs approval."""
    a, b = env.tenants
    await env.accounts.put_card_account(
        a, "huawei", app_id=f"app-{uuid.uuid4().hex[:8]}", secret=_key(), enabled=True
    )
    template = await env.templates.register(a, "huawei", SPEC, PARAMS)
    assert (template.status, template.vendor_template_id) == (ReviewState.PENDING, "huawei-1001")
    with pytest.raises(TemplateNotApproved):
        await env.templates.get_approved(a, template.id)
    env.vendor.down = True
    assert (await env.templates.get(a, template.id)).status is ReviewState.PENDING
    env.vendor.down, env.vendor.state = False, "approved"
    env.clock.advance(30)
    approved = await env.templates.get(a, template.id)
    assert approved.status is ReviewState.APPROVED and approved.decided_at == env.clock.now()
    queried = len(env.vendor.calls)
    assert (await env.templates.get_approved(a, template.id)).id == template.id
    assert len(env.vendor.calls) == queried
    with pytest.raises(NotFound):
        await env.templates.get(b, template.id)
    with pytest.raises(ChannelNotConfigured):
        await env.templates.register(b, "huawei", SPEC, PARAMS)


async def test_accounts_are_per_tenant_and_ids_unique_per_platform(env: Env) -> None:
    """A tenant sees only its own chatbot; another tenant cannot take its botId at the same operator
    (it may at another); the secret is stored encrypted under the row's AAD; a disabled chatbot gives
    no client for sends but still verifies callbacks."""
    a, b = env.tenants
    bot, secret = f"bot-{uuid.uuid4().hex[:8]}", _key()
    view, created = await env.accounts.put_chatbot(a, "cmcc", bot_id=bot, secret=secret, enabled=False)
    assert created and view.account == bot
    with pytest.raises(NotFound):
        await env.accounts.get_chatbot(b, "cmcc")
    with pytest.raises(ChannelIdTaken):
        await env.accounts.put_chatbot(b, "cmcc", bot_id=bot, secret=_key(), enabled=True)
    await env.accounts.put_chatbot(b, "cucc", bot_id=bot, secret=_key(), enabled=True)
    async with env.sessions() as session:
        row = await session.get(Chatbot, (a, "cmcc"))
    assert row is not None and secret not in row.secret_cipher
    aad = secret_aad("rich_chatbots", a, "cmcc", bot)
    assert env.cipher.decrypt(row.secret_cipher, aad=aad) == secret
    with pytest.raises(ChannelNotConfigured):
        await env.accounts.maap_client(a, "cmcc")
    found = await env.accounts.chatbot_by_bot_id("cmcc", bot)
    assert found is not None and found[0] == a


def _maap(bot: str, secret: str, clock: ManualClock, **message: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "event": message.pop("event", "messageStatus"),
            "botId": bot,
            "messageContact": {"userContact": "tel:+8613800138000"},
            "RCSMessage": {"timestamp": "2026-12-01T09:00:00Z", **message},
        }
    ).encode()
    stamp, nonce = str(int(clock.now().timestamp() * 1000)), secrets.token_hex(16)
    return body, {
        "X-Maap-Timestamp": stamp,
        "X-Maap-Nonce": nonce,
        "X-Maap-Signature": callback_signature(secret, stamp, nonce, body),
    }


async def test_callbacks_store_once_ignore_and_refuse(env: Env) -> None:
    """A status event is stored once (a re-signed replay is a duplicate); a response is stored under
    the message it answers with its postback, one without inReplyToMsgId and an unknown kind are
    ignored; an unknown chatbot or a bad signature is Unauthenticated, a bad shape or an over-long
    msgId InvalidArgument; nothing of another tenant is read back."""
    a, b = env.tenants
    bot, secret = f"bot-{uuid.uuid4().hex[:8]}", _key()
    await env.accounts.put_chatbot(a, "cmcc", bot_id=bot, secret=secret, enabled=True)
    ref = str(uuid.uuid4())
    status = {"msgId": ref, "status": "delivered"}
    assert (
        await env.callbacks.receive_maap("cmcc", *_maap(bot, secret, env.clock, **status))
    ).outcome == "stored"
    env.clock.advance(5)
    assert (
        await env.callbacks.receive_maap("cmcc", *_maap(bot, secret, env.clock, **status))
    ).outcome == "duplicate"
    response = {
        "event": "response",
        "msgId": "r-1",
        "inReplyToMsgId": ref,
        "suggestedResponse": {"response": {"reply": {"displayText": "稍后", "postback": {"data": "later"}}}},
    }
    stored = await env.callbacks.receive_maap("cmcc", *_maap(bot, secret, env.clock, **response))
    assert (stored.outcome, stored.kind) == ("stored", "response")
    orphan = {**response, "msgId": "r-2", "inReplyToMsgId": None}
    assert (
        await env.callbacks.receive_maap("cmcc", *_maap(bot, secret, env.clock, **orphan))
    ).outcome == "ignored"
    typing = {"event": "isTyping", "msgId": "t-1"}
    assert (
        await env.callbacks.receive_maap("cmcc", *_maap(bot, secret, env.clock, **typing))
    ).outcome == "ignored"
    events = await env.callbacks.events(a, ref)
    assert [(e.kind, e.detail.get("postback")) for e in events] == [
        ("delivered", None),
        ("response", "later"),
    ]
    assert await env.callbacks.events(b, ref) == []

    with pytest.raises(Unauthenticated):
        await env.callbacks.receive_maap("cmcc", *_maap("nobody", secret, env.clock, **status))
    with pytest.raises(Unauthenticated):
        await env.callbacks.receive_maap("cmcc", *_maap(bot, _key(), env.clock, msgId=ref, status="failed"))
    with pytest.raises(InvalidArgument):
        await env.callbacks.receive_maap("cmcc", *_maap(bot, secret, env.clock, msgId=ref, status="lost"))
    with pytest.raises(InvalidArgument):
        await env.callbacks.receive_maap(
            "cmcc", *_maap(bot, secret, env.clock, msgId="x" * 65, status="sent")
        )
    with pytest.raises(InvalidArgument):
        await env.callbacks.receive_maap("cmcc", b"[1]", {})
    with pytest.raises(NotFound):
        await env.callbacks.receive_card("nokia", b"{}", {})
    assert len(await env.callbacks.events(a, ref)) == 2
