"""The dashboard's daily rollups, per tenant and Shanghai day (``YYYY-MM-DD``).

Aggregating a month of a busy tenant's messages with their history on every page view takes
seconds (``docs/dashboard.md``), so :mod:`gateway.dashboard.rollups` keeps these tables instead:
each (tenant, day) is recomputed from the raw rows as a whole, in one transaction, while its
messages can still change, and is final after that. Rows hold counts only, no personal data.

- ``dashboard_message_days``: per template and operator (``""``: none yet), the funnel steps and
  the delivery outcomes (see :mod:`gateway.dashboard.queries` for what each counts).
- ``dashboard_latency_days``: per operator, how many delivery reports arrived within each bucket of
  milliseconds after the submission (two significant digits, see :func:`latency_bucket`).
- ``dashboard_failure_days``: per operator, ``kind`` and ``reason``: final failures (``kind``
  ``final``, reason as in the funnel) and the operators' errors in the history (``submit_failed``,
  ``failed``, ``unknown``, reason: the entry's detail).
- ``dashboard_usage_days``: the usage ledger per operator and capability: calls and billed calls.
- ``dashboard_verify_days``: verification requests created that day, by status.
- ``dashboard_queue_days``: per branch, the tickets of that service day by status, and the number and
  total milliseconds of the waits from issue to call.
- ``dashboard_webhook_days``: webhook deliveries created that day, per target (``""``: the tenant's
  endpoint, else the sink) and status.
- ``dashboard_refreshes``: when each (tenant, day) was last computed, whether it is final, and until
  when a dead-letter retry keeps it open (``open_until``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = [
    "FailureDay",
    "LatencyDay",
    "MessageDay",
    "QueueDay",
    "Refresh",
    "UsageDay",
    "VerifyDay",
    "WebhookDay",
    "latency_bucket",
]


class MessageDay(SQLModel, table=True):
    """One tenant's messages of one day, template and operator."""

    __tablename__ = "dashboard_message_days"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    day: str = Field(primary_key=True, max_length=10)
    template_id: str = Field(primary_key=True, max_length=40)
    operator: str = Field(primary_key=True, max_length=8)
    accepted: int
    submitted: int
    delivered: int
    opened: int
    location_shared: int
    ticket_called: int
    failed: int
    undelivered: int
    no_report: int


class LatencyDay(SQLModel, table=True):
    """How many of one day's messages of one operator had their delivery report ``bucket_ms`` (to two
    significant digits) after their submission."""

    __tablename__ = "dashboard_latency_days"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    day: str = Field(primary_key=True, max_length=10)
    operator: str = Field(primary_key=True, max_length=8)
    bucket_ms: int = Field(primary_key=True, sa_type=sa.BigInteger)
    messages: int


class FailureDay(SQLModel, table=True):
    """How many of one day's messages failed one way at one operator (see the module docstring)."""

    __tablename__ = "dashboard_failure_days"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    day: str = Field(primary_key=True, max_length=10)
    operator: str = Field(primary_key=True, max_length=8)
    kind: str = Field(primary_key=True, max_length=32)
    reason: str = Field(primary_key=True, max_length=64)
    count: int


class UsageDay(SQLModel, table=True):
    """One tenant's usage-ledger rows of one day, operator and capability."""

    __tablename__ = "dashboard_usage_days"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    day: str = Field(primary_key=True, max_length=10)
    operator: str = Field(primary_key=True, max_length=8)
    capability: str = Field(primary_key=True, max_length=40)
    calls: int
    billed: int


class VerifyDay(SQLModel, table=True):
    """One tenant's verification requests created on one day, by status."""

    __tablename__ = "dashboard_verify_days"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    day: str = Field(primary_key=True, max_length=10)
    requests: int
    completed: int
    by_code: int
    failed: int
    expired: int
    cancelled: int
    pending: int


class QueueDay(SQLModel, table=True):
    """One branch's tickets of one service day; ``waited`` tickets were called, after ``wait_ms`` in all."""

    __tablename__ = "dashboard_queue_days"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    day: str = Field(primary_key=True, max_length=10)
    branch_id: str = Field(primary_key=True, max_length=40)
    issued: int
    called: int
    no_show: int
    cancelled: int
    waiting: int
    waited: int
    wait_ms: int = Field(sa_type=sa.BigInteger)


class WebhookDay(SQLModel, table=True):
    """One tenant's webhook deliveries created on one day, to one target, in one status."""

    __tablename__ = "dashboard_webhook_days"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    day: str = Field(primary_key=True, max_length=10)
    target: str = Field(primary_key=True, max_length=80)
    status: str = Field(primary_key=True, max_length=16)
    deliveries: int


class Refresh(SQLModel, table=True):
    """When one (tenant, day) of the rollups was computed; ``final`` once its rows cannot change,
    which a dead-letter retry postpones to ``open_until``."""

    __tablename__ = "dashboard_refreshes"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    day: str = Field(primary_key=True, max_length=10)
    computed_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    final: bool = False
    open_until: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


def latency_bucket(ms: int) -> int:
    """``ms`` cut to two significant digits (below 100 ms exact; negative: 0): the rollup's bucket.

    :func:`gateway.dashboard.rollups.bucket_sql` is the same in SQL.
    """
    if ms < 100:
        return max(ms, 0)
    step = int(10 ** (len(str(ms)) - 2))
    return ms // step * step
