"""Request bodies of the CAMARA APIs, exactly as their releases define them (camara.md §1).

Every body is strict: unknown properties, explicit ``null`` and JSON values of the wrong type
(``"240"`` or ``24.0`` for an integer) are 400 INVALID_ARGUMENT. ``maxAge`` is only bounded
below here: above 2400 it is the API's ``OUT_OF_RANGE``, decided by the service. The KYC Match
body follows kyc-match 0.4.0 with the ``maxLength`` bounds and the alpha-2 country pattern of
the next release, and rejects empty strings (an empty attribute cannot be matched).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from gateway.wire import E164, described_pattern

__all__ = [
    "DEFAULT_MAX_AGE",
    "KYC_ATTRIBUTES",
    "KYC_SCORED",
    "KycMatchRequest",
    "NumberVerifyRequest",
    "SwapCheckRequest",
    "SwapDateRequest",
    "forbid_null_schema",
]

SHA256_HEX = described_pattern(
    r"^[a-fA-F0-9]{64}$", "the SHA-256 of the E.164 number with +, as 64 hexadecimal characters"
)
DEFAULT_MAX_AGE = 240
_EMAIL = described_pattern(
    r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+$",
    "an email address, e.g. name@example.com",
)

PhoneNumber = Annotated[str, Field(pattern=E164)]


def _calendar_date(value: str) -> str:
    date.fromisoformat(value)
    return value


_Text = Annotated[str, Field(min_length=1, max_length=256)]
_Date = Annotated[
    str,
    Field(pattern=described_pattern(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "a date YYYY-MM-DD")),
    AfterValidator(_calendar_date),
]
_Country = Annotated[
    str, Field(pattern=described_pattern(r"^[A-Za-z]{2}$", "an ISO 3166-1 alpha-2 country code, e.g. CN"))
]


def forbid_null_schema(schema: dict[str, Any]) -> None:
    """Adjust a strict body's JSON schema to its ``_no_nulls`` rule: optional properties may be
    omitted, never ``null``."""
    for prop in schema.get("properties", {}).values():
        options = prop.get("anyOf")
        if options is not None and {"type": "null"} in options:
            rest = [option for option in prop.pop("anyOf") if option != {"type": "null"}]
            if len(rest) == 1:
                prop.update(rest[0])
            else:
                prop["anyOf"] = rest
        if "default" in prop and prop["default"] is None:
            del prop["default"]


def _exactly_one_schema(schema: dict[str, Any]) -> None:
    forbid_null_schema(schema)
    schema["oneOf"] = [{"required": ["phoneNumber"]}, {"required": ["hashedPhoneNumber"]}]


def _at_least_one_schema(schema: dict[str, Any]) -> None:
    forbid_null_schema(schema)
    schema["minProperties"] = 1


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


class NumberVerifyRequest(_Body):
    """``POST /number-verification/v2/verify``: exactly one of the two properties."""

    model_config = ConfigDict(json_schema_extra=_exactly_one_schema)

    phoneNumber: PhoneNumber | None = None
    hashedPhoneNumber: Annotated[str, Field(pattern=SHA256_HEX)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.phoneNumber is None) == (self.hashedPhoneNumber is None):
            raise ValueError("exactly one of phoneNumber and hashedPhoneNumber is required")
        return self


class SwapDateRequest(_Body):
    """``POST /sim-swap/v2/retrieve-date`` and ``/device-swap/v1/retrieve-date``."""

    phoneNumber: PhoneNumber | None = None


class SwapCheckRequest(SwapDateRequest):
    """``POST /sim-swap/v2/check`` and ``/device-swap/v1/check``; ``maxAge`` in hours."""

    maxAge: Annotated[int, Field(ge=1)] = DEFAULT_MAX_AGE


class KycMatchRequest(_Body):
    """``POST /kyc-match/v0.4/match`` (kyc-match 0.4.0): every property optional, at least one sent."""

    model_config = ConfigDict(json_schema_extra=_at_least_one_schema)

    phoneNumber: PhoneNumber | None = None
    idDocument: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    idDocumentType: (
        Literal[
            "passport",
            "national_id_card",
            "residence_permit",
            "diplomatic_id",
            "driver_licence",
            "social_security_id",
            "other",
        ]
        | None
    ) = None
    idDocumentExpiryDate: _Date | None = None
    name: _Text | None = None
    givenName: _Text | None = None
    familyName: _Text | None = None
    nameKanaHankaku: _Text | None = None
    nameKanaZenkaku: _Text | None = None
    middleNames: _Text | None = None
    familyNameAtBirth: _Text | None = None
    address: _Text | None = None
    streetName: _Text | None = None
    streetNumber: _Text | None = None
    postalCode: _Text | None = None
    region: _Text | None = None
    locality: _Text | None = None
    country: _Country | None = None
    houseNumberExtension: _Text | None = None
    birthdate: _Date | None = None
    email: Annotated[str, Field(max_length=254, pattern=_EMAIL)] | None = None
    gender: Literal["MALE", "FEMALE", "OTHER"] | None = None
    cityOfBirth: _Text | None = None
    countryOfBirth: _Country | None = None
    nationality: _Country | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("at least one property is required")
        return self

    def attributes(self) -> dict[str, str]:
        """The attributes sent for matching (everything but ``phoneNumber``), in spec order."""
        return {name: value for name in KYC_ATTRIBUTES if isinstance(value := getattr(self, name), str)}


KYC_ATTRIBUTES: tuple[str, ...] = tuple(
    name for name in KycMatchRequest.model_fields if name != "phoneNumber"
)
"""The matchable attributes; the response has ``<attr>Match`` for each one sent."""

KYC_SCORED: frozenset[str] = frozenset(
    {
        "name",
        "givenName",
        "familyName",
        "nameKanaHankaku",
        "nameKanaZenkaku",
        "middleNames",
        "familyNameAtBirth",
        "address",
        "streetName",
        "streetNumber",
        "region",
        "locality",
        "email",
        "cityOfBirth",
    }
)
"""Attributes whose ``false`` carries a ``<attr>MatchScore`` (kyc-match 0.4.0)."""
