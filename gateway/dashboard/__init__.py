"""The operations dashboard (issue 21 item 3): a tenant's message funnel, operators, identity calls,
verifications, webhook deliveries and queues over a range of Shanghai days, and the search for a
message by id or the last four digits of its number (``docs/dashboard.md``)."""

from __future__ import annotations

from gateway.dashboard.export import CSV_MEDIA_TYPE, identity_csv
from gateway.dashboard.period import MAX_DAYS, Period
from gateway.dashboard.service import DashboardService

__all__ = ["CSV_MEDIA_TYPE", "MAX_DAYS", "DashboardService", "Period", "identity_csv"]
