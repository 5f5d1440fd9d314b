"""The sandbox's in-memory world: subscribers (the shared MNP registry), issued tokens, SMS inboxes,
authorization codes and SMS-OTP sessions, and faults.

Nothing here speaks HTTP; the control API and the operators read and change these objects.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from sandbox.config import OPERATORS, SMSC_OPERATORS, Operator, SmscOperator
from sandbox.rich import MaapDelivery, RichState, Vendor

__all__ = [
    "AuthCode",
    "AuthCodeLedger",
    "AuthMethod",
    "AuthType",
    "DeliveryReport",
    "DeviceChange",
    "Faults",
    "Inboxes",
    "IssuedToken",
    "Message",
    "OtpSession",
    "OtpSessions",
    "Purpose",
    "SandboxState",
    "SimChange",
    "SmsLedger",
    "SmsRecord",
    "Subscriber",
    "TokenLedger",
    "random_imei",
]

Purpose = Literal["login", "verify", "h5"]
AuthType = Literal["network", "sms"]
Network = Literal["cellular", "wifi"]
AuthMethod = Literal["network", "sms_otp"]
DeliveryReport = Literal["DELIVRD", "UNDELIV", "none"]

_TAC: Final = "35693803"
_INBOX_SIZE: Final = 100
_MAX_INBOXES: Final = 10_000
_MAX_OTP_SESSIONS: Final = 10_000
_MAX_SMS_REFERENCES: Final = 10_000


@dataclass(frozen=True, slots=True)
class SimChange:
    """A SIM card was put in service for the line."""

    at: datetime


@dataclass(frozen=True, slots=True)
class DeviceChange:
    """The line was first seen in the device ``imei`` (None when the seeder did not say which)."""

    at: datetime
    imei: str | None


@dataclass(slots=True)
class Subscriber:
    """A mobile line registered with one operator; ``simChangedAt``/``deviceChangedAt`` follow history;
    ``network`` is the phone's bearer (cellular data or Wi-Fi)."""

    phone_number: str
    operator: Operator
    activated_at: datetime
    imei: str | None = None
    eligible: bool = True
    kyc: dict[str, str] = field(default_factory=dict)
    sim_history: list[SimChange] = field(default_factory=list)
    device_history: list[DeviceChange] = field(default_factory=list)
    network: Network = "cellular"
    rcs: bool = False
    """Whether the line has 5G messages (the operator's MaaP platform serves it)."""
    vendor: Vendor = "other"
    """The handset's maker: which vendor's card platform can render cards on it."""

    @property
    def auth_type(self) -> AuthType:
        """How the operator SDK authenticates on the phone's network (cellular: network, Wi-Fi: sms)."""
        return "network" if self.network == "cellular" else "sms"

    @property
    def bearer(self) -> AuthMethod:
        """How the phone's browser authenticates on its network (cellular: network, Wi-Fi: sms_otp)."""
        return "network" if self.network == "cellular" else "sms_otp"

    @property
    def sim_changed_at(self) -> datetime | None:
        """The latest SIM change, if any."""
        return self.sim_history[-1].at if self.sim_history else None

    @property
    def device_changed_at(self) -> datetime | None:
        """The latest device change, if any."""
        return self.device_history[-1].at if self.device_history else None

    def record_sim_swap(self, at: datetime) -> None:
        """Add a SIM change; history stays in time order."""
        self.sim_history.append(SimChange(at))
        self.sim_history.sort(key=lambda change: change.at)

    def record_device_swap(self, at: datetime, imei: str | None) -> None:
        """Add a device change; it sets the current IMEI unless an earlier-recorded change is later."""
        change = DeviceChange(at, imei)
        self.device_history.append(change)
        self.device_history.sort(key=lambda entry: entry.at)
        if self.device_history[-1] is change:
            self.imei = imei


@dataclass(slots=True)
class IssuedToken:
    """A one-tap token as the operator remembers it; ``used`` flips on its first accepted use."""

    value: str
    phone_number: str
    operator: Operator
    app_id: str
    purpose: Purpose
    auth_type: AuthType
    expires_at: datetime
    used: bool = False


class TokenLedger:
    """Issued tokens by value; tokens are forgotten once expired (an absent token reads as expired)."""

    def __init__(self) -> None:
        self._tokens: dict[str, IssuedToken] = {}
        self._by_expiry: dict[str, deque[IssuedToken]] = {operator: deque() for operator in OPERATORS}

    def __len__(self) -> int:
        return len(self._tokens)

    def get(self, value: str) -> IssuedToken | None:
        """The token issued under ``value``, if still remembered."""
        return self._tokens.get(value)

    def issue(self, token: IssuedToken, *, now: datetime) -> None:
        """Remember ``token`` and forget the tokens that expired by ``now``."""
        self.prune(now)
        self._tokens[token.value] = token
        self._by_expiry[token.operator].append(token)

    def prune(self, now: datetime) -> None:
        """Forget expired tokens (each operator has one lifetime, so its queue is in expiry order)."""
        for queue in self._by_expiry.values():
            while queue and queue[0].expires_at <= now:
                self._tokens.pop(queue.popleft().value, None)

    def clear(self) -> None:
        """Forget every token."""
        self._tokens.clear()
        for queue in self._by_expiry.values():
            queue.clear()


@dataclass(frozen=True, slots=True)
class Message:
    """An SMS as the phone received it; ``seq`` orders every delivery of the sandbox."""

    sender: str
    text: str
    received_at: datetime
    seq: int


class Inboxes:
    """Every phone's SMS inbox: the last 100 messages per phone, for at most 10 000 phones.

    Phones are keyed by E.164 number; the phone whose inbox changed least recently is forgotten
    first when the store is full.
    """

    def __init__(self) -> None:
        self._inboxes: OrderedDict[str, deque[Message]] = OrderedDict()
        self._seq = 0

    def deliver(self, phone: str, sender: str, text: str, at: datetime) -> Message:
        """Put an SMS from ``sender`` into ``phone``'s inbox, received at ``at``."""
        self._seq += 1
        message = Message(sender=sender, text=text, received_at=at, seq=self._seq)
        inbox = self._inboxes.pop(phone, None)
        if inbox is None:
            inbox = deque(maxlen=_INBOX_SIZE)
            while len(self._inboxes) >= _MAX_INBOXES:
                self._inboxes.popitem(last=False)
        inbox.append(message)
        self._inboxes[phone] = inbox
        return message

    def messages(self, phone: str) -> list[Message]:
        """``phone``'s messages in arrival order (oldest first)."""
        return list(self._inboxes.get(phone, ()))

    def next_seq(self) -> int:
        """A ``seq`` for something else the phone receives (a 5G message, a card)."""
        self._seq += 1
        return self._seq

    def last_seq(self) -> int:
        """The ``seq`` of the latest delivery anywhere (0 before the first)."""
        return self._seq

    def clear(self) -> None:
        """Empty every inbox."""
        self._inboxes.clear()


@dataclass(slots=True)
class AuthCode:
    """An authorization code of a network-authorization flow; ``used`` flips on its accepted exchange."""

    value: str
    operator: Operator
    app_id: str
    redirect_uri: str
    phone_number: str
    method: AuthMethod
    expires_at: datetime
    used: bool = False


class AuthCodeLedger:
    """Issued authorization codes by value, forgotten once expired (as :class:`TokenLedger`)."""

    def __init__(self) -> None:
        self._codes: dict[str, AuthCode] = {}
        self._by_expiry: dict[str, deque[AuthCode]] = {operator: deque() for operator in OPERATORS}

    def __len__(self) -> int:
        return len(self._codes)

    def get(self, value: str) -> AuthCode | None:
        """The code issued under ``value``, if still remembered."""
        return self._codes.get(value)

    def issue(self, code: AuthCode, *, now: datetime) -> None:
        """Remember ``code`` and forget the codes that expired by ``now``."""
        self.prune(now)
        self._codes[code.value] = code
        self._by_expiry[code.operator].append(code)

    def prune(self, now: datetime) -> None:
        """Forget expired codes (one lifetime per operator, so each queue is in expiry order)."""
        for queue in self._by_expiry.values():
            while queue and queue[0].expires_at <= now:
                self._codes.pop(queue.popleft().value, None)

    def clear(self) -> None:
        """Forget every code."""
        self._codes.clear()
        for queue in self._by_expiry.values():
            queue.clear()


@dataclass(slots=True)
class OtpSession:
    """One SMS-OTP fallback in progress at an operator's authorization endpoint.

    ``phone_number``, ``otp`` and ``otp_expires_at`` are set once the code was sent.
    """

    txn: str
    operator: Operator
    app_id: str
    redirect_uri: str
    state: str
    hint: str | None
    expires_at: datetime
    attempts_left: int
    phone_number: str | None = None
    otp: str | None = None
    otp_expires_at: datetime | None = None


class OtpSessions:
    """SMS-OTP sessions by ``txn``; expired ones are forgotten, at most 10 000 are kept."""

    def __init__(self) -> None:
        self._sessions: OrderedDict[str, OtpSession] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def open(self, session: OtpSession, *, now: datetime) -> None:
        """Remember ``session`` (all sessions share one lifetime, so the dict is in expiry order)."""
        self._prune(now)
        while len(self._sessions) >= _MAX_OTP_SESSIONS:
            self._sessions.popitem(last=False)
        self._sessions[session.txn] = session

    def get(self, txn: str, *, now: datetime) -> OtpSession | None:
        """The live session ``txn``, if any."""
        self._prune(now)
        return self._sessions.get(txn)

    def close(self, txn: str) -> None:
        """End a session."""
        self._sessions.pop(txn, None)

    def clear(self) -> None:
        """Forget every session."""
        self._sessions.clear()

    def _prune(self, now: datetime) -> None:
        while self._sessions:
            oldest = next(iter(self._sessions.values()))
            if oldest.expires_at > now:
                break
            self._sessions.popitem(last=False)


@dataclass(frozen=True, slots=True)
class SmsRecord:
    """An SMS an operator accepted through its submission endpoint.

    ``status`` is what its delivery report says (``DELIVRD``: it reached the inbox; ``UNDELIV``: it
    did not); ``reported`` whether a report is sent at all. ``channel`` is the binary protocol
    (``cmpp``, ``smgp``, ...) it came through, None for the HTTP dialect; replies go back the same way.
    """

    operator: SmscOperator
    reference: str
    message_id: str
    phone_number: str
    sender: str
    text: str
    submitted_at: datetime
    status: Literal["DELIVRD", "UNDELIV"]
    reported: bool
    channel: str | None = None


class SmsLedger:
    """Accepted SMS by ``(operator, client reference)``, the last 10 000 per operator, and the latest
    SMS that reached each phone (what a reply answers)."""

    def __init__(self) -> None:
        self._records: dict[str, OrderedDict[str, SmsRecord]] = {
            operator: OrderedDict() for operator in OPERATORS
        }
        self._received: OrderedDict[str, SmsRecord] = OrderedDict()
        self._sequence = 0

    def get(self, operator: Operator, reference: str) -> SmsRecord | None:
        """The SMS ``operator`` accepted under ``reference``, if still remembered."""
        return self._records[operator].get(reference)

    def add(self, record: SmsRecord) -> None:
        """Remember ``record``; the operator's oldest reference is forgotten when it holds 10 000."""
        records = self._records[record.operator]
        while len(records) >= _MAX_SMS_REFERENCES:
            records.popitem(last=False)
        records[record.reference] = record

    def received(self, record: SmsRecord) -> None:
        """Note that ``record`` reached its phone's inbox."""
        self._received.pop(record.phone_number, None)
        while len(self._received) >= _MAX_INBOXES:
            self._received.popitem(last=False)
        self._received[record.phone_number] = record

    def latest_received(self, phone: str) -> SmsRecord | None:
        """The latest submitted SMS that reached ``phone``."""
        return self._received.get(phone)

    def next_sequence(self) -> int:
        """A sequence number for operator message ids; it keeps counting across :meth:`clear`."""
        self._sequence += 1
        return self._sequence

    def clear(self) -> None:
        """Forget every SMS (not the sequence)."""
        for records in self._records.values():
            records.clear()
        self._received.clear()


@dataclass(slots=True)
class Faults:
    """Faults injected into one operator's southbound endpoints (and its future SMS delivery).

    The first four apply to the HTTP endpoints (``delivery_report`` to every SMS); the rest to the
    operator's binary-protocol gateway (docs/operator-dialects.md, "The sandbox's gateways").
    """

    latency_ms: int = 0
    error_rate: float = 0.0
    down: bool = False
    delivery_report: DeliveryReport = "DELIVRD"
    refuse_login: bool = False
    silent: bool = False
    silent_heartbeats: bool = False
    drop_window: int = 0
    answer_delay_ms: int = 0
    flow_control_rate: float = 0.0
    submits_per_second: int = 0
    report_delay_ms: int = 0
    duplicate_reports: bool = False
    reorder_reports: bool = False
    maap_down: bool = False
    maap_delivery: MaapDelivery = "delivered"


class SandboxState:
    """Everything the sandbox remembers; one instance per application."""

    def __init__(self) -> None:
        self.subscribers: dict[str, Subscriber] = {}
        self.tokens = TokenLedger()
        self.inboxes = Inboxes()
        self.codes = AuthCodeLedger()
        self.otp_sessions = OtpSessions()
        self.sms = SmsLedger()
        self.faults: dict[SmscOperator, Faults] = {operator: Faults() for operator in SMSC_OPERATORS}
        self.rich = RichState()

    def reset(self) -> None:
        """Forget subscribers, tokens, messages, submitted SMS, codes and OTP sessions; clear every fault."""
        self.subscribers.clear()
        self.tokens.clear()
        self.inboxes.clear()
        self.sms.clear()
        self.codes.clear()
        self.otp_sessions.clear()
        self.rich.clear()
        self.clear_faults(*SMSC_OPERATORS)

    def clear_faults(self, *operators: SmscOperator) -> None:
        """Give each of ``operators`` no faults: no latency, no errors, up, SMS delivered."""
        for operator in operators:
            self.faults[operator] = Faults()


def random_imei() -> str:
    """A random, Luhn-valid 15-digit IMEI."""
    body = _TAC + "".join(secrets.choice("0123456789") for _ in range(6))
    total = 0
    for index, char in enumerate(body):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return body + str(-total % 10)
