"""The scopes this gateway knows (contract §2, CAMARA releases of §3); anything else is refused.

A ``dpv:<Purpose>`` scope states the purpose of processing (W3C Data Privacy Vocabulary, CAMARA
Security and Interoperability profile): a 3-legged request carrying any scope of
:data:`PERSONAL_DATA_SCOPES` must carry exactly one purpose (:func:`purpose_error`).
"""

from __future__ import annotations

import re

__all__ = ["KNOWN_SCOPES", "PERSONAL_DATA_SCOPES", "is_known_scope", "is_purpose", "purpose_error"]

PERSONAL_DATA_SCOPES: frozenset[str] = frozenset(
    {
        "number-verification:verify",
        "number-verification:device-phone-number:read",
        "sim-swap",
        "sim-swap:check",
        "sim-swap:retrieve-date",
        "device-swap",
        "device-swap:check",
        "device-swap:retrieve-date",
        "kyc-match:match",
        "one-tap:login",
        "one-tap:verify",
        "login-check",
        "push:send",
        "push:read",
        "verify",
        "sim-swap-subscriptions:org.camaraproject.sim-swap-subscriptions.v0.swapped:create",
        "sim-swap-subscriptions:read",
        "sim-swap-subscriptions:delete",
    }
)
"""Scopes of APIs that take, return or act on a subscriber's number or line data."""

KNOWN_SCOPES: frozenset[str] = PERSONAL_DATA_SCOPES | {
    "openid",
    "templates:write",
    "branches:manage",
    "webhooks:manage",
}
_PURPOSE = re.compile(r"^dpv:[A-Z][A-Za-z]{1,80}$")


def is_known_scope(scope: str) -> bool:
    """Whether ``scope`` is a known API scope or one ``dpv:<Purpose>`` scope."""
    return scope in KNOWN_SCOPES or bool(_PURPOSE.match(scope))


def is_purpose(scope: str) -> bool:
    """Whether ``scope`` is a ``dpv:<Purpose>`` scope."""
    return bool(_PURPOSE.match(scope))


def purpose_error(scopes: frozenset[str]) -> str | None:
    """Why ``scopes`` break the purpose rule (an ``invalid_scope`` description), or None.

    Two or more purposes are refused; so is none when a scope of :data:`PERSONAL_DATA_SCOPES` is
    present.
    """
    purposes = sorted(scope for scope in scopes if is_purpose(scope))
    if len(purposes) > 1:
        return f"Send exactly one dpv: purpose scope, not {len(purposes)}."
    personal = sorted(scopes & PERSONAL_DATA_SCOPES)
    if personal and not purposes:
        return (
            f"The scope {personal[0]} processes personal data: add exactly one purpose scope, "
            "e.g. dpv:FraudPreventionAndDetection."
        )
    return None
