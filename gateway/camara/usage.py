"""Usage rows of the CAMARA APIs, in the one-tap usage ledger (same table, same protection).

Every answered (200) CAMARA call is one billed row: ``capability`` names the operation
(``camara_sim_swap_check``, ``camara_kyc_match``, ...), ``result`` a short outcome
(``true``/``false`` for checks, ``OK`` for dates and KYC, ``SHARED`` for the number share),
``provider_ref`` is empty (the line lookups carry no operator reference). Errors are not
recorded. The number is AES-GCM encrypted and blind-indexed with the tenant's phone scope, so
a tenant's CAMARA and one-tap rows are found by the same index.
"""

from __future__ import annotations

from typing import Protocol

from gateway.clock import Clock
from gateway.crypto import BlindIndex, FieldCipher
from gateway.one_tap.ledger import UsageLedger
from gateway.one_tap.service import usage_row

__all__ = ["LedgerRecorder", "UsageRecorder"]


class UsageRecorder(Protocol):
    """Where answered CAMARA calls are recorded; returns once the row is durable."""

    async def record(
        self, *, tenant_id: str, capability: str, operator: str, result: str, phone_number: str
    ) -> None:
        """Record one billed call."""
        ...


class LedgerRecorder:
    """:class:`UsageRecorder` over the :class:`~gateway.one_tap.ledger.UsageLedger`."""

    def __init__(self, ledger: UsageLedger, *, cipher: FieldCipher, index: BlindIndex, clock: Clock) -> None:
        self._ledger = ledger
        self._cipher = cipher
        self._index = index
        self._clock = clock

    async def record(
        self, *, tenant_id: str, capability: str, operator: str, result: str, phone_number: str
    ) -> None:
        """See :meth:`UsageRecorder.record`."""
        row = usage_row(
            self._cipher,
            self._index,
            self._clock,
            tenant_id=tenant_id,
            capability=capability,
            operator=operator,
            billed=True,
            result=result,
            provider_ref="",
            phone_number=phone_number,
        )
        await self._ledger.append(row)
