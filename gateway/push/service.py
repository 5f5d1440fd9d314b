"""Accepting push messages (contract §6) and reading them back.

:meth:`PushService.send` checks, in order: a replayed ``Idempotency-Key`` (same request: the first
answer again; another request: ``409 IDEMPOTENCY_KEY_REUSED``), the template (the tenant's and
approved), a route to an operator, the parameters (by the template renderer), and for marketing
templates the opt-out list (``422 RECIPIENT_OPTED_OUT``) and quiet hours (scheduled, not refused);
the SMS-fraud controls (:mod:`gateway.push.guard`) refuse a target that is not a mobile number first
and count the send in the tenant's velocity windows last. It then writes, in one transaction, the
charge to the tenant's daily budget (``429 QUOTA_EXCEEDED`` rolls it back), the message (recipient
and text encrypted, recipient blind-indexed), its short link, its first event ``queued`` and the
idempotency record, and answers ``202`` once that transaction committed; the dispatch worker sends
it. Concurrent sends share that transaction (group commit, :mod:`gateway.push.committer`), which also
checks that the template is still approved: each process keeps the approved templates it read
(:data:`TEMPLATE_CACHE_SIZE`), so a template withdrawn meanwhile is refused there, after its send was
counted in the velocity windows. Two concurrent requests with one key are settled
by the record's primary key: the loser answers the winner's response. ``expiresAt`` counts
``ttlSeconds`` from ``scheduledAt``, so a message held over quiet hours keeps its whole TTL; its
link expires with it.

A message of a verification template (:attr:`Category.VERIFICATION`) has no short link (no link
row, no ``link`` in the answers), is never held by quiet hours, defaults to a TTL of
:data:`VERIFICATION_TTL_SECONDS`, and its one-time ``params.code`` is kept only inside the encrypted
text: the stored params leave it out. The idempotency fingerprint covers any ``params.code``
through the keyed blind index, never as a plain hash (a short code under SHA-256 is recovered by
trying every value). Log lines carry ids and counts, never the text or the params.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.crypto import BlindIndex, DecryptionError, FieldCipher
from gateway.db import as_utc, bound_engine
from gateway.errors import (
    IdempotencyKeyReused,
    NotFound,
    RecipientOptedOut,
    ServiceNotApplicable,
    TemplateNotApproved,
)
from gateway.logs import mask_phone
from gateway.one_tap.service import phone_scope
from gateway.push.committer import DEFAULT_MAX_ITEMS, DEFAULT_UNITS, Acceptance, Acceptances
from gateway.push.guard import SmsGuard, refuse_non_mobile
from gateway.push.idempotency import KEY_TTL, fingerprint
from gateway.push.links import link_url, new_code
from gateway.push.models import (
    IdempotencyRecord,
    MessageEvent,
    OptOut,
    PushLink,
    PushMessage,
    params_aad,
    recipient_aad,
    recipient_last4_scope,
    text_aad,
)
from gateway.push.quiet_hours import next_send_time, recipient_zones
from gateway.push.routing import route
from gateway.push.states import MessageStatus
from gateway.templates import Category, Template, render
from gateway.templates.rendering import CODE

__all__ = [
    "VERIFICATION_TTL_SECONDS",
    "Accepted",
    "EventView",
    "MessageView",
    "PushService",
    "SendRequest",
    "TemplateSource",
    "timestamp",
]

log = structlog.get_logger(__name__)
_ACCEPTED = 202
VERIFICATION_TTL_SECONDS = 600
TEMPLATE_CACHE_SIZE = 1024
"""Approved templates each process keeps (least recently used dropped first)."""
"""Default TTL of a verification SMS: a code delivered later than this is of no use to anyone."""


def timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z``, to the second."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


class TemplateSource(Protocol):
    """The templates feature, as far as sending needs it."""

    async def get_approved(self, tenant_id: str, template_id: str) -> Template:
        """The tenant's approved template; raises NotFound or TemplateNotApproved."""
        ...


@dataclass(frozen=True, slots=True)
class SendRequest:
    """A send as the API received it; ``canonical`` is the decoded body the idempotency hash covers."""

    template_id: str
    to: str
    params: Mapping[str, Any]
    ttl_seconds: int | None
    canonical: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Accepted:
    """The ``202`` answer; ``replayed`` when it is the stored answer to an earlier request."""

    status: int
    body: dict[str, Any]
    replayed: bool


@dataclass(frozen=True, slots=True)
class EventView:
    """One history entry."""

    type: str
    at: datetime
    detail: str | None


@dataclass(frozen=True, slots=True)
class MessageView:
    """A message as its tenant may see it: the recipient only masked."""

    id: str
    status: MessageStatus
    to_masked: str
    segments: int
    link: str | None
    operator: str | None
    failure_reason: str | None
    created_at: datetime
    scheduled_at: datetime | None
    expires_at: datetime
    events: list[EventView]


class PushService:
    """See the module docstring."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        templates: TemplateSource,
        operators: Collection[str],
        cipher: FieldCipher,
        index: BlindIndex,
        guard: SmsGuard,
        clock: Clock,
        public_url: str,
        default_ttl: int,
        fallback_operator: str | None = None,
        on_queued: Callable[[], None] | None = None,
        accept_batch: int = DEFAULT_MAX_ITEMS,
        accept_units: int = DEFAULT_UNITS,
    ) -> None:
        self._sessions = sessions
        self._templates = templates
        self._operators = operators
        self._cipher = cipher
        self._index = index
        self._guard = guard
        self._clock = clock
        self._public_url = public_url
        self._default_ttl = default_ttl
        self._fallback = fallback_operator
        self._approved: OrderedDict[tuple[str, str], Template] = OrderedDict()
        self._acceptances = Acceptances(
            bound_engine(sessions), after=on_queued, max_items=accept_batch, units=accept_units
        )

    async def send(self, *, tenant_id: str, request: SendRequest, idempotency_key: str | None) -> Accepted:
        """Accept one SMS for sending; see the module docstring for the checks and their order.

        :raises IdempotencyKeyReused: the key was used with another request in the last 24 h.
        :raises NotFound: unknown template, or another tenant's.
        :raises TemplateNotApproved, MissingParam, InvalidArgument: from the templates feature.
        :raises ServiceNotApplicable: no configured operator delivers to the number.
        :raises RecipientOptedOut: a marketing template to a number that opted out of its signature.
        :raises InvalidPhoneNumber: the target is not a mobile number.
        :raises TooManyRequests: a velocity window of the tenant is full.
        :raises QuotaExceeded: the message does not fit the tenant's daily budget.
        """
        request_hashes: list[str] = []
        if idempotency_key is not None:
            request_hashes = self._fingerprints(tenant_id, request.canonical)
            earlier = await self._replay(tenant_id, idempotency_key, request_hashes)
            if earlier is not None:
                return earlier
        refuse_non_mobile(request.to)
        template = await self._template(tenant_id, request.template_id)
        operators = route(request.to, self._operators, fallback=self._fallback)
        if not operators:
            raise ServiceNotApplicable("No configured operator delivers SMS to this number.")
        now = self._clock.now()
        spec = template.spec
        message_id = str(uuid.uuid4())
        has_link = spec.category.has_link
        link_code = new_code() if has_link else None
        link = link_url(self._public_url, link_code) if link_code is not None else None
        rendered = render(template, request.params, link)
        scheduled_at = now
        if spec.category is Category.MARKETING:
            await self._refuse_opted_out(tenant_id, spec.signature, request.to)
            scheduled_at = next_send_time(now, recipient_zones(request.to))
        default_ttl = self._default_ttl if has_link else min(self._default_ttl, VERIFICATION_TTL_SECONDS)
        expires_at = scheduled_at + timedelta(seconds=request.ttl_seconds or default_ttl)
        charge = await self._guard.admit(tenant_id, request.to, rendered.segments)
        body: dict[str, Any] = {"id": message_id, "status": MessageStatus.QUEUED.value}
        if link is not None:
            body["link"] = link
        body["segments"] = rendered.segments
        stored_params = {k: v for k, v in request.params.items() if has_link or k != CODE}
        if scheduled_at > now:
            body["scheduledAt"] = timestamp(scheduled_at)
        message = {
            "id": message_id,
            "tenant_id": tenant_id,
            "template_id": template.id,
            "category": spec.category.value,
            "signature": spec.signature,
            "recipient_index": self._index.compute(request.to, scope=phone_scope(tenant_id)),
            "recipient_last4_index": self._index.compute(
                request.to[-4:], scope=recipient_last4_scope(tenant_id)
            ),
            "recipient_cipher": self._cipher.encrypt(request.to, aad=recipient_aad(tenant_id, message_id)),
            "text_cipher": self._cipher.encrypt(rendered.text, aad=text_aad(tenant_id, message_id)),
            "params_cipher": self._cipher.encrypt(
                json.dumps(stored_params, ensure_ascii=False, sort_keys=True),
                aad=params_aad(tenant_id, message_id),
            ),
            "segments": rendered.segments,
            "encoding": rendered.encoding.value,
            "operator": operators[0],
            "status": MessageStatus.QUEUED.value,
            "attempts": 0,
            "created_at": now,
            "scheduled_at": scheduled_at,
            "next_attempt_at": scheduled_at,
            "expires_at": expires_at,
            "updated_at": now,
        }
        link_row = None
        if link_code is not None:
            link_row = {
                "code": link_code,
                "tenant_id": tenant_id,
                "message_id": message_id,
                "template_id": template.id,
                "created_at": now,
                "expires_at": expires_at,
            }
        record = None
        if idempotency_key is not None:
            record = {
                "tenant_id": tenant_id,
                "key": idempotency_key,
                "request_hash": request_hashes[0],
                "message_id": message_id,
                "status_code": _ACCEPTED,
                "response": json.dumps(body, ensure_ascii=False),
                "created_at": now,
                "expires_at": now + KEY_TTL,
            }
        event = {"message_id": message_id, "type": MessageStatus.QUEUED.value, "at": now}
        try:
            await self._acceptances.store(Acceptance(charge, message, link_row, event, record, now))
        except TemplateNotApproved:
            self._approved.pop((tenant_id, template.id), None)
            raise
        except IntegrityError:
            if idempotency_key is None:
                raise
            earlier = await self._replay(tenant_id, idempotency_key, request_hashes)
            if earlier is None:
                raise
            return earlier
        log.info(
            "push_message_queued",
            message_id=message_id,
            template_id=template.id,
            operator=operators[0],
            segments=rendered.segments,
            deferred=scheduled_at > now,
        )
        return Accepted(_ACCEPTED, body, replayed=False)

    async def _template(self, tenant_id: str, template_id: str) -> Template:
        """The approved template, from the templates feature once, then from this process's cache
        (the unit that stores a message checks that its template is still approved)."""
        key = (tenant_id, template_id)
        template = self._approved.get(key)
        if template is not None:
            self._approved.move_to_end(key)
            return template
        template = await self._templates.get_approved(tenant_id, template_id)
        self._approved[key] = template
        if len(self._approved) > TEMPLATE_CACHE_SIZE:
            self._approved.popitem(last=False)
        return template

    def _fingerprints(self, tenant_id: str, canonical: Mapping[str, Any]) -> list[str]:
        """The request's fingerprint under each blind-index key, the current key's first; a
        ``params.code`` enters it as its keyed index (see the module docstring)."""
        params = canonical.get("params")
        if not isinstance(params, Mapping) or CODE not in params:
            return [fingerprint(canonical)]
        value = json.dumps(params[CODE], ensure_ascii=False, sort_keys=True)
        return [
            fingerprint({**canonical, "params": {**params, CODE: index}})
            for index in self._index.candidates(value, scope=f"push-idempotency|{tenant_id}")
        ]

    async def _replay(self, tenant_id: str, key: str, request_hashes: Sequence[str]) -> Accepted | None:
        async with self._sessions() as session:
            record = await session.get(IdempotencyRecord, (tenant_id, key))
        if record is None or _utc(record.expires_at) <= self._clock.now():
            return None
        if record.request_hash not in request_hashes:
            raise IdempotencyKeyReused()
        log.info("push_idempotent_replay", message_id=record.message_id)
        return Accepted(record.status_code, json.loads(record.response), replayed=True)

    async def _refuse_opted_out(self, tenant_id: str, signature: str, phone: str) -> None:
        candidates = self._index.candidates(phone, scope=phone_scope(tenant_id))
        async with self._sessions() as session:
            found = await session.exec(
                select(OptOut.phone_index).where(
                    OptOut.tenant_id == tenant_id,
                    OptOut.signature == signature,
                    col(OptOut.phone_index).in_(candidates),
                )
            )
            if found.first() is not None:
                raise RecipientOptedOut()

    async def get(self, *, tenant_id: str, message_id: str) -> MessageView:
        """The tenant's message with its history, oldest event first.

        :raises NotFound: malformed, unknown, or another tenant's id.
        """
        if not _is_uuid(message_id):
            raise NotFound()
        async with self._sessions() as session:
            message = await session.get(PushMessage, message_id)
            if message is None or message.tenant_id != tenant_id:
                raise NotFound()
            link = (
                await session.exec(select(PushLink.code).where(PushLink.message_id == message_id))
            ).first()
            events = (
                await session.exec(
                    select(MessageEvent)
                    .where(MessageEvent.message_id == message_id)
                    .order_by(col(MessageEvent.id))
                )
            ).all()
        try:
            recipient = self._cipher.decrypt(
                message.recipient_cipher, aad=recipient_aad(tenant_id, message_id)
            )
        except DecryptionError:
            log.error("push_message_undecryptable", message_id=message_id)
            recipient = ""
        created_at = _utc(message.created_at)
        scheduled_at = _utc(message.scheduled_at)
        return MessageView(
            id=message.id,
            status=MessageStatus(message.status),
            to_masked=mask_phone(recipient) if recipient else "",
            segments=message.segments,
            link=link_url(self._public_url, link) if link is not None else None,
            operator=message.operator,
            failure_reason=message.failure_reason,
            created_at=created_at,
            scheduled_at=scheduled_at if scheduled_at > created_at else None,
            expires_at=_utc(message.expires_at),
            events=[EventView(e.type, _utc(e.at), e.detail) for e in events],
        )


def _utc(moment: datetime) -> datetime:
    return as_utc(moment) or moment
