"""Structured JSON logging with privacy redaction applied to every line, ours and the libraries'.

The :func:`redact` processor runs last before rendering: it drops the values of secret-bearing
keys, masks phone numbers (``+86138****8000``, ``138****8000``) and replaces bearer tokens, JWTs
and operator SDK tokens found anywhere inside string values. Canonical UUIDs (tenant, message and
generated correlator ids) and the ``correlator`` value (the bank's opaque id, often a date or a
counter) are identifiers, not numbers: in them only mainland-mobile-shaped runs (``[86]1[3-9]`` + 9
digits) are masked, so they stay intact and greppable across lines. stdlib
loggers (aiohttp, alembic) are routed through the same chain, and every line, ours or a library's,
carries the context bound with :func:`structlog.contextvars.bind_contextvars` (the request's
``correlator``, bound by :mod:`gateway.middleware`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import IO, Any

import structlog

__all__ = ["configure_logging", "mask_phone", "redact", "redact_correlator", "redact_text"]

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
_SDK_TOKEN = re.compile(r"\b(?:STsid|H5HTTPS|CUAT|CTA0|CMAC|CUAC|CTAC|whsec_|vck_)[\w-]{8,}")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[\w\-.~+/=]{8,}")
_PHONE_OR_UUID = re.compile(
    r"(?P<uuid>(?<![0-9a-fA-F])[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}(?![0-9a-fA-F]))"
    r"|(?<!\d)(?P<plus>\+?)(?P<digits>\d{7,15})(?!\d)"
)
_MOBILE = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")
_SUSPECT = re.compile(r"\d{7}|eyJ|STsid|H5HTTPS|CUAT|CTA0|CMAC|CUAC|CTAC|whsec_|vck_|(?i:bearer|basic)")
"""Anything any of the patterns above could change: text without a match is returned as is."""
_CORRELATOR = "correlator"


def mask_phone(value: str) -> str:
    """Mask a phone number keeping its operator prefix and last four digits."""
    plus = value.startswith("+")
    digits = value.lstrip("+")
    if len(digits) < 7:
        return value
    head = 5 if plus and len(digits) >= 11 else 3
    return ("+" if plus else "") + digits[:head] + "****" + digits[-4:]


def _drop_tokens(text: str) -> str:
    text = _JWT.sub("[jwt]", text)
    text = _SDK_TOKEN.sub("[token]", text)
    return _BEARER.sub(lambda m: m.group(1) + " " + _REDACTED, text)


def redact_text(text: str) -> str:
    """Mask phone numbers and replace tokens inside free text."""
    if _SUSPECT.search(text) is None:
        return text
    return _PHONE_OR_UUID.sub(_mask_match, _drop_tokens(text))


def redact_correlator(value: str) -> str:
    """The ``correlator`` as logged: tokens replaced and mobile numbers masked, other digits kept."""
    if _SUSPECT.search(value) is None:
        return value
    return _mask_mobiles(_drop_tokens(value))


def _mask_mobiles(text: str) -> str:
    return _MOBILE.sub(lambda m: mask_phone(m.group(0)), text)


def _mask_match(match: re.Match[str]) -> str:
    if match["uuid"]:
        return _mask_mobiles(match["uuid"])
    return mask_phone(match["plus"] + match["digits"])


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {k: (_REDACTED if str(k).lower() in _SECRET_KEYS else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v) for v in value]
    return redact_text(str(value))


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the privacy filter described in the module docstring."""
    for key in list(event_dict):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = _REDACTED
        elif key == _CORRELATOR and isinstance(event_dict[key], str):
            event_dict[key] = redact_correlator(event_dict[key])
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


class _LineWriter:
    """structlog's output: each rendered line written whole to the stdlib handler's stream under the
    handler's lock, so our lines and the libraries' never interleave. A line that cannot be written
    is dropped, as the stdlib handler drops it."""

    def __init__(self, handler: logging.StreamHandler[IO[str]]) -> None:
        self._handler = handler

    def msg(self, line: str) -> None:
        handler = self._handler
        with handler.lock or contextlib.nullcontext():
            try:
                handler.stream.write(line + "\n")
                handler.stream.flush()
            except (OSError, ValueError):
                pass

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def configure_logging(level: str = "info", fmt: str = "json", stream: IO[str] | None = None) -> None:
    """Configure structlog and stdlib logging once; ``stream`` defaults to stdout.

    Our structlog lines run the processor chain straight into the stream (no stdlib record per
    line); stdlib lines (aiohttp, alembic) reach the same chain through the root handler's
    :class:`structlog.stdlib.ProcessorFormatter`.
    """
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    tail: list[Any] = [structlog.processors.format_exc_info, redact]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail, renderer],
        )
    )
    writer = _LineWriter(handler)
    structlog.configure(
        processors=[*shared, *tail, renderer],
        logger_factory=lambda *_: writer,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
