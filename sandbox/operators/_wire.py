"""Wire details several dialects share: body reading, epoch-millisecond windows, operator references."""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web

__all__ = [
    "BEIJING",
    "TIMESTAMP_WINDOW_MS",
    "epoch_ms",
    "new_reference",
    "read_form",
    "read_json_object",
    "same_text",
    "string_fields",
    "systemtime",
    "within_window",
]

BEIJING: Final = timezone(timedelta(hours=8))
_FORM: Final = "application/x-www-form-urlencoded"

TIMESTAMP_WINDOW_MS: Final = 300_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DIGITS: Final = re.compile(r"[0-9]{1,19}")


async def read_json_object(request: web.Request) -> Mapping[str, object] | None:
    """The body as a JSON object, or None when it is anything else."""
    try:
        document = json.loads(await request.read())
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


async def read_form(request: web.Request) -> dict[str, str] | None:
    """The form fields, or None for another content type, a body that is not UTF-8 or a repeated field."""
    if request.content_type != _FORM:
        return None
    try:
        pairs = parse_qsl((await request.read()).decode(), keep_blank_values=True, errors="strict")
    except ValueError:
        return None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            return None
        fields[name] = value
    return fields


def systemtime(now: datetime) -> str:
    """``now`` as a 17-digit ``yyyyMMddHHmmssSSS`` in Beijing time."""
    local = now.astimezone(BEIJING)
    return f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}"


def string_fields(document: object, names: Iterable[str]) -> list[str] | None:
    """The values of ``names`` in a JSON object, or None unless every one is present as a string."""
    if not isinstance(document, dict):
        return None
    values: list[str] = []
    for name in names:
        value = document.get(name)
        if not isinstance(value, str):
            return None
        values.append(value)
    return values


def epoch_ms(now: datetime) -> int:
    """``now`` (timezone-aware) as Unix epoch milliseconds, truncated, in exact integer arithmetic."""
    return (now - _EPOCH) // timedelta(milliseconds=1)


def within_window(timestamp: str, now: datetime) -> bool | None:
    """Whether a decimal epoch-millisecond string is at most 300 s from ``now``; None if not a number."""
    if _DIGITS.fullmatch(timestamp) is None:
        return None
    return abs(epoch_ms(now) - int(timestamp)) <= TIMESTAMP_WINDOW_MS


def same_text(given: str, expected: str) -> bool:
    """Constant-time equality of two strings (any characters)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def new_reference() -> str:
    """A fresh operator-side request reference."""
    return secrets.token_hex(12)
