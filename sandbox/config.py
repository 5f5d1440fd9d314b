"""The sandbox's configuration: the one registered application and the one SP account of its SMS
gateway each mock operator knows, and where those gateways listen."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal
from urllib.parse import urlsplit

__all__ = [
    "OPERATORS",
    "SMSC_OPERATORS",
    "AppCredentials",
    "Operator",
    "SandboxConfig",
    "SmscAccount",
    "SmscOperator",
    "parse_address",
]

Operator = Literal["cmcc", "cucc", "ctcc"]
OPERATORS: Final[tuple[Operator, ...]] = ("cmcc", "cucc", "ctcc")
SmscOperator = Literal["cmcc", "cucc", "ctcc", "intl"]
"""An operator with a binary-protocol SMS gateway: the three, and ``intl`` (the international SMPP
SMSC, which has faults and an SMS gateway but no identity endpoints)."""
SMSC_OPERATORS: Final[tuple[SmscOperator, ...]] = ("cmcc", "cucc", "ctcc", "intl")

_APP_KEY_LENGTH: Final = 32
_APP_KEY_ALPHABET: Final = string.ascii_letters + string.digits
_APP_ID_PREFIXES: Final[Mapping[str, tuple[str, int]]] = {
    "cmcc": ("300011", 6),
    "cucc": ("99166", 9),
    "ctcc": ("8", 9),
}
_ACCESS_NUMBER: Final = re.compile(r"106[0-9]{2,17}")
_SMSC_LOGINS: Final[Mapping[str, re.Pattern[str]]] = {
    "cmcc": re.compile(r"[0-9]{6}"),
    "cucc": re.compile(r"[!-~]{1,16}"),
    "ctcc": re.compile(r"[!-~]{1,8}"),
    "intl": re.compile(r"[!-~]{1,15}"),
}
_SMSC_SECRET_MAX: Final = 15
_SMPP_PASSWORD_MAX: Final = 8
_CORP_ID: Final = re.compile(r"[0-9]{5}")
_ADDRESS: Final = re.compile(r"(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})")


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for an IPv6 host) as its host and port; ValueError otherwise."""
    match = _ADDRESS.fullmatch(text)
    if match is None or not 0 < int(match.group(3)) <= 65535:
        raise ValueError("an address is host:port with a port of 1-65535")
    return match.group(1) or match.group(2), int(match.group(3))


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
class SmscAccount:
    """The SP account an operator's SMS gateway knows (docs/operator-dialects.md, "SMS over the
    operators' binary protocols"): ``login`` (CMPP SP id of 6 digits, SGIP ``Login_Name`` of at most
    16, SMGP ``ClientID`` of at most 8, SMPP ``system_id`` of at most 15 characters), ``secret`` (1-15
    printable ASCII characters; at most 8 for SMPP) and ``access_number`` (``106`` and 2-17 digits).
    ``corp_id`` (5 digits) is the SGIP ``CorpId`` the SMG requires; None: any 5 digits."""

    login: str
    secret: str
    access_number: str
    corp_id: str | None = None

    def __post_init__(self) -> None:
        if not (
            1 <= len(self.secret) <= _SMSC_SECRET_MAX and self.secret.isascii() and self.secret.isprintable()
        ):
            raise ValueError(f"an SMSC secret must be 1-{_SMSC_SECRET_MAX} printable ASCII characters")
        if _ACCESS_NUMBER.fullmatch(self.access_number) is None:
            raise ValueError("an access number is 106 followed by 2-17 digits")
        if _SMSC_LOGINS["cucc"].fullmatch(self.login) is None:
            raise ValueError("an SMSC login is 1-16 printable ASCII characters")
        if self.corp_id is not None and _CORP_ID.fullmatch(self.corp_id) is None:
            raise ValueError("an SGIP corp id is 5 digits")

    def __repr__(self) -> str:
        return (
            f"SmscAccount(login={self.login!r}, secret=<redacted>, access_number={self.access_number!r},"
            f" corp_id={self.corp_id!r})"
        )

    @classmethod
    def generate(cls, operator: str) -> SmscAccount:
        """A fresh random account shaped for ``operator``'s protocol (``cucc`` with a corp id)."""
        digits = 6 if operator == "cmcc" else 8
        return cls(
            login="".join(secrets.choice(string.digits) for _ in range(digits)),
            secret="".join(
                secrets.choice(_APP_KEY_ALPHABET)
                for _ in range(_SMPP_PASSWORD_MAX if operator == "intl" else 12)
            ),
            access_number="106" + "".join(secrets.choice(string.digits) for _ in range(5)),
            corp_id="".join(secrets.choice(string.digits) for _ in range(5)) if operator == "cucc" else None,
        )


def _generated_accounts() -> Mapping[str, SmscAccount]:
    return {operator: SmscAccount.generate(operator) for operator in SMSC_OPERATORS}


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """Credentials of every operator, keyed by operator code (all three are required), and where the
    operators send their SMS callbacks.

    ``callback_base_url`` is the gateway's base URL: delivery reports and replies are POSTed to
    ``{callback_base_url}/operator-callbacks/{operator}``; ``None`` means the operators send no
    callbacks at all. A report leaves ``report_delay`` seconds after its submission; a callback
    that is not acknowledged with a 2xx is retried after each of ``callback_retry_delays`` seconds.

    Each operator's SMS gateway (cmcc CMPP on ``cmpp_port``, cucc SGIP on ``sgip_port``, ctcc SMGP
    on ``smgp_port``, intl SMPP on ``smpp_port``; 0 picks a free port) listens on ``smsc_host`` and
    knows the SP account ``smsc_accounts[operator]`` (fresh random ones for the operators left out).
    The SGIP SMG dials the SP's listener at ``sgip_sp_listener`` (``host:port``; None: it sends no
    report and no MO until one is set through the control API). ``smsc_resend_after`` is how long a
    ``DELIVER`` (SGIP: also ``REPORT``) waits for its answer before it is sent again;
    ``smsc_heartbeat_after`` how long the CMPP ISMG and the SMPP SMSC wait without a PDU before their
    heartbeat, and the SGIP SMG's idle time before it unbinds its connection to the SP (None: CMPP 60 s
    and 180 s, SGIP 30 s and 5 s, SMGP 5 s and no heartbeat, SMPP 5 s and 60 s).
    """

    apps: Mapping[str, AppCredentials]
    callback_base_url: str | None = None
    report_delay: float = 0.5
    callback_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    smsc_accounts: Mapping[str, SmscAccount] = field(default_factory=_generated_accounts)
    smsc_host: str = "127.0.0.1"
    cmpp_port: int = 0
    smgp_port: int = 0
    sgip_port: int = 0
    smpp_port: int = 0
    sgip_sp_listener: str | None = None
    smsc_resend_after: float | None = None
    smsc_heartbeat_after: float | None = None

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
        if not set(self.smsc_accounts) <= set(SMSC_OPERATORS):
            raise ValueError(f"smsc_accounts may hold only the operators {', '.join(SMSC_OPERATORS)}")
        accounts = {
            operator: self.smsc_accounts.get(operator) or SmscAccount.generate(operator)
            for operator in SMSC_OPERATORS
        }
        for operator, account in accounts.items():
            if _SMSC_LOGINS[operator].fullmatch(account.login) is None:
                raise ValueError(f"the {operator} SMSC login does not fit its protocol")
        if len(accounts["intl"].secret) > _SMPP_PASSWORD_MAX:
            raise ValueError(
                f"the intl SMSC secret (an SMPP password) is at most {_SMPP_PASSWORD_MAX} characters"
            )
        object.__setattr__(self, "smsc_accounts", MappingProxyType(accounts))
        if not all(
            0 <= port <= 65535 for port in (self.cmpp_port, self.smgp_port, self.sgip_port, self.smpp_port)
        ):
            raise ValueError("SMSC ports must be 0-65535")
        if self.sgip_sp_listener is not None:
            parse_address(self.sgip_sp_listener)
        if any(
            value is not None and value <= 0 for value in (self.smsc_resend_after, self.smsc_heartbeat_after)
        ):
            raise ValueError("SMSC timings must be positive")

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
