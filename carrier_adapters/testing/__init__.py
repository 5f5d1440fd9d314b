"""Test doubles of the adapter boundary; not part of the package's public API (``__all__``).

- :mod:`~carrier_adapters.testing.transport`: :class:`FakeTransport`, an in-memory transport for
  tests of the real adapters and of what wraps a transport.
- :mod:`~carrier_adapters.testing.operator`: :class:`FakeExchanger`, an in-memory operator for
  tests of the gateway's services.
"""

from __future__ import annotations

from carrier_adapters.testing.operator import FAKE_SIGNATURE_HEADER, FakeExchanger, FakeSms, Purpose
from carrier_adapters.testing.transport import Answer, FakeTransport, Request, Route, answer

__all__ = [
    "FAKE_SIGNATURE_HEADER",
    "Answer",
    "FakeExchanger",
    "FakeSms",
    "FakeTransport",
    "Purpose",
    "Request",
    "Route",
    "answer",
]
