"""In-memory stand-ins for the CAMARA services' collaborators: the usage ledger, time, principals.

Operators are :class:`carrier_adapters.testing.FakeExchanger` (``set_history``, ``set_record``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.oauth.tokens import Principal, Subscriber

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Recorded:
    """One usage row as the service asked for it."""

    tenant_id: str
    capability: str
    operator: str
    result: str
    phone_number: str


class ListRecorder:
    """A :class:`~gateway.camara.usage.UsageRecorder` keeping rows in a list."""

    def __init__(self) -> None:
        self.rows: list[Recorded] = []

    async def record(
        self, *, tenant_id: str, capability: str, operator: str, result: str, phone_number: str
    ) -> None:
        """Keep the row."""
        self.rows.append(Recorded(tenant_id, capability, operator, result, phone_number))


def two_legged(*scopes: str) -> Principal:
    """A client-credentials principal."""
    return Principal("tenant-1", "client-1", frozenset(scopes))


def three_legged(
    number: str,
    operator: str = "cmcc",
    *,
    amr: tuple[str, ...] = ("network",),
    expires_at: datetime | None = None,
    jti: str = "jti-1",
) -> Principal:
    """A principal of a 3-legged token for ``number`` issued at :data:`NOW`, by default for 300 s."""
    subscriber = Subscriber(
        phone_number=number,
        operator=operator,
        amr=frozenset(amr),
        token_id=jti,
        expires_at=(expires_at or NOW + timedelta(seconds=300)).timestamp(),
        issued_at=NOW.timestamp(),
    )
    return Principal("tenant-1", "client-1", frozenset(), subscriber)
