"""Opening a push link: the landing page's preview and the holder-bound redemption (contract §6).

:meth:`Redemption.preview` reads only, so a link preview or a scanner never changes anything.
:meth:`Redemption.redeem` follows :mod:`gateway.flows.rules`: the operator token obtained on the
opening device is checked against the recipient's number with the local number check
(:meth:`~gateway.one_tap.service.OneTapService.verify`, at the recipient's operator, billed to the
tenant like any check); the holder gets a flow session, anyone else ``403
LINK_NOT_FOR_THIS_DEVICE`` and the tenant a ``link.rejected`` webhook (message id, reason and
operator: nothing about the forwarder). A token of another operator is refused before any
operator call. The first successful redemption creates the link's flow state, moves the message
to ``opened`` and publishes ``link.opened``, in one transaction; the flow state is unique per
message, so concurrent redemptions by the holder create one and the others resume it.

Failures are counted per device and per source, never per link, so wrong-phone attempts on a
forwarded link neither lock out its holder nor make a billed check for a phone already known to
be the wrong one (:mod:`gateway.flows.attempts`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn, Protocol

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import VerifyOutcome
from gateway.clock import Clock
from gateway.crypto import BlindIndex, DecryptionError, FieldCipher
from gateway.errors import LinkNotForThisDevice, NotFound, OneTapOperatorMismatch, OneTapTokenInvalid
from gateway.flows.attempts import Attempts, Caller
from gateway.flows.links import (
    LinkRecord,
    advance,
    load_link,
    message_params,
    params_for_page,
    recipient_of,
)
from gateway.flows.models import FlowState
from gateway.flows.rules import OPENABLE_FROM, ClaimStatus, Refusal, check_openable, refusal_for
from gateway.flows.sessions import FlowSessions
from gateway.one_tap.service import phone_scope
from gateway.push.lifecycle import add_event
from gateway.push.states import MessageStatus
from gateway.templates import Flow, QuickApp, Template
from gateway.webhooks import Publisher

__all__ = ["Landing", "NumberVerifier", "OperatorSdk", "Redeemed", "Redemption", "TemplateReader", "stamp"]

log = structlog.get_logger(__name__)
ACTIVE = "active"


def stamp(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z``, to the second."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _link_target(template: Template) -> tuple[Flow, QuickApp]:
    """The flow and quick app of a linked message's template (only templates with a link have both,
    and only their messages have a link row).

    :raises NotFound: a template without them.
    """
    spec = template.spec
    if spec.flow is None or spec.quick_app is None:
        raise NotFound("No such link.")
    return spec.flow, spec.quick_app


class TemplateReader(Protocol):
    """The templates feature, as far as flows need it."""

    async def get(self, tenant_id: str, template_id: str) -> Template:
        """The tenant's template; raises NotFound."""
        ...


class NumberVerifier(Protocol):
    """The local number check (:class:`~gateway.one_tap.service.OneTapService`)."""

    async def verify(
        self, *, tenant_id: str, token: str, phone_number: str, operator: str | None
    ) -> VerifyOutcome:
        """PASS when the token's device holds ``phone_number``."""
        ...


@dataclass(frozen=True, slots=True)
class OperatorSdk:
    """An operator's H5 SDK token endpoint and the gateway's app id there."""

    operator: str
    h5_url: str
    app_id: str


@dataclass(frozen=True, slots=True)
class Landing:
    """What the landing page needs: no personal data beyond the recipient's last four digits.

    ``others`` are the other operators' SDKs: a phone the recipient's operator does not identify
    asks them, so that a phone of another operator is told the link is for another phone.
    """

    code: str
    flow: Flow
    quick_app: QuickApp
    signature: str
    operator: str | None
    h5_url: str | None
    app_id: str | None
    number_tail: str
    expires_at: datetime
    others: tuple[OperatorSdk, ...] = ()


@dataclass(frozen=True, slots=True)
class Redeemed:
    """A successful redemption: the session (shown once) and the flow to run."""

    session: str
    expires_at: datetime
    flow: Flow
    params: dict[str, Any]
    state: str
    message_id: str
    first: bool


def initial_status(flow: Flow) -> str:
    """A new flow state's status."""
    return ClaimStatus.CONSENT_PENDING.value if flow is Flow.CLAIM_LOCATION else ACTIVE


class Redemption:
    """See the module docstring."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        flow_sessions: FlowSessions,
        templates: TemplateReader,
        verifier: NumberVerifier,
        events: Publisher,
        attempts: Attempts,
        cipher: FieldCipher,
        index: BlindIndex,
        clock: Clock,
        h5_urls: Mapping[str, str],
        app_ids: Mapping[str, str],
    ) -> None:
        self._sessions = sessions
        self._flow_sessions = flow_sessions
        self._templates = templates
        self._verifier = verifier
        self._events = events
        self._attempts = attempts
        self._cipher = cipher
        self._index = index
        self._clock = clock
        self._h5_urls = h5_urls
        self._app_ids = app_ids

    async def _link(self, code: str) -> LinkRecord:
        async with self._sessions() as session:
            link = await load_link(session, code)
        if link is None:
            raise NotFound("No such link.")
        check_openable(link.expires_at, link.message_status, self._clock.now())
        return link

    async def preview(self, code: str) -> Landing:
        """The landing page of a link; reads only.

        :raises NotFound: unknown code.
        :raises LinkExpired: the link expired.
        """
        link = await self._link(code)
        flow, quick_app = _link_target(await self._templates.get(link.tenant_id, link.template_id))
        try:
            recipient = recipient_of(self._cipher, link.tenant_id, link.message_id, link.recipient_cipher)
        except DecryptionError:
            log.error("flow_link_undecryptable", message_id=link.message_id)
            recipient = ""
        operator = link.operator
        return Landing(
            code=link.code,
            flow=flow,
            quick_app=quick_app,
            signature=link.signature,
            operator=operator,
            h5_url=self._h5_urls.get(operator) if operator else None,
            app_id=self._app_ids.get(operator) if operator else None,
            number_tail=recipient[-4:],
            expires_at=link.expires_at,
            others=tuple(
                OperatorSdk(op, url, self._app_ids[op])
                for op, url in self._h5_urls.items()
                if op != operator and op in self._app_ids
            ),
        )

    async def redeem(
        self, *, code: str, token: str, operator: str | None, channel: str, caller: Caller
    ) -> Redeemed:
        """Redeem the link with an operator token from the opening device (see the module docstring).

        :raises NotFound: unknown code.
        :raises LinkExpired: the link expired.
        :raises LinkNotForThisDevice: the device does not hold the recipient's number, or this
            caller was found not to within the window (then without an operator check).
        :raises TooManyRequests: too many failed redemptions from this device or source lately.
        :raises OneTapTokenInvalid, Unavailable, GatewayTimeout, BadGateway: from the operator check.
        """
        link = await self._link(code)
        if await self._attempts.known_wrong(link.message_id, caller):
            log.info("flow_link_rejected_again", message_id=link.message_id)
            raise LinkNotForThisDevice()
        await self._attempts.check(caller)
        try:
            recipient = recipient_of(self._cipher, link.tenant_id, link.message_id, link.recipient_cipher)
        except DecryptionError:
            log.error("flow_link_undecryptable", message_id=link.message_id)
            raise NotFound("No such link.") from None
        expected = link.operator
        if operator is not None and expected is not None and operator != expected:
            await self._refuse(link, Refusal.OPERATOR_MISMATCH, operator, caller)
        try:
            outcome = await self._verifier.verify(
                tenant_id=link.tenant_id, token=token, phone_number=recipient, operator=expected or operator
            )
        except OneTapOperatorMismatch:
            await self._refuse(link, Refusal.OPERATOR_MISMATCH, operator, caller)
        except OneTapTokenInvalid:
            await self._attempts.failed(link.message_id, caller, definitive=False)
            raise
        refusal = refusal_for(outcome.result)
        if refusal is not None:
            await self._refuse(link, refusal, outcome.operator, caller)
        await self._attempts.succeeded(caller)
        template = await self._templates.get(link.tenant_id, link.template_id)
        holder = self._index.compute(recipient, scope=phone_scope(link.tenant_id))
        state, first = await self._open(link, _link_target(template)[0], holder, channel)
        issued = await self._flow_sessions.issue(state, link_expires_at=link.expires_at)
        params = message_params(self._cipher, link.tenant_id, link.message_id, link.params_cipher)
        log.info(
            "flow_link_redeemed",
            message_id=link.message_id,
            flow=state.flow,
            first=first,
            channel=channel,
            operator=outcome.operator,
        )
        return Redeemed(
            session=issued.token,
            expires_at=issued.expires_at,
            flow=Flow(state.flow),
            params=params_for_page(params, template.spec.params),
            state=state.status,
            message_id=link.message_id,
            first=first,
        )

    async def _refuse(
        self, link: LinkRecord, refusal: Refusal, operator: str | None, caller: Caller
    ) -> NoReturn:
        await self._attempts.failed(link.message_id, caller, definitive=refusal.definitive)
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            add_event(session, link.message_id, "link_rejected", now, detail=refusal.value)
            data: dict[str, Any] = {"messageId": link.message_id, "reason": refusal.value, "at": stamp(now)}
            if operator:
                data["operator"] = operator
            await self._events.publish(link.tenant_id, "link.rejected", data, session=session)
        log.info("flow_link_rejected", message_id=link.message_id, reason=refusal.value, operator=operator)
        raise LinkNotForThisDevice()

    async def _open(self, link: LinkRecord, flow: Flow, holder: str, channel: str) -> tuple[FlowState, bool]:
        existing = await self._state_of(link.message_id)
        if existing is not None:
            return existing, False
        now = self._clock.now()
        state = FlowState(
            id=str(uuid.uuid4()),
            tenant_id=link.tenant_id,
            message_id=link.message_id,
            link_code=link.code,
            flow=flow.value,
            status=initial_status(flow),
            holder_index=holder,
            channel=channel,
            opened_at=now,
            updated_at=now,
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(state)
                await session.flush()
                await advance(
                    session,
                    link.message_id,
                    to=MessageStatus.OPENED,
                    allowed_from=OPENABLE_FROM,
                    now=now,
                    event=MessageStatus.OPENED.value,
                    detail=channel,
                )
                data = {
                    "messageId": link.message_id,
                    "flow": flow.value,
                    "channel": channel,
                    "at": stamp(now),
                }
                await self._events.publish(link.tenant_id, "link.opened", data, session=session)
        except IntegrityError:
            winner = await self._state_of(link.message_id)
            if winner is None:
                raise
            return winner, False
        return state, True

    async def _state_of(self, message_id: str) -> FlowState | None:
        async with self._sessions() as session:
            found: FlowState | None = (
                await session.exec(select(FlowState).where(FlowState.message_id == message_id))
            ).first()
        return found
