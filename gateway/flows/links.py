"""Reading push links and their messages, and the message steps the flows record.

The push feature owns ``push_links`` and ``push_messages`` (:mod:`gateway.push.models`); flows
read them here and move a message only through :func:`advance`, a compare-and-set on its status
like :func:`gateway.push.lifecycle.transition`, which also records the history event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.crypto import DecryptionError, FieldCipher
from gateway.db import as_utc
from gateway.logs import mask_phone
from gateway.push.lifecycle import MESSAGES, add_event
from gateway.push.links import ALPHABET, CODE_LENGTH
from gateway.push.models import PushLink, PushMessage, params_aad, recipient_aad
from gateway.push.states import MessageStatus
from gateway.templates import ParamSpec, ParamType

__all__ = [
    "LinkRecord",
    "advance",
    "load_link",
    "message_params",
    "params_for_page",
    "params_for_webhook",
    "recipient_of",
    "valid_code",
]

_CODE = re.compile(rf"[{re.escape(ALPHABET)}]{{{CODE_LENGTH}}}")


def valid_code(code: str) -> bool:
    """Whether ``code`` has the shape of a link code (checked before any lookup)."""
    return bool(_CODE.fullmatch(code))


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """A link with what the flows need of its message."""

    code: str
    tenant_id: str
    message_id: str
    template_id: str
    expires_at: datetime
    message_status: MessageStatus
    operator: str | None
    signature: str
    recipient_cipher: str
    params_cipher: str | None


async def load_link(session: AsyncSession, code: str) -> LinkRecord | None:
    """The link ``code`` and its message, or None."""
    if not valid_code(code):
        return None
    row = (
        await session.exec(
            select(PushLink, PushMessage)
            .join(PushMessage, col(PushMessage.id) == col(PushLink.message_id))
            .where(PushLink.code == code)
        )
    ).first()
    if row is None:
        return None
    link, message = row
    return LinkRecord(
        code=link.code,
        tenant_id=link.tenant_id,
        message_id=message.id,
        template_id=link.template_id,
        expires_at=as_utc(link.expires_at) or link.expires_at,
        message_status=MessageStatus(message.status),
        operator=message.operator,
        signature=message.signature,
        recipient_cipher=message.recipient_cipher,
        params_cipher=message.params_cipher,
    )


def recipient_of(cipher: FieldCipher, tenant_id: str, message_id: str, stored: str) -> str:
    """The message's recipient (E.164).

    :raises DecryptionError: the stored value does not decrypt under its AAD.
    """
    return cipher.decrypt(stored, aad=recipient_aad(tenant_id, message_id))


def message_params(
    cipher: FieldCipher, tenant_id: str, message_id: str, stored: str | None
) -> dict[str, Any]:
    """The ``params`` the message was sent with (``{}`` for messages sent before they were kept)."""
    if stored is None:
        return {}
    try:
        decoded = json.loads(cipher.decrypt(stored, aad=params_aad(tenant_id, message_id)))
    except (DecryptionError, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def params_for_page(params: Mapping[str, Any], specs: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """Params shown to the verified holder: declared ones only, ``phone`` values masked."""
    shown: dict[str, Any] = {}
    for name, spec in specs.items():
        value = params.get(name)
        if value is None:
            continue
        shown[name] = mask_phone(str(value)) if spec.type is ParamType.PHONE else value
    return shown


def params_for_webhook(params: Mapping[str, Any], specs: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """Params echoed to the tenant: declared ones only, never a ``phone`` value."""
    return {
        name: params[name]
        for name, spec in specs.items()
        if spec.type is not ParamType.PHONE and params.get(name) is not None
    }


async def advance(
    session: AsyncSession,
    message_id: str,
    *,
    to: MessageStatus,
    allowed_from: Collection[MessageStatus],
    now: datetime,
    event: str,
    detail: str | None = None,
) -> bool:
    """Record ``event`` and move the message to ``to`` if it is in ``allowed_from``; whether it moved."""
    result = await session.exec(
        sa.update(MESSAGES)
        .where(MESSAGES.c.id == message_id, MESSAGES.c.status.in_([s.value for s in allowed_from]))
        .values(status=to.value, updated_at=now)
    )
    add_event(session, message_id, event, now, detail=detail)
    return bool(result.rowcount == 1)
