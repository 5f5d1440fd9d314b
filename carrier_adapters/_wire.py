"""Decoding of operator JSON into pydantic wire models, shared by every ``<op>/wire.py``.

Operators add fields over time, so wire models ignore unknown ones; anything else that does not fit
is a :class:`~carrier_adapters.errors.CarrierProtocolError` (``docs/operator-dialects.md``). The
error message names the failing fields only: operator payloads may hold numbers and tokens, so the
pydantic error (which quotes its input) is not chained.
"""

from __future__ import annotations

import json
from typing import TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, ValidationError

from carrier_adapters.errors import CarrierProtocolError

__all__ = ["WireModel", "decode_body", "decode_form", "decode_strings", "decode_value"]

_M = TypeVar("_M", bound="WireModel")


class WireModel(BaseModel):
    """Base of every operator request/answer model: frozen, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def decode_body(operator: str, model: type[_M], body: bytes) -> _M:
    """Parse an HTTP body as ``model``.

    :raises CarrierProtocolError: if the body is not JSON or does not have the model's shape.
    """
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise _protocol_error(operator, exc) from None


def decode_value(operator: str, model: type[_M], value: object) -> _M:
    """Validate an already-decoded JSON value (e.g. an answer's ``data``) as ``model``.

    :raises CarrierProtocolError: if ``value`` does not have the model's shape.
    """
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise _protocol_error(operator, exc) from None


def decode_strings(operator: str, body: bytes) -> dict[str, str]:
    """Parse an HTTP body that must be a JSON object of strings.

    :raises CarrierProtocolError: otherwise.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise CarrierProtocolError(operator, f"{operator} sent a body that is not JSON") from None
    if not isinstance(document, dict) or not all(isinstance(value, str) for value in document.values()):
        raise CarrierProtocolError(operator, f"{operator} sent a body that is not a JSON object of strings")
    return document


def decode_form(operator: str, body: bytes) -> dict[str, str]:
    """Parse a non-empty ``application/x-www-form-urlencoded`` UTF-8 body without repeated fields.

    :raises CarrierProtocolError: otherwise.
    """
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True, errors="strict")
    except ValueError:
        raise CarrierProtocolError(operator, f"{operator} sent a body that is not a form") from None
    fields = dict(pairs)
    if not pairs or len(fields) != len(pairs):
        raise CarrierProtocolError(operator, f"{operator} sent an empty form or a repeated field")
    return fields


def _protocol_error(operator: str, exc: ValidationError) -> CarrierProtocolError:
    problems = sorted(
        {
            ".".join(str(part) for part in error["loc"]) or error["type"]
            for error in exc.errors(include_input=False)
        }
    )
    return CarrierProtocolError(operator, f"{operator} answered an unexpected body ({', '.join(problems)})")
