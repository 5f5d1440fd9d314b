"""Create, read and delete SIM swap subscriptions, and queue their notifications (no aiohttp).

Creation, in this order (camara.md §1.2, sim-swap-subscriptions 0.3.0):

1. ``protocol`` other than ``HTTP``: 400 INVALID_PROTOCOL.
2. ``sink`` refused by the webhook URL policy (:func:`~gateway.webhooks.addresses.check_webhook_url`:
   ``https``, or ``http`` too when private webhooks are allowed; no userinfo, fragment or private
   host): 400 INVALID_SINK.
3. ``sinkCredential`` (:func:`~gateway.camara.subscriptions.schemas.sink_credential`): 400
   INVALID_CREDENTIAL or INVALID_TOKEN.
4. ``config.subscriptionExpireTime`` not in the future: 400 INVALID_ARGUMENT.
5. The line, by the identifier rules (:mod:`gateway.camara.identifiers`, ``STRICT``): 422
   MISSING_IDENTIFIER / UNNECESSARY_IDENTIFIER, 404 IDENTIFIER_NOT_FOUND.
6. One SIM history call to the line's operator: unknown number 404 IDENTIFIER_NOT_FOUND, line not
   eligible 422 SERVICE_NOT_APPLICABLE, failures 502/503/504. Its ``latest_change`` is the
   baseline: only a later change is an event.

A subscription belongs to the token's tenant and client; with a 3-legged token also to the token's
line, so GET, list and DELETE only see the caller's (anything else is 404 NOT_FOUND, like an
unknown id). ``phoneNumber`` is shown only when the subscription was created and is read with a
2-legged token. ``sinkCredential`` is never shown; the Standard Webhooks signing secret only once,
as ``signingSecret`` in the 201 body. A deleted subscription is gone from the API (404); an
expired one stays readable with status ``EXPIRED``.

Notifications are sink deliveries of :class:`~gateway.webhooks.WebhookService` (kind
:data:`SINK_KIND`, key = subscription id), queued in the same transaction as the state change that
causes them; this class is their :class:`~gateway.webhooks.service.SinkSource`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import CarrierError
from gateway.camara.identifiers import IdentifierRule, LineDirectory
from gateway.camara.subscriptions import lifecycle
from gateway.camara.subscriptions.events import (
    CONTENT_TYPE,
    SUBSCRIPTION_ENDED,
    SWAPPED,
    cloud_event,
    ended_data,
    swapped_data,
)
from gateway.camara.subscriptions.lifecycle import Notice, Standing, Status, Termination
from gateway.camara.subscriptions.models import SimSwapSubscription, aad
from gateway.camara.subscriptions.schemas import SubscriptionRequest, sink_credential
from gateway.clock import Clock
from gateway.crypto import BlindIndex, DecryptionError, FieldCipher
from gateway.db import as_utc
from gateway.errors import InvalidArgument, InvalidProtocol, InvalidSink, NotFound, from_line_error
from gateway.oauth.tokens import Principal
from gateway.one_tap.service import phone_scope
from gateway.webhooks.addresses import UrlRefused, check_webhook_url
from gateway.webhooks.service import Target, WebhookService, new_delivery_id
from gateway.webhooks.signing import new_secret

__all__ = ["SINK_KIND", "Created", "Subscription", "SubscriptionService", "standing_of"]

SINK_KIND = "sim-swap-subscription"
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription as the API shows it; ``phone_number`` is None where it must not appear."""

    id: str
    sink: str
    event_type: str
    phone_number: str | None
    expires_at: datetime | None
    max_events: int | None
    starts_at: datetime
    status: str


@dataclass(frozen=True, slots=True)
class Created:
    """The answer to a creation: the subscription and its signing secret (shown only now)."""

    subscription: Subscription
    signing_secret: str


def standing_of(row: SimSwapSubscription) -> Standing:
    """The state machine's view of a stored subscription."""
    return Standing(
        status=Status(row.status),
        events_sent=row.events_sent,
        max_events=row.max_events,
        expires_at=as_utc(row.expires_at),
        token_expires_at=as_utc(row.sink_token_expires_at),
        last_seen=as_utc(row.last_seen_change),
    )


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SubscriptionService:
    """See the module docstring; registers itself with ``webhooks`` as the source of its sinks."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        lines: LineDirectory,
        webhooks: WebhookService,
        cipher: FieldCipher,
        index: BlindIndex,
        clock: Clock,
        source: str,
        allow_private: bool,
        poll_interval: timedelta,
    ) -> None:
        self._sessions = sessions
        self._lines = lines
        self._webhooks = webhooks
        self._cipher = cipher
        self._index = index
        self._clock = clock
        self._source = source
        self._allow_private = allow_private
        self._interval = poll_interval
        webhooks.register_sink(SINK_KIND, self)

    async def create(self, who: Principal, body: SubscriptionRequest) -> Created:
        """Create an ACTIVE subscription for the caller's line (see the module docstring for errors)."""
        now = self._clock.now()
        if body.protocol != "HTTP":
            raise InvalidProtocol()
        try:
            sink = check_webhook_url(body.sink, allow_private=self._allow_private)
        except UrlRefused as exc:
            raise InvalidSink(f"sink: {exc}.") from exc
        token = sink_credential(body.sinkCredential, now)
        expires_at = body.config.subscriptionExpireTime
        if expires_at is not None and expires_at <= now:
            raise InvalidArgument("config.subscriptionExpireTime must be in the future.")
        line = self._lines.resolve(who, body.config.subscriptionDetail.phoneNumber, IdentifierRule.STRICT)
        try:
            history = await line.insight.sim_history(line.phone_number)
        except CarrierError as exc:
            log.warning(
                "operator_call_failed",
                operator=exc.operator,
                action="sim_swap_subscription_create",
                error=type(exc).__name__,
                result_code=exc.code,
            )
            raise from_line_error(exc) from exc
        subscription_id = str(uuid.uuid4())
        secret = new_secret()
        tenant = who.tenant_id
        row = SimSwapSubscription(
            id=subscription_id,
            tenant_id=tenant,
            client_id=who.client_id,
            three_legged=who.subscriber is not None,
            phone_index=self._index.compute(line.phone_number, scope=phone_scope(tenant)),
            phone_cipher=self._cipher.encrypt(line.phone_number, aad=aad("phone", tenant, subscription_id)),
            operator=line.operator,
            sink=sink,
            sink_token_cipher=(
                None
                if token is None
                else self._cipher.encrypt(token.access_token, aad=aad("sink_token", tenant, subscription_id))
            ),
            sink_token_expires_at=None if token is None else token.expires_at,
            secret_cipher=self._cipher.encrypt(secret, aad=aad("secret", tenant, subscription_id)),
            event_type=body.event_type,
            max_events=body.config.subscriptionMaxEvents,
            events_sent=0,
            status=Status.ACTIVE.value,
            starts_at=now,
            expires_at=expires_at,
            last_seen_change=_aware(history.latest_change),
            next_poll_at=now,
            created_at=now,
            updated_at=now,
        )
        row.next_poll_at = lifecycle.next_poll(standing_of(row), now, self._interval)
        async with self._sessions() as session, session.begin():
            session.add(row)
        log.info(
            "sim_swap_subscription_created",
            subscription_id=subscription_id,
            operator=line.operator,
            three_legged=row.three_legged,
        )
        return Created(self._view(row, who, line.phone_number), secret)

    async def list(self, who: Principal) -> list[Subscription]:
        """The caller's subscriptions, oldest first (with a 3-legged token: of its line only)."""
        query = select(SimSwapSubscription).where(
            SimSwapSubscription.tenant_id == who.tenant_id,
            SimSwapSubscription.client_id == who.client_id,
            col(SimSwapSubscription.deleted_at).is_(None),
        )
        if who.subscriber is not None:
            candidates = self._index.candidates(who.subscriber.phone_number, scope=phone_scope(who.tenant_id))
            query = query.where(col(SimSwapSubscription.phone_index).in_(candidates))
        async with self._sessions() as session:
            rows = list(await session.exec(query.order_by(col(SimSwapSubscription.created_at))))
        return [self._view(row, who) for row in rows]

    async def get(self, who: Principal, subscription_id: str) -> Subscription:
        """One of the caller's subscriptions. :raises NotFound: unknown, deleted or not the caller's."""
        async with self._sessions() as session:
            row = await self._visible(session, who, subscription_id)
        return self._view(row, who)

    async def delete(self, who: Principal, subscription_id: str) -> None:
        """Delete one of the caller's subscriptions; an ACTIVE one ends with a ``subscription-ended``
        SUBSCRIPTION_DELETED notification, queued in the same transaction.

        :raises NotFound: unknown, already deleted or not the caller's.
        """
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            row = await self._visible(session, who, subscription_id)
            outcome = lifecycle.delete(standing_of(row), now)
            ended = await session.exec(
                sa.update(SimSwapSubscription)
                .where(
                    col(SimSwapSubscription.id) == row.id,
                    col(SimSwapSubscription.status) == Status.ACTIVE.value,
                )
                .values(
                    status=outcome.standing.status.value,
                    termination_reason=None if outcome.termination is None else outcome.termination.value,
                    ended_at=now,
                    updated_at=now,
                    deleted_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
            if ended.rowcount:
                number = None if row.three_legged else self._readable_number(row)
                for notice in outcome.notices:
                    await self.publish(session, row, notice, phone_number=number)
            else:
                await session.exec(
                    sa.update(SimSwapSubscription)
                    .where(col(SimSwapSubscription.id) == row.id)
                    .values(deleted_at=now, updated_at=now)
                )
        log.info("sim_swap_subscription_deleted", subscription_id=row.id, was_active=bool(ended.rowcount))

    async def publish(
        self, session: AsyncSession, row: SimSwapSubscription, notice: Notice, *, phone_number: str | None
    ) -> str:
        """Queue ``notice`` for the subscription's sink in ``session``'s transaction; the event id.

        ``phone_number`` goes into the events of a 2-legged subscription only.
        """
        event_id = new_delivery_id()
        shown = None if row.three_legged else phone_number
        if notice.reason is not None:
            event_type, data = SUBSCRIPTION_ENDED, ended_data(row.id, notice.reason, shown)
        else:
            event_type, data = SWAPPED, swapped_data(row.id, shown)
        body = cloud_event(
            event_id=event_id, source=self._source, event_type=event_type, time=notice.at, data=data
        )
        await self._webhooks.publish_to_sink(
            row.tenant_id, (SINK_KIND, row.id), event_type, body, session=session, delivery_id=event_id
        )
        log.info(
            "sim_swap_notification_queued", subscription_id=row.id, event_type=event_type, event_id=event_id
        )
        return event_id

    def phone_number(self, row: SimSwapSubscription) -> str:
        """The subscription's number. :raises DecryptionError: not with the configured keys."""
        return self._cipher.decrypt(row.phone_cipher, aad=aad("phone", row.tenant_id, row.id))

    def _readable_number(self, row: SimSwapSubscription) -> str | None:
        try:
            return self.phone_number(row)
        except DecryptionError:
            log.error("sim_swap_subscription_undecryptable", subscription_id=row.id)
            return None

    async def _visible(
        self, session: AsyncSession, who: Principal, subscription_id: str
    ) -> SimSwapSubscription:
        row = await session.get(SimSwapSubscription, subscription_id) if len(subscription_id) <= 40 else None
        if (
            row is None
            or row.tenant_id != who.tenant_id
            or row.client_id != who.client_id
            or row.deleted_at is not None
        ):
            raise NotFound()
        if who.subscriber is not None:
            candidates = self._index.candidates(who.subscriber.phone_number, scope=phone_scope(who.tenant_id))
            if row.phone_index not in candidates:
                raise NotFound()
        return row

    def _view(
        self, row: SimSwapSubscription, who: Principal, phone_number: str | None = None
    ) -> Subscription:
        shown = None
        if not row.three_legged and who.subscriber is None:
            shown = phone_number or self.phone_number(row)
        return Subscription(
            id=row.id,
            sink=row.sink,
            event_type=row.event_type,
            phone_number=shown,
            expires_at=as_utc(row.expires_at),
            max_events=row.max_events,
            starts_at=as_utc(row.starts_at) or row.starts_at,
            status=row.status,
        )

    async def target(self, tenant_id: str, key: str) -> Target | None:
        """The sink of subscription ``key`` with its signing secret and bearer token (SinkSource)."""
        async with self._sessions() as session:
            row = await session.get(SimSwapSubscription, key)
        if row is None or row.tenant_id != tenant_id:
            return None
        try:
            secret = self._cipher.decrypt(row.secret_cipher, aad=aad("secret", tenant_id, row.id))
            token = (
                None
                if row.sink_token_cipher is None
                else self._cipher.decrypt(row.sink_token_cipher, aad=aad("sink_token", tenant_id, row.id))
            )
        except DecryptionError:
            log.error("sim_swap_subscription_undecryptable", subscription_id=row.id)
            return None
        gone = row.termination_reason == Termination.SINK_GONE.value
        return Target(
            tenant_id=tenant_id,
            generation=row.id,
            url=row.sink,
            events=frozenset({SWAPPED, SUBSCRIPTION_ENDED}),
            secrets=(secret,),
            enabled=not gone,
            disabled_reason="the sink answered 410 Gone" if gone else None,
            content_type=CONTENT_TYPE,
            headers={} if token is None else {"Authorization": f"Bearer {token}"},
        )

    async def gone(self, session: AsyncSession, tenant_id: str, key: str, now: datetime) -> None:
        """The sink answered 410: an ACTIVE subscription ends (DELETED), without notification."""
        outcome = lifecycle.sink_gone(Standing(Status.ACTIVE), now)
        ended = await session.exec(
            sa.update(SimSwapSubscription)
            .where(
                col(SimSwapSubscription.id) == key,
                col(SimSwapSubscription.tenant_id) == tenant_id,
                col(SimSwapSubscription.status) == Status.ACTIVE.value,
            )
            .values(
                status=outcome.standing.status.value,
                termination_reason=Termination.SINK_GONE.value,
                ended_at=now,
                updated_at=now,
            )
        )
        log.warning("sim_swap_subscription_sink_gone", subscription_id=key, ended=bool(ended.rowcount))
