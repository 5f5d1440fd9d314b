"""Campaigns: creating them, accepting their recipients in chunks, their lifecycle and progress.

:meth:`CampaignService.add_recipients` reads a chunk (:mod:`gateway.campaigns.uploads`), checks
each line as a single message would be checked before anything is counted (a phone number, and a
mobile one; the template's parameters through the template renderer, so the SMS fits its
segments), drops numbers already in the chunk or in the campaign (by the campaign-scoped blind
index; the number is never compared in the clear) and stores the rest in one transaction, all or
nothing: the campaign row is locked (PostgreSQL ``FOR UPDATE``; SQLite's single writer), its state
and its :data:`MAX_RECIPIENTS` re-checked, the rows written in one ``executemany`` and the count
raised. Checking, indexing and encrypting happen before the transaction, so it holds the lock
only for the database work.

The lifecycle (:mod:`gateway.campaigns.states`) changes in one transaction with the row locked; the
``campaign.started`` and ``campaign.cancelled`` webhooks are staged in that same transaction, and a
cancel turns every ``pending`` recipient ``cancelled`` in it too, so nothing not yet taken by the
runner is sent afterwards. Sending is :mod:`gateway.campaigns.runner`'s.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import RowMapping
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.campaigns.models import Campaign, CampaignRecipient, key_prefix, recipient_aad, recipient_scope
from gateway.campaigns.states import ACCEPTS_RECIPIENTS, Action, CampaignStatus, RecipientState, allowed
from gateway.campaigns.uploads import CSV, NDJSON, Line, Unreadable, is_mobile, normalise_phone, read_lines
from gateway.clock import Clock
from gateway.crypto import BlindIndex, FieldCipher
from gateway.db import as_utc, run_unit
from gateway.errors import (
    ApiError,
    CampaignStateConflict,
    InvalidArgument,
    InvalidPhoneNumber,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from gateway.push.links import link_url
from gateway.push.models import IdempotencyRecord, PushMessage
from gateway.push.service import TemplateSource
from gateway.templates import Category, Template, render
from gateway.webhooks import Publisher

__all__ = [
    "CAMPAIGNS",
    "MAX_RECIPIENTS",
    "RECIPIENTS",
    "CampaignService",
    "CampaignSummary",
    "CampaignView",
    "ChunkReport",
    "NewCampaign",
    "counts_of",
]

log = structlog.get_logger(__name__)

CAMPAIGNS: sa.Table = Campaign.__table__  # type: ignore[attr-defined]
RECIPIENTS: sa.Table = CampaignRecipient.__table__  # type: ignore[attr-defined]
_MESSAGES: sa.Table = PushMessage.__table__  # type: ignore[attr-defined]
_KEYS: sa.Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
MAX_RECIPIENTS = 100_000
"""Recipients one campaign accepts in all its chunks."""
_LOOKUP_BATCH = 2_000
PARALLEL_LINES = 2_000
"""Chunks of at least this many lines are checked and encrypted in worker processes."""
_SAMPLE_LINK_CODE = "A" * 22


@dataclass(frozen=True, slots=True)
class NewCampaign:
    """``POST /push/v1/campaigns`` as the service needs it; ``channels`` is stored as given."""

    template_id: str
    name: str | None
    rate: int
    scheduled_at: datetime | None
    channels: list[dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class ChunkReport:
    """What became of one chunk: recipients accepted, lines refused (number, code, detail) and the
    line numbers of duplicates (within the chunk or of recipients the campaign already has)."""

    accepted: int
    invalid: list[Unreadable]
    duplicates: list[int]
    total: int


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    """A campaign as lists show it."""

    id: str
    name: str | None
    template_id: str
    status: CampaignStatus
    rate: int
    recipients: int
    scheduled_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CampaignView:
    """A campaign with its progress: recipients per state, their messages per status."""

    summary: CampaignSummary
    channels: list[dict[str, Any]] | None
    started_at: datetime | None
    ended_at: datetime | None
    recipients: dict[str, int]
    messages: dict[str, int]
    refusals: dict[str, int]
    estimated_finish: datetime | None = field(default=None)


@dataclass(frozen=True, slots=True)
class _Prepared:
    line: int
    phone_index: str
    cipher: str


@dataclass(frozen=True, slots=True)
class _Job:
    """Lines of one chunk to check, index and encrypt (sent to a worker process as is)."""

    tenant_id: str
    campaign_id: str
    template: Template
    cipher: FieldCipher
    index: BlindIndex
    sample_link: str
    lines: list[Line]


def check_lines(job: _Job) -> list[_Prepared | Unreadable]:
    """Each line checked as a single message's would be before it is counted (a phone number, a
    mobile one, the template's parameters through the renderer), then indexed and encrypted."""
    scope = recipient_scope(job.tenant_id, job.campaign_id)
    results: list[_Prepared | Unreadable] = []
    for item in job.lines:
        phone = normalise_phone(item.phone)
        if phone is None:
            results.append(Unreadable(item.line, InvalidPhoneNumber.code, "not a phone number"))
            continue
        if not is_mobile(phone):
            results.append(Unreadable(item.line, InvalidPhoneNumber.code, "not a mobile number"))
            continue
        try:
            render(job.template, item.params, job.sample_link)
        except ApiError as exc:
            results.append(Unreadable(item.line, exc.code, _detail(exc)))
            continue
        phone_index = job.index.compute(phone, scope=scope)
        plain = json.dumps({"to": phone, "params": item.params}, ensure_ascii=False, separators=(",", ":"))
        aad = recipient_aad(job.tenant_id, job.campaign_id, phone_index)
        results.append(_Prepared(item.line, phone_index, job.cipher.encrypt(plain, aad=aad)))
    return results


def counts_of(conn: Connection, campaign_id: str) -> dict[str, int]:
    """The campaign's recipients per state (every state present, zeros included)."""
    found = conn.execute(
        sa.select(RECIPIENTS.c.state, sa.func.count())
        .where(RECIPIENTS.c.campaign_id == campaign_id)
        .group_by(RECIPIENTS.c.state)
    ).all()
    counts = {state.value: 0 for state in RecipientState}
    counts.update({state: int(n) for state, n in found})
    return counts


class CampaignService:
    """See the module docstring. ``on_runnable`` is called after a campaign became due (start,
    resume), to wake the local runner; ``pool`` (worker processes) checks and encrypts large chunks
    in ``parts`` parts side by side."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        templates: TemplateSource,
        cipher: FieldCipher,
        index: BlindIndex,
        events: Publisher,
        clock: Clock,
        public_url: str,
        max_recipients: int = MAX_RECIPIENTS,
        on_runnable: Callable[[], None] | None = None,
        pool: Executor | None = None,
        parts: int = 2,
    ) -> None:
        self._engine = engine
        self._templates = templates
        self._cipher = cipher
        self._index = index
        self._events = events
        self._clock = clock
        self._sample_link = link_url(public_url, _SAMPLE_LINK_CODE)
        self._max = max_recipients
        self._on_runnable = on_runnable
        self._pool = pool
        self._parts = max(1, parts)

    async def create(self, tenant_id: str, new: NewCampaign) -> CampaignView:
        """A ``draft`` campaign of the tenant's approved template.

        :raises NotFound: unknown template, or another tenant's.
        :raises TemplateNotApproved: the template is not approved.
        :raises InvalidArgument: a verification template (codes are not sent in bulk).
        """
        template = await self._templates.get_approved(tenant_id, new.template_id)
        if template.spec.category is Category.VERIFICATION:
            raise InvalidArgument("templateId: a campaign cannot send a verification template.")
        now = self._clock.now()
        row = {
            "id": str(uuid.uuid4()),
            "tenant_id": tenant_id,
            "template_id": template.id,
            "name": new.name,
            "status": CampaignStatus.DRAFT.value,
            "rate": new.rate,
            "channels": json.dumps(new.channels) if new.channels is not None else None,
            "recipients": 0,
            "scheduled_at": new.scheduled_at,
            "created_at": now,
            "updated_at": now,
        }
        await run_unit(self._engine, lambda conn: conn.execute(sa.insert(CAMPAIGNS), [row]))
        log.info("campaign_created", campaign_id=row["id"], template_id=template.id, rate=new.rate)
        return await self.get(tenant_id, str(row["id"]))

    async def add_recipients(
        self, tenant_id: str, campaign_id: str, body: bytes, media_type: str
    ) -> ChunkReport:
        """Check and store one chunk of recipients, all or nothing (see the module docstring).

        :raises NotFound: malformed, unknown or another tenant's campaign id.
        :raises CampaignStateConflict: the campaign does not accept recipients in its state.
        :raises PayloadTooLarge: the campaign would have more than :data:`MAX_RECIPIENTS`.
        :raises UnsupportedMediaType: neither CSV nor NDJSON.
        :raises InvalidArgument: the body cannot be read at all (see :func:`read_lines`).
        """
        campaign = await self._owned(tenant_id, campaign_id)
        if media_type not in (CSV, NDJSON):
            raise UnsupportedMediaType(f"Send recipients as {CSV} or {NDJSON}.")
        _accepting(campaign.status)
        template = await self._templates.get_approved(tenant_id, campaign.template_id)
        prepared, invalid, duplicates, total = await self._prepare(
            tenant_id, campaign_id, template, body, media_type
        )
        now = self._clock.now()

        def store(conn: Connection) -> int:
            locked = sa.select(CAMPAIGNS.c.status, CAMPAIGNS.c.recipients).where(
                CAMPAIGNS.c.id == campaign_id
            )
            if conn.dialect.name == "postgresql":
                locked = locked.with_for_update()
            status, count = conn.execute(locked).one()
            _accepting(status)
            existing = (
                _existing(conn, campaign_id, [item.phone_index for item in prepared]) if count else set()
            )
            fresh = [item for item in prepared if item.phone_index not in existing]
            duplicates.extend(item.line for item in prepared if item.phone_index in existing)
            if count + len(fresh) > self._max:
                raise PayloadTooLarge(
                    f"The campaign would have {count + len(fresh)} recipients; at most {self._max}."
                )
            if fresh:
                conn.execute(
                    sa.insert(RECIPIENTS),
                    [
                        {
                            "campaign_id": campaign_id,
                            "seq": count + offset,
                            "phone_index": item.phone_index,
                            "recipient_cipher": item.cipher,
                            "state": RecipientState.PENDING.value,
                        }
                        for offset, item in enumerate(fresh, start=1)
                    ],
                )
                conn.execute(
                    sa.update(CAMPAIGNS)
                    .where(CAMPAIGNS.c.id == campaign_id)
                    .values(recipients=count + len(fresh), updated_at=now)
                )
            return len(fresh)

        accepted = await run_unit(self._engine, store)
        duplicates.sort()
        log.info(
            "campaign_recipients_added",
            campaign_id=campaign_id,
            accepted=accepted,
            invalid=len(invalid),
            duplicates=len(duplicates),
        )
        return ChunkReport(accepted, invalid, duplicates, total)

    async def _prepare(
        self, tenant_id: str, campaign_id: str, template: Template, body: bytes, media_type: str
    ) -> tuple[list[_Prepared], list[Unreadable], list[int], int]:
        """The chunk's good lines indexed and encrypted, its bad lines, the lines repeating a number
        seen earlier in the chunk, and how many lines it had. A chunk of at least
        :data:`PARALLEL_LINES` lines is checked and encrypted in the worker processes, in parts."""
        items = list(read_lines(body, media_type, template.spec.params))
        lines = [item for item in items if isinstance(item, Line)]
        job = _Job(tenant_id, campaign_id, template, self._cipher, self._index, self._sample_link, lines)
        if self._pool is None or len(lines) < PARALLEL_LINES:
            checked = check_lines(job)
        else:
            size = -(-len(lines) // self._parts)
            loop = asyncio.get_running_loop()
            parts = [replace(job, lines=lines[at : at + size]) for at in range(0, len(lines), size)]
            done = await asyncio.gather(
                *(loop.run_in_executor(self._pool, check_lines, part) for part in parts)
            )
            checked = [result for part in done for result in part]
        prepared: list[_Prepared] = []
        invalid = [item for item in items if isinstance(item, Unreadable)]
        duplicates: list[int] = []
        seen: set[str] = set()
        for result in checked:
            if isinstance(result, Unreadable):
                invalid.append(result)
            elif result.phone_index in seen:
                duplicates.append(result.line)
            else:
                seen.add(result.phone_index)
                prepared.append(result)
        invalid.sort(key=lambda item: item.line)
        return prepared, invalid, duplicates, len(items)

    async def act(self, tenant_id: str, campaign_id: str, action: Action) -> CampaignView:
        """Take ``action`` on the campaign (see :mod:`gateway.campaigns.states`).

        :raises NotFound: malformed, unknown or another tenant's campaign id.
        :raises CampaignStateConflict: the campaign's state does not allow it, or a start without
            recipients.
        """
        await self._owned(tenant_id, campaign_id)
        now = self._clock.now()

        def change(conn: Connection) -> tuple[bool, bool]:
            locked = sa.select(CAMPAIGNS).where(CAMPAIGNS.c.id == campaign_id)
            if conn.dialect.name == "postgresql":
                locked = locked.with_for_update()
            row = conn.execute(locked).mappings().one()
            status = CampaignStatus(row["status"])
            if status not in allowed(action):
                raise CampaignStateConflict(f"A {status.value} campaign cannot {action.value}.")
            values: dict[str, Any] = {"updated_at": now}
            scheduled_at = as_utc(row["scheduled_at"])
            started = row["started_at"] is not None
            staged: list[str | None] = []
            if action is Action.START and not row["recipients"]:
                raise CampaignStateConflict("A campaign without recipients cannot start.")
            if action in (Action.START, Action.RESUME):
                later = scheduled_at is not None and scheduled_at > now
                values["status"] = (CampaignStatus.SCHEDULED if later else CampaignStatus.RUNNING).value
                values["next_run_at"] = scheduled_at if later else now
                if not later and not started:
                    values["started_at"] = now
                    staged.append(self._stage(conn, row, "campaign.started", CampaignStatus.RUNNING))
            elif action is Action.PAUSE:
                values["status"] = CampaignStatus.PAUSED.value
            else:
                values["status"] = CampaignStatus.CANCELLED.value
                values["ended_at"] = now
                conn.execute(
                    sa.update(RECIPIENTS)
                    .where(
                        RECIPIENTS.c.campaign_id == campaign_id,
                        RECIPIENTS.c.state == RecipientState.PENDING.value,
                    )
                    .values(state=RecipientState.CANCELLED.value)
                )
                lease_until = as_utc(row["lease_until"])
                if row["lease_owner"] is None or lease_until is None or lease_until <= now:
                    _settle_orphans(conn, row["tenant_id"], campaign_id)
                staged.append(self._stage(conn, row, "campaign.cancelled", CampaignStatus.CANCELLED))
            conn.execute(sa.update(CAMPAIGNS).where(CAMPAIGNS.c.id == campaign_id).values(values))
            return any(s is not None for s in staged), values["status"] in (
                CampaignStatus.RUNNING.value,
                CampaignStatus.SCHEDULED.value,
            )

        published, runnable = await run_unit(self._engine, change)
        log.info("campaign_action", campaign_id=campaign_id, action=action.value)
        if published:
            self._events.on_publish()
        if runnable and self._on_runnable is not None:
            self._on_runnable()
        return await self.get(tenant_id, campaign_id)

    def _stage(self, conn: Connection, row: RowMapping, event: str, status: CampaignStatus) -> str | None:
        data = {"campaignId": row["id"], "status": status.value, "recipients": counts_of(conn, row["id"])}
        return self._events.stage(conn, tenant_id=row["tenant_id"], event_type=event, data=data)

    async def get(self, tenant_id: str, campaign_id: str) -> CampaignView:
        """The campaign with its progress.

        :raises NotFound: malformed, unknown or another tenant's campaign id.
        """
        await self._owned(tenant_id, campaign_id)

        def read(conn: Connection) -> CampaignView:
            row = conn.execute(sa.select(CAMPAIGNS).where(CAMPAIGNS.c.id == campaign_id)).mappings().one()
            recipients = counts_of(conn, campaign_id)
            messages = {
                status: int(n)
                for status, n in conn.execute(
                    sa.select(_MESSAGES.c.status, sa.func.count())
                    .select_from(RECIPIENTS.join(_MESSAGES, _MESSAGES.c.id == RECIPIENTS.c.message_id))
                    .where(RECIPIENTS.c.campaign_id == campaign_id)
                    .group_by(_MESSAGES.c.status)
                ).all()
            }
            refusals = {
                reason: int(n)
                for reason, n in conn.execute(
                    sa.select(RECIPIENTS.c.reason, sa.func.count())
                    .where(
                        RECIPIENTS.c.campaign_id == campaign_id,
                        RECIPIENTS.c.state == RecipientState.REFUSED.value,
                    )
                    .group_by(RECIPIENTS.c.reason)
                ).all()
            }
            return _view(row, recipients, messages, refusals, self._clock.now())

        return await run_unit(self._engine, read, writes=False)

    async def list(
        self, tenant_id: str, *, limit: int, before: str | None
    ) -> tuple[list[CampaignSummary], str | None]:
        """The tenant's campaigns, newest first, and the cursor of the next page (None: last page).

        :raises InvalidArgument: ``before`` is not a cursor this method returned.
        """
        query = sa.select(CAMPAIGNS).where(CAMPAIGNS.c.tenant_id == tenant_id)
        if before is not None:
            created_at, last_id = _decode_cursor(before)
            query = query.where(
                sa.or_(
                    CAMPAIGNS.c.created_at < created_at,
                    sa.and_(CAMPAIGNS.c.created_at == created_at, CAMPAIGNS.c.id < last_id),
                )
            )
        query = query.order_by(CAMPAIGNS.c.created_at.desc(), CAMPAIGNS.c.id.desc()).limit(limit + 1)
        rows = await run_unit(self._engine, lambda conn: list(conn.execute(query).mappings()), writes=False)
        page = [_summary(row) for row in rows[:limit]]
        cursor = _encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
        return page, cursor

    async def _owned(self, tenant_id: str, campaign_id: str) -> CampaignSummary:
        if not _is_uuid(campaign_id):
            raise NotFound()
        row = await run_unit(
            self._engine,
            lambda conn: (
                conn.execute(sa.select(CAMPAIGNS).where(CAMPAIGNS.c.id == campaign_id)).mappings().first()
            ),
            writes=False,
        )
        if row is None or row["tenant_id"] != tenant_id:
            raise NotFound()
        return _summary(row)


def _existing(conn: Connection, campaign_id: str, wanted: list[str]) -> set[str]:
    """Which of ``wanted`` the campaign already has (one array parameter on PostgreSQL)."""
    mine = RECIPIENTS.c.campaign_id == campaign_id
    if conn.dialect.name == "postgresql":
        values = sa.bindparam("wanted", wanted, type_=postgresql.ARRAY(sa.String()))
        query = sa.select(RECIPIENTS.c.phone_index).where(mine, RECIPIENTS.c.phone_index == sa.any_(values))
        return set(conn.execute(query).scalars())
    found: set[str] = set()
    for start in range(0, len(wanted), _LOOKUP_BATCH):
        part = wanted[start : start + _LOOKUP_BATCH]
        found.update(
            conn.execute(
                sa.select(RECIPIENTS.c.phone_index).where(mine, RECIPIENTS.c.phone_index.in_(part))
            ).scalars()
        )
    return found


def _settle_orphans(conn: Connection, tenant_id: str, campaign_id: str) -> None:
    """Recipients a dead runner left ``sending`` (no live lease): ``sent`` with the message their
    idempotency record names (the send happened, its record did not), else ``cancelled``."""
    key = sa.literal(key_prefix(campaign_id), sa.String) + sa.cast(RECIPIENTS.c.seq, sa.String)
    message = (
        sa.select(_KEYS.c.message_id)
        .where(_KEYS.c.tenant_id == tenant_id, _KEYS.c.key == key)
        .scalar_subquery()
    )
    conn.execute(
        sa.update(RECIPIENTS)
        .where(RECIPIENTS.c.campaign_id == campaign_id, RECIPIENTS.c.state == RecipientState.SENDING.value)
        .values(
            state=sa.case(
                (message.is_not(None), RecipientState.SENT.value), else_=RecipientState.CANCELLED.value
            ),
            message_id=message,
        )
    )


def _accepting(status: str) -> None:
    if CampaignStatus(status) not in ACCEPTS_RECIPIENTS:
        raise CampaignStateConflict(f"A {status} campaign does not accept recipients.")


def _detail(exc: ApiError) -> str:
    """A refused line's detail: the error's message, which names fields but never values."""
    return exc.message[:200]


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _summary(row: RowMapping) -> CampaignSummary:
    return CampaignSummary(
        id=row["id"],
        name=row["name"],
        template_id=row["template_id"],
        status=CampaignStatus(row["status"]),
        rate=row["rate"],
        recipients=row["recipients"],
        scheduled_at=as_utc(row["scheduled_at"]),
        created_at=as_utc(row["created_at"]),
    )


def _view(
    row: RowMapping,
    recipients: dict[str, int],
    messages: dict[str, int],
    refusals: dict[str, int],
    now: datetime,
) -> CampaignView:
    summary = _summary(row)
    left = recipients[RecipientState.PENDING.value] + recipients[RecipientState.SENDING.value]
    finish = None
    if summary.status in (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED):
        begin = max(now, as_utc(row["next_run_at"]) or now)
        finish = begin + timedelta(seconds=left / summary.rate)
    return CampaignView(
        summary=summary,
        channels=json.loads(row["channels"]) if row["channels"] else None,
        started_at=as_utc(row["started_at"]),
        ended_at=as_utc(row["ended_at"]),
        recipients=recipients,
        messages=messages,
        refusals=refusals,
        estimated_finish=finish,
    )


def _encode_cursor(created_at: datetime, campaign_id: str) -> str:
    raw = f"{created_at.isoformat()}|{campaign_id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, campaign_id = raw.partition("|")
        created_at = datetime.fromisoformat(moment)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidArgument("before: not a cursor of this list.") from exc
    if created_at.tzinfo is None or not _is_uuid(campaign_id):
        raise InvalidArgument("before: not a cursor of this list.")
    return created_at, campaign_id
