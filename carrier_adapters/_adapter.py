"""The request/answer skeleton every operator adapter shares (``aesthetics.md`` section 8.2).

An operator package (``cmcc``, ``cucc``, ``ctcc``) supplies only its dialect from
``docs/operator-dialects.md``: signing, wire models and result-code tables. Everything else lives
here once: configuration, the clock, token shapes, POSTing through :mod:`carrier_adapters._http`,
number-format conversion, result-code translation and ``ping``.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import httpx
from pydantic import BaseModel

from carrier_adapters import _http
from carrier_adapters.base import Assurance, LoginOutcome, OperatorConfig, VerifyOutcome, VerifyResult
from carrier_adapters.errors import CarrierError, CarrierProtocolError, NumberNotServed
from carrier_adapters.numbers import to_e164, to_national

__all__ = ["Clock", "OperatorAdapter", "ResultCodes"]

Clock = Callable[[], datetime]
ResultCodes = Mapping[str, tuple[type[CarrierError], str]]
"""Documented failure codes of one endpoint: raw code -> (error class, what the operator meant)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OperatorAdapter(abc.ABC):
    """Base of the HTTP adapters; subclasses implement the two token exchanges of their dialect.

    ``clock`` must return timezone-aware datetimes; it defaults to the system clock.

    :raises ValueError: if ``config.operator`` is not this adapter's operator.
    """

    OPERATOR: ClassVar[str]
    TOKEN_LIFETIME: ClassVar[int]
    TOKEN_SHAPE: ClassVar[re.Pattern[str]]

    def __init__(
        self, config: OperatorConfig, client: httpx.AsyncClient, *, clock: Clock | None = None
    ) -> None:
        if config.operator != self.OPERATOR:
            raise ValueError(f"{type(self).__name__} cannot serve operator {config.operator!r}")
        self._config = config
        self._client = client
        self._clock = clock or _utc_now
        self._urls: dict[str, httpx.URL] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._config.base_url!r})"

    @property
    def operator(self) -> str:
        """Operator code: ``cmcc``, ``cucc`` or ``ctcc``."""
        return self.OPERATOR

    @property
    def token_lifetime(self) -> int:
        """Seconds an SDK token of this operator stays valid."""
        return self.TOKEN_LIFETIME

    def recognises(self, token: str) -> bool:
        """Whether ``token`` has this operator's token shape."""
        return self.TOKEN_SHAPE.fullmatch(token) is not None

    async def ping(self) -> bool:
        """Whether the operator answers HTTP at all (any status) within the connect timeout."""
        return await _http.ping(self._client, self._config)

    @abc.abstractmethod
    async def exchange_login(self, token: str) -> LoginOutcome:
        """Exchange a login token for the phone number (E.164).

        :raises TokenRejected, CarrierError:
        """

    @abc.abstractmethod
    async def verify_number(self, token: str, phone_number: str) -> VerifyOutcome:
        """Check whether the phone that obtained ``token`` holds ``phone_number`` (E.164).

        :raises TokenRejected, NumberNotServed, CarrierError:
        """

    def _now(self) -> datetime:
        return self._clock()

    def _epoch_millis(self) -> str:
        return str((self._now() - _EPOCH) // timedelta(milliseconds=1))

    async def _post_json(self, path: str, payload: BaseModel) -> bytes:
        request = httpx.Request("POST", self._url(path), json=payload.model_dump())
        return await _http.send(self._client, self._config, request)

    async def _post_form(self, path: str, payload: BaseModel) -> bytes:
        request = httpx.Request("POST", self._url(path), data=payload.model_dump())
        return await _http.send(self._client, self._config, request)

    def _url(self, path: str) -> httpx.URL:
        """The parsed URL of an endpoint (parsed once: parsing costs more than signing the call)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self._config.base_url.rstrip("/") + path)
        return url

    def _national(self, phone_number: str) -> str:
        """The national form of an E.164 number to check; no other number can be ours."""
        try:
            return to_national(phone_number)
        except ValueError:
            raise NumberNotServed(
                self.OPERATOR, f"{self.OPERATOR} serves mainland China numbers only"
            ) from None

    def _e164(self, national: str) -> str:
        """The E.164 form of a number the operator returned."""
        try:
            return to_e164(national)
        except ValueError:
            raise CarrierProtocolError(
                self.OPERATOR, f"{self.OPERATOR} returned a malformed number"
            ) from None

    def _reference(self, value: str | None) -> str:
        """The operator's reference of a successful call, which must be present."""
        if not value:
            raise CarrierProtocolError(self.OPERATOR, f"{self.OPERATOR} answered without a reference")
        return value

    def _failure(self, code: str, codes: ResultCodes) -> CarrierError:
        """The error for a non-success result code; undocumented codes are protocol errors."""
        known = codes.get(code)
        if known is None:
            return CarrierProtocolError(
                self.OPERATOR, f"{self.OPERATOR} answered an undocumented code", code=code
            )
        error, meaning = known
        return error(self.OPERATOR, f"{self.OPERATOR}: {meaning}", code=code)

    def _login(self, national: str, assurance: Assurance, provider_ref: str) -> LoginOutcome:
        return LoginOutcome(
            operator=self.OPERATOR,
            phone_number=self._e164(national),
            assurance=assurance,
            provider_ref=provider_ref,
        )

    def _verdict(self, result: VerifyResult, provider_ref: str) -> VerifyOutcome:
        """A check outcome; billed whenever the operator gave a definite answer."""
        return VerifyOutcome(
            operator=self.OPERATOR,
            result=result,
            billed=result is not VerifyResult.UNKNOWN,
            provider_ref=provider_ref,
        )
