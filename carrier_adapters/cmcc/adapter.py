"""China Mobile adapter: ``loginTokenValidate``, ``tokenValidate``, the line queries, network
authorization and SMS (CMPP-modelled ``sms/v3/submit`` and ``DELIVER`` callbacks)
(``docs/operator-dialects.md``).

Our random ``msgid`` is the call's reference; CMCC echoes it (``inresponseto`` / ``msgId``) and a
success that echoes another id is rejected as a protocol error. A submission's echo is our
client reference (``spMsgId``).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from types import MappingProxyType

import uuid_utils

from carrier_adapters._adapter import (
    CodeGrant,
    HistoryKind,
    LineEvent,
    OperatorAdapter,
    ResultCodes,
    SmsCallback,
)
from carrier_adapters._records import camara_record
from carrier_adapters._wire import decode_body, decode_strings, decode_value
from carrier_adapters.base import Assurance, AuthMethod, LoginOutcome, VerifyOutcome, VerifyResult
from carrier_adapters.cmcc import signing, wire
from carrier_adapters.errors import (
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    LineNotEligible,
    NumberNotServed,
    TokenRejected,
)

__all__ = ["CmccAdapter"]

_LOGIN_SUCCESS = "103000"
_LOGIN_FAILURES: ResultCodes = MappingProxyType(
    {
        "103101": (CarrierRejected, "sign error"),
        "103113": (TokenRejected, "token content error"),
        "103119": (CarrierRejected, "app id unknown"),
        "103505": (TokenRejected, "token already used"),
        "103811": (TokenRejected, "token empty"),
        "104201": (TokenRejected, "token expired or absent"),
        "103911": (CarrierRejected, "rate limited"),
    }
)
_ASSURANCE = MappingProxyType({"2": Assurance.NETWORK, "3": Assurance.SMS})

_CHECK_RESULTS = MappingProxyType(
    {"000": VerifyResult.PASS, "001": VerifyResult.REJECT, "002": VerifyResult.UNKNOWN}
)
_CHECK_FAILURES: ResultCodes = MappingProxyType(
    {
        "102": (CarrierRejected, "bad parameters"),
        "103": (CarrierRejected, "app id unknown"),
        "302": (CarrierRejected, "sign error"),
        "606": (TokenRejected, "token invalid"),
        "999": (CarrierUnavailable, "system error"),
    }
)
_H5_PREFIX = "H5HTTPS"

_HISTORY_PATHS = MappingProxyType({HistoryKind.SIM: wire.SIM_PATH, HistoryKind.DEVICE: wire.DEVICE_PATH})
_HISTORY_DISCLOSED, _HISTORY_WITHHELD, _HISTORY_NO_RECORD = "000", "001", "002"
_QUERY_FAILURES: ResultCodes = MappingProxyType(
    {
        "102": (CarrierRejected, "bad parameters"),
        "103": (CarrierRejected, "app id unknown"),
        "201": (NumberNotServed, "not a China Mobile subscriber"),
        "202": (LineNotEligible, "line not eligible for this service"),
        "302": (CarrierRejected, "sign error"),
        "999": (CarrierUnavailable, "system error"),
    }
)
_CUSTOMER_FAILURES: ResultCodes = MappingProxyType(
    {**_QUERY_FAILURES, "203": (NumberNotServed, "no customer record for this line")}
)
_CUSTOMER_NAMES = MappingProxyType(
    {
        "custName": "name",
        "firstName": "givenName",
        "lastName": "familyName",
        "middleName": "middleNames",
        "birthLastName": "familyNameAtBirth",
        "certCode": "idDocument",
        "certType": "idDocumentType",
        "certExpireDate": "idDocumentExpiryDate",
        "custAddress": "address",
        "street": "streetName",
        "streetNo": "streetNumber",
        "houseNoExt": "houseNumberExtension",
        "postCode": "postalCode",
        "province": "region",
        "city": "locality",
        "countryCode": "country",
        "birthday": "birthdate",
        "email": "email",
        "sex": "gender",
        "birthCity": "cityOfBirth",
        "birthCountry": "countryOfBirth",
        "nationality": "nationality",
    }
)
_SEXES = MappingProxyType({"1": "MALE", "2": "FEMALE", "9": "OTHER"})
_CODE_FAILURES: ResultCodes = MappingProxyType(
    {
        "103101": (CarrierRejected, "sign error"),
        "103113": (TokenRejected, "code content error"),
        "103119": (CarrierRejected, "app id unknown"),
        "103505": (TokenRejected, "code already used"),
        "103811": (TokenRejected, "code empty"),
        "104201": (TokenRejected, "code expired or absent"),
    }
)
_METHODS = MappingProxyType({"2": AuthMethod.NETWORK, "7": AuthMethod.SMS_OTP})
_SMS_ACCEPTED = "0"
_SMS_FAILURES: ResultCodes = MappingProxyType(
    {
        "1": (CarrierRejected, "bad message structure"),
        "2": (CarrierRejected, "app id unknown"),
        "3": (CarrierRejected, "sign error"),
        "8": (CarrierUnavailable, "flow control"),
        "13": (NumberNotServed, "not a China Mobile subscriber"),
    }
)
_REPORT, _REPLY = "1", "0"


class CmccAdapter(OperatorAdapter):
    """China Mobile one-tap login and local number check."""

    OPERATOR = "cmcc"
    TOKEN_LIFETIME = 120
    TOKEN_SHAPE = re.compile(r"(?:STsid|H5HTTPS)[0-9A-Fa-f]{32}")
    HISTORY_WINDOW_HOURS = 2400
    AUTHORIZE_PATH = wire.AUTHORIZE_PATH
    SMS_SENDER = "1065750001"

    async def exchange_login(self, token: str) -> LoginOutcome:
        """Exchange a login token for the phone number (E.164).

        :raises TokenRejected, CarrierError:
        """
        config = self._config
        msgid = uuid_utils.uuid4().hex
        systemtime = signing.systemtime(self._now())
        fields = {
            "appid": config.app_id,
            "version": wire.LOGIN_VERSION,
            "msgid": msgid,
            "systemtime": systemtime,
            "strictcheck": "0",
            "token": token,
        }
        request = wire.LoginRequest(**fields, sign=signing.login_sign(**fields, app_key=config.app_key))
        body = await self._post_json(wire.LOGIN_PATH, request)
        answer = decode_body(self.OPERATOR, wire.LoginAnswer, body)
        if answer.resultCode != _LOGIN_SUCCESS:
            raise self._failure(answer.resultCode, _LOGIN_FAILURES)
        success = decode_body(self.OPERATOR, wire.LoginSuccess, body)
        return self._login(
            success.msisdn, _ASSURANCE[success.authType], self._echo(msgid, success.inresponseto)
        )

    async def verify_number(self, token: str, phone_number: str) -> VerifyOutcome:
        """Check whether the phone that obtained ``token`` holds ``phone_number`` (E.164).

        :raises TokenRejected, NumberNotServed, CarrierError:
        """
        config = self._config
        national = self._national(phone_number)
        msg_id = uuid_utils.uuid4().hex
        timestamp = signing.systemtime(self._now())
        phone_num = signing.hashed_number(national, config.app_key, timestamp)
        sign = signing.check_sign(
            app_id=config.app_id,
            msg_id=msg_id,
            phone_num=phone_num,
            timestamp=timestamp,
            token=token,
            version=wire.CHECK_VERSION,
            app_key=config.app_key,
        )
        request = wire.CheckRequest(
            header=wire.CheckHeader(
                version=wire.CHECK_VERSION, msgId=msg_id, timestamp=timestamp, appId=config.app_id
            ),
            body=wire.CheckBody(
                openType="1",
                requesterType="1" if token.startswith(_H5_PREFIX) else "0",
                keyType="0",
                token=token,
                phoneNum=phone_num,
                sign=sign,
            ),
        )
        answer = decode_body(self.OPERATOR, wire.CheckAnswer, await self._post_json(wire.CHECK_PATH, request))
        result = _CHECK_RESULTS.get(answer.header.resultCode)
        if result is None:
            raise self._failure(answer.header.resultCode, _CHECK_FAILURES)
        return self._verdict(result, self._echo(msg_id, answer.header.msgId))

    async def _query_history(self, kind: HistoryKind, national: str) -> LineEvent:
        code, body = await self._line_query(_HISTORY_PATHS[kind], national)
        if code not in (_HISTORY_DISCLOSED, _HISTORY_WITHHELD, _HISTORY_NO_RECORD):
            raise self._failure(code, _QUERY_FAILURES)
        history = decode_value(self.OPERATOR, wire.HistoryBody, body)
        window = int(history.retentionHours)
        if code == _HISTORY_NO_RECORD:
            return LineEvent(None, window, known=False)
        if code == _HISTORY_WITHHELD:
            return LineEvent(None, window)
        try:
            return LineEvent(signing.parse_systemtime(history.changeTime or ""), window)
        except ValueError:
            raise CarrierProtocolError(self.OPERATOR, "cmcc answered a malformed changeTime") from None

    async def _query_customer(self, national: str) -> dict[str, str]:
        code, body = await self._line_query(wire.CUSTOMER_PATH, national)
        if code != _HISTORY_DISCLOSED:
            raise self._failure(code, _CUSTOMER_FAILURES)
        record = decode_value(self.OPERATOR, wire.CustomerBody, body).custInfo
        return camara_record(self.OPERATOR, record, _CUSTOMER_NAMES, compact_dates=True, genders=_SEXES)

    def _authorize_params(self, *, redirect_uri: str, state: str, hint: str | None) -> dict[str, str]:
        params = {"appid": self._config.app_id, "redirect_uri": redirect_uri, "state": state}
        return params | ({"login_hint": hint} if hint else {})

    async def _redeem_code(self, code: str, redirect_uri: str) -> CodeGrant:
        config = self._config
        msgid = uuid_utils.uuid4().hex
        fields = {
            "appid": config.app_id,
            "version": wire.CODE_VERSION,
            "msgid": msgid,
            "systemtime": signing.systemtime(self._now()),
            "code": code,
            "redirect_uri": redirect_uri,
        }
        request = wire.CodeRequest(**fields, sign=signing.code_sign(**fields, app_key=config.app_key))
        body = await self._post_json(wire.CODE_PATH, request)
        answer = decode_body(self.OPERATOR, wire.LoginAnswer, body)
        if answer.resultCode != _LOGIN_SUCCESS:
            raise self._failure(answer.resultCode, _CODE_FAILURES)
        success = decode_body(self.OPERATOR, wire.CodeSuccess, body)
        return CodeGrant(success.msisdn, _METHODS[success.authType], self._echo(msgid, success.inresponseto))

    async def _submit_sms(self, national: str, text: str, reference: str) -> str:
        config = self._config
        fields = {
            "appid": config.app_id,
            "version": wire.SMS_VERSION,
            "systemtime": signing.systemtime(self._now()),
            "spMsgId": reference,
            "srcId": self._sms_sender,
            "destTerminalId": national,
            "msgFmt": wire.SMS_FORMAT,
            "registeredDelivery": "1",
            "msgContent": text,
        }
        request = wire.SmsRequest(**fields, sign=signing.submit_sign(fields.values(), config.app_key))
        answer = decode_body(self.OPERATOR, wire.SmsAnswer, await self._post_json(wire.SMS_PATH, request))
        if answer.resultCode != _SMS_ACCEPTED:
            raise self._failure(answer.resultCode, _SMS_FAILURES)
        self._echo(reference, answer.inresponseto)
        if answer.msgId is None:
            raise CarrierProtocolError(self.OPERATOR, "cmcc accepted an SMS without a msgId")
        return answer.msgId

    def _decode_callback(self, body: bytes, headers: Mapping[str, str]) -> SmsCallback:
        fields = decode_strings(self.OPERATOR, body)
        expected = signing.callback_sign(fields, self._config.app_key)
        if not hmac.compare_digest(fields.get("sign", "").encode(), expected.encode()):
            raise self._bad_signature()
        self._check_app(fields.get("appid", ""))
        try:
            self._check_fresh(signing.parse_systemtime(fields.get("systemtime", "")))
        except ValueError:
            raise CarrierProtocolError(self.OPERATOR, "cmcc sent a malformed systemtime") from None
        kind = fields.get("registeredDelivery")
        if kind == _REPORT:
            report = decode_value(self.OPERATOR, wire.SmsReport, fields)
            try:
                done = signing.parse_minutes(report.doneTime)
            except ValueError:
                raise CarrierProtocolError(self.OPERATOR, "cmcc sent a malformed doneTime") from None
            return [self._delivery_report(report.msgId, report.spMsgId, report.stat, done)]
        if kind == _REPLY:
            reply = decode_value(self.OPERATOR, wire.SmsReply, fields)
            sent_at = signing.parse_systemtime(fields["systemtime"])
            return [self._mobile_originated(reply.srcTerminalId, reply.msgContent, reply.spMsgId, sent_at)]
        raise CarrierProtocolError(self.OPERATOR, "cmcc sent a DELIVER of unknown kind")

    async def _line_query(self, path: str, national: str) -> tuple[str, object]:
        """POST a signed line query; the result code and the (unvalidated) body of our request's answer."""
        config = self._config
        msg_id = uuid_utils.uuid4().hex
        timestamp = signing.systemtime(self._now())
        sign = signing.query_sign(
            app_id=config.app_id,
            msg_id=msg_id,
            msisdn=national,
            timestamp=timestamp,
            version=wire.QUERY_VERSION,
            app_key=config.app_key,
        )
        request = wire.QueryRequest(
            header=wire.CheckHeader(
                version=wire.QUERY_VERSION, msgId=msg_id, timestamp=timestamp, appId=config.app_id
            ),
            body=wire.QueryBody(msisdn=national, sign=sign),
        )
        answer = decode_body(self.OPERATOR, wire.QueryAnswer, await self._post_json(path, request))
        code = answer.header.resultCode
        if code in (_HISTORY_DISCLOSED, _HISTORY_WITHHELD, _HISTORY_NO_RECORD):
            self._echo(msg_id, answer.header.msgId)
        return code, answer.body

    def _echo(self, sent: str, echoed: str | None) -> str:
        if echoed != sent:
            raise CarrierProtocolError(self.OPERATOR, f"{self.OPERATOR} answered another request id")
        return sent
