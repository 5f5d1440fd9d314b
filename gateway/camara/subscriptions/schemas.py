"""The request body of ``POST /sim-swap-subscriptions/v0.3/subscriptions`` (sim-swap-subscriptions 0.3.0).

Structure is checked strictly (unknown properties at any depth, explicit ``null``, wrong JSON
types, an unknown or second event type, ``subscriptionMaxEvents`` below 1, a
``subscriptionExpireTime`` without time zone: 400 INVALID_ARGUMENT). ``protocol``, ``sink`` and
``sinkCredential`` are read loosely here so that the service can answer their own CAMARA codes
(:func:`sink_credential`): INVALID_PROTOCOL, INVALID_SINK, INVALID_CREDENTIAL, INVALID_TOKEN.

``config.initialEvent`` is accepted; a SIM swap is an occurrence, not a state, so there is no
initial event to send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from gateway.camara.schemas import forbid_null_schema
from gateway.camara.subscriptions.events import SWAPPED
from gateway.errors import InvalidCredential, InvalidSinkToken
from gateway.wire import E164

__all__ = ["SinkToken", "SubscriptionRequest", "sink_credential"]

_TOKEN = re.compile(r"^[\x21-\x7e]{1,4096}$")
"""Visible ASCII: the token goes into an ``Authorization`` header as it is."""


def _rfc3339(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be a date-time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("must be an RFC 3339 date-time") from exc
    if moment.tzinfo is None:
        raise ValueError("must have a time zone")
    return moment


DateTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
"""An RFC 3339 string with a time zone (parsed here: strict models refuse strings after a
``before`` model validator)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, json_schema_extra=forbid_null_schema)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(name for name in cls.model_fields if name in data and data[name] is None)
            if nulls:
                raise ValueError(f"{', '.join(nulls)} must not be null")
        return data


class SubscriptionDetail(_Body):
    """``config.subscriptionDetail``: the line, with 2-legged tokens only."""

    phoneNumber: Annotated[str, Field(pattern=E164)] | None = None


class SubscriptionConfig(_Body):
    """``config``."""

    subscriptionDetail: SubscriptionDetail
    subscriptionExpireTime: DateTime | None = None
    subscriptionMaxEvents: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None
    initialEvent: bool | None = None


class SubscriptionRequest(_Body):
    """The whole body."""

    protocol: str
    sink: Annotated[str, Field(max_length=2048)]
    sinkCredential: dict[str, Any] | None = None
    types: Annotated[
        list[Literal["org.camaraproject.sim-swap-subscriptions.v0.swapped"]],
        Field(min_length=1, max_length=1),
    ]
    config: SubscriptionConfig

    @property
    def event_type(self) -> str:
        """The one subscribed type."""
        return SWAPPED


@dataclass(frozen=True, slots=True)
class SinkToken:
    """The bearer token to present to the sink, and when it expires."""

    access_token: str
    expires_at: datetime


class _AccessTokenCredential(_Body):
    credentialType: Literal["ACCESSTOKEN"]
    accessTokenType: str
    accessToken: str
    accessTokenExpiresUtc: DateTime


def sink_credential(raw: dict[str, Any] | None, now: datetime) -> SinkToken | None:
    """The sink token of a ``sinkCredential``, or None without one.

    :raises InvalidCredential: not an object of ``credentialType`` ``ACCESSTOKEN`` with exactly
        ``accessTokenType``, ``accessToken`` and ``accessTokenExpiresUtc`` (date-time with zone).
    :raises InvalidSinkToken: ``accessTokenType`` is not ``bearer``, the token is empty, longer
        than 4096 characters or not visible ASCII, or it has already expired.
    """
    if raw is None:
        return None
    if raw.get("credentialType") != "ACCESSTOKEN":
        raise InvalidCredential()
    try:
        credential = _AccessTokenCredential.model_validate(raw)
    except ValidationError as exc:
        raise InvalidCredential(
            "sinkCredential must hold exactly credentialType, accessTokenType, accessToken and "
            "accessTokenExpiresUtc (date-time with time zone)."
        ) from exc
    if credential.accessTokenType != "bearer":
        raise InvalidSinkToken("accessTokenType must be 'bearer'.")
    if not _TOKEN.match(credential.accessToken):
        raise InvalidSinkToken("accessToken must be 1 to 4096 visible ASCII characters.")
    if credential.accessTokenExpiresUtc <= now:
        raise InvalidSinkToken("accessTokenExpiresUtc is in the past.")
    return SinkToken(credential.accessToken, credential.accessTokenExpiresUtc)
