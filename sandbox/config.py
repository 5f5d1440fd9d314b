"""The sandbox's configuration: the one registered application each mock operator knows."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal
from urllib.parse import urlsplit

__all__ = ["OPERATORS", "AppCredentials", "Operator", "SandboxConfig"]

Operator = Literal["cmcc", "cucc", "ctcc"]
OPERATORS: Final[tuple[Operator, ...]] = ("cmcc", "cucc", "ctcc")

_APP_KEY_LENGTH: Final = 32
_APP_KEY_ALPHABET: Final = string.ascii_letters + string.digits
_APP_ID_PREFIXES: Final[Mapping[str, tuple[str, int]]] = {
    "cmcc": ("300011", 6),
    "cucc": ("99166", 9),
    "ctcc": ("8", 9),
}


@dataclass(frozen=True, slots=True)
class AppCredentials:
    """An application registered with an operator; ``app_key`` is 32 printable ASCII characters."""

    app_id: str
    app_key: str

    def __post_init__(self) -> None:
        if not self.app_id:
            raise ValueError("app_id must not be empty")
        if len(self.app_key) != _APP_KEY_LENGTH or not (
            self.app_key.isascii() and self.app_key.isprintable()
        ):
            raise ValueError(f"app_key must be {_APP_KEY_LENGTH} printable ASCII characters")

    def __repr__(self) -> str:
        return f"AppCredentials(app_id={self.app_id!r}, app_key=<redacted>)"


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """Credentials of every operator, keyed by operator code (all three are required), and where the
    operators send their SMS callbacks.

    ``callback_base_url`` is the gateway's base URL: delivery reports and replies are POSTed to
    ``{callback_base_url}/operator-callbacks/{operator}``; ``None`` means the operators send no
    callbacks at all. A report leaves ``report_delay`` seconds after its submission; a callback
    that is not acknowledged with a 2xx is retried after each of ``callback_retry_delays`` seconds.
    """

    apps: Mapping[str, AppCredentials]
    callback_base_url: str | None = None
    report_delay: float = 0.5
    callback_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)

    def __post_init__(self) -> None:
        if set(self.apps) != set(OPERATORS):
            raise ValueError(f"apps must hold exactly the operators {', '.join(OPERATORS)}")
        object.__setattr__(self, "apps", MappingProxyType(dict(self.apps)))
        if self.callback_base_url is not None:
            parts = urlsplit(self.callback_base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
                raise ValueError("callback_base_url must be an absolute http(s) URL without query")
            object.__setattr__(self, "callback_base_url", self.callback_base_url.rstrip("/"))
        if self.report_delay < 0 or any(delay < 0 for delay in self.callback_retry_delays):
            raise ValueError("delays must not be negative")
        object.__setattr__(self, "callback_retry_delays", tuple(self.callback_retry_delays))

    @classmethod
    def generate(cls, *, callback_base_url: str | None = None) -> SandboxConfig:
        """Fresh random credentials for every operator, shaped like the real ones."""
        return cls(
            callback_base_url=callback_base_url,
            apps={
                operator: AppCredentials(
                    app_id=prefix + "".join(secrets.choice(string.digits) for _ in range(digits)),
                    app_key="".join(secrets.choice(_APP_KEY_ALPHABET) for _ in range(_APP_KEY_LENGTH)),
                )
                for operator, (prefix, digits) in _APP_ID_PREFIXES.items()
            },
        )
