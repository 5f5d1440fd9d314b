"""The platforms' callbacks: 5G-message events (``POST /operator-callbacks/{operator}/maap``) and card
receipts (``POST /operator-callbacks/cards/{vendor}``), stored as :class:`~gateway.rich.models.RichEvent`.

Each callback names its chatbot (``botId``) or account (``appId``); the one registered at that
operator or vendor (whoever's it is, enabled or not) verifies it with its adapter client. Then:

- not JSON, or no readable ``botId``/``appId``: ``400 INVALID_ARGUMENT``;
- no such chatbot or account here, a signature that does not verify, a stale timestamp, or an event
  of another chatbot: ``401 UNAUTHENTICATED``;
- verified but not the platform's event shape: ``400``;
- an event kind the client does not know, or a 5G response that names no message of ours: ignored
  (``200``, nothing stored);
- else one row, once: a replay of the same event (the platforms re-sign retries) stores nothing.

The event is committed before the ``200``; a database failure answers ``5xx`` and the platform retries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import CarrierError, CarrierRejected
from carrier_adapters.cards import CardReceipt, callback_app_id
from carrier_adapters.maap import MaapStatusEvent, SuggestionResponse, callback_bot_id
from gateway.clock import Clock
from gateway.db import as_utc
from gateway.errors import InvalidArgument, Unauthenticated
from gateway.rich.accounts import RichAccounts, known_operator, known_vendor
from gateway.rich.models import RichEvent

__all__ = ["RichCallbacks", "RichEventView", "StoredEvent"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """What one callback did: ``outcome`` ``stored``, ``duplicate`` or ``ignored``, and the event's
    ``kind`` and ``message_ref`` when it had one."""

    outcome: str
    kind: str | None = None
    message_ref: str | None = None


@dataclass(frozen=True, slots=True)
class RichEventView:
    """A stored event as the ladder reads it (see :class:`~gateway.rich.models.RichEvent`)."""

    channel: str
    provider: str
    message_ref: str
    kind: str
    at: datetime
    detail: dict[str, object]


@dataclass(frozen=True, slots=True)
class _Event:
    tenant_id: str
    channel: str
    provider: str
    account: str
    message_ref: str
    kind: str
    at: datetime
    detail: dict[str, object]
    identity: tuple[str, ...]


def _malformed(what: str) -> InvalidArgument:
    return InvalidArgument(f"The callback is not a {what}.")


class RichCallbacks:
    """See the module docstring."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, accounts: RichAccounts, clock: Clock
    ) -> None:
        self._sessions = sessions
        self._accounts = accounts
        self._clock = clock

    async def receive_maap(self, operator: str, body: bytes, headers: Mapping[str, str]) -> StoredEvent:
        """Verify and store one event of ``operator``'s MaaP platform.

        :raises NotFound: unknown operator.
        :raises InvalidArgument: malformed.
        :raises Unauthenticated: unknown chatbot, or the event does not verify.
        """
        known_operator(operator)
        bot_id = callback_bot_id(body)
        if bot_id is None:
            raise _malformed("MaaP event")
        found = await self._accounts.chatbot_by_bot_id(operator, bot_id)
        if found is None:
            log.warning("rich_callback_unknown_chatbot", operator=operator)
            raise Unauthenticated()
        tenant_id, client = found
        try:
            event = client.parse_callback(body, headers)
        except CarrierRejected as exc:
            log.warning("rich_callback_rejected", operator=operator, error=exc.message)
            raise Unauthenticated() from exc
        except CarrierError as exc:
            log.warning("rich_callback_malformed", operator=operator, error=type(exc).__name__)
            raise _malformed("MaaP event") from exc
        if isinstance(event, MaapStatusEvent):
            return await self._store(
                _Event(
                    tenant_id,
                    "5g",
                    operator,
                    bot_id,
                    event.msg_id,
                    event.status.value,
                    event.at,
                    {},
                    (event.msg_id, event.status.value),
                )
            )
        if isinstance(event, SuggestionResponse) and event.in_reply_to is not None:
            return await self._store(
                _Event(
                    tenant_id,
                    "5g",
                    operator,
                    bot_id,
                    event.in_reply_to,
                    "response",
                    event.at,
                    {"text": event.text, "postback": event.postback, "responseId": event.response_id},
                    ("response", event.response_id),
                )
            )
        log.info("rich_callback_ignored", operator=operator)
        return StoredEvent("ignored")

    async def receive_card(self, vendor: str, body: bytes, headers: Mapping[str, str]) -> StoredEvent:
        """Verify and store one receipt of ``vendor``'s card platform.

        :raises NotFound: unknown vendor.
        :raises InvalidArgument: malformed.
        :raises Unauthenticated: unknown account, or the receipt does not verify.
        """
        known_vendor(vendor)
        app_id = callback_app_id(body)
        if app_id is None:
            raise _malformed("card receipt")
        found = await self._accounts.card_account_by_app_id(vendor, app_id)
        if found is None:
            log.warning("rich_callback_unknown_account", vendor=vendor)
            raise Unauthenticated()
        tenant_id, client = found
        try:
            receipt: CardReceipt = client.parse_callback(body, headers)
        except CarrierRejected as exc:
            log.warning("rich_callback_rejected", vendor=vendor, error=exc.message)
            raise Unauthenticated() from exc
        except CarrierError as exc:
            log.warning("rich_callback_malformed", vendor=vendor, error=type(exc).__name__)
            raise _malformed("card receipt") from exc
        kind = receipt.event.value.lower()
        detail: dict[str, object] = {"cardMsgId": receipt.card_msg_id}
        identity: tuple[str, ...] = (receipt.biz_id, kind)
        if receipt.button is not None:
            detail["button"] = receipt.button
        if kind == "clicked":
            identity = (*identity, receipt.at.isoformat(), str(receipt.button))
        return await self._store(
            _Event(tenant_id, "card", vendor, app_id, receipt.biz_id, kind, receipt.at, detail, identity)
        )

    async def events(self, tenant_id: str, message_ref: str) -> list[RichEventView]:
        """The tenant's stored events about ``message_ref``, in the order they arrived."""
        async with self._sessions() as session:
            found = await session.exec(
                select(RichEvent)
                .where(RichEvent.tenant_id == tenant_id, RichEvent.message_ref == message_ref)
                .order_by(col(RichEvent.id))
            )
            rows = found.all()
        return [
            RichEventView(
                row.channel,
                row.provider,
                row.message_ref,
                row.kind,
                as_utc(row.at),
                json.loads(row.detail) if row.detail else {},
            )
            for row in rows
        ]

    async def _store(self, event: _Event) -> StoredEvent:
        if not 1 <= len(event.message_ref) <= 64:
            raise InvalidArgument("The callback names no message reference this gateway could have sent.")
        key = "|".join((event.channel, event.provider, event.account, *event.identity))
        row = RichEvent(
            tenant_id=event.tenant_id,
            channel=event.channel,
            provider=event.provider,
            account=event.account,
            message_ref=event.message_ref,
            kind=event.kind,
            at=event.at,
            detail=json.dumps(event.detail, ensure_ascii=False) if event.detail else None,
            dedupe_key=hashlib.sha256(key.encode()).hexdigest(),
            received_at=self._clock.now(),
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(row)
        except IntegrityError:
            log.info("rich_event_duplicate", channel=event.channel, kind=event.kind)
            return StoredEvent("duplicate", event.kind, event.message_ref)
        log.info("rich_event_stored", channel=event.channel, provider=event.provider, kind=event.kind)
        return StoredEvent("stored", event.kind, event.message_ref)
