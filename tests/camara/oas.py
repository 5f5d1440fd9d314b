"""The response schemas the CAMARA test definitions name ("the response body complies with the OAS
schema at ..."), written out from the YAML of each release as JSON Schema 2020-12 (OpenAPI 3.0's
``nullable: true`` as a ``null`` type), and the checks every scenario makes on an answer.

Releases: NumberVerification r3.2 (number-verification 2.1.0), SimSwap r3.3 (sim-swap 2.1.0),
DeviceSwap r3.2 (device-swap 1.0.0), KnowYourCustomerMatch r1.2 (kyc-match 0.4.0).
"""

from __future__ import annotations

from typing import Any, Final

import httpx
import jsonschema_rs

__all__ = ["KYC_MATCH_RESPONSE", "SCHEMAS", "assert_complies", "assert_error", "assert_success"]

X_CORRELATOR: Final = r"^[a-zA-Z0-9-_:;.\/<>{}]{0,256}$"
_DATE_TIME: Final = {"type": ["string", "null"], "format": "date-time"}
_MATCH_RESULT: Final = {"type": "string", "enum": ["true", "false", "not_available"]}
_MATCH_SCORE: Final = {"type": "integer", "minimum": 0, "maximum": 99}
_KYC_RESULTS: Final = (
    "idDocument",
    "idDocumentType",
    "idDocumentExpiryDate",
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
    "postalCode",
    "region",
    "locality",
    "country",
    "houseNumberExtension",
    "birthdate",
    "email",
    "gender",
    "cityOfBirth",
    "countryOfBirth",
    "nationality",
)
_KYC_SCORES: Final = (
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
)

KYC_MATCH_RESPONSE: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        **{f"{name}Match": _MATCH_RESULT for name in _KYC_RESULTS},
        **{f"{name}MatchScore": _MATCH_SCORE for name in _KYC_SCORES},
    },
}
"""``KYC_MatchResponse``; the YAML lists no other property, so none other is expected here."""

SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "NumberVerificationMatchResponse": {
        "type": "object",
        "required": ["devicePhoneNumberVerified"],
        "properties": {"devicePhoneNumberVerified": {"type": "boolean"}},
    },
    "NumberVerificationShareResponse": {
        "type": "object",
        "required": ["devicePhoneNumber"],
        "properties": {"devicePhoneNumber": {"type": "string", "pattern": r"^\+[1-9][0-9]{4,14}$"}},
    },
    "CheckSimSwapInfo": {
        "type": "object",
        "required": ["swapped"],
        "properties": {"swapped": {"type": "boolean"}},
    },
    "SimSwapInfo": {
        "type": "object",
        "required": ["latestSimChange"],
        "properties": {"latestSimChange": _DATE_TIME, "monitoredPeriod": {"type": "integer"}},
    },
    "CheckDeviceSwapInfo": {
        "type": "object",
        "required": ["swapped"],
        "properties": {"swapped": {"type": "boolean"}},
    },
    "DeviceSwapInfo": {
        "type": "object",
        "required": ["latestDeviceChange"],
        "properties": {"latestDeviceChange": _DATE_TIME, "monitoredPeriod": {"type": "integer"}},
    },
    "KYC_MatchResponse": {**KYC_MATCH_RESPONSE, "additionalProperties": False},
    "ErrorInfo": {
        "type": "object",
        "required": ["status", "code", "message"],
        "properties": {
            "status": {"type": "integer"},
            "code": {"type": "string"},
            "message": {"type": "string"},
        },
    },
}


def assert_complies(body: Any, schema: str) -> None:
    """``body`` is valid against the named schema (formats checked: ``date-time`` with a zone)."""
    validator = jsonschema_rs.validator_for(SCHEMAS[schema], validate_formats=True)
    errors = [error.message for error in validator.iter_errors(body)]
    assert not errors, f"{schema}: {errors} in {body!r}"


def _correlated(resp: httpx.Response) -> None:
    sent = resp.request.headers.get("x-correlator")
    assert sent is not None and resp.headers.get("x-correlator") == sent, (sent, resp.headers)


def assert_success(resp: httpx.Response, schema: str) -> dict[str, Any]:
    """The generic success checks: 200, ``application/json``, the request's ``x-correlator`` echoed,
    the body valid against ``schema``; returns the body."""
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].split(";")[0] == "application/json"
    _correlated(resp)
    body: dict[str, Any] = resp.json()
    assert_complies(body, schema)
    return body


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    """``status`` with ``$.status`` and ``$.code`` as given and a user friendly ``$.message``."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].split(";")[0] == "application/json"
    _correlated(resp)
    body = resp.json()
    assert_complies(body, "ErrorInfo")
    assert body["status"] == status and body["code"] == code, body
    message = body["message"]
    assert isinstance(message, str) and len(message) >= 10 and "Traceback" not in message, message
