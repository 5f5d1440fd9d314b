"""The sandbox's configuration: the one registered application each mock operator knows."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

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
    """Credentials of every operator, keyed by operator code; all three operators are required."""

    apps: Mapping[str, AppCredentials]

    def __post_init__(self) -> None:
        if set(self.apps) != set(OPERATORS):
            raise ValueError(f"apps must hold exactly the operators {', '.join(OPERATORS)}")
        object.__setattr__(self, "apps", MappingProxyType(dict(self.apps)))

    @classmethod
    def generate(cls) -> SandboxConfig:
        """Fresh random credentials for every operator, shaped like the real ones."""
        return cls(
            apps={
                operator: AppCredentials(
                    app_id=prefix + "".join(secrets.choice(string.digits) for _ in range(digits)),
                    app_key="".join(secrets.choice(_APP_KEY_ALPHABET) for _ in range(_APP_KEY_LENGTH)),
                )
                for operator, (prefix, digits) in _APP_ID_PREFIXES.items()
            }
        )
