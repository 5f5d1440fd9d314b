"""A tenant's 5G chatbots (one per operator) and card-SMS accounts (one per vendor), and the adapter
clients built from them.

Secrets are stored encrypted (:func:`~gateway.rich.models.secret_aad`) and never read back through
the API. Another tenant's chatbot or account is invisible: reads and deletes answer ``404`` as if
none were configured. A ``botId`` is unique per operator and an ``appId`` per vendor across tenants
(``409 CHANNEL_ID_TAKEN``), since callbacks are routed to the tenant by them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters.cards import VENDORS, CardAccountConfig, CardClient, Vendor
from carrier_adapters.maap import ChatbotConfig, MaapClient
from carrier_adapters.transport import Transport
from gateway.clock import Clock
from gateway.crypto import FieldCipher
from gateway.db import as_utc
from gateway.errors import ChannelIdTaken, ChannelNotConfigured, NotFound
from gateway.rich.models import CardAccount, Chatbot, secret_aad
from gateway.settings import OPERATORS

__all__ = ["AccountView", "RichAccounts", "RichPlatforms"]

log = structlog.get_logger(__name__)

Kind = Literal["5g", "card"]


@dataclass(frozen=True, slots=True)
class RichPlatforms:
    """Where the platforms are: each operator's MaaP platform root, and the root under which each
    vendor's card platform is ``/{vendor}`` (None: no card platforms). ``timeout`` and
    ``connect_timeout`` bound the clients' calls (seconds)."""

    maap: Mapping[str, str]
    cards: str | None
    timeout: float = 3.0
    connect_timeout: float = 1.0


@dataclass(frozen=True, slots=True)
class AccountView:
    """A chatbot (``kind`` ``5g``, ``where`` the operator, ``account`` the botId) or a card account
    (``card``, the vendor, the appId) as the API shows it: never its secret."""

    kind: Kind
    where: str
    account: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


def _view(kind: Kind, where: str, row: Chatbot | CardAccount) -> AccountView:
    account = row.bot_id if isinstance(row, Chatbot) else row.app_id
    return AccountView(kind, where, account, row.enabled, as_utc(row.created_at), as_utc(row.updated_at))


def known_operator(operator: str) -> str:
    """``operator`` if the gateway knows it.

    :raises NotFound: not cmcc, cucc or ctcc.
    """
    if operator not in OPERATORS:
        raise NotFound()
    return operator


def known_vendor(vendor: str) -> Vendor:
    """``vendor`` if it runs a card platform.

    :raises NotFound: not one of huawei, honor, xiaomi, oppo, vivo.
    """
    for known in VENDORS:
        if known == vendor:
            return known
    raise NotFound()


class RichAccounts:
    """See the module docstring."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        platforms: RichPlatforms,
        transport: Transport,
        cipher: FieldCipher,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._platforms = platforms
        self._transport = transport
        self._cipher = cipher
        self._clock = clock

    async def put_chatbot(
        self, tenant_id: str, operator: str, *, bot_id: str, secret: str, enabled: bool
    ) -> tuple[AccountView, bool]:
        """Set the tenant's chatbot at ``operator`` (replacing any); the view and whether it is new.

        :raises NotFound: unknown operator.
        :raises ChannelIdTaken: another tenant holds ``bot_id`` at this operator.
        """
        known_operator(operator)
        cipher = self._cipher.encrypt(secret, aad=secret_aad("rich_chatbots", tenant_id, operator, bot_id))
        now = self._clock.now()
        try:
            async with self._sessions() as session, session.begin():
                taken = await session.exec(
                    select(Chatbot.tenant_id).where(Chatbot.operator == operator, Chatbot.bot_id == bot_id)
                )
                holder = taken.first()
                if holder is not None and holder != tenant_id:
                    raise ChannelIdTaken()
                row = await session.get(Chatbot, (tenant_id, operator))
                created = row is None
                if row is None:
                    row = Chatbot(
                        tenant_id=tenant_id,
                        operator=operator,
                        bot_id=bot_id,
                        secret_cipher=cipher,
                        enabled=enabled,
                        created_at=now,
                        updated_at=now,
                    )
                else:
                    row.bot_id, row.secret_cipher, row.enabled, row.updated_at = bot_id, cipher, enabled, now
                session.add(row)
        except IntegrityError as exc:
            raise ChannelIdTaken() from exc
        log.info("rich_chatbot_put", tenant_id=tenant_id, operator=operator, created=created)
        return _view("5g", operator, row), created

    async def put_card_account(
        self, tenant_id: str, vendor: str, *, app_id: str, secret: str, enabled: bool
    ) -> tuple[AccountView, bool]:
        """Set the tenant's account at ``vendor`` (replacing any); the view and whether it is new.

        :raises NotFound: unknown vendor.
        :raises ChannelIdTaken: another tenant holds ``app_id`` at this vendor.
        """
        known_vendor(vendor)
        aad = secret_aad("rich_card_accounts", tenant_id, vendor, app_id)
        cipher = self._cipher.encrypt(secret, aad=aad)
        now = self._clock.now()
        try:
            async with self._sessions() as session, session.begin():
                taken = await session.exec(
                    select(CardAccount.tenant_id).where(
                        CardAccount.vendor == vendor, CardAccount.app_id == app_id
                    )
                )
                holder = taken.first()
                if holder is not None and holder != tenant_id:
                    raise ChannelIdTaken()
                row = await session.get(CardAccount, (tenant_id, vendor))
                created = row is None
                if row is None:
                    row = CardAccount(
                        tenant_id=tenant_id,
                        vendor=vendor,
                        app_id=app_id,
                        secret_cipher=cipher,
                        enabled=enabled,
                        created_at=now,
                        updated_at=now,
                    )
                else:
                    row.app_id, row.secret_cipher, row.enabled, row.updated_at = app_id, cipher, enabled, now
                session.add(row)
        except IntegrityError as exc:
            raise ChannelIdTaken() from exc
        log.info("rich_card_account_put", tenant_id=tenant_id, vendor=vendor, created=created)
        return _view("card", vendor, row), created

    async def get_chatbot(self, tenant_id: str, operator: str) -> AccountView:
        """The tenant's chatbot at ``operator``.

        :raises NotFound: unknown operator, or none configured (by this tenant).
        """
        return _view("5g", operator, await self._chatbot(tenant_id, known_operator(operator)))

    async def get_card_account(self, tenant_id: str, vendor: str) -> AccountView:
        """The tenant's account at ``vendor``.

        :raises NotFound: unknown vendor, or none configured (by this tenant).
        """
        return _view("card", vendor, await self._card_account(tenant_id, known_vendor(vendor)))

    async def delete_chatbot(self, tenant_id: str, operator: str) -> None:
        """Forget the tenant's chatbot at ``operator``; its stored events stay.

        :raises NotFound: unknown operator, or none configured (by this tenant).
        """
        known_operator(operator)
        async with self._sessions() as session, session.begin():
            row = await session.get(Chatbot, (tenant_id, operator))
            if row is None:
                raise NotFound()
            await session.delete(row)
        log.info("rich_chatbot_deleted", tenant_id=tenant_id, operator=operator)

    async def delete_card_account(self, tenant_id: str, vendor: str) -> None:
        """Forget the tenant's account at ``vendor``; its templates and events stay.

        :raises NotFound: unknown vendor, or none configured (by this tenant).
        """
        known_vendor(vendor)
        async with self._sessions() as session, session.begin():
            row = await session.get(CardAccount, (tenant_id, vendor))
            if row is None:
                raise NotFound()
            await session.delete(row)
        log.info("rich_card_account_deleted", tenant_id=tenant_id, vendor=vendor)

    async def maap_client(self, tenant_id: str, operator: str) -> MaapClient:
        """The client of the tenant's enabled chatbot at ``operator`` (for sends).

        :raises ChannelNotConfigured: none configured, disabled, or the operator has no MaaP platform.
        """
        try:
            row = await self._chatbot(tenant_id, known_operator(operator))
        except NotFound:
            raise ChannelNotConfigured(f"No 5G chatbot is configured at {operator}.") from None
        if not row.enabled:
            raise ChannelNotConfigured(f"The 5G chatbot at {operator} is disabled.")
        return self._maap(row)

    async def card_client(self, tenant_id: str, vendor: str) -> CardClient:
        """The client of the tenant's enabled account at ``vendor`` (for sends).

        :raises ChannelNotConfigured: none configured, disabled, or no card platforms are configured.
        """
        return (await self.card_access(tenant_id, vendor))[1]

    async def card_access(
        self, tenant_id: str, vendor: str, *, enabled_only: bool = True
    ) -> tuple[str, CardClient]:
        """The tenant's ``appId`` at ``vendor`` and its client; ``enabled_only``: refuse a disabled one.

        :raises ChannelNotConfigured: none configured (or disabled), or no card platforms are configured.
        """
        try:
            row = await self._card_account(tenant_id, known_vendor(vendor))
        except NotFound:
            raise ChannelNotConfigured(f"No card-SMS account is configured at {vendor}.") from None
        if enabled_only and not row.enabled:
            raise ChannelNotConfigured(f"The card-SMS account at {vendor} is disabled.")
        return row.app_id, self._card(row)

    async def chatbot_by_bot_id(self, operator: str, bot_id: str) -> tuple[str, MaapClient] | None:
        """The tenant holding ``bot_id`` at ``operator`` and its client (enabled or not), if any."""
        async with self._sessions() as session:
            found = await session.exec(
                select(Chatbot).where(Chatbot.operator == operator, Chatbot.bot_id == bot_id)
            )
            row = found.first()
        if row is None or operator not in self._platforms.maap:
            return None
        return row.tenant_id, self._maap(row)

    async def card_account_by_app_id(self, vendor: str, app_id: str) -> tuple[str, CardClient] | None:
        """The tenant holding ``app_id`` at ``vendor`` and its client (enabled or not), if any."""
        async with self._sessions() as session:
            found = await session.exec(
                select(CardAccount).where(CardAccount.vendor == vendor, CardAccount.app_id == app_id)
            )
            row = found.first()
        if row is None or self._platforms.cards is None:
            return None
        return row.tenant_id, self._card(row)

    async def _chatbot(self, tenant_id: str, operator: str) -> Chatbot:
        async with self._sessions() as session:
            row = await session.get(Chatbot, (tenant_id, operator))
        if row is None:
            raise NotFound()
        return row

    async def _card_account(self, tenant_id: str, vendor: str) -> CardAccount:
        async with self._sessions() as session:
            row = await session.get(CardAccount, (tenant_id, vendor))
        if row is None:
            raise NotFound()
        return row

    def _maap(self, row: Chatbot) -> MaapClient:
        base = self._platforms.maap.get(row.operator)
        if base is None:
            raise ChannelNotConfigured(f"The gateway has no MaaP platform configured for {row.operator}.")
        aad = secret_aad("rich_chatbots", row.tenant_id, row.operator, row.bot_id)
        config = ChatbotConfig(
            row.operator,
            base,
            row.bot_id,
            self._cipher.decrypt(row.secret_cipher, aad=aad),
            timeout=self._platforms.timeout,
            connect_timeout=self._platforms.connect_timeout,
        )
        return MaapClient(config, self._transport, clock=self._clock.now)

    def _card(self, row: CardAccount) -> CardClient:
        root = self._platforms.cards
        if root is None:
            raise ChannelNotConfigured("The gateway has no card-SMS platforms configured (CARDS_URL).")
        vendor = known_vendor(row.vendor)
        aad = secret_aad("rich_card_accounts", row.tenant_id, row.vendor, row.app_id)
        config = CardAccountConfig(
            vendor,
            f"{root}/{vendor}",
            row.app_id,
            self._cipher.decrypt(row.secret_cipher, aad=aad),
            timeout=self._platforms.timeout,
            connect_timeout=self._platforms.connect_timeout,
        )
        return CardClient(config, self._transport, clock=self._clock.now)
