"""Bounds on every SMS the gateway accepts: SMS pumping (toll fraud) and a leaked credential's bill.

Every SMS (push messages, branch tickets, verification codes) goes through
:meth:`~gateway.push.service.PushService.send`, which asks :class:`SmsGuard` once the request is
known to be good (template, parameters, opt-out) and before anything is written or sent:

1. :func:`refuse_non_mobile`: the target must be a valid mobile number by phonenumbers' metadata
   (type mobile, or fixed-line-or-mobile where a country does not tell them apart): fixed lines,
   95xxx and 106xx service numbers and unallocated ranges answer ``422 INVALID_PHONE_NUMBER``.
2. :meth:`SmsGuard.admit`: velocity per tenant in sliding windows of the shared rate limiter, per
   number prefix (the country code and the first 7 digits of the national number: a mainland
   mobile number's HLR block, which SMS pumping walks through) and per number; a refusal answers
   ``429 TOO_MANY_REQUESTS`` with ``Retry-After``. Keys are blind indexes, never numbers. The
   windows are counted in the order prefix, number; a send a later window refuses still counts
   in the earlier ones.
3. :class:`Charge`: the daily budget in segments (what operators bill), per calendar day in
   :data:`BUDGET_ZONE`, charged by a compare-and-add in the unit that stores the message; when it
   does not fit the unit rolls back and the send answers ``429 QUOTA_EXCEEDED`` with
   ``Retry-After`` until the next day. An idempotent replay is answered before any of this.

The limits are the tenant's :class:`SmsPolicy`, set by the gateway's operator
(``PUT /admin/tenants/{id}/sms-policy``; a tenant cannot raise its own), else
:data:`DEFAULT_POLICY`; each process caches a policy for :data:`POLICY_CACHE_SECONDS`. A tenant
reads its policy and the day's usage at ``GET /push/v1/usage``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import phonenumbers
import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock
from gateway.crypto import BlindIndex
from gateway.db import run_unit
from gateway.errors import InvalidPhoneNumber, NotFound, QuotaExceeded, TooManyRequests
from gateway.logs import mask_phone
from gateway.push.models import SmsPolicyRow, SmsUsage
from gateway.ratelimit import RateLimiter

__all__ = [
    "BUDGET_ZONE",
    "DEFAULT_POLICY",
    "Charge",
    "SmsGuard",
    "SmsPolicy",
    "UsageDay",
    "combine_charges",
    "number_prefix",
    "refuse_non_mobile",
]

log = structlog.get_logger(__name__)

BUDGET_ZONE: Final = ZoneInfo("Asia/Shanghai")
POLICY_CACHE_SECONDS: Final = 10.0
_TEN_MINUTES: Final = 600
_DAY: Final = 86_400
_PREFIX_DIGITS: Final = 7
_MOBILE = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})
_POLICIES: sa.Table = SmsPolicyRow.__table__  # type: ignore[attr-defined]
_USAGE: sa.Table = SmsUsage.__table__  # type: ignore[attr-defined]

REFUSALS = Counter(
    "gateway_sms_refused_total",
    "SMS refused by the fraud controls, by reason (not_mobile, prefix_velocity, number_velocity, budget)",
    ["reason"],
)


@dataclass(frozen=True, slots=True)
class SmsPolicy:
    """A tenant's SMS limits: sends per number and per prefix in 10 minutes and in 24 hours, and
    segments per day. Every figure is at least 1."""

    number_per_10min: int = 5
    number_per_day: int = 20
    prefix_per_10min: int = 30
    prefix_per_day: int = 300
    daily_budget: int = 10_000

    def as_json(self) -> dict[str, int]:
        """The wire form (camelCase)."""
        return {
            "numberPer10Min": self.number_per_10min,
            "numberPerDay": self.number_per_day,
            "prefixPer10Min": self.prefix_per_10min,
            "prefixPerDay": self.prefix_per_day,
            "dailyBudget": self.daily_budget,
        }


DEFAULT_POLICY: Final = SmsPolicy()


@dataclass(frozen=True, slots=True)
class UsageDay:
    """What a tenant sent on one budget day, against its policy."""

    day: date
    messages: int
    segments: int
    policy: SmsPolicy

    @property
    def remaining(self) -> int:
        """Segments left in the day's budget."""
        return max(0, self.policy.daily_budget - self.segments)


def refuse_non_mobile(e164: str) -> None:
    """Refuse ``e164`` unless it is a valid mobile number (see the module docstring).

    :raises InvalidPhoneNumber: a fixed line, a service number, or no valid number at all.
    """
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        parsed = None
    if (
        parsed is None
        or not phonenumbers.is_valid_number(parsed)
        or phonenumbers.number_type(parsed) not in _MOBILE
    ):
        REFUSALS.labels("not_mobile").inc()
        log.info("sms_refused", reason="not_mobile", to=mask_phone(e164))
        raise InvalidPhoneNumber()


def number_prefix(e164: str) -> str:
    """``+8613800138000`` -> ``+861380013``: the country code and the national number's first 7 digits."""
    parsed = phonenumbers.parse(e164)
    national = phonenumbers.national_significant_number(parsed)
    return f"+{parsed.country_code}{national[:_PREFIX_DIGITS]}"


def budget_day(moment: datetime) -> date:
    """The budget day ``moment`` falls in (calendar day in :data:`BUDGET_ZONE`)."""
    return moment.astimezone(BUDGET_ZONE).date()


def seconds_to_next_day(moment: datetime) -> int:
    """Whole seconds (at least 1) from ``moment`` to the next budget day."""
    local = moment.astimezone(BUDGET_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), BUDGET_ZONE)
    return max(1, int((midnight - local).total_seconds() + 0.999))


@dataclass(frozen=True, slots=True)
class Charge:
    """``messages`` accepted messages (one, unless :func:`combine_charges` added them up) of
    ``segments`` in all against their tenant's budget of ``day``."""

    tenant_id: str
    day: date
    segments: int
    budget: int
    retry_after: int
    messages: int = 1

    def apply(self, conn: Connection) -> None:
        """Add the charge to the day's usage in ``conn``'s unit (:meth:`fits`), or refuse it.

        :raises QuotaExceeded: it does not fit (the caller's unit then rolls back).
        """
        if self.fits(conn):
            return
        REFUSALS.labels("budget").inc()
        log.warning("sms_refused", reason="budget", tenant_id=self.tenant_id, budget=self.budget)
        raise QuotaExceeded(self.retry_after)

    def fits(self, conn: Connection) -> bool:
        """Add the charge to the day's usage in ``conn``'s unit if it fits the budget; whether it did.

        The day's row is created (empty, in a savepoint) when the first charge finds none (a spent
        budget inserts nothing and raises no database error); a concurrent unit creating it first
        makes that insert fail, and the charge then adds to theirs.
        """
        if self._add(conn):
            return True
        row = sa.select(
            sa.literal(self.tenant_id), sa.literal(self.day.isoformat()), sa.literal(0), sa.literal(0)
        ).where(~sa.exists().where(self._where()))
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(_USAGE).from_select(["tenant_id", "day", "messages", "segments"], row))
        except IntegrityError:
            pass
        return self._add(conn)

    def _where(self) -> sa.ColumnElement[bool]:
        return (_USAGE.c.tenant_id == self.tenant_id) & (_USAGE.c.day == self.day.isoformat())

    def _add(self, conn: Connection) -> bool:
        moved = conn.execute(
            sa.update(_USAGE)
            .where(self._where(), _USAGE.c.segments + self.segments <= self.budget)
            .values(messages=_USAGE.c.messages + self.messages, segments=_USAGE.c.segments + self.segments)
        )
        return bool(moved.rowcount)


def combine_charges(charges: Iterable[Charge]) -> list[Charge]:
    """One charge per tenant, day and budget adding up ``charges``, ordered by tenant and day (the
    order concurrent units lock the usage rows in). The sum fits exactly when every charge would
    fit one after another."""
    sums: dict[tuple[str, date, int], Charge] = {}
    for charge in charges:
        key = (charge.tenant_id, charge.day, charge.budget)
        held = sums.get(key)
        sums[key] = (
            charge
            if held is None
            else dataclasses.replace(
                held, segments=held.segments + charge.segments, messages=held.messages + charge.messages
            )
        )
    return [sums[key] for key in sorted(sums, key=lambda k: (k[0], k[1]))]


class SmsGuard:
    """The velocity limits and the budget of every tenant (see the module docstring)."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        limiter: RateLimiter,
        index: BlindIndex,
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._limiter = limiter
        self._index = index
        self._clock = clock
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, SmsPolicy]] = {}

    async def admit(self, tenant_id: str, e164: str, segments: int) -> Charge:
        """Count one send of ``tenant_id`` to ``e164`` in its windows; the charge for its unit.

        :raises TooManyRequests: a window is full (``Retry-After`` until it has room).
        :raises Unavailable: the rate limiter's store cannot answer.
        """
        policy = await self.policy(tenant_id)
        scope = f"sms|{tenant_id}"
        prefix = self._index.compute(number_prefix(e164), scope=scope)
        number = self._index.compute(e164, scope=scope)
        windows = (
            ("prefix_velocity", f"sms:p10:{prefix}", policy.prefix_per_10min, _TEN_MINUTES),
            ("prefix_velocity", f"sms:pd:{prefix}", policy.prefix_per_day, _DAY),
            ("number_velocity", f"sms:n10:{number}", policy.number_per_10min, _TEN_MINUTES),
            ("number_velocity", f"sms:nd:{number}", policy.number_per_day, _DAY),
        )
        for reason, key, limit, window in windows:
            allowed, retry_after = await self._limiter.hit(key, limit, window)
            if not allowed:
                REFUSALS.labels(reason).inc()
                log.warning("sms_refused", reason=reason, tenant_id=tenant_id, to=mask_phone(e164))
                raise TooManyRequests(retry_after)
        now = self._clock.now()
        return Charge(tenant_id, budget_day(now), segments, policy.daily_budget, seconds_to_next_day(now))

    async def policy(self, tenant_id: str) -> SmsPolicy:
        """The tenant's policy (cached for :data:`POLICY_CACHE_SECONDS`), else the defaults."""
        cached = self._cache.get(tenant_id)
        if cached is not None and cached[0] > self._monotonic():
            return cached[1]
        row = await run_unit(
            self._engine,
            lambda conn: conn.execute(sa.select(_POLICIES).where(_POLICIES.c.tenant_id == tenant_id)).first(),
            writes=False,
        )
        policy = DEFAULT_POLICY if row is None else _policy_of(row)
        self._cache[tenant_id] = (self._monotonic() + POLICY_CACHE_SECONDS, policy)
        return policy

    async def set_policy(self, tenant_id: str, policy: SmsPolicy) -> None:
        """Store ``tenant_id``'s policy; this process uses it at once, the others within the cache time.

        :raises NotFound: no such tenant.
        """
        values = dataclasses.asdict(policy) | {"updated_at": self._clock.now()}

        def store(conn: Connection) -> None:
            moved = conn.execute(
                sa.update(_POLICIES).where(_POLICIES.c.tenant_id == tenant_id).values(values)
            )
            if not moved.rowcount:
                conn.execute(sa.insert(_POLICIES).values(tenant_id=tenant_id, **values))

        try:
            await run_unit(self._engine, store)
        except IntegrityError:
            raise NotFound() from None
        self._cache[tenant_id] = (self._monotonic() + POLICY_CACHE_SECONDS, policy)

    async def usage(self, tenant_id: str) -> UsageDay:
        """The tenant's usage of the current budget day."""
        day = budget_day(self._clock.now())
        policy = await self.policy(tenant_id)
        row = await run_unit(
            self._engine,
            lambda conn: conn.execute(
                sa.select(_USAGE.c.messages, _USAGE.c.segments).where(
                    _USAGE.c.tenant_id == tenant_id, _USAGE.c.day == day.isoformat()
                )
            ).first(),
            writes=False,
        )
        return UsageDay(day, row.messages if row else 0, row.segments if row else 0, policy)


def _policy_of(row: sa.Row[object]) -> SmsPolicy:
    return SmsPolicy(**{field.name: getattr(row, field.name) for field in dataclasses.fields(SmsPolicy)})
