"""China Mobile request signing (``docs/operator-dialects.md``, "China Mobile").

``loginTokenValidate`` is signed with an uppercase MD5 over concatenated values; ``tokenValidate``
sends the checked number only as a salted SHA-256 and signs with HMAC-SHA256. Both use a 17-digit
Beijing-time timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone

__all__ = ["check_sign", "hashed_number", "login_sign", "systemtime"]

_BEIJING = timezone(timedelta(hours=8))


def systemtime(now: datetime) -> str:
    """``yyyyMMddHHmmssSSS`` of the aware datetime ``now``, in Beijing time."""
    local = now.astimezone(_BEIJING)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def login_sign(
    *, appid: str, version: str, msgid: str, systemtime: str, strictcheck: str, token: str, app_key: str
) -> str:
    """Uppercase hex ``MD5(appid + version + msgid + systemtime + strictcheck + token + appkey)``."""
    material = appid + version + msgid + systemtime + strictcheck + token + app_key
    return hashlib.md5(material.encode(), usedforsecurity=False).hexdigest().upper()


def hashed_number(national: str, app_key: str, timestamp: str) -> str:
    """Uppercase hex ``SHA-256(national_number + appKey + timestamp)``: the number never travels."""
    return hashlib.sha256((national + app_key + timestamp).encode()).hexdigest().upper()


def check_sign(
    *, app_id: str, msg_id: str, phone_num: str, timestamp: str, token: str, version: str, app_key: str
) -> str:
    """Uppercase hex ``HMAC-SHA256(appKey, appId + msgId + phoneNum + timestamp + token + version)``."""
    message = app_id + msg_id + phone_num + timestamp + token + version
    return hmac.new(app_key.encode(), message.encode(), hashlib.sha256).hexdigest().upper()
