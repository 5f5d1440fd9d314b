"""China Telecom adapter: ``getMobile.do``, ``verifyMobile.do``, the ``lineinfo`` queries, network
authorization and SMS (SMGP-modelled ``smgp/submit.do`` and ``DELIVER`` callbacks)
(``docs/operator-dialects.md``).

Tokens, codes, numbers and SMS travel inside the encrypted ``params`` field of a signed form; the
operator's ``reqId`` is the call's reference. Callbacks are JSON signed in headers.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from urllib.parse import quote

from carrier_adapters._adapter import (
    CodeGrant,
    HistoryKind,
    LineEvent,
    OperatorAdapter,
    ResultCodes,
    SmsCallback,
)
from carrier_adapters._records import camara_record
from carrier_adapters._wire import decode_body, decode_value
from carrier_adapters.base import Assurance, AuthMethod, LoginOutcome, VerifyOutcome, VerifyResult
from carrier_adapters.ctcc import signing, wire
from carrier_adapters.errors import (
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    LineNotEligible,
    NumberNotServed,
    TokenRejected,
)

__all__ = ["CtccAdapter"]

_LOGIN_FAILURES: ResultCodes = MappingProxyType(
    {
        "-64": (CarrierRejected, "sign error"),
        "-10001": (CarrierRejected, "bad parameters"),
        "-10002": (CarrierRejected, "timestamp outside the window"),
        "-10003": (CarrierRejected, "app id unknown"),
        "-20005": (TokenRejected, "token invalid or expired"),
        "-20006": (TokenRejected, "token already used"),
        "-20007": (TokenRejected, "token belongs to another app or purpose"),
        "-99999": (CarrierUnavailable, "system error"),
    }
)
_CHECK_FAILURES: ResultCodes = MappingProxyType(
    {**_LOGIN_FAILURES, "-20008": (NumberNotServed, "not a China Telecom subscriber")}
)
_CHECK_RESULTS = MappingProxyType(
    {"1": VerifyResult.PASS, "0": VerifyResult.REJECT, "2": VerifyResult.UNKNOWN}
)

_BEIJING = timezone(timedelta(hours=8))
_REQUEST_FAILURES: ResultCodes = MappingProxyType(
    {
        "-64": (CarrierRejected, "sign error"),
        "-10001": (CarrierRejected, "bad parameters"),
        "-10002": (CarrierRejected, "timestamp outside the window"),
        "-10003": (CarrierRejected, "app id unknown"),
        "-99999": (CarrierUnavailable, "system error"),
    }
)
_QUERY_FAILURES: ResultCodes = MappingProxyType(
    {
        **_REQUEST_FAILURES,
        "-20008": (NumberNotServed, "not a China Telecom subscriber"),
        "-30002": (LineNotEligible, "line not eligible for this service"),
    }
)
_CUSTOMER_FAILURES: ResultCodes = MappingProxyType(
    {**_QUERY_FAILURES, "-30003": (NumberNotServed, "no customer record for this line")}
)
_CODE_FAILURES: ResultCodes = MappingProxyType(
    {
        **_REQUEST_FAILURES,
        "-20005": (TokenRejected, "code invalid or expired"),
        "-20006": (TokenRejected, "code already used"),
        "-20007": (TokenRejected, "code belongs to another app"),
        "-20009": (TokenRejected, "returnUrl differs from the authorize request's"),
    }
)
_HISTORY_PATHS = MappingProxyType({HistoryKind.SIM: wire.SIM_PATH, HistoryKind.DEVICE: wire.DEVICE_PATH})
_CUSTOMER_NAMES = MappingProxyType(
    {
        "cust_name": "name",
        "given_name": "givenName",
        "family_name": "familyName",
        "middle_names": "middleNames",
        "birth_family_name": "familyNameAtBirth",
        "cert_num": "idDocument",
        "cert_type": "idDocumentType",
        "cert_expiry": "idDocumentExpiryDate",
        "address": "address",
        "street_name": "streetName",
        "street_number": "streetNumber",
        "house_number_ext": "houseNumberExtension",
        "zip_code": "postalCode",
        "province": "region",
        "city": "locality",
        "country": "country",
        "birth_date": "birthdate",
        "email": "email",
        "gender": "gender",
        "birth_city": "cityOfBirth",
        "birth_country": "countryOfBirth",
        "nationality": "nationality",
    }
)
_GENDERS = MappingProxyType({"M": "MALE", "F": "FEMALE", "O": "OTHER"})
_METHODS = MappingProxyType({"1": AuthMethod.NETWORK, "2": AuthMethod.SMS_OTP})
_HOURS_PER_DAY = 24
_HISTORY_RESULTS = frozenset({wire.NO_DEVICE_RECORD})
_SMS_FAILURES: ResultCodes = MappingProxyType(
    {**_REQUEST_FAILURES, "-20008": (NumberNotServed, "not a China Telecom subscriber")}
)
_REPORT_TEXT = re.compile(
    r"id:(?P<id>\S+) sub:[0-9]{3} dlvrd:[0-9]{3} submit_date:[0-9]{10} done_date:(?P<done>[0-9]{10}) "
    r"stat:(?P<stat>\S{1,7}) err:\S{1,3} text:.*",
    re.DOTALL,
)


class CtccAdapter(OperatorAdapter):
    """China Telecom one-tap login and number check."""

    OPERATOR = "ctcc"
    TOKEN_LIFETIME = 600
    TOKEN_SHAPE = re.compile(r"CTA0[0-9A-Fa-f]{40}")
    HISTORY_WINDOW_HOURS = 1440
    AUTHORIZE_PATH = wire.AUTHORIZE_PATH
    SMS_SENDER = "1065950001"

    async def exchange_login(self, token: str) -> LoginOutcome:
        """Exchange a login token for the phone number (E.164).

        :raises TokenRejected, CarrierError:
        """
        answer = await self._call(wire.LOGIN_PATH, {"accessCode": token}, _LOGIN_FAILURES)
        data = decode_value(self.OPERATOR, wire.LoginData, answer.data)
        return self._login(data.mobile, Assurance(data.authType), self._reference(answer.reqId))

    async def verify_number(self, token: str, phone_number: str) -> VerifyOutcome:
        """Check whether the phone that obtained ``token`` holds ``phone_number`` (E.164).

        :raises TokenRejected, NumberNotServed, CarrierError:
        """
        params = {"accessCode": token, "mobile": self._national(phone_number)}
        answer = await self._call(wire.CHECK_PATH, params, _CHECK_FAILURES)
        data = decode_value(self.OPERATOR, wire.CheckData, answer.data)
        return self._verdict(_CHECK_RESULTS[data.isVerify], self._reference(answer.reqId))

    async def _query_history(self, kind: HistoryKind, national: str) -> LineEvent:
        answer = await self._call(
            _HISTORY_PATHS[kind], {"mobile": national}, _QUERY_FAILURES, accepted=_HISTORY_RESULTS
        )
        if answer.result == wire.NO_DEVICE_RECORD:
            return LineEvent(None, self.HISTORY_WINDOW_HOURS, known=False)
        data = decode_value(self.OPERATOR, wire.HistoryData, answer.data)
        window = int(data.retainDays) * _HOURS_PER_DAY
        if not data.changeTime:
            return LineEvent(None, window)
        try:
            local = datetime.strptime(data.changeTime, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise CarrierProtocolError(self.OPERATOR, "ctcc answered a malformed changeTime") from None
        return LineEvent(local.replace(tzinfo=_BEIJING).astimezone(UTC), window)

    async def _query_customer(self, national: str) -> dict[str, str]:
        answer = await self._call(wire.CUSTOMER_PATH, {"mobile": national}, _CUSTOMER_FAILURES)
        if not isinstance(answer.data, dict):
            raise CarrierProtocolError(self.OPERATOR, "ctcc answered a record that is not an object")
        return camara_record(
            self.OPERATOR, answer.data, _CUSTOMER_NAMES, compact_dates=True, genders=_GENDERS
        )

    def _authorize_params(self, *, redirect_uri: str, state: str, hint: str | None) -> dict[str, str]:
        params = {"appId": self._config.app_id, "returnUrl": redirect_uri, "state": state}
        if hint:
            params["loginHint"] = signing.encrypt_value(hint, self._config.app_key)
        return params

    async def _redeem_code(self, code: str, redirect_uri: str) -> CodeGrant:
        params = {"code": code, "returnUrl": quote(redirect_uri, safe="")}
        answer = await self._call(wire.CODE_PATH, params, _CODE_FAILURES)
        data = decode_value(self.OPERATOR, wire.CodeData, answer.data)
        return CodeGrant(data.mobile, _METHODS[data.authMode], self._reference(answer.reqId))

    async def _submit_sms(self, national: str, text: str, reference: str) -> str:
        params = {
            "clientMsgId": reference,
            "srcTermId": self._sms_sender,
            "destTermId": national,
            "msgFormat": wire.SMS_FORMAT,
            "needReport": "1",
            "msgContent": quote(text, safe=""),
        }
        answer = await self._call(wire.SMS_PATH, params, _SMS_FAILURES)
        return decode_value(self.OPERATOR, wire.SmsData, answer.data).msgId

    def _decode_callback(self, body: bytes, headers: Mapping[str, str]) -> SmsCallback:
        app_id, timestamp = headers.get("x-ctcc-app-id", ""), headers.get("x-ctcc-timestamp", "")
        expected = signing.callback_sign(
            app_id=app_id, timestamp=timestamp, body=body, app_key=self._config.app_key
        )
        if not hmac.compare_digest(headers.get("x-ctcc-sign", "").encode(), expected.encode()):
            raise self._bad_signature()
        self._check_app(app_id)
        self._check_fresh(self._epoch_datetime(timestamp))
        deliver = decode_body(self.OPERATOR, wire.SmsDeliver, body)
        if deliver.isReport == 1:
            report = _REPORT_TEXT.fullmatch(deliver.msgContent)
            if report is None or report.group("id") != deliver.msgId:
                raise CarrierProtocolError(self.OPERATOR, "ctcc sent a malformed status report")
            done = self._beijing(report.group("done"), "%y%m%d%H%M")
            return [self._delivery_report(deliver.msgId, deliver.clientMsgId, report.group("stat"), done)]
        received = self._beijing(deliver.recvTime, "%Y%m%d%H%M%S")
        return [self._mobile_originated(deliver.srcTermId, deliver.msgContent, deliver.clientMsgId, received)]

    def _beijing(self, value: str, layout: str) -> datetime:
        try:
            return datetime.strptime(value, layout).replace(tzinfo=_BEIJING).astimezone(UTC)
        except ValueError:
            raise CarrierProtocolError(self.OPERATOR, "ctcc sent a malformed time") from None

    async def _call(
        self,
        path: str,
        params: dict[str, str],
        failures: ResultCodes,
        *,
        accepted: frozenset[int] = frozenset(),
    ) -> wire.Answer:
        config = self._config
        encrypted = signing.encrypt_params(params, config.app_key)
        timestamp = self._epoch_millis()
        request = wire.FormRequest(
            appId=config.app_id,
            clientType=wire.CLIENT_TYPE,
            format=wire.FORMAT,
            version=wire.VERSION,
            timeStamp=timestamp,
            params=encrypted,
            sign=signing.sign(
                app_id=config.app_id,
                client_type=wire.CLIENT_TYPE,
                format=wire.FORMAT,
                params=encrypted,
                timestamp=timestamp,
                version=wire.VERSION,
                app_key=config.app_key,
            ),
        )
        answer = decode_body(self.OPERATOR, wire.Answer, await self._post_form(path, request))
        if answer.result != wire.SUCCESS and answer.result not in accepted:
            raise self._failure(str(answer.result), failures)
        return answer
