"""The claim-location flow: the holder shares the device's position with the insurer, or declines.

Location is sensitive personal information (PIPL Art. 28): the page asks for explicit consent
(what, with whom, why) before it asks the browser for a position. ``share`` is that consent acted
upon: it records the consent time, stores the position AES-GCM encrypted (AAD bound to tenant and
flow state), moves the message to ``completed`` and publishes ``claim.location_shared`` to the
tenant with the coordinates and the message's params (``phone`` params left out), in one
transaction. ``decline`` records the refusal (message event ``declined``) and, when the holder had
not declined already, publishes ``claim.location_declined`` (message id, the same params,
``declinedAt``) in the same transaction; nothing is shared and the holder may still share later.
A location is shared once (``409 FLOW_STATE_CONFLICT`` after).

:meth:`ClaimLocation.location_of` lets the tenant read the shared location through the API
(``GET /push/v1/messages/{id}/location``): ``404`` for another tenant's message, a message without
a claim-location flow, and while nothing is shared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.crypto import DecryptionError, FieldCipher
from gateway.db import as_utc
from gateway.errors import NotFound, PermissionDenied
from gateway.flows.links import advance, message_params, params_for_webhook
from gateway.flows.models import FlowState, location_aad
from gateway.flows.redemption import TemplateReader, stamp
from gateway.flows.rules import COMPLETABLE_FROM, ClaimStatus, claim_after_decline, claim_after_share
from gateway.flows.sessions import FlowContext
from gateway.push.lifecycle import add_event
from gateway.push.models import PushMessage
from gateway.push.states import MessageStatus
from gateway.templates import Flow
from gateway.webhooks import Publisher

__all__ = ["ClaimLocation", "Position", "SharedLocation", "StoredLocation"]

log = structlog.get_logger(__name__)
STATES: sa.Table = FlowState.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Position:
    """A position as the browser's Geolocation API reported it (ranges checked by the wire model)."""

    latitude: float
    longitude: float
    accuracy_meters: float


@dataclass(frozen=True, slots=True)
class SharedLocation:
    """The outcome of a share or a decline."""

    status: ClaimStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class StoredLocation:
    """A shared location as the tenant reads it."""

    message_id: str
    position: Position
    shared_at: datetime


class ClaimLocation:
    """See the module docstring."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        templates: TemplateReader,
        events: Publisher,
        cipher: FieldCipher,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._templates = templates
        self._events = events
        self._cipher = cipher
        self._clock = clock

    @staticmethod
    def _check_flow(ctx: FlowContext) -> None:
        if ctx.flow is not Flow.CLAIM_LOCATION:
            raise PermissionDenied("This session belongs to another flow.")

    async def share(self, ctx: FlowContext, position: Position) -> SharedLocation:
        """Share ``position`` with the tenant (see the module docstring).

        :raises PermissionDenied: the session is not a claim-location session.
        :raises FlowStateConflict: the location was already shared.
        """
        self._check_flow(ctx)
        now = self._clock.now()
        location = {
            "latitude": position.latitude,
            "longitude": position.longitude,
            "accuracyMeters": position.accuracy_meters,
        }
        async with self._sessions() as session, session.begin():
            state = await self._state(session, ctx)
            claim_after_share(ClaimStatus(state.status))
            moved = await session.exec(
                sa.update(STATES)
                .where(STATES.c.id == ctx.state_id, STATES.c.status != ClaimStatus.SHARED.value)
                .values(
                    status=ClaimStatus.SHARED.value,
                    consented_at=now,
                    completed_at=now,
                    updated_at=now,
                    location_cipher=self._cipher.encrypt(
                        json.dumps(location), aad=location_aad(ctx.tenant_id, ctx.state_id)
                    ),
                )
            )
            if moved.rowcount != 1:
                claim_after_share(ClaimStatus.SHARED)
            claim = await self._claim(session, ctx)
            await advance(
                session,
                ctx.message_id,
                to=MessageStatus.COMPLETED,
                allowed_from=COMPLETABLE_FROM,
                now=now,
                event=MessageStatus.COMPLETED.value,
                detail=Flow.CLAIM_LOCATION.value,
            )
            data = {
                "messageId": ctx.message_id,
                "claim": claim,
                "location": location,
                "sharedAt": stamp(now),
            }
            await self._events.publish(ctx.tenant_id, "claim.location_shared", data, session=session)
        accuracy = round(position.accuracy_meters)
        log.info("claim_location_shared", message_id=ctx.message_id, accuracy_m=accuracy)
        return SharedLocation(ClaimStatus.SHARED, now)

    async def decline(self, ctx: FlowContext) -> SharedLocation:
        """Record that the holder declined to share.

        :raises PermissionDenied: the session is not a claim-location session.
        :raises FlowStateConflict: the location was already shared.
        """
        self._check_flow(ctx)
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            state = await self._state(session, ctx)
            status = claim_after_decline(ClaimStatus(state.status))
            first = await session.exec(
                sa.update(STATES)
                .where(STATES.c.id == ctx.state_id, STATES.c.status == ClaimStatus.CONSENT_PENDING.value)
                .values(status=status.value, declined_at=now, updated_at=now)
            )
            if first.rowcount != 1:
                again = await session.exec(
                    sa.update(STATES)
                    .where(STATES.c.id == ctx.state_id, STATES.c.status == ClaimStatus.DECLINED.value)
                    .values(declined_at=now, updated_at=now)
                )
                if again.rowcount != 1:
                    claim_after_decline(ClaimStatus.SHARED)
            add_event(session, ctx.message_id, "declined", now, detail=Flow.CLAIM_LOCATION.value)
            if first.rowcount == 1:
                data = {
                    "messageId": ctx.message_id,
                    "claim": await self._claim(session, ctx),
                    "declinedAt": stamp(now),
                }
                await self._events.publish(ctx.tenant_id, "claim.location_declined", data, session=session)
        log.info("claim_location_declined", message_id=ctx.message_id)
        return SharedLocation(status, now)

    async def location_of(self, tenant_id: str, message_id: str) -> StoredLocation:
        """The location shared through ``message_id``'s link.

        :raises NotFound: not the tenant's message, no claim-location flow, or nothing shared yet.
        """
        async with self._sessions() as session:
            state = (
                await session.exec(
                    select(FlowState).where(
                        FlowState.message_id == message_id,
                        FlowState.tenant_id == tenant_id,
                        FlowState.flow == Flow.CLAIM_LOCATION.value,
                        FlowState.status == ClaimStatus.SHARED.value,
                    )
                )
            ).first()
        if state is None or state.location_cipher is None or state.completed_at is None:
            raise NotFound("No location has been shared through this message.")
        try:
            stored = json.loads(
                self._cipher.decrypt(state.location_cipher, aad=location_aad(tenant_id, state.id))
            )
        except (DecryptionError, ValueError):
            log.error("claim_location_undecryptable", message_id=message_id)
            raise NotFound("No location has been shared through this message.") from None
        position = Position(
            float(stored["latitude"]), float(stored["longitude"]), float(stored["accuracyMeters"])
        )
        return StoredLocation(message_id, position, as_utc(state.completed_at) or state.completed_at)

    async def _claim(self, session: AsyncSession, ctx: FlowContext) -> dict[str, object]:
        """The message's params echoed to the tenant (``phone`` ones left out)."""
        message = await session.get(PushMessage, ctx.message_id)
        if message is None:
            raise NotFound()
        template = await self._templates.get(ctx.tenant_id, message.template_id)
        params = message_params(self._cipher, ctx.tenant_id, message.id, message.params_cipher)
        return params_for_webhook(params, template.spec.params)

    @staticmethod
    async def _state(session: AsyncSession, ctx: FlowContext) -> FlowState:
        state = await session.get(FlowState, ctx.state_id)
        if state is None or state.tenant_id != ctx.tenant_id:
            raise NotFound()
        return state
