"""Structured JSON logging with privacy redaction applied to every line, ours and the libraries'.

The :func:`redact` processor runs last before rendering: it drops the values of secret-bearing
keys, masks phone numbers (``+86138****8000``, ``138****8000``) and replaces bearer tokens, JWTs
and operator SDK tokens found anywhere inside string values. stdlib loggers (aiohttp, alembic)
are routed through the same chain.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import IO, Any

import structlog

__all__ = ["configure_logging", "mask_phone", "redact", "redact_text"]

_SECRET_KEYS = frozenset(
    {
        "token",
        "access_token",
        "id_token",
        "refresh_token",
        "client_secret",
        "secret",
        "password",
        "authorization",
        "assertion",
        "client_assertion",
        "app_key",
        "admin_token",
        "code",
        "cookie",
        "session",
        "api_key",
        "data_keys",
        "index_keys",
    }
)
_REDACTED = "[redacted]"
_JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
_SDK_TOKEN = re.compile(r"\b(?:STsid|H5HTTPS|CUAT|CTA0|CMAC|CUAC|CTAC|whsec_)[\w-]{8,}")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[\w\-.~+/=]{8,}")
_PHONE = re.compile(r"(?<!\d)(\+?)(\d{7,15})(?!\d)")


def mask_phone(value: str) -> str:
    """Mask a phone number keeping its operator prefix and last four digits."""
    plus = value.startswith("+")
    digits = value.lstrip("+")
    if len(digits) < 7:
        return value
    head = 5 if plus and len(digits) >= 11 else 3
    return ("+" if plus else "") + digits[:head] + "****" + digits[-4:]


def redact_text(text: str) -> str:
    """Mask phone numbers and replace tokens inside free text."""
    text = _JWT.sub("[jwt]", text)
    text = _SDK_TOKEN.sub("[token]", text)
    text = _BEARER.sub(lambda m: m.group(1) + " " + _REDACTED, text)
    return _PHONE.sub(lambda m: mask_phone(m.group(1) + m.group(2)), text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: (_REDACTED if str(k).lower() in _SECRET_KEYS else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v) for v in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return redact_text(str(value))


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the privacy filter described in the module docstring."""
    for key in list(event_dict):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = _REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def configure_logging(level: str = "info", fmt: str = "json", stream: IO[str] | None = None) -> None:
    """Configure structlog and stdlib logging once; ``stream`` defaults to stdout."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    tail: list[Any] = [structlog.processors.format_exc_info, redact]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
