"""What every operator's SMS gateway does, whatever its dialect: deduplicate by client reference,
deliver to the phone's inbox, report, and pass replies on.

``docs/operator-dialects.md``, "Common SMS rules". A dialect (``sandbox/operators/*_sms.py``) parses
and authenticates its submission, calls :meth:`SmsCenter.submit`, words the answer, and builds its
signed callbacks (:class:`SmsDialect`). A binary-protocol gateway (``sandbox/smsc``) asks
:meth:`SmsCenter.outcome`, puts whole texts in the inbox through :meth:`SmsCenter.received`, and
registers itself (:class:`SmsChannel`) to send the replies to what it delivered.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, Protocol

from sandbox.callbacks import Callback, CallbackPoster
from sandbox.clock import Clock
from sandbox.config import Operator, SmscOperator
from sandbox.state import SandboxState, SmsRecord

__all__ = ["ReportWish", "SmsCenter", "SmsChannel", "SmsDialect", "Submission", "well_formed"]

MAX_TEXT: Final = 700
_REFERENCE: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SENDER: Final = re.compile(r"106[0-9]{2,17}")


def well_formed(*, reference: str, sender: str, text: str) -> bool:
    """Whether a submission's client reference, sender and text have the documented shapes."""
    return (
        _REFERENCE.fullmatch(reference) is not None
        and _SENDER.fullmatch(sender) is not None
        and 0 < len(text) <= MAX_TEXT
    )


class ReportWish(enum.Enum):
    """Which delivery reports a submission asked for."""

    ALWAYS = "always"
    FAILURES = "failures"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class Submission:
    """An authenticated submission; ``phone_number`` is E.164."""

    reference: str
    phone_number: str
    sender: str
    text: str
    report: ReportWish


class SmsDialect(Protocol):
    """How one operator words its callbacks; ``now`` is the time of sending (each attempt's own)."""

    def report(self, record: SmsRecord, now: datetime) -> Callback:
        """The signed delivery report of ``record``."""
        ...

    def reply(self, record: SmsRecord, text: str, now: datetime) -> Callback:
        """The signed MO callback of a reply with ``text`` to ``record`` (from its phone)."""
        ...


class SmsChannel(Protocol):
    """A binary-protocol gateway: it sends replies to the SMS it delivered, and pending work can be
    given up."""

    def reply(self, record: SmsRecord, text: str) -> None:
        """Send a reply with ``text`` from ``record``'s phone to its sender."""
        ...

    def cancel_pending(self) -> None:
        """Give up reports, replies and partial long messages not yet done."""
        ...


class SmsCenter:
    """The SMS side of the three operators, sharing the sandbox's state, clock and callback poster."""

    def __init__(self, *, state: SandboxState, clock: Clock, poster: CallbackPoster) -> None:
        self._state = state
        self._clock = clock
        self._poster = poster
        self._dialects: dict[str, SmsDialect] = {}
        self._channels: dict[str, SmsChannel] = {}

    def register(self, operator: Operator, dialect: SmsDialect) -> None:
        """Make ``dialect`` the wording of ``operator``'s callbacks."""
        self._dialects[operator] = dialect

    def register_channel(self, name: str, channel: SmsChannel) -> None:
        """Send the replies to SMS whose ``channel`` is ``name`` through ``channel``."""
        self._channels[name] = channel

    def outcome(
        self, operator: SmscOperator, report: ReportWish
    ) -> tuple[Literal["DELIVRD", "UNDELIV"], bool]:
        """What the faults in force make of an SMS submitted now: its status, and whether it is reported."""
        wish = self._state.faults[operator].delivery_report
        status: Literal["DELIVRD", "UNDELIV"] = "UNDELIV" if wish == "UNDELIV" else "DELIVRD"
        wanted = report is ReportWish.ALWAYS or (report is ReportWish.FAILURES and status != "DELIVRD")
        return status, wanted and wish != "none"

    def received(
        self,
        operator: SmscOperator,
        *,
        phone_number: str,
        sender: str,
        text: str,
        message_id: str,
        channel: str,
    ) -> SmsRecord:
        """Put a whole text that came through ``channel`` into the inbox of ``phone_number`` (E.164);
        a reply from that phone goes back through ``channel``."""
        now = self._clock.now()
        record = SmsRecord(
            operator=operator,
            reference=message_id,
            message_id=message_id,
            phone_number=phone_number,
            sender=sender,
            text=text,
            submitted_at=now,
            status="DELIVRD",
            reported=False,
            channel=channel,
        )
        self._state.inboxes.deliver(phone_number, sender, text, now)
        self._state.sms.received(record)
        return record

    def submit(
        self, operator: Operator, submission: Submission, new_message_id: Callable[[datetime, int], str]
    ) -> SmsRecord | None:
        """Accept ``submission`` at ``operator``; None when the destination is not its subscriber.

        A known reference answers its first record and does nothing else. Otherwise the faults in
        force decide delivery and report; ``new_message_id(now, sequence)`` names the message.
        """
        ledger = self._state.sms
        known = ledger.get(operator, submission.reference)
        if known is not None:
            return known
        subscriber = self._state.subscribers.get(submission.phone_number)
        if subscriber is None or subscriber.operator != operator:
            return None
        now = self._clock.now()
        status, reported = self.outcome(operator, submission.report)
        record = SmsRecord(
            operator=operator,
            reference=submission.reference,
            message_id=new_message_id(now, ledger.next_sequence()),
            phone_number=submission.phone_number,
            sender=submission.sender,
            text=submission.text,
            submitted_at=now,
            status=status,
            reported=reported,
        )
        ledger.add(record)
        if status == "DELIVRD":
            self._state.inboxes.deliver(record.phone_number, record.sender, record.text, now)
            ledger.received(record)
        if record.reported:
            dialect = self._dialects[operator]
            self._poster.post(operator, lambda: dialect.report(record, self._clock.now()))
        return record

    def reply(self, phone_number: str, text: str) -> SmsRecord | None:
        """Send a reply from ``phone_number``; the SMS it answers, or None when there is none."""
        record = self._state.sms.latest_received(phone_number)
        if record is None:
            return None
        channel = None if record.channel is None else self._channels.get(record.channel)
        if channel is not None:
            channel.reply(record, text)
            return record
        dialect = self._dialects[record.operator]
        self._poster.post(record.operator, lambda: dialect.reply(record, text, self._clock.now()), delay=0)
        return record

    def cancel_pending(self) -> None:
        """Give up every callback not yet sent or acknowledged, and the channels' pending work."""
        self._poster.cancel_pending()
        for channel in self._channels.values():
            channel.cancel_pending()
