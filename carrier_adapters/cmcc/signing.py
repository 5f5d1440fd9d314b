"""China Mobile request signing (``docs/operator-dialects.md``, "China Mobile").

``loginTokenValidate`` and ``authCodeValidate`` are signed with an uppercase MD5 over concatenated
values; ``tokenValidate`` sends the checked number only as a salted SHA-256 and signs with
HMAC-SHA256, as do the line queries. All use a 17-digit Beijing-time timestamp, which is also how
history answers date their events.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = [
    "check_sign",
    "code_sign",
    "hashed_number",
    "login_sign",
    "parse_systemtime",
    "query_sign",
    "systemtime",
]

_BEIJING = timezone(timedelta(hours=8))
_SYSTEMTIME = re.compile(r"[0-9]{17}")


def systemtime(now: datetime) -> str:
    """``yyyyMMddHHmmssSSS`` of the aware datetime ``now``, in Beijing time."""
    local = now.astimezone(_BEIJING)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def parse_systemtime(value: str) -> datetime:
    """The aware UTC instant of a 17-digit Beijing ``yyyyMMddHHmmssSSS``.

    :raises ValueError: if ``value`` is not such a timestamp.
    """
    if _SYSTEMTIME.fullmatch(value) is None:
        raise ValueError("not a 17-digit systemtime")
    local = datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(
        microsecond=int(value[14:]) * 1000, tzinfo=_BEIJING
    )
    return local.astimezone(UTC)


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


def query_sign(*, app_id: str, msg_id: str, msisdn: str, timestamp: str, version: str, app_key: str) -> str:
    """Uppercase hex ``HMAC-SHA256(appKey, appId + msgId + msisdn + timestamp + version)``."""
    message = app_id + msg_id + msisdn + timestamp + version
    return hmac.new(app_key.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def code_sign(
    *, appid: str, version: str, msgid: str, systemtime: str, code: str, redirect_uri: str, app_key: str
) -> str:
    """Uppercase hex ``MD5(appid + version + msgid + systemtime + code + redirect_uri + appkey)``."""
    material = appid + version + msgid + systemtime + code + redirect_uri + app_key
    return hashlib.md5(material.encode(), usedforsecurity=False).hexdigest().upper()
