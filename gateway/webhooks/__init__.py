"""Tenant webhooks: Standard Webhooks deliveries from a transactional outbox (contract §7).

Publishing (for the rest of the gateway; domain code, no aiohttp)::

    delivery_id = await runtime.webhooks.publish(
        tenant_id, "message.delivered", {"messageId": message.id, "status": "delivered"},
        session=session,  # optional: the caller's SQLAlchemy AsyncSession
    )

- ``event_type`` is one of :data:`EVENT_TYPES` (anything else raises ``ValueError``).
- ``data`` is a small JSON object (at most 20 kB once wrapped): ids and states only, never a phone
  number, a link code or a token. The receiver gets ``{"type", "timestamp", "data"}``.
- With ``session`` the outbox row is written in the caller's transaction: the event exists
  exactly when the caller's state change commits, and a rollback leaves nothing to deliver. The
  caller commits; publish only flushes. Without ``session`` it commits on its own.
- It returns the delivery id (the ``webhook-id`` header, stable across retries), or None when the
  tenant has no enabled endpoint subscribed to ``event_type`` (nothing is stored).
- Inside a unit of work (:func:`gateway.db.run_unit`), ``stage(conn, tenant_id=..., event_type=...,
  data=...)`` writes the same row on the unit's connection; after the unit commits, the caller
  calls ``on_publish()`` if any id came back, so the delivery worker looks at once.
- Depend on the :class:`Publisher` protocol in services so tests can pass a fake.

Features with destinations of their own (CAMARA subscription sinks) register a
:class:`~gateway.webhooks.service.SinkSource` and queue exact bodies with
:meth:`WebhookService.publish_to_sink`: same outbox, retries, SSRF guard and signatures, but the
source's URL, secret, content type and headers (see :mod:`gateway.webhooks.service`).

Delivery happens in the background (:mod:`gateway.webhooks.worker`): signed with the
``standardwebhooks`` library, POSTed with a 10 s timeout and no redirects, retried with full-jitter
exponential backoff for 24 h, never to loopback, private, link-local or other non-global
addresses unless ``GATEWAY_ALLOW_PRIVATE_WEBHOOKS`` is set (:mod:`gateway.webhooks.addresses`,
checked again at connect time by :mod:`gateway.webhooks.egress`). Order is not guaranteed and a
delivery may repeat after a crash: receivers deduplicate on ``webhook-id``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.webhooks.events import EVENT_TYPES
from gateway.webhooks.service import Staged, WebhookService

__all__ = ["EVENT_TYPES", "Publisher", "Staged", "WebhookService"]


class Publisher(Protocol):
    """The publishing side of :class:`WebhookService` (see the package docstring)."""

    async def publish(
        self,
        tenant_id: str,
        event_type: str,
        data: Mapping[str, Any],
        *,
        session: AsyncSession | None = None,
    ) -> str | None:
        """Queue ``event_type`` for the tenant's endpoint; the delivery id, or None if not subscribed."""
        ...

    def stage(
        self, conn: Connection, *, tenant_id: str, event_type: str, data: Mapping[str, Any]
    ) -> str | None:
        """:meth:`publish` on a unit of work's connection; the caller commits, then ``on_publish()``."""
        ...

    def stage_many(self, conn: Connection, events: Sequence[Staged]) -> list[str | None]:
        """:meth:`stage` for several events at once; each one's delivery id or None."""
        ...

    def on_publish(self) -> None:
        """Tell the delivery worker that committed deliveries are waiting."""
        ...
