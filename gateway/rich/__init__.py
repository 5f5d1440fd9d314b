"""Rich-message channels (issue 22 part 2, the gateway's side): a tenant's 5G-message chatbots at the
operators' MaaP platforms and card-SMS accounts at the handset vendors' platforms
(:mod:`gateway.rich.accounts`), its card templates and their review (:mod:`gateway.rich.card_templates`),
and the platforms' verified callbacks stored as events (:mod:`gateway.rich.callbacks`) for the
message ladder to read. docs/channels.md describes the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters.transport import Transport
from gateway.clock import Clock
from gateway.crypto import FieldCipher
from gateway.rich.accounts import RichAccounts, RichPlatforms
from gateway.rich.callbacks import RichCallbacks
from gateway.rich.card_templates import CardTemplates
from gateway.settings import OPERATORS, Settings

__all__ = ["RichChannels", "RichPlatforms", "build_rich_channels", "platforms_of"]


@dataclass(frozen=True)
class RichChannels:
    """The feature's services in one process."""

    accounts: RichAccounts
    templates: CardTemplates
    callbacks: RichCallbacks


def platforms_of(settings: Settings) -> RichPlatforms:
    """Where the platforms are, from ``<OP>_MAAP_URL`` (default ``{<OP>_URL}/maap``) and ``CARDS_URL``."""
    maap = {op: url for op in OPERATORS if (url := settings.maap_url(op)) is not None}
    return RichPlatforms(
        maap,
        settings.cards_url,
        timeout=settings.operator_timeout,
        connect_timeout=settings.operator_connect_timeout,
    )


def build_rich_channels(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession],
    transport: Transport,
    cipher: FieldCipher,
    clock: Clock,
) -> RichChannels:
    """The feature over ``transport`` (the operators' guarded transport: each platform gets its own
    circuit, ``<op>-maap`` or ``card-<vendor>``)."""
    accounts = RichAccounts(
        sessions, platforms=platforms_of(settings), transport=transport, cipher=cipher, clock=clock
    )
    return RichChannels(
        accounts,
        CardTemplates(sessions, accounts=accounts, clock=clock),
        RichCallbacks(sessions, accounts=accounts, clock=clock),
    )
