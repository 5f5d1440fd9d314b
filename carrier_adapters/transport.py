"""The transport seam: how an adapter's HTTP calls leave the process.

Adapters are handed a :class:`Transport` and call nothing else; the gateway supplies one over
aiohttp (``gateway.outbound``), tests the in-memory fake of :mod:`carrier_adapters.testing`. A
transport reports its failures as carrier errors, built by the functions here so that every
transport words them alike:

- :func:`refused`: the connection was refused or could not be made; nothing was sent
  (``CarrierUnavailable`` with ``unsent``). The adapters retry this, and only this, once.
- :func:`timed_out`: no whole answer within the call's ``timeout``, which the transport enforces
  (``CarrierTimeout``; the request may have reached the operator).
- :func:`dropped`: the connection failed once the request was on its way, or the answer was
  malformed or too large (``CarrierUnavailable``).
- :class:`~carrier_adapters.errors.CircuitOpen`: the transport holds the operator as down and did
  not call it (not retried).

An HTTP status is an answer, not a failure: the adapters judge it.
"""

from __future__ import annotations

from typing import Protocol

from carrier_adapters.errors import CarrierTimeout, CarrierUnavailable

__all__ = ["Transport", "dropped", "refused", "timed_out"]


class Transport(Protocol):
    """Sends an adapter's HTTP requests to an operator (see the module docstring for failures)."""

    async def post(
        self,
        url: str,
        body: bytes,
        content_type: str,
        *,
        operator: str,
        timeout: float,  # noqa: ASYNC109 - the transport owns the call's deadline
        connect_timeout: float,
    ) -> tuple[int, bytes]:
        """POST ``body`` (of ``content_type``) to ``url`` for ``operator``; the status and the whole
        body of the answer, decoded of any ``Content-Encoding``. Redirects are not followed.

        ``timeout`` bounds the whole call in seconds, ``connect_timeout`` the connection.

        :raises CarrierUnavailable, CarrierTimeout: see the module docstring.
        """
        ...

    async def get(self, url: str, *, operator: str, timeout: float) -> int:  # noqa: ASYNC109
        """GET ``url`` for ``operator`` within ``timeout`` seconds; the answer's status (body discarded).

        :raises CarrierUnavailable, CarrierTimeout: see the module docstring.
        """
        ...


def refused(operator: str) -> CarrierUnavailable:
    """The error of a connection that was refused or could not be made (nothing was sent)."""
    return CarrierUnavailable(operator, f"{operator} refused the connection", unsent=True)


def timed_out(operator: str) -> CarrierTimeout:
    """The error of a call that got no whole answer within its timeout."""
    return CarrierTimeout(operator, f"{operator} did not answer in time")


def dropped(operator: str, reason: str = "connection lost") -> CarrierUnavailable:
    """The error of a call whose connection failed after sending, or whose answer was unusable."""
    return CarrierUnavailable(operator, f"{operator} connection failed ({reason})")
