"""China Unicom adapter: ``/v2/mobile``, ``/v2/verify``, the ``lineinfo`` queries, network
authorization and SMS (SGIP-modelled ``sgip/submit`` and ``REPORT``/``DELIVER`` callbacks)
(``docs/operator-dialects.md``).

Every request carries a millisecond timestamp, a random nonce and the sorted-parameter HMAC;
numbers and customer records travel AES-128-CBC encrypted; the operator's ``seqId`` is the call's
reference. SMS submissions are the same signed fields sent as a form, and so are the callbacks.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from carrier_adapters._adapter import (
    CodeGrant,
    HistoryKind,
    LineEvent,
    OperatorAdapter,
    ResultCodes,
    SmsCallback,
)
from carrier_adapters._records import camara_record
from carrier_adapters._wire import WireModel, decode_body, decode_form, decode_value
from carrier_adapters.base import Assurance, AuthMethod, LoginOutcome, VerifyOutcome, VerifyResult
from carrier_adapters.cucc import signing, wire
from carrier_adapters.errors import (
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    LineNotEligible,
    NumberNotServed,
    TokenRejected,
)

__all__ = ["CuccAdapter"]

_LOGIN_FAILURES: ResultCodes = MappingProxyType(
    {
        "1001": (CarrierRejected, "sign error"),
        "1002": (CarrierRejected, "timestamp outside the window"),
        "1003": (CarrierRejected, "app id unknown"),
        "1004": (CarrierRejected, "bad parameters"),
        "2001": (TokenRejected, "token invalid or expired"),
        "2002": (TokenRejected, "token already used"),
        "2003": (TokenRejected, "token belongs to another app"),
        "2004": (TokenRejected, "token purpose mismatch"),
        "9999": (CarrierUnavailable, "system error"),
    }
)
_CHECK_FAILURES: ResultCodes = MappingProxyType(
    {**_LOGIN_FAILURES, "3001": (NumberNotServed, "not a China Unicom subscriber")}
)
_CHECK_RESULTS = MappingProxyType(
    {"1": VerifyResult.PASS, "0": VerifyResult.REJECT, "2": VerifyResult.UNKNOWN}
)
_NONCE_BYTES = 16
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_REQUEST_FAILURES: ResultCodes = MappingProxyType(
    {
        "1001": (CarrierRejected, "sign error"),
        "1002": (CarrierRejected, "timestamp outside the window"),
        "1003": (CarrierRejected, "app id unknown"),
        "1004": (CarrierRejected, "bad parameters"),
        "9999": (CarrierUnavailable, "system error"),
    }
)
_QUERY_FAILURES: ResultCodes = MappingProxyType(
    {
        **_REQUEST_FAILURES,
        "3001": (NumberNotServed, "not a China Unicom subscriber"),
        "3002": (LineNotEligible, "line not eligible for this service"),
    }
)
_CUSTOMER_FAILURES: ResultCodes = MappingProxyType(
    {**_QUERY_FAILURES, "3003": (NumberNotServed, "no customer record for this line")}
)
_CODE_FAILURES: ResultCodes = MappingProxyType(
    {
        **_REQUEST_FAILURES,
        "2001": (TokenRejected, "code invalid or expired"),
        "2002": (TokenRejected, "code already used"),
        "2003": (TokenRejected, "code belongs to another app"),
        "2005": (TokenRejected, "redirectUri differs from the authorize request's"),
    }
)
_HISTORY_PATHS = MappingProxyType({HistoryKind.SIM: wire.SIM_PATH, HistoryKind.DEVICE: wire.DEVICE_PATH})
_RECORD_NAMES = MappingProxyType(
    {
        name: name
        for name in (
            "name",
            "givenName",
            "familyName",
            "middleNames",
            "familyNameAtBirth",
            "idDocument",
            "idDocumentType",
            "idDocumentExpiryDate",
            "address",
            "streetName",
            "streetNumber",
            "houseNumberExtension",
            "postalCode",
            "region",
            "locality",
            "country",
            "birthdate",
            "email",
            "gender",
            "cityOfBirth",
            "countryOfBirth",
            "nationality",
        )
    }
)
_GENDERS = MappingProxyType({"MALE": "MALE", "FEMALE": "FEMALE", "OTHER": "OTHER"})
_SMS_FAILURES: ResultCodes = MappingProxyType(
    {**_REQUEST_FAILURES, "3001": (NumberNotServed, "not a China Unicom subscriber")}
)
_REPORT_STATES = MappingProxyType({"0": "DELIVRD", "2": "UNDELIV"})


class CuccAdapter(OperatorAdapter):
    """China Unicom one-tap login and number check."""

    OPERATOR = "cucc"
    TOKEN_LIFETIME = 1800
    TOKEN_SHAPE = re.compile(r"CUAT[A-Za-z0-9_-]{40}")
    HISTORY_WINDOW_HOURS = 720
    AUTHORIZE_PATH = wire.AUTHORIZE_PATH
    SMS_SENDER = "1065550001"

    async def exchange_login(self, token: str) -> LoginOutcome:
        """Exchange a login token for the phone number (E.164).

        :raises TokenRejected, CarrierError:
        """
        fields = self._signed_fields(token=token)
        answer = await self._call(wire.LOGIN_PATH, wire.LoginRequest(**fields), _LOGIN_FAILURES)
        data = decode_value(self.OPERATOR, wire.LoginData, answer.data)
        try:
            national = signing.decrypt_number(data.mobile, self._config.app_key)
        except ValueError:
            raise CarrierProtocolError(self.OPERATOR, "cucc returned an undecryptable number") from None
        return self._login(national, Assurance(data.authType), self._reference(answer.seqId))

    async def verify_number(self, token: str, phone_number: str) -> VerifyOutcome:
        """Check whether the phone that obtained ``token`` holds ``phone_number`` (E.164).

        :raises TokenRejected, NumberNotServed, CarrierError:
        """
        mobile = signing.encrypt_number(self._national(phone_number), self._config.app_key)
        fields = self._signed_fields(token=token, mobile=mobile)
        answer = await self._call(wire.CHECK_PATH, wire.CheckRequest(**fields), _CHECK_FAILURES)
        data = decode_value(self.OPERATOR, wire.CheckData, answer.data)
        return self._verdict(_CHECK_RESULTS[data.result], self._reference(answer.seqId))

    async def _query_history(self, kind: HistoryKind, national: str) -> LineEvent:
        answer = await self._call(_HISTORY_PATHS[kind], self._line_query(national), _QUERY_FAILURES)
        data = decode_value(self.OPERATOR, wire.HistoryData, answer.data)
        window = int(data.windowHours)
        if data.status == "3":
            return LineEvent(None, window, known=False)
        if data.status == "2":
            return LineEvent(None, window)
        if data.changeTime is None:
            raise CarrierProtocolError(self.OPERATOR, "cucc answered a disclosed change without changeTime")
        return LineEvent(_EPOCH + timedelta(milliseconds=int(data.changeTime)), window)

    async def _query_customer(self, national: str) -> dict[str, str]:
        answer = await self._call(wire.CUSTOMER_PATH, self._line_query(national), _CUSTOMER_FAILURES)
        data = decode_value(self.OPERATOR, wire.RecordData, answer.data)
        try:
            record = json.loads(signing.decrypt(data.record, self._config.app_key))
        except (ValueError, RecursionError):
            raise CarrierProtocolError(self.OPERATOR, "cucc returned an undecryptable record") from None
        if not isinstance(record, dict):
            raise CarrierProtocolError(self.OPERATOR, "cucc returned a record that is not an object")
        return camara_record(self.OPERATOR, record, _RECORD_NAMES, compact_dates=False, genders=_GENDERS)

    def _authorize_params(self, *, redirect_uri: str, state: str, hint: str | None) -> dict[str, str]:
        params = {"appId": self._config.app_id, "redirectUri": redirect_uri, "state": state}
        if hint:
            params["mobileHint"] = signing.encrypt_number(hint, self._config.app_key)
        return params

    async def _redeem_code(self, code: str, redirect_uri: str) -> CodeGrant:
        fields = self._signed_fields(code=code, redirectUri=redirect_uri)
        answer = await self._call(wire.CODE_PATH, wire.CodeRequest(**fields), _CODE_FAILURES)
        data = decode_value(self.OPERATOR, wire.CodeData, answer.data)
        try:
            national = signing.decrypt_number(data.mobile, self._config.app_key)
        except ValueError:
            raise CarrierProtocolError(self.OPERATOR, "cucc returned an undecryptable number") from None
        return CodeGrant(national, AuthMethod(data.authMethod), self._reference(answer.seqId))

    async def _submit_sms(self, national: str, text: str, reference: str) -> str:
        fields = self._signed_fields(
            spNumber=self._sms_sender,
            userNumber=signing.encrypt_number(national, self._config.app_key),
            spSequence=reference,
            messageCoding=wire.SMS_CODING,
            reportFlag="1",
            messageContent=text,
        )
        body = await self._post_form(wire.SMS_PATH, wire.SmsRequest(**fields))
        answer = decode_body(self.OPERATOR, wire.Answer, body)
        if answer.code != wire.SUCCESS:
            raise self._failure(answer.code, _SMS_FAILURES)
        return decode_value(self.OPERATOR, wire.SmsData, answer.data).submitSeq

    def _decode_callback(self, body: bytes, headers: Mapping[str, str]) -> SmsCallback:
        fields = decode_form(self.OPERATOR, body)
        expected = signing.sign(fields, self._config.app_key)
        if not hmac.compare_digest(fields.get("sign", "").encode(), expected.encode()):
            raise self._bad_signature()
        self._check_app(fields.get("appId", ""))
        self._check_fresh(self._epoch_datetime(fields.get("timestamp", "")))
        command = fields.get("command")
        if command == "REPORT":
            report = decode_value(self.OPERATOR, wire.SmsReport, fields)
            status = _REPORT_STATES.get(report.state)
            if status is None:
                return []
            done = self._epoch_datetime(report.doneTime)
            return [self._delivery_report(report.submitSeq, report.spSequence, status, done)]
        if command == "DELIVER":
            reply = decode_value(self.OPERATOR, wire.SmsDeliver, fields)
            try:
                national = signing.decrypt_number(reply.userNumber, self._config.app_key)
            except ValueError:
                raise CarrierProtocolError(self.OPERATOR, "cucc sent an undecryptable number") from None
            at = self._epoch_datetime(reply.recvTime)
            return [self._mobile_originated(national, reply.messageContent, reply.spSequence, at)]
        raise CarrierProtocolError(self.OPERATOR, "cucc sent a callback of unknown command")

    def _line_query(self, national: str) -> wire.QueryRequest:
        mobile = signing.encrypt_number(national, self._config.app_key)
        return wire.QueryRequest(**self._signed_fields(mobile=mobile))

    def _signed_fields(self, **fields: str) -> dict[str, str]:
        fields |= {
            "appId": self._config.app_id,
            "timestamp": self._epoch_millis(),
            "nonce": secrets.token_hex(_NONCE_BYTES),
        }
        return fields | {"sign": signing.sign(fields, self._config.app_key)}

    async def _call(self, path: str, request: WireModel, failures: ResultCodes) -> wire.Answer:
        answer = decode_body(self.OPERATOR, wire.Answer, await self._post_json(path, request))
        if answer.code != wire.SUCCESS:
            raise self._failure(answer.code, failures)
        return answer
