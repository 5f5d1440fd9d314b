"""Request decoding and response encoding shared by every view.

Bodies are decoded strictly: ``application/json`` only, the model's ``extra="forbid"`` refuses
unknown properties, and validation messages name fields but never echo submitted values. A
value that does not match a field's ``pattern`` is described in words (:func:`described_pattern`),
never by the regular expression.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from multidict import MultiMapping
from pydantic import BaseModel, ValidationError

from gateway.errors import InvalidArgument, UnsupportedMediaType

__all__ = [
    "E164",
    "describe_validation_error",
    "described_pattern",
    "form_fields",
    "json_response",
    "multi_params",
    "read_json",
]

M = TypeVar("M", bound=BaseModel)

_EXPECTED: dict[str, str] = {}


def described_pattern(pattern: str, expected: str) -> str:
    """Return ``pattern`` (for a pydantic ``Field(pattern=...)``) after recording what it expects in
    words: a value that does not match is reported as ``expected <expected>``."""
    _EXPECTED[pattern] = expected
    return pattern


E164 = described_pattern(r"^\+[1-9][0-9]{4,14}$", "E.164 with a leading +, e.g. +8613800000000")
"""A phone number on the API (contract §1)."""


def describe_validation_error(exc: ValidationError) -> str:
    """A client-safe summary: field paths and pydantic's message, never the input values."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        if error["type"] == "json_invalid":
            return "The request body is not valid JSON."
        if error["type"] == "extra_forbidden":
            parts.append(f"{where}: unknown property")
        elif error["type"] == "string_pattern_mismatch":
            expected = _EXPECTED.get(str(error.get("ctx", {}).get("pattern")))
            parts.append(
                f"{where}: expected {expected}" if expected else f"{where}: not in the expected format"
            )
        else:
            parts.append(f"{where}: {error['msg']}")
    return "Invalid request body: " + "; ".join(parts) + "."


async def read_json(request: web.Request, model: type[M]) -> M:
    """Decode and validate the JSON body.

    :raises UnsupportedMediaType: the body is not declared as JSON.
    :raises InvalidArgument: malformed JSON, wrong types, unknown or missing properties.
    """
    if request.content_type != "application/json":
        raise UnsupportedMediaType()
    raw = await request.read()
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        raise InvalidArgument(describe_validation_error(exc)) from exc


def json_response(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response (compact, UTF-8)."""
    return web.json_response(body, status=status, headers=headers)


UNDECODABLE_FORM = "The form body could not be decoded; send it in UTF-8."


async def form_fields(request: web.Request) -> MultiMapping[Any]:
    """The fields of a form-encoded body.

    :raises InvalidArgument: the body does not decode in its declared charset (UTF-8 by default).
    """
    try:
        return await request.post()
    except (UnicodeDecodeError, LookupError) as exc:
        raise InvalidArgument(UNDECODABLE_FORM) from exc


def multi_params(values: MultiMapping[Any]) -> dict[str, list[str]]:
    """A query's or form's text fields, each name with all its values in order."""
    params: dict[str, list[str]] = {}
    for name, value in values.items():
        if isinstance(value, str):
            params.setdefault(name, []).append(value)
    return params
