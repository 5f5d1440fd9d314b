"""Webhook endpoints (one per tenant) and the publishing side of the delivery outbox.

Every call takes the tenant from the caller's credential; nothing here reads another tenant's rows.

- :meth:`WebhookService.put` replaces the tenant's endpoint and issues a new secret (shown only
  then). The previous secret keeps signing for ``secret_grace`` (default 24 h): deliveries carry
  one signature per live secret, so a receiver can switch secrets without losing events. A PUT
  also re-enables an endpoint that a 410 disabled.
- :meth:`WebhookService.delete` removes the endpoint; its pending deliveries fail ("endpoint removed").
- :meth:`WebhookService.publish` writes one outbox row, in the caller's transaction when given a
  session; see :mod:`gateway.webhooks` for the contract.
- :meth:`WebhookService.retry_dead_letters` requeues the failed deliveries ("dead letters") of the
  tenant's endpoint or of one sink: each is due at once with a new 24 h window; its attempts so
  far stay in its history and the next one is numbered after them.
- Pending deliveries follow the endpoint as it is at send time: a changed URL receives them, an
  event no longer subscribed or a removed or disabled endpoint fails them.
- Sinks (for features with their own destinations, e.g. CAMARA subscriptions): a feature registers
  a :class:`SinkSource` under a kind (:meth:`WebhookService.register_sink`) and queues bodies with
  :meth:`WebhookService.publish_to_sink`. Such a delivery has the outbox's durability, retries,
  backoff, 24 h window, SSRF guard and Standard Webhooks signature, but its URL, signing secrets,
  content type and extra headers come from the source's :class:`Target` at send time, its body
  is stored encrypted, a 410 ends the sink through :meth:`SinkSource.gone` (not the tenant's
  endpoint), and the tenant's endpoint being removed or disabled does not touch it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession as SaAsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.crypto import DecryptionError, FieldCipher
from gateway.db import as_utc, bound_engine, run_unit
from gateway.errors import InvalidArgument, NotFound, WebhookEndpointDisabled
from gateway.webhooks.addresses import UrlRefused, check_webhook_url
from gateway.webhooks.events import EVENT_TYPES, ordered
from gateway.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from gateway.webhooks.signing import new_secret

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "Attempt",
    "Delivery",
    "Endpoint",
    "RegisteredEndpoint",
    "SinkSource",
    "Staged",
    "Target",
    "WebhookService",
    "fail_pending",
    "new_delivery_id",
]

log = structlog.get_logger(__name__)
MAX_PAYLOAD_BYTES = 20_000
"""Payloads are thin (ids and states); a larger one is a programming error."""

ENABLED, DISABLED = "enabled", "disabled"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
_TABLE = "webhook_endpoints"
_ENDPOINTS: sa.Table = WebhookEndpoint.__table__  # type: ignore[attr-defined]
_DELIVERIES: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _aad(column: str, tenant_id: str, generation: str) -> str:
    return f"{_TABLE}|{column}|{tenant_id}|{generation}"


def _payload_aad(tenant_id: str, delivery_id: str) -> str:
    return f"webhook_deliveries|payload|{tenant_id}|{delivery_id}"


class Staged(NamedTuple):
    """One event for :meth:`WebhookService.stage_many`."""

    tenant_id: str
    event_type: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RegisteredEndpoint:
    """The answer to a PUT: the only time the secret is shown."""

    url: str
    events: list[str]
    secret: str


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An endpoint as GET shows it (no secret)."""

    url: str
    events: list[str]
    status: str
    disabled_reason: str | None
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class Target:
    """What a delivery attempt needs: where, which events, and the live signing secrets (newest first).

    ``content_type`` and ``headers`` (sent besides the signature headers) matter for sinks only.
    """

    tenant_id: str
    generation: str
    url: str
    events: frozenset[str]
    secrets: tuple[str, ...]
    enabled: bool
    disabled_reason: str | None
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


class SinkSource(Protocol):
    """A feature's own delivery destinations, looked up by key at every attempt."""

    async def target(self, tenant_id: str, key: str) -> Target | None:
        """Where and how to send the sink's deliveries now; None when the sink no longer exists."""
        ...

    async def gone(self, session: AsyncSession, tenant_id: str, key: str, now: datetime) -> None:
        """The sink answered 410 Gone: end it, in the worker's transaction (``session``)."""
        ...


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of a delivery."""

    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery with its attempt history, oldest attempt first."""

    id: str
    event_type: str
    status: str
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    attempts: list[Attempt]


def new_delivery_id() -> str:
    """``msg_`` + 26 base32 characters (128 random bits); letters dominate, so log redaction of
    digit runs leaves ids readable."""
    return "msg_" + base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=").lower()


async def fail_pending(
    session: AsyncSession,
    tenant_id: str,
    reason: str,
    now: datetime,
    *,
    keep: str | None = None,
    sink: str | None = None,
) -> None:
    """Fail every pending delivery of ``tenant_id`` but ``keep``: those to its endpoint (endpoint
    removed or disabled), or with ``sink`` those to that sink (sink gone)."""
    target = col(WebhookDelivery.sink).is_(None) if sink is None else col(WebhookDelivery.sink) == sink
    await session.exec(
        sa.update(WebhookDelivery)
        .where(
            col(WebhookDelivery.tenant_id) == tenant_id,
            col(WebhookDelivery.status) == PENDING,
            col(WebhookDelivery.id) != (keep or ""),
            target,
        )
        .values(status=FAILED, last_error=reason, finished_at=now, lease_owner=None, lease_expires_at=None)
    )


class WebhookService:
    """See the module docstring. ``on_publish`` is called after a publish commits (wakes the worker)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        cipher: FieldCipher,
        clock: Clock,
        allow_private: bool,
        secret_grace: timedelta = timedelta(hours=24),
        on_publish: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._clock = clock
        self._allow_private = allow_private
        self._secret_grace = secret_grace
        self.on_publish: Callable[[], None] = on_publish or (lambda: None)
        self._sinks: dict[str, SinkSource] = {}

    async def put(self, tenant_id: str, *, url: str, events: list[str]) -> RegisteredEndpoint:
        """Create or replace the tenant's endpoint with a new secret.

        :raises InvalidArgument: the URL is refused by the policy, or an event type is unknown.
        """
        try:
            normalized = check_webhook_url(url, allow_private=self._allow_private)
        except UrlRefused as exc:
            raise InvalidArgument(f"url: {exc}.") from exc
        chosen = set(events)
        if not chosen or not chosen <= set(EVENT_TYPES):
            raise InvalidArgument("events: each must be one of " + ", ".join(EVENT_TYPES) + ".")
        secret = new_secret()
        for attempt in range(2):
            try:
                await self._store(tenant_id, normalized, ordered(chosen), secret)
                break
            except IntegrityError:
                if attempt:
                    raise
        return RegisteredEndpoint(url=normalized, events=ordered(chosen), secret=secret)

    async def _store(self, tenant_id: str, url: str, events: list[str], secret: str) -> None:
        now = self._clock.now()
        generation = str(uuid.uuid4())
        async with self._sessions() as session, session.begin():
            rows = await session.exec(
                select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id).with_for_update()
            )
            existing = rows.first()
            previous = None if existing is None else self._open_secret(existing)
            keep = previous is not None and self._secret_grace > timedelta(0)
            fields: dict[str, Any] = {
                "generation": generation,
                "url": url,
                "events": " ".join(events),
                "secret_cipher": self._cipher.encrypt(secret, aad=_aad("secret", tenant_id, generation)),
                "previous_secret_cipher": (
                    self._cipher.encrypt(previous, aad=_aad("previous_secret", tenant_id, generation))
                    if keep and previous is not None
                    else None
                ),
                "previous_secret_expires_at": now + self._secret_grace if keep else None,
                "status": ENABLED,
                "disabled_reason": None,
                "disabled_at": None,
                "updated_at": now,
            }
            if existing is None:
                session.add(WebhookEndpoint(tenant_id=tenant_id, created_at=now, **fields))
            else:
                existing.sqlmodel_update(fields)
                session.add(existing)

    def _open_secret(self, row: WebhookEndpoint) -> str | None:
        try:
            return self._cipher.decrypt(row.secret_cipher, aad=_aad("secret", row.tenant_id, row.generation))
        except DecryptionError:
            return None

    async def get(self, tenant_id: str) -> Endpoint:
        """The tenant's endpoint. :raises NotFound: none is registered."""
        async with self._sessions() as session:
            row = await session.get(WebhookEndpoint, tenant_id)
        if row is None:
            raise NotFound()
        return Endpoint(
            url=row.url,
            events=ordered(set(row.events.split())),
            status=row.status,
            disabled_reason=row.disabled_reason,
            disabled_at=as_utc(row.disabled_at),
        )

    async def delete(self, tenant_id: str) -> None:
        """Remove the tenant's endpoint and fail its pending deliveries. :raises NotFound: none exists."""
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            row = await session.get(WebhookEndpoint, tenant_id)
            if row is None:
                raise NotFound()
            await session.delete(row)
            await fail_pending(session, tenant_id, "endpoint removed", now)

    async def publish(
        self,
        tenant_id: str,
        event_type: str,
        data: Mapping[str, Any],
        *,
        session: SaAsyncSession | None = None,
    ) -> str | None:
        """Queue ``event_type`` for the tenant's endpoint; the delivery id, or None if not subscribed.

        With ``session`` the row is written in the caller's transaction (committed or rolled back
        with it); without, in a transaction of its own.

        :raises ValueError: unknown event type, or a payload above :data:`MAX_PAYLOAD_BYTES`.
        :raises TypeError: ``data`` is not JSON-serialisable.
        """
        work = partial(self.stage, tenant_id=tenant_id, event_type=event_type, data=data)
        if session is not None:
            delivery_id = await session.run_sync(lambda sync: work(sync.connection()))
            if delivery_id is not None:
                sa.event.listen(session.sync_session, "after_commit", self._committed, once=True)
            return delivery_id
        delivery_id = await run_unit(bound_engine(self._sessions), work)
        if delivery_id is not None:
            self.on_publish()
        return delivery_id

    def stage(
        self, conn: Connection, *, tenant_id: str, event_type: str, data: Mapping[str, Any]
    ) -> str | None:
        """:meth:`publish` inside a unit of work (:func:`gateway.db.run_unit`) on ``conn``.

        The caller commits, then calls :attr:`on_publish` when an id came back, so the delivery
        worker looks at once rather than at its next poll. Errors as :meth:`publish`.
        """
        [delivery_id] = self.stage_many(conn, [Staged(tenant_id, event_type, data)])
        return delivery_id

    def stage_many(self, conn: Connection, events: Sequence[Staged]) -> list[str | None]:
        """:meth:`stage` for several events with one read of the endpoints and one insert.

        Returns each event's delivery id, or None where its tenant is not subscribed.
        """
        now = self._clock.now()
        stamp = _iso(now)
        payloads = []
        for event in events:
            if event.event_type not in EVENT_TYPES:
                raise ValueError(f"unknown webhook event type {event.event_type!r}")
            payload = json.dumps(
                {"type": event.event_type, "timestamp": stamp, "data": dict(event.data)},
                separators=(",", ":"),
                ensure_ascii=False,
                allow_nan=False,
            )
            if len(payload.encode()) > MAX_PAYLOAD_BYTES:
                raise ValueError(f"webhook payload exceeds {MAX_PAYLOAD_BYTES} bytes")
            payloads.append(payload)
        tenants = {event.tenant_id for event in events}
        subscribed = {
            row.tenant_id: set(row.events.split())
            for row in conn.execute(
                sa.select(_ENDPOINTS.c.tenant_id, _ENDPOINTS.c.events).where(
                    _ENDPOINTS.c.tenant_id.in_(tenants), _ENDPOINTS.c.status == ENABLED
                )
            )
        }
        ids: list[str | None] = []
        rows = []
        for event, payload in zip(events, payloads, strict=True):
            if event.event_type not in subscribed.get(event.tenant_id, ()):
                ids.append(None)
                continue
            delivery_id = new_delivery_id()
            ids.append(delivery_id)
            rows.append(
                {
                    "id": delivery_id,
                    "tenant_id": event.tenant_id,
                    "event_type": event.event_type,
                    "payload": payload,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
        if rows:
            conn.execute(sa.insert(_DELIVERIES), rows)
        return ids

    def _committed(self, _: object) -> None:
        self.on_publish()

    async def retry_dead_letters(self, tenant_id: str, *, sink: str | None = None) -> int:
        """Requeue the tenant's failed deliveries to its endpoint, or to ``sink`` (``<kind>:<key>``);
        how many (see the module docstring). The worker is woken when there is any.

        :raises NotFound: the tenant has no endpoint, or no such sink.
        :raises WebhookEndpointDisabled: the endpoint answered 410 and is disabled; a ``PUT``
            enables it again.
        """
        if sink is not None:
            if await self.sink_target(tenant_id, sink) is None:
                raise NotFound()
            target = col(WebhookDelivery.sink) == sink
        else:
            target = col(WebhookDelivery.sink).is_(None)
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            if sink is None:
                endpoint = await session.get(WebhookEndpoint, tenant_id)
                if endpoint is None:
                    raise NotFound()
                if endpoint.status != ENABLED:
                    raise WebhookEndpointDisabled()
            result = await session.exec(
                sa.update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.tenant_id) == tenant_id, col(WebhookDelivery.status) == FAILED, target
                )
                .values(
                    status=PENDING,
                    next_attempt_at=now,
                    first_attempt_at=None,
                    finished_at=None,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
        requeued = int(result.rowcount)
        log.info("webhook_dead_letters_requeued", tenant_id=tenant_id, sink=sink, deliveries=requeued)
        if requeued:
            self.on_publish()
        return requeued

    async def delivery(self, tenant_id: str, delivery_id: str) -> Delivery:
        """One of the tenant's deliveries with its attempts. :raises NotFound: unknown or not the tenant's."""
        async with self._sessions() as session:
            row = await session.get(WebhookDelivery, delivery_id)
            if row is None or row.tenant_id != tenant_id:
                raise NotFound()
            attempts = await session.exec(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery_id)
                .order_by(col(WebhookAttempt.number))
            )
            history = [
                Attempt(
                    at=as_utc(a.attempted_at) or a.attempted_at,
                    status_code=a.status_code,
                    error=a.error,
                    duration_ms=a.duration_ms,
                )
                for a in attempts
            ]
        return Delivery(
            id=row.id,
            event_type=row.event_type,
            status=row.status,
            created_at=as_utc(row.created_at) or row.created_at,
            next_attempt_at=as_utc(row.next_attempt_at) if row.status == PENDING else None,
            last_error=row.last_error,
            attempts=history,
        )

    async def target(self, tenant_id: str) -> Target | None:
        """The tenant's endpoint with its live secrets decrypted, or None when it has none."""
        async with self._sessions() as session:
            row = await session.get(WebhookEndpoint, tenant_id)
        if row is None:
            return None
        current = self._open_secret(row)
        live = [] if current is None else [current]
        expires = as_utc(row.previous_secret_expires_at)
        if row.previous_secret_cipher and expires is not None and self._clock.now() < expires:
            with contextlib.suppress(DecryptionError):
                live.append(
                    self._cipher.decrypt(
                        row.previous_secret_cipher,
                        aad=_aad("previous_secret", row.tenant_id, row.generation),
                    )
                )
        return Target(
            tenant_id=row.tenant_id,
            generation=row.generation,
            url=row.url,
            events=frozenset(row.events.split()),
            secrets=tuple(live),
            enabled=row.status == ENABLED,
            disabled_reason=row.disabled_reason,
        )

    def register_sink(self, kind: str, source: SinkSource) -> None:
        """Route deliveries queued under ``kind`` (letters, digits, ``-``) to ``source``'s targets."""
        if not kind or not all(c.isalnum() or c == "-" for c in kind):
            raise ValueError(f"invalid sink kind {kind!r}")
        self._sinks[kind] = source

    async def publish_to_sink(
        self,
        tenant_id: str,
        sink: tuple[str, str],
        event_type: str,
        body: bytes,
        *,
        session: SaAsyncSession | None = None,
        delivery_id: str | None = None,
    ) -> str:
        """Queue ``body`` (the exact bytes to send) for ``sink`` = (kind, key); the delivery id.

        ``delivery_id`` (default: :func:`new_delivery_id`) lets the caller put the ``webhook-id`` in
        the body. Transactions as in :meth:`publish`.

        :raises ValueError: unregistered kind, a sink name above 80 characters, or a body above
            :data:`MAX_PAYLOAD_BYTES`.
        """
        kind, key = sink
        name = f"{kind}:{key}"
        if kind not in self._sinks or len(name) > 80:
            raise ValueError(f"unknown or malformed sink {kind!r}")
        if len(body) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"webhook payload exceeds {MAX_PAYLOAD_BYTES} bytes")
        now = self._clock.now()
        row_id = delivery_id or new_delivery_id()
        row = WebhookDelivery(
            id=row_id,
            tenant_id=tenant_id,
            event_type=event_type,
            payload=self._cipher.encrypt(body.decode(), aad=_payload_aad(tenant_id, row_id)),
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            sink=name,
        )
        if session is not None:
            session.add(row)
            await session.flush()
            sa.event.listen(session.sync_session, "after_commit", self._committed, once=True)
            return row_id
        async with self._sessions() as own, own.begin():
            own.add(row)
        self.on_publish()
        return row_id

    def _sink(self, sink: str) -> tuple[SinkSource, str] | None:
        kind, _, key = sink.partition(":")
        source = self._sinks.get(kind)
        return None if source is None else (source, key)

    async def sink_target(self, tenant_id: str, sink: str) -> Target | None:
        """The current target of a queued delivery's ``sink``; None when it is gone or unregistered."""
        found = self._sink(sink)
        return None if found is None else await found[0].target(tenant_id, found[1])

    async def sink_gone(self, session: AsyncSession, tenant_id: str, sink: str, now: datetime) -> None:
        """Tell the sink's source that it answered 410 (in the caller's transaction)."""
        found = self._sink(sink)
        if found is not None:
            await found[0].gone(session, tenant_id, found[1], now)

    def open_payload(self, tenant_id: str, delivery_id: str, stored: str) -> bytes:
        """The body of a sink delivery. :raises DecryptionError: not with the configured keys."""
        return self._cipher.decrypt(stored, aad=_payload_aad(tenant_id, delivery_id)).encode()
