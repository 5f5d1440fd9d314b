"""The response schemas the CAMARA test definitions name ("the response body complies with the OAS
schema at ..."), written out from the YAML of each release as JSON Schema 2020-12 (OpenAPI 3.0's
``nullable: true`` as a ``null`` type), and the checks every scenario makes on an answer.

Releases: NumberVerification r3.2 (number-verification 2.1.0), SimSwap r3.3 (sim-swap 2.1.0 and
sim-swap-subscriptions 0.3.0), DeviceSwap r3.2 (device-swap 1.0.0), KnowYourCustomerMatch r1.2
(kyc-match 0.4.0).
"""

from __future__ import annotations

from typing import Any, Final

import httpx
import jsonschema_rs

__all__ = [
    "KYC_MATCH_RESPONSE",
    "SCHEMAS",
    "assert_complies",
    "assert_correlated",
    "assert_error",
    "assert_success",
]

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

_E164: Final = {"type": "string", "pattern": r"^\+[1-9][0-9]{4,14}$"}
_SUBSCRIPTION_ID: Final = {"type": "string"}
_INSTANT: Final = {"type": "string", "format": "date-time"}
_SUBSCRIPTION: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["sink", "protocol", "config", "types", "id"],
    "properties": {
        "protocol": {"type": "string", "enum": ["HTTP", "MQTT3", "MQTT5", "AMQP", "NATS", "KAFKA"]},
        "sink": {"type": "string", "format": "uri", "pattern": r"^https:\/\/.+$"},
        "types": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1,
            "items": {"type": "string", "enum": ["org.camaraproject.sim-swap-subscriptions.v0.swapped"]},
        },
        "config": {
            "type": "object",
            "required": ["subscriptionDetail"],
            "properties": {
                "subscriptionDetail": {"type": "object", "properties": {"phoneNumber": _E164}},
                "subscriptionExpireTime": _INSTANT,
                "subscriptionMaxEvents": {"type": "integer", "minimum": 1},
            },
        },
        "id": _SUBSCRIPTION_ID,
        "startsAt": _INSTANT,
        "expiresAt": _INSTANT,
        "status": {
            "type": "string",
            "enum": ["ACTIVATION_REQUESTED", "ACTIVE", "EXPIRED", "INACTIVE", "DELETED"],
        },
        "protocolSettings": {
            "type": "object",
            "properties": {
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "method": {"type": "string", "enum": ["POST"]},
            },
        },
    },
}
"""``Subscription`` with ``protocol`` HTTP (its discriminator maps HTTP to ``HTTPSubscriptionResponse``,
which adds ``protocolSettings``)."""
_CLOUD_EVENT: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["id", "source", "specversion", "type", "time"],
    "properties": {
        "id": {"type": "string"},
        "source": {"type": "string", "format": "uri-reference", "minLength": 1},
        "type": {
            "type": "string",
            "enum": [
                "org.camaraproject.sim-swap-subscriptions.v0.swapped",
                "org.camaraproject.api-name.v0.subscription-started",
                "org.camaraproject.api-name.v0.subscription-updated",
                "org.camaraproject.sim-swap-subscriptions.v0.subscription-ended",
            ],
        },
        "specversion": {"type": "string", "enum": ["1.0"]},
        "datacontenttype": {"type": "string", "enum": ["application/json"]},
        "data": {"type": "object"},
        "time": _INSTANT,
    },
}
"""``CloudEvent``; its ``type`` discriminator maps each event type to one of the ``Event*`` schemas."""

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
    "Subscription": _SUBSCRIPTION,
    "SubscriptionList": {"type": "array", "minItems": 0, "items": _SUBSCRIPTION},
    "EventSimSwap": {
        "allOf": [
            _CLOUD_EVENT,
            {
                "type": "object",
                "properties": {
                    "type": {"const": "org.camaraproject.sim-swap-subscriptions.v0.swapped"},
                    "data": {
                        "type": "object",
                        "required": ["subscriptionId"],
                        "properties": {"phoneNumber": _E164, "subscriptionId": _SUBSCRIPTION_ID},
                    },
                },
            },
        ]
    },
    "EventSubscriptionEnded": {
        "allOf": [
            _CLOUD_EVENT,
            {
                "type": "object",
                "properties": {
                    "type": {"const": "org.camaraproject.sim-swap-subscriptions.v0.subscription-ended"},
                    "data": {
                        "type": "object",
                        "required": ["terminationReason", "subscriptionId"],
                        "properties": {
                            "terminationReason": {
                                "type": "string",
                                "enum": [
                                    "MAX_EVENTS_REACHED",
                                    "NETWORK_TERMINATED",
                                    "SUBSCRIPTION_EXPIRED",
                                    "ACCESS_TOKEN_EXPIRED",
                                    "SUBSCRIPTION_DELETED",
                                ],
                            },
                            "subscriptionId": _SUBSCRIPTION_ID,
                            "terminationDescription": {"type": "string"},
                        },
                    },
                },
            },
        ]
    },
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


def assert_correlated(resp: httpx.Response) -> None:
    """The response carries the request's ``x-correlator``."""
    sent = resp.request.headers.get("x-correlator")
    assert sent is not None and resp.headers.get("x-correlator") == sent, (sent, resp.headers)


def assert_success(resp: httpx.Response, schema: str, status: int = 200) -> dict[str, Any]:
    """The generic success checks: ``status`` (200 unless given), ``application/json``, the request's
    ``x-correlator`` echoed, the body valid against ``schema``; returns the body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].split(";")[0] == "application/json"
    assert_correlated(resp)
    body: dict[str, Any] = resp.json()
    assert_complies(body, schema)
    return body


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    """``status`` with ``$.status`` and ``$.code`` as given and a user friendly ``$.message``."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].split(";")[0] == "application/json"
    assert_correlated(resp)
    body = resp.json()
    assert_complies(body, "ErrorInfo")
    assert body["status"] == status and body["code"] == code, body
    message = body["message"]
    assert isinstance(message, str) and len(message) >= 10 and "Traceback" not in message, message
