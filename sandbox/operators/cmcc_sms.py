"""China Mobile's SMS dialect, modelled on CMPP 3.0: ``sms/v3/submit`` (``SUBMIT``) and the ``DELIVER``
callbacks (status reports and replies), ``docs/operator-dialects.md`` "China Mobile (cmcc): SMS".

Submissions answer HTTP 200 with ``{"inresponseto", "systemtime", "resultCode", "msgId"?}``.
Checks run in this order: the envelope (``1``), ``appid`` (``2``), the signature (``3``), the
client reference (a known one answers its first ``msgId``), the destination (``13``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from aiohttp import web

from sandbox.callbacks import Callback
from sandbox.clock import Clock
from sandbox.config import AppCredentials
from sandbox.crypto import md5_hex
from sandbox.numbers import NATIONAL_PATTERN, from_national, to_national
from sandbox.operators._wire import BEIJING, read_json_object, same_text, string_fields, systemtime
from sandbox.sms import ReportWish, SmsCenter, Submission, well_formed
from sandbox.state import SandboxState, SmsRecord

__all__ = ["SUBMIT_PATH", "CmccSms", "callback_sign", "message_id"]

SUBMIT_PATH: Final = "/cmcc/sms/v3/submit"
_VERSION: Final = "3.0"
_UCS2: Final = "8"
_FIELDS: Final = (  # the signed order
    "appid",
    "version",
    "systemtime",
    "spMsgId",
    "srcId",
    "destTerminalId",
    "msgFmt",
    "registeredDelivery",
    "msgContent",
    "sign",
)
_REPORT_WISHES: Final[Mapping[str, ReportWish]] = {"1": ReportWish.ALWAYS, "0": ReportWish.NEVER}
_SYSTEMTIME: Final = re.compile(r"[0-9]{17}")
_NATIONAL: Final = re.compile(NATIONAL_PATTERN)
_ISMG_CODE: Final = 0x2A5F1
_JSON: Final = {"Content-Type": "application/json; charset=utf-8"}

_ACCEPTED: Final = "0"
_BAD_STRUCTURE: Final = "1"
_APPID_UNKNOWN: Final = "2"
_SIGN_ERROR: Final = "3"
_NOT_SUBSCRIBER: Final = "13"


def message_id(now: datetime, sequence: int) -> str:
    """CMPP's 64-bit ``Msg_Id`` as 16 uppercase hex: Beijing time, ISMG code, 16-bit sequence."""
    local = now.astimezone(BEIJING)
    value = (
        local.month << 60
        | local.day << 55
        | local.hour << 50
        | local.minute << 44
        | local.second << 38
        | _ISMG_CODE << 16
        | sequence & 0xFFFF
    )
    return f"{value:016X}"


def callback_sign(fields: Mapping[str, str], app_key: str) -> str:
    """Uppercase hex MD5 of every value but ``sign``, in the ASCII order of the names, then the appkey."""
    material = "".join(fields[name] for name in sorted(fields) if name != "sign")
    return md5_hex(material + app_key).upper()


def _minutes(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%y%m%d%H%M")


class CmccSms:
    """China Mobile's SMS gateway for one registered application."""

    def __init__(self, *, center: SmsCenter, state: SandboxState, app: AppCredentials, clock: Clock) -> None:
        self._center = center
        self._state = state
        self._app = app
        self._clock = clock
        center.register("cmcc", self)

    def routes(self) -> list[web.RouteDef]:
        """The submission endpoint."""
        return [web.post(SUBMIT_PATH, self.submit)]

    async def submit(self, request: web.Request) -> web.Response:
        """Accept an SMS (``SUBMIT``) and answer its ``msgId``."""
        document = await read_json_object(request)
        result_code, record = self._submit(document)
        reference = document.get("spMsgId") if document is not None else None
        answer = {
            "inresponseto": reference if isinstance(reference, str) else "",
            "systemtime": systemtime(self._clock.now()),
            "resultCode": result_code,
        }
        if record is not None:
            answer["msgId"] = record.message_id
        return web.json_response(answer)

    def _submit(self, document: Mapping[str, object] | None) -> tuple[str, SmsRecord | None]:
        values = string_fields(document, _FIELDS)
        if values is None:
            return _BAD_STRUCTURE, None
        fields = dict(zip(_FIELDS, values, strict=True))
        wish = _REPORT_WISHES.get(fields["registeredDelivery"])
        if (
            fields["version"] != _VERSION
            or _SYSTEMTIME.fullmatch(fields["systemtime"]) is None
            or fields["msgFmt"] != _UCS2
            or wish is None
            or _NATIONAL.fullmatch(fields["destTerminalId"]) is None
            or not well_formed(reference=fields["spMsgId"], sender=fields["srcId"], text=fields["msgContent"])
        ):
            return _BAD_STRUCTURE, None
        if fields["appid"] != self._app.app_id:
            return _APPID_UNKNOWN, None
        material = "".join(fields[name] for name in _FIELDS if name != "sign") + self._app.app_key
        if not same_text(fields["sign"], md5_hex(material).upper()):
            return _SIGN_ERROR, None
        submission = Submission(
            reference=fields["spMsgId"],
            phone_number=from_national(fields["destTerminalId"]),
            sender=fields["srcId"],
            text=fields["msgContent"],
            report=wish,
        )
        record = self._center.submit("cmcc", submission, message_id)
        return (_NOT_SUBSCRIBER, None) if record is None else (_ACCEPTED, record)

    def report(self, record: SmsRecord, now: datetime) -> Callback:
        """A ``DELIVER`` status report (``registeredDelivery`` 1)."""
        return self._deliver(
            {
                "registeredDelivery": "1",
                "msgId": record.message_id,
                "stat": record.status,
                "submitTime": _minutes(record.submitted_at),
                "doneTime": _minutes(record.submitted_at),
                "destTerminalId": to_national(record.phone_number) or "",
                "spMsgId": record.reference,
            },
            now,
        )

    def reply(self, record: SmsRecord, text: str, now: datetime) -> Callback:
        """A ``DELIVER`` reply (``registeredDelivery`` 0) from the phone ``record`` reached."""
        return self._deliver(
            {
                "registeredDelivery": "0",
                "msgId": message_id(now, self._state.sms.next_sequence()),
                "srcTerminalId": to_national(record.phone_number) or "",
                "destId": record.sender,
                "msgFmt": _UCS2,
                "msgContent": text,
                "spMsgId": record.reference,
            },
            now,
        )

    def _deliver(self, fields: dict[str, str], now: datetime) -> Callback:
        fields |= {"version": _VERSION, "appid": self._app.app_id, "systemtime": systemtime(now)}
        fields["sign"] = callback_sign(fields, self._app.app_key)
        return Callback(json.dumps(fields, ensure_ascii=False).encode(), _JSON)
