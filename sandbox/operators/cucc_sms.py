"""China Unicom's SMS dialect, modelled on SGIP 1.2: ``sgip/submit`` (``SUBMIT``) and the ``REPORT`` and
``DELIVER`` callbacks, ``docs/operator-dialects.md`` "China Unicom (cucc): SMS".

Submissions are signed forms answered with the cucc envelope. Checks run in this order: the
parameters (``1004``), ``appId`` (``1003``), the signature (``1001``), the window (``1002``), the
client reference (a known one answers its first ``submitSeq``), the destination (``3001``).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Final
from urllib.parse import urlencode

from aiohttp import web

from sandbox.callbacks import Callback
from sandbox.clock import Clock
from sandbox.config import AppCredentials
from sandbox.crypto import hmac_sha256_hex
from sandbox.numbers import from_national, to_national
from sandbox.operators._wire import BEIJING, epoch_ms, read_form
from sandbox.operators.cucc import CuccOperator, Rejected, answer
from sandbox.sms import ReportWish, SmsCenter, Submission, well_formed
from sandbox.state import SmsRecord

__all__ = ["SUBMIT_PATH", "CuccSms", "sign", "submit_sequence"]

SUBMIT_PATH: Final = "/cucc/sgip/submit"
_FIELDS: Final = (
    "appId",
    "timestamp",
    "nonce",
    "spNumber",
    "userNumber",
    "spSequence",
    "messageCoding",
    "reportFlag",
    "messageContent",
    "sign",
)
_UCS2: Final = "8"
_REPORT_WISHES: Final[Mapping[str, ReportWish]] = {
    "1": ReportWish.ALWAYS,
    "0": ReportWish.FAILURES,
    "2": ReportWish.NEVER,
}
_STATES: Final[Mapping[str, tuple[str, str]]] = {"DELIVRD": ("0", "0"), "UNDELIV": ("2", "1")}
_NODE_ID: Final = 1010000001
_FORM: Final = {"Content-Type": "application/x-www-form-urlencoded"}


def submit_sequence(now: datetime, counter: int) -> str:
    """SGIP's sequence number: the SMG node id, ``MMDDhhmmss`` Beijing time, a 32-bit counter."""
    return f"{_NODE_ID}-{now.astimezone(BEIJING):%m%d%H%M%S}-{counter & 0xFFFFFFFF}"


def sign(fields: Mapping[str, str], app_key: str) -> str:
    """The common cucc signature: lowercase hex HMAC-SHA256 over the sorted non-empty ``k=v`` pairs."""
    message = "&".join(f"{name}={fields[name]}" for name in sorted(fields) if name != "sign" and fields[name])
    return hmac_sha256_hex(app_key, message)


class CuccSms:
    """China Unicom's SMS gateway for one registered application, signing like ``operator``."""

    def __init__(
        self, *, center: SmsCenter, operator: CuccOperator, app: AppCredentials, clock: Clock
    ) -> None:
        self._center = center
        self._operator = operator
        self._app = app
        self._clock = clock
        center.register("cucc", self)

    def routes(self) -> list[web.RouteDef]:
        """The submission endpoint."""
        return [web.post(SUBMIT_PATH, self.submit)]

    async def submit(self, request: web.Request) -> web.Response:
        """Accept an SMS (``SUBMIT``) and answer its ``submitSeq``."""
        try:
            record = self._submit(await read_form(request))
        except Rejected as rejected:
            return answer(rejected.code)
        return answer("0000", {"submitSeq": record.message_id})

    def _submit(self, form: dict[str, str] | None) -> SmsRecord:
        if form is not None and all(name in form for name in _FIELDS):
            wish = _REPORT_WISHES.get(form["reportFlag"])
            if (
                form["messageCoding"] != _UCS2
                or wish is None
                or not well_formed(
                    reference=form["spSequence"], sender=form["spNumber"], text=form["messageContent"]
                )
            ):
                raise Rejected("1004")
        fields = self._operator.authenticate(form, _FIELDS)
        submission = Submission(
            reference=fields["spSequence"],
            phone_number=from_national(self._operator.decrypt_mobile(fields["userNumber"])),
            sender=fields["spNumber"],
            text=fields["messageContent"],
            report=_REPORT_WISHES[fields["reportFlag"]],
        )
        record = self._center.submit("cucc", submission, submit_sequence)
        if record is None:
            raise Rejected("3001")
        return record

    def report(self, record: SmsRecord, now: datetime) -> Callback:
        """An SGIP ``REPORT`` on ``record``."""
        state, error_code = _STATES[record.status]
        return self._callback(
            {
                "command": "REPORT",
                "submitSeq": record.message_id,
                "spSequence": record.reference,
                "reportType": "0",
                "userNumber": self._number(record.phone_number),
                "state": state,
                "errorCode": error_code,
                "doneTime": str(epoch_ms(record.submitted_at)),
            },
            now,
        )

    def reply(self, record: SmsRecord, text: str, now: datetime) -> Callback:
        """An SGIP ``DELIVER`` (a reply) from the phone ``record`` reached."""
        return self._callback(
            {
                "command": "DELIVER",
                "userNumber": self._number(record.phone_number),
                "spNumber": record.sender,
                "messageCoding": _UCS2,
                "messageContent": text,
                "recvTime": str(epoch_ms(now)),
                "spSequence": record.reference,
            },
            now,
        )

    def _number(self, phone_number: str) -> str:
        return self._operator.encrypt((to_national(phone_number) or "").encode())

    def _callback(self, fields: dict[str, str], now: datetime) -> Callback:
        fields |= {"appId": self._app.app_id, "timestamp": str(epoch_ms(now)), "nonce": secrets.token_hex(8)}
        fields["sign"] = sign(fields, self._app.app_key)
        return Callback(urlencode(fields).encode(), _FORM)
