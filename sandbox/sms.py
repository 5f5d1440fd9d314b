"""What every operator's SMS gateway does, whatever its dialect: deduplicate by client reference,
deliver to the phone's inbox, report, and pass replies on.

``docs/operator-dialects.md``, "Common SMS rules". A dialect (``sandbox/operators/*_sms.py``) parses
and authenticates its submission, calls :meth:`SmsCenter.submit`, words the answer, and builds its
signed callbacks (:class:`SmsDialect`).
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
from sandbox.config import Operator
from sandbox.state import SandboxState, SmsRecord

__all__ = ["ReportWish", "SmsCenter", "SmsDialect", "Submission", "well_formed"]

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


class SmsCenter:
    """The SMS side of the three operators, sharing the sandbox's state, clock and callback poster."""

    def __init__(self, *, state: SandboxState, clock: Clock, poster: CallbackPoster) -> None:
        self._state = state
        self._clock = clock
        self._poster = poster
        self._dialects: dict[Operator, SmsDialect] = {}

    def register(self, operator: Operator, dialect: SmsDialect) -> None:
        """Make ``dialect`` the wording of ``operator``'s callbacks."""
        self._dialects[operator] = dialect

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
        wish = self._state.faults[operator].delivery_report
        status: Literal["DELIVRD", "UNDELIV"] = "UNDELIV" if wish == "UNDELIV" else "DELIVRD"
        wanted = submission.report is ReportWish.ALWAYS or (
            submission.report is ReportWish.FAILURES and status != "DELIVRD"
        )
        record = SmsRecord(
            operator=operator,
            reference=submission.reference,
            message_id=new_message_id(now, ledger.next_sequence()),
            phone_number=submission.phone_number,
            sender=submission.sender,
            text=submission.text,
            submitted_at=now,
            status=status,
            reported=wanted and wish != "none",
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
        dialect = self._dialects[record.operator]
        self._poster.post(record.operator, lambda: dialect.reply(record, text, self._clock.now()), delay=0)
        return record

    def cancel_pending(self) -> None:
        """Give up every callback not yet sent or acknowledged."""
        self._poster.cancel_pending()
