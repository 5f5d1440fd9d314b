"""The scopes this gateway knows (contract §2, CAMARA releases of §3); anything else is refused."""

from __future__ import annotations

import re

__all__ = ["KNOWN_SCOPES", "is_known_scope"]

KNOWN_SCOPES: frozenset[str] = frozenset(
    {
        "openid",
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
        "templates:write",
        "branches:manage",
        "webhooks:manage",
        "sim-swap-subscriptions:org.camaraproject.sim-swap-subscriptions.v0.swapped:create",
        "sim-swap-subscriptions:read",
        "sim-swap-subscriptions:delete",
    }
)
_PURPOSE = re.compile(r"^dpv:[A-Z][A-Za-z]{1,80}$")


def is_known_scope(scope: str) -> bool:
    """Whether ``scope`` is a known API scope or one ``dpv:<Purpose>`` scope."""
    return scope in KNOWN_SCOPES or bool(_PURPOSE.match(scope))
