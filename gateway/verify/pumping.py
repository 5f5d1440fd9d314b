"""The pumping guard: a number prefix that receives many codes and verifies few is closed to codes.

SMS pumping walks a block of numbers the fraudster is paid for; nobody there ever types a code.
After each code sent, :meth:`PumpingGuard.after_send` counts the tenant's requests to the same
prefix (:func:`~gateway.push.guard.number_prefix`) created in the last :attr:`PumpingPolicy.window`
that sent a code, leaving out those still pending and younger than :attr:`PumpingPolicy.grace`
(their customer may be typing). When at least :attr:`PumpingPolicy.min_codes` were sent and the
share verified by code is under :attr:`PumpingPolicy.min_verified_ratio`, the prefix is blocked
for :attr:`PumpingPolicy.block`: logged (the prefix only), counted in
``gateway_verify_prefix_blocks_total`` and published as ``verify.prefix_blocked``. While blocked,
the verification service sends no code to the prefix (the network step still runs). Counts are
read from ``verify_requests``, so every process sees the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock
from gateway.crypto import BlindIndex
from gateway.db import as_utc, run_unit
from gateway.push.guard import number_prefix
from gateway.verify.models import PrefixBlock, VerifyRequest
from gateway.verify.workflow import Status
from gateway.webhooks import Publisher

__all__ = ["PumpingGuard", "PumpingPolicy"]

log = structlog.get_logger(__name__)
_BLOCKS = Counter("gateway_verify_prefix_blocks", "Number prefixes the pumping guard closed to codes")
_REQUESTS = VerifyRequest.__table__  # type: ignore[attr-defined]
_TABLE = PrefixBlock.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class PumpingPolicy:
    """When a prefix is blocked; see the module docstring."""

    window: timedelta = timedelta(hours=1)
    grace: timedelta = timedelta(seconds=60)
    min_codes: int = 20
    min_verified_ratio: float = 0.2
    block: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Prefix:
    """A number's prefix as the guard keys it (``label`` is for logs and the webhook only)."""

    tenant_id: str
    index: str
    label: str


class PumpingGuard:
    """See the module docstring."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        index: BlindIndex,
        clock: Clock,
        events: Publisher,
        policy: PumpingPolicy | None = None,
    ) -> None:
        self._engine = engine
        self._index = index
        self._clock = clock
        self._events = events
        self._policy = policy or PumpingPolicy()

    def prefix(self, tenant_id: str, phone: str) -> Prefix:
        """The prefix of ``phone`` for ``tenant_id``."""
        label = number_prefix(phone)
        return Prefix(tenant_id, self._index.compute(label, scope=f"verify-prefix|{tenant_id}"), label)

    async def blocked_for(self, prefix: Prefix) -> int | None:
        """Seconds left of the prefix's block, or None when it is open."""
        statement = sa.select(_TABLE.c.until).where(
            (_TABLE.c.tenant_id == prefix.tenant_id) & (_TABLE.c.prefix_index == prefix.index)
        )
        until: datetime | None = await run_unit(self._engine, partial(_scalar, statement), writes=False)
        now = self._clock.now()
        if until is None or as_utc(until) <= now:
            return None
        return max(1, int((as_utc(until) - now).total_seconds()))

    async def after_send(self, prefix: Prefix) -> None:
        """Count the prefix's recent codes and block it when they look like pumping (another
        process opening the same block at once wins)."""
        try:
            opened = await run_unit(self._engine, partial(self._judge, prefix, self._clock.now()))
        except IntegrityError:
            return
        if opened:
            self._events.on_publish()

    def _judge(self, prefix: Prefix, now: datetime, conn: Connection) -> bool:
        policy = self._policy
        mature = (_REQUESTS.c.status != Status.PENDING.value) | (_REQUESTS.c.created_at < now - policy.grace)
        sent, verified = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(sa.case((_REQUESTS.c.verified_by_code, 1), else_=0)), 0),
            ).where(
                (_REQUESTS.c.tenant_id == prefix.tenant_id)
                & (_REQUESTS.c.prefix_index == prefix.index)
                & (_REQUESTS.c.created_at >= now - policy.window)
                & (_REQUESTS.c.sends > 0)
                & mature
            )
        ).one()
        if sent < policy.min_codes or verified >= sent * policy.min_verified_ratio:
            return False
        key = (_TABLE.c.tenant_id == prefix.tenant_id) & (_TABLE.c.prefix_index == prefix.index)
        until = conn.execute(sa.select(_TABLE.c.until).where(key).with_for_update()).scalar()
        if until is not None and as_utc(until) > now:
            return False
        row = {"until": now + policy.block, "opened_at": now, "codes_sent": sent, "verified": verified}
        if until is None:
            conn.execute(
                sa.insert(_TABLE).values(tenant_id=prefix.tenant_id, prefix_index=prefix.index, **row)
            )
        else:
            conn.execute(sa.update(_TABLE).where(key).values(**row))
        self._events.stage(
            conn,
            tenant_id=prefix.tenant_id,
            event_type="verify.prefix_blocked",
            data={
                "prefix": prefix.label,
                "until": row["until"].isoformat(),
                "codesSent": sent,
                "verified": verified,
            },
        )
        _BLOCKS.inc()
        log.warning("verify_prefix_blocked", prefix=prefix.label, codes_sent=sent, verified=verified)
        return True


def _scalar(statement: sa.Select[Any], conn: Connection) -> Any:
    return conn.execute(statement).scalar()
