"""China Mobile adapter: ``loginTokenValidate`` and ``tokenValidate`` (``docs/operator-dialects.md``).

Our random ``msgid`` is the call's reference; CMCC echoes it (``inresponseto`` / ``msgId``) and a
success that echoes another id is rejected as a protocol error.
"""

from __future__ import annotations

import re
import uuid
from types import MappingProxyType

from carrier_adapters._adapter import OperatorAdapter, ResultCodes
from carrier_adapters._wire import decode_body
from carrier_adapters.base import Assurance, LoginOutcome, VerifyOutcome, VerifyResult
from carrier_adapters.cmcc import signing, wire
from carrier_adapters.errors import (
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
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


class CmccAdapter(OperatorAdapter):
    """China Mobile one-tap login and local number check."""

    OPERATOR = "cmcc"
    TOKEN_LIFETIME = 120
    TOKEN_SHAPE = re.compile(r"(?:STsid|H5HTTPS)[0-9A-Fa-f]{32}")

    async def exchange_login(self, token: str) -> LoginOutcome:
        """Exchange a login token for the phone number (E.164).

        :raises TokenRejected, CarrierError:
        """
        config = self._config
        msgid = uuid.uuid4().hex
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
        msg_id = uuid.uuid4().hex
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

    def _echo(self, sent: str, echoed: str | None) -> str:
        if echoed != sent:
            raise CarrierProtocolError(self.OPERATOR, f"{self.OPERATOR} answered another request id")
        return sent
