"""CAMARA request bodies: strict types, exact formats, unknown properties and explicit nulls refused."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ValidationError

from gateway.camara.schemas import (
    KYC_ATTRIBUTES,
    KycMatchRequest,
    NumberVerifyRequest,
    SwapCheckRequest,
    SwapDateRequest,
)

PHONE = "+8613800138000"
DIGEST = "a" * 64

KYC_EXAMPLE = {
    "phoneNumber": "+34629255833",
    "idDocument": "66666666q",
    "idDocumentType": "passport",
    "idDocumentExpiryDate": "2027-07-12",
    "name": "Federica Sanchez Arjona",
    "givenName": "Federica",
    "familyName": "Sanchez Arjona",
    "nameKanaHankaku": "federica",
    "nameKanaZenkaku": "\uff26\uff45\uff44\uff45\uff52\uff49\uff43\uff41",
    "middleNames": "Sanchez",
    "familyNameAtBirth": "YYYY",
    "address": "Tokyo-to Chiyoda-ku Iidabashi 3-10-10",
    "streetName": "Nicolas Salmeron",
    "streetNumber": "4",
    "postalCode": "1028460",
    "region": "Tokyo",
    "locality": "ZZZZ",
    "country": "JP",
    "houseNumberExtension": "VVVV",
    "birthdate": "1978-08-22",
    "email": "abc@example.com",
    "gender": "OTHER",
    "cityOfBirth": "Madrid",
    "countryOfBirth": "ES",
    "nationality": "ES",
}


def _parse(model: type[BaseModel], body: object) -> BaseModel:
    return model.model_validate_json(json.dumps(body))


def test_swap_check_defaults_max_age_to_240() -> None:
    """An empty check body is valid (3-legged) and maxAge defaults to 240 hours."""
    body = _parse(SwapCheckRequest, {})
    assert isinstance(body, SwapCheckRequest) and body.maxAge == 240 and body.phoneNumber is None


def test_swap_check_leaves_large_max_age_to_the_service() -> None:
    """maxAge above 2400 passes the schema: it is OUT_OF_RANGE, not INVALID_ARGUMENT."""
    body = _parse(SwapCheckRequest, {"phoneNumber": PHONE, "maxAge": 100000})
    assert isinstance(body, SwapCheckRequest) and body.maxAge == 100000


@pytest.mark.parametrize(
    "body",
    [
        {"maxAge": "240"},
        {"maxAge": 24.0},
        {"maxAge": 24.5},
        {"maxAge": True},
        {"maxAge": 0},
        {"maxAge": -1},
        {"maxAge": None},
        {"phoneNumber": None},
        {"phoneNumber": "13800138000"},
        {"phoneNumber": "+86 138 0013 8000"},
        {"phoneNumber": "+0123456"},
        {"phoneNumber": "+1234"},
        {"phoneNumber": "+1234567890123456"},
        {"phoneNumber": 8613800138000},
        {"phoneNumber": PHONE + "\n"},
        {"phoneNumber": PHONE, "device": {}},
        [],
        None,
        "check",
    ],
)
def test_swap_check_rejects(body: object) -> None:
    """Wrong types, maxAge below 1, nulls, non-E.164 numbers and unknown properties are invalid."""
    with pytest.raises(ValidationError):
        _parse(SwapCheckRequest, body)


def test_swap_date_body_has_no_max_age() -> None:
    """retrieve-date takes phoneNumber only."""
    with pytest.raises(ValidationError):
        _parse(SwapDateRequest, {"phoneNumber": PHONE, "maxAge": 10})


@pytest.mark.parametrize(
    "body", [{"phoneNumber": PHONE}, {"hashedPhoneNumber": DIGEST}, {"hashedPhoneNumber": "AB" * 32}]
)
def test_number_verify_accepts_exactly_one_form(body: dict[str, str]) -> None:
    """phoneNumber alone, or a 64-hex hashedPhoneNumber alone (either case), is valid."""
    _parse(NumberVerifyRequest, body)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"phoneNumber": PHONE, "hashedPhoneNumber": DIGEST},
        {"unknown": PHONE},
        {"hashedPhoneNumber": "a" * 63},
        {"hashedPhoneNumber": "g" * 64},
        {"hashedPhoneNumber": None},
        {"phoneNumber": "8613800138000"},
    ],
)
def test_number_verify_rejects(body: object) -> None:
    """Empty, both forms, unknown-only, malformed hashes and numbers are invalid."""
    with pytest.raises(ValidationError):
        _parse(NumberVerifyRequest, body)


def test_kyc_accepts_the_specs_example_and_lists_attributes_in_order() -> None:
    """The kyc-match 0.4.0 example is valid; attributes() is everything but phoneNumber, in spec order."""
    body = _parse(KycMatchRequest, KYC_EXAMPLE)
    assert isinstance(body, KycMatchRequest)
    assert list(body.attributes()) == [name for name in KYC_ATTRIBUTES if name in KYC_EXAMPLE]
    assert "phoneNumber" not in body.attributes()


def test_kyc_phone_number_only_is_valid_schema() -> None:
    """Only phoneNumber passes the schema (the service answers INVALID_PARAM_COMBINATION)."""
    body = _parse(KycMatchRequest, {"phoneNumber": PHONE})
    assert isinstance(body, KycMatchRequest) and body.attributes() == {}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"birthdate": "1990-13-01"},
        {"birthdate": "1990-1-1"},
        {"birthdate": "19900101"},
        {"birthdate": "1990-02-30"},
        {"idDocumentExpiryDate": "2027-07-12T00:00:00Z"},
        {"email": "not-an-email"},
        {"email": "a@b"},
        {"email": "a b@example.com"},
        {"gender": "male"},
        {"idDocumentType": "identity_card"},
        {"country": "CHN"},
        {"nationality": "1N"},
        {"name": ""},
        {"name": "x" * 257},
        {"idDocument": "x" * 51},
        {"name": 42},
        {"name": None},
        {"nickname": "Fede"},
    ],
)
def test_kyc_rejects(body: object) -> None:
    """Empty bodies, bad dates, emails, enums, country codes, lengths, types, unknown fields: invalid."""
    with pytest.raises(ValidationError):
        _parse(KycMatchRequest, body)
