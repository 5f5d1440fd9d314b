"""China Unicom adapter: ``/v2/mobile`` and ``/v2/verify`` (``docs/operator-dialects.md``).

Both requests carry a millisecond timestamp, a random nonce and the sorted-parameter HMAC; the
operator's ``seqId`` is the call's reference.
"""

from __future__ import annotations

import re
import secrets
from types import MappingProxyType

from carrier_adapters._adapter import OperatorAdapter, ResultCodes
from carrier_adapters._wire import WireModel, decode_body, decode_value
from carrier_adapters.base import Assurance, LoginOutcome, VerifyOutcome, VerifyResult
from carrier_adapters.cucc import signing, wire
from carrier_adapters.errors import (
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
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


class CuccAdapter(OperatorAdapter):
    """China Unicom one-tap login and number check."""

    OPERATOR = "cucc"
    TOKEN_LIFETIME = 1800
    TOKEN_SHAPE = re.compile(r"CUAT[A-Za-z0-9_-]{40}")

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
