"""China Telecom's SMS dialect, modelled on SMGP 3.0: ``smgp/submit.do`` (``SUBMIT``) and the ``DELIVER``
callbacks (reports and replies), ``docs/operator-dialects.md`` "China Telecom (ctcc): SMS".

Submissions are the common ctcc form, answered with the ctcc envelope. Checks run in this order:
the envelope, ``appId``, the signature, the window and ``params`` (as every ctcc endpoint), the
SMS parameters (``-10001``), the client reference (a known one answers its first ``msgId``), the
destination (``-20008``). Callbacks are JSON, signed in headers over the raw body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Final
from urllib.parse import unquote

from aiohttp import web

from sandbox.callbacks import Callback
from sandbox.clock import Clock
from sandbox.config import AppCredentials
from sandbox.crypto import hmac_sha1_hex
from sandbox.numbers import NATIONAL_PATTERN, from_national, to_national
from sandbox.operators._wire import BEIJING, epoch_ms
from sandbox.operators.ctcc import CtccOperator, Rejected, answer
from sandbox.sms import ReportWish, SmsCenter, Submission, well_formed
from sandbox.state import SandboxState, SmsRecord

__all__ = ["SUBMIT_PATH", "CtccSms", "callback_sign", "message_id"]

SUBMIT_PATH: Final = "/ctcc/smgp/submit.do"
_PARAMS: Final = ("clientMsgId", "srcTermId", "destTermId", "msgFormat", "needReport", "msgContent")
_UCS2: Final = "8"
_REPORT_WISHES: Final[Mapping[str, ReportWish]] = {"1": ReportWish.ALWAYS, "0": ReportWish.NEVER}
_NATIONAL: Final = re.compile(NATIONAL_PATTERN)
_SMGW_CODE: Final = "100871"
_ERRORS: Final[Mapping[str, tuple[str, str]]] = {"DELIVRD": ("001", "000"), "UNDELIV": ("000", "001")}


def message_id(now: datetime, sequence: int) -> str:
    """SMGP's 10-byte BCD ``MsgID`` as 20 digits: SMGW code, ``MMDDHHmm`` Beijing time, sequence."""
    return f"{_SMGW_CODE}{now.astimezone(BEIJING):%m%d%H%M}{sequence % 1_000_000:06d}"


def callback_sign(app_id: str, timestamp: str, body: bytes, app_key: str) -> str:
    """Uppercase hex ``HMAC-SHA1(appKey, appId + timestamp + raw body)``; the body is UTF-8 JSON."""
    return hmac_sha1_hex(app_key, app_id + timestamp + body.decode()).upper()


def _minutes(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%y%m%d%H%M")


class CtccSms:
    """China Telecom's SMS gateway for one registered application, authenticating like ``operator``."""

    def __init__(
        self,
        *,
        center: SmsCenter,
        operator: CtccOperator,
        state: SandboxState,
        app: AppCredentials,
        clock: Clock,
    ) -> None:
        self._center = center
        self._operator = operator
        self._state = state
        self._app = app
        self._clock = clock
        center.register("ctcc", self)

    def routes(self) -> list[web.RouteDef]:
        """The submission endpoint."""
        return [web.post(SUBMIT_PATH, self.submit)]

    async def submit(self, request: web.Request) -> web.Response:
        """Accept an SMS (``SUBMIT``) and answer its ``msgId``."""
        try:
            record = self._submit(await self._operator.open_request(request))
        except Rejected as rejected:
            return answer(rejected.result)
        return answer(0, {"msgId": record.message_id})

    def _submit(self, params: dict[str, str]) -> SmsRecord:
        if any(name not in params for name in _PARAMS):
            raise Rejected(-10001)
        wish = _REPORT_WISHES.get(params["needReport"])
        try:
            text = unquote(params["msgContent"], errors="strict")
        except UnicodeDecodeError:
            raise Rejected(-10001) from None
        if (
            params["msgFormat"] != _UCS2
            or wish is None
            or _NATIONAL.fullmatch(params["destTermId"]) is None
            or not well_formed(reference=params["clientMsgId"], sender=params["srcTermId"], text=text)
        ):
            raise Rejected(-10001)
        submission = Submission(
            reference=params["clientMsgId"],
            phone_number=from_national(params["destTermId"]),
            sender=params["srcTermId"],
            text=text,
            report=wish,
        )
        record = self._center.submit("ctcc", submission, message_id)
        if record is None:
            raise Rejected(-20008)
        return record

    def report(self, record: SmsRecord, now: datetime) -> Callback:
        """An SMGP ``DELIVER`` status report (``isReport`` 1) on ``record``."""
        delivered, error = _ERRORS[record.status]
        content = (
            f"id:{record.message_id} sub:001 dlvrd:{delivered} submit_date:{_minutes(record.submitted_at)} "
            f"done_date:{_minutes(record.submitted_at)} stat:{record.status} err:{error} text:"
        )
        return self._callback(
            {
                "msgId": record.message_id,
                "isReport": 1,
                "msgFormat": 0,
                "srcTermId": to_national(record.phone_number) or "",
                "destTermId": record.sender,
                "msgContent": content,
                "recvTime": f"{now.astimezone(BEIJING):%Y%m%d%H%M%S}",
                "clientMsgId": record.reference,
            },
            now,
        )

    def reply(self, record: SmsRecord, text: str, now: datetime) -> Callback:
        """An SMGP ``DELIVER`` (``isReport`` 0): a reply from the phone ``record`` reached."""
        return self._callback(
            {
                "msgId": message_id(now, self._state.sms.next_sequence()),
                "isReport": 0,
                "msgFormat": 8,
                "srcTermId": to_national(record.phone_number) or "",
                "destTermId": record.sender,
                "msgContent": text,
                "recvTime": f"{now.astimezone(BEIJING):%Y%m%d%H%M%S}",
                "clientMsgId": record.reference,
            },
            now,
        )

    def _callback(self, document: dict[str, object], now: datetime) -> Callback:
        body = json.dumps(document, ensure_ascii=False).encode()
        timestamp = str(epoch_ms(now))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Ctcc-App-Id": self._app.app_id,
            "X-Ctcc-Timestamp": timestamp,
            "X-Ctcc-Sign": callback_sign(self._app.app_id, timestamp, body, self._app.app_key),
        }
        return Callback(body, headers)
