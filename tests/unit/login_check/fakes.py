"""Fakes for the login-check unit tests: a manual clock and operators with scripted swap histories."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from carrier_adapters import CarrierError, SwapHistory

__all__ = ["FakeLines", "carrier_error"]


@dataclass
class FakeLines:
    """An operator's SIM and device histories per number, with queued failures per history kind.

    A number without a scripted history has had no change within the window.
    """

    operator: str = "cmcc"
    window_days: int = 90
    sim: dict[str, SwapHistory] = field(default_factory=dict)
    device: dict[str, SwapHistory] = field(default_factory=dict)
    failures: dict[str, list[Exception]] = field(default_factory=lambda: {"sim": [], "device": []})
    calls: list[tuple[str, str]] = field(default_factory=list)

    def set_history(
        self,
        phone_number: str,
        *,
        sim_changed_at: datetime | None = None,
        device_changed_at: datetime | None = None,
        device_known: bool = True,
    ) -> None:
        """Script the latest changes of ``phone_number``."""
        self.sim[phone_number] = SwapHistory(self.operator, sim_changed_at, self.window_days)
        self.device[phone_number] = SwapHistory(
            self.operator, device_changed_at if device_known else None, self.window_days, device_known
        )

    def fail(self, kind: str, error: Exception) -> None:
        """Raise ``error`` on the next ``kind`` (``sim`` or ``device``) history call."""
        self.failures[kind].append(error)

    async def sim_history(self, phone_number: str) -> SwapHistory:
        """The scripted SIM history."""
        return self._answer("sim", phone_number, self.sim)

    async def device_history(self, phone_number: str) -> SwapHistory:
        """The scripted device history."""
        return self._answer("device", phone_number, self.device)

    def _answer(self, kind: str, phone_number: str, table: dict[str, SwapHistory]) -> SwapHistory:
        self.calls.append((kind, phone_number))
        if self.failures[kind]:
            raise self.failures[kind].pop(0)
        return table.get(phone_number, SwapHistory(self.operator, None, self.window_days))


def carrier_error(cls: type[CarrierError], operator: str = "cmcc") -> CarrierError:
    """A carrier error without personal data."""
    return cls(operator, "scripted failure", code="X")
