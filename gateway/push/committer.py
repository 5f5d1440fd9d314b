"""Group commit of accepted messages: concurrent sends of one process stored by one transaction.

:meth:`~gateway.push.service.PushService.send` hands each accepted message's rows to
:meth:`Acceptances.store` and answers ``202`` only once that returns, i.e. once the transaction
holding them committed. Every send goes this way; a lone one is a batch of one, written at once.
While a unit of work runs, further sends gather, and the next unit takes them together
(:class:`~gateway.db.GroupCommit`, up to ``max_items`` messages, ``units`` units at a time): one
``BEGIN``, one multi-row insert per table (expired idempotency records of the batch's keys deleted
first), the daily-budget charges added up per tenant and day, one ``COMMIT``.

The unit first checks that no message's template was withdrawn since the service read it (the
service keeps the approved templates it read; their text never changes, their review state may):
a template whose row says anything but ``approved`` refuses the message with
``TemplateNotApproved``, as if the service had read it then.

A unit of several messages that fails on a constraint (an ``Idempotency-Key`` two requests use at
once, a link code drawn twice) or on the budget (the sum does not fit) stores none of them; each of
its messages is then stored by a unit of its own through the same writer, so every request gets its
own answer: the others are accepted, the conflicting one sees the ``IntegrityError`` (which the
service answers as an idempotent replay) or ``QuotaExceeded``. Any other failure fails every
request of the unit.

Rows that two units may both touch are written in one order (budget rows by tenant and day,
idempotency records by tenant and key), so overlapping units wait for each other instead of
deadlocking; the budget rows, which every unit of a tenant updates, come last, so a unit holds their
lock only from its update to its commit.

A request cancelled while it waits does not withdraw its message: the unit that takes it commits it
(as a unit already running always did). The client saw no ``202``; a retry with the same
``Idempotency-Key`` answers the stored response.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from prometheus_client import Histogram
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import GroupCommit, run_unit
from gateway.errors import TemplateNotApproved
from gateway.push.guard import Charge, combine_charges
from gateway.push.models import IdempotencyRecord, MessageEvent, PushLink, PushMessage
from gateway.templates.models import TemplateRecord
from gateway.templates.spec import Status

__all__ = ["BATCH_SIZES", "DEFAULT_MAX_ITEMS", "DEFAULT_UNITS", "Acceptance", "Acceptances"]

DEFAULT_MAX_ITEMS = 128
"""Messages per unit at most."""

DEFAULT_UNITS = 2
"""Units in flight at once: one's statements overlap the other's commit."""

BATCH_SIZES = Histogram(
    "gateway_push_accept_batch_size",
    "Accepted messages stored per transaction of the acceptance group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)

_MESSAGES: sa.Table = PushMessage.__table__  # type: ignore[attr-defined]
_LINKS: sa.Table = PushLink.__table__  # type: ignore[attr-defined]
_EVENTS: sa.Table = MessageEvent.__table__  # type: ignore[attr-defined]
_RECORDS: sa.Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_TEMPLATES: sa.Table = TemplateRecord.__table__  # type: ignore[attr-defined]
_WITHDRAWN = (
    sa.select(_TEMPLATES.c.status)
    .where(_TEMPLATES.c.id.in_(sa.bindparam("ids", expanding=True)))
    .where(_TEMPLATES.c.status != Status.APPROVED.value)
    .limit(1)
)
_STALE = sa.delete(_RECORDS).where(
    _RECORDS.c.tenant_id == sa.bindparam("s_tenant"),
    _RECORDS.c.key == sa.bindparam("s_key"),
    _RECORDS.c.expires_at <= sa.bindparam("s_now"),
)


@dataclass(frozen=True, slots=True)
class Acceptance:
    """One accepted message's writes: its budget charge and its rows as column values.

    ``record`` is the idempotency record, if the request had a key; a record of the same key that
    expired by ``now`` is deleted first.
    """

    charge: Charge
    message: Mapping[str, Any]
    link: Mapping[str, Any] | None
    event: Mapping[str, Any]
    record: Mapping[str, Any] | None
    now: datetime


class _Mixed(Exception):
    """A unit of several messages failed on one of them; each is to be stored alone."""


class Acceptances:
    """The group commit of accepted messages (see the module docstring)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        after: Callable[[], None] | None = None,
        max_items: int = DEFAULT_MAX_ITEMS,
        units: int = DEFAULT_UNITS,
    ) -> None:
        self._engine = engine
        self._after = after
        self._group: GroupCommit[Acceptance, None] = GroupCommit(
            engine, _write, after=self._committed, max_items=max_items, units=units
        )

    async def store(self, acceptance: Acceptance) -> None:
        """Return once ``acceptance`` is committed.

        :raises IntegrityError: a row conflicts with a stored one (e.g. its idempotency key).
        :raises QuotaExceeded: the charge does not fit the tenant's daily budget.
        :raises TemplateNotApproved: the message's template is no longer approved.
        :raises sqlalchemy.exc.SQLAlchemyError: the database failed.
        """
        try:
            await self._group.add([acceptance])
        except _Mixed:
            await run_unit(self._engine, partial(_write_one, acceptance))
            self._committed(None)

    def _committed(self, _: None) -> None:
        if self._after is not None:
            self._after()


def _write(conn: Connection, batch: list[Acceptance]) -> None:
    """Store ``batch`` in ``conn``'s unit; see the module docstring for the order."""
    BATCH_SIZES.observe(len(batch))
    withdrawn = conn.execute(
        _WITHDRAWN, {"ids": sorted({item.message["template_id"] for item in batch})}
    ).first()
    if withdrawn is not None:
        if len(batch) > 1:
            raise _Mixed()
        raise TemplateNotApproved(f"The template is {withdrawn.status}, not approved.")
    try:
        records = sorted(
            ((item.record, item.now) for item in batch if item.record is not None),
            key=lambda pair: (pair[0]["tenant_id"], pair[0]["key"]),
        )
        if records:
            stale = [{"s_tenant": r["tenant_id"], "s_key": r["key"], "s_now": now} for r, now in records]
            conn.execute(_STALE, stale)
        _insert(conn, _MESSAGES, [item.message for item in batch])
        _insert(conn, _LINKS, [item.link for item in batch if item.link is not None])
        _insert(conn, _EVENTS, [item.event for item in batch])
        _insert(conn, _RECORDS, [record for record, _ in records])
        if len(batch) == 1:
            batch[0].charge.apply(conn)
        elif not all(charge.fits(conn) for charge in combine_charges(item.charge for item in batch)):
            raise _Mixed()
    except IntegrityError as exc:
        if len(batch) > 1:
            raise _Mixed() from exc
        raise


def _write_one(acceptance: Acceptance, conn: Connection) -> None:
    _write(conn, [acceptance])


def _insert(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """One multi-row insert per set of columns the rows name (usually one)."""
    by_columns: dict[tuple[str, ...], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_columns[tuple(row)].append(row)
    for group in by_columns.values():
        conn.execute(sa.insert(table), group)
