"""China Telecom adapter: ``getMobile.do`` and ``verifyMobile.do`` (``docs/operator-dialects.md``).

The token (``accessCode``) and the checked number travel inside the encrypted ``params`` field of
a signed form; the operator's ``reqId`` is the call's reference.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from carrier_adapters._adapter import OperatorAdapter, ResultCodes
from carrier_adapters._wire import decode_body, decode_value
from carrier_adapters.base import Assurance, LoginOutcome, VerifyOutcome, VerifyResult
from carrier_adapters.ctcc import signing, wire
from carrier_adapters.errors import CarrierRejected, CarrierUnavailable, NumberNotServed, TokenRejected

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


class CtccAdapter(OperatorAdapter):
    """China Telecom one-tap login and number check."""

    OPERATOR = "ctcc"
    TOKEN_LIFETIME = 600
    TOKEN_SHAPE = re.compile(r"CTA0[0-9A-Fa-f]{40}")

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

    async def _call(self, path: str, params: dict[str, str], failures: ResultCodes) -> wire.Answer:
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
        if answer.result != wire.SUCCESS:
            raise self._failure(str(answer.result), failures)
        return answer
