"""Card templates: registered at a handset vendor through the tenant's card account, stored with the
vendor's template id and the review state last seen.

A template starts ``pending`` (as the vendor answered); reading it while it is pending asks the
vendor again (:meth:`CardClient.template_review`) and stores the answer, so the state moves to
``approved`` or ``rejected`` (with the vendor's reason) on the first read after the vendor decided.
There is no periodic sync: a read (and next session, the ladder's send) is what refreshes. A vendor
that cannot answer leaves the stored state as it was. Another tenant's template answers ``404``.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import CarrierError, CarrierRejected
from carrier_adapters.cards import CardButton, CardTemplateSpec, ReviewState
from gateway.clock import Clock
from gateway.db import as_utc
from gateway.errors import (
    ChannelNotConfigured,
    InvalidArgument,
    NotFound,
    TemplateNotApproved,
    from_carrier_error,
)
from gateway.rich.accounts import RichAccounts, known_vendor
from gateway.rich.models import CardTemplateRecord

__all__ = ["CardTemplate", "CardTemplates", "check_card_spec", "placeholders"]

log = structlog.get_logger(__name__)

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]{1,32})\}")
_ACTION_PREFIX = {"OPEN_QUICK": ("hap://app/",), "OPEN_URL": ("https://", "http://")}


@dataclass(frozen=True, slots=True)
class CardTemplate:
    """A tenant's card template at ``vendor``: its fields, declared ``params``, the vendor's id and review."""

    id: str
    tenant_id: str
    vendor: str
    spec: CardTemplateSpec
    params: tuple[str, ...]
    vendor_template_id: str
    status: ReviewState
    reason: str | None
    created_at: datetime
    checked_at: datetime
    decided_at: datetime | None


def placeholders(spec: CardTemplateSpec) -> set[str]:
    """The ``${name}`` placeholders of every text and action of ``spec``."""
    texts = [spec.title, spec.description, *(t for b in spec.buttons for t in (b.text, b.action))]
    return {name for text in texts for name in _PLACEHOLDER.findall(text)}


def check_card_spec(spec: CardTemplateSpec, params: tuple[str, ...]) -> None:
    """The rules the vendor would refuse a template for, checked first so the tenant gets a clear 400.

    :raises InvalidArgument: a placeholder is not declared, a declared parameter is unused, or a
        button's action is neither a placeholder nor a link of its ``actionType``.
    """
    if len(set(params)) != len(params):
        raise InvalidArgument("params: a name is declared twice.")
    used = placeholders(spec)
    undeclared = sorted(used - set(params))
    if undeclared:
        raise InvalidArgument(f"Placeholders not declared in params: {', '.join(undeclared)}.")
    unused = sorted(set(params) - used)
    if unused:
        raise InvalidArgument(f"Parameters not used by any text or action: {', '.join(unused)}.")
    for position, button in enumerate(spec.buttons):
        if _PLACEHOLDER.fullmatch(button.action):
            continue
        if not button.action.startswith(_ACTION_PREFIX[button.action_type]):
            expected = "a hap://app/ link" if button.action_type == "OPEN_QUICK" else "an http(s) URL"
            raise InvalidArgument(
                f"buttons.{position}.action: expected {expected} or a ${{name}} placeholder."
            )


def _well_formed(template_id: str) -> bool:
    try:
        return str(uuid.UUID(template_id)) == template_id
    except ValueError:
        return False


def _spec_json(spec: CardTemplateSpec, params: tuple[str, ...]) -> str:
    return json.dumps(
        {
            "title": spec.title,
            "description": spec.description,
            "mediaUrl": spec.media_url,
            "buttons": [
                {"text": b.text, "actionType": b.action_type, "action": b.action} for b in spec.buttons
            ],
            "params": list(params),
        },
        ensure_ascii=False,
    )


def _to_domain(row: CardTemplateRecord) -> CardTemplate:
    stored = json.loads(row.spec)
    spec = CardTemplateSpec(
        name=row.name,
        title=stored["title"],
        description=stored["description"],
        buttons=tuple(CardButton(b["text"], b["actionType"], b["action"]) for b in stored["buttons"]),
        media_url=stored["mediaUrl"],
    )
    return CardTemplate(
        id=row.id,
        tenant_id=row.tenant_id,
        vendor=row.vendor,
        spec=spec,
        params=tuple(stored["params"]),
        vendor_template_id=row.vendor_template_id,
        status=ReviewState(row.status),
        reason=row.reason,
        created_at=as_utc(row.created_at),
        checked_at=as_utc(row.checked_at),
        decided_at=as_utc(row.decided_at),
    )


class CardTemplates:
    """See the module docstring."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, accounts: RichAccounts, clock: Clock
    ) -> None:
        self._sessions = sessions
        self._accounts = accounts
        self._clock = clock

    async def register(
        self, tenant_id: str, vendor: str, spec: CardTemplateSpec, params: tuple[str, ...]
    ) -> CardTemplate:
        """Check ``spec``, register it at ``vendor`` through the tenant's account and store it.

        :raises InvalidArgument: a rule of :func:`check_card_spec`, or the vendor refused the fields.
        :raises NotFound: unknown vendor.
        :raises ChannelNotConfigured: the tenant has no enabled account at ``vendor``.
        :raises ApiError: the vendor failed (``502``, ``503``, ``504`` as for operators).
        """
        known_vendor(vendor)
        check_card_spec(spec, params)
        app_id, client = await self._accounts.card_access(tenant_id, vendor)
        try:
            review = await client.register_template(spec)
        except CarrierRejected as exc:
            if exc.code == "1004":
                raise InvalidArgument("The vendor refused the template's fields.") from exc
            raise from_carrier_error(exc) from exc
        except CarrierError as exc:
            raise from_carrier_error(exc) from exc
        now = self._clock.now()
        final = review.state is not ReviewState.PENDING
        row = CardTemplateRecord(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            vendor=vendor,
            app_id=app_id,
            vendor_template_id=review.template_id,
            name=spec.name,
            spec=_spec_json(spec, params),
            status=review.state.value,
            reason=review.reason,
            created_at=now,
            checked_at=now,
            decided_at=now if final else None,
        )
        async with self._sessions() as session, session.begin():
            session.add(row)
        log.info("card_template_registered", template_id=row.id, vendor=vendor, status=row.status)
        return _to_domain(row)

    async def get(self, tenant_id: str, template_id: str) -> CardTemplate:
        """The tenant's template, its review refreshed from the vendor while it is pending.

        :raises NotFound: unknown, or another tenant's.
        """
        row = await self._load(tenant_id, template_id)
        if row.status == ReviewState.PENDING.value:
            row = await self._refresh(row)
        return _to_domain(row)

    async def get_approved(self, tenant_id: str, template_id: str) -> CardTemplate:
        """The tenant's template, if the vendor approved it (for sends).

        :raises NotFound: unknown, or another tenant's.
        :raises TemplateNotApproved: pending or rejected.
        """
        template = await self.get(tenant_id, template_id)
        if template.status is not ReviewState.APPROVED:
            raise TemplateNotApproved(f"The card template is {template.status.value}, not approved.")
        return template

    async def _load(self, tenant_id: str, template_id: str) -> CardTemplateRecord:
        if not _well_formed(template_id):
            raise NotFound()
        async with self._sessions() as session:
            row = await session.get(CardTemplateRecord, template_id)
        if row is None or row.tenant_id != tenant_id:
            raise NotFound()
        return row

    async def _refresh(self, row: CardTemplateRecord) -> CardTemplateRecord:
        try:
            _, client = await self._accounts.card_access(row.tenant_id, row.vendor, enabled_only=False)
            review = await client.template_review(row.vendor_template_id)
        except (CarrierError, ChannelNotConfigured) as exc:
            log.warning("card_template_review_unavailable", template_id=row.id, error=type(exc).__name__)
            return row
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            current = await session.get(CardTemplateRecord, row.id)
            if current is None:
                return row
            current.checked_at = now
            if review.state.value != current.status:
                current.status, current.reason = review.state.value, review.reason
                current.decided_at = None if review.state is ReviewState.PENDING else now
                log.info("card_template_reviewed", template_id=row.id, status=current.status)
            session.add(current)
        return current
