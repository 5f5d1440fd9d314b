"""The new dialect sections of docs/operator-dialects.md, written out again for the sandbox tests.

Independent of ``carrier_adapters`` and of ``sandbox`` on purpose: a test built from these
helpers fails if either side drifts from the document.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol, TypedDict
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class App(Protocol):
    """An application's credentials with an operator, as the document names them."""

    @property
    def app_id(self) -> str: ...

    @property
    def app_key(self) -> str: ...


BEIJING = timezone(timedelta(hours=8))
PHONES = {"cmcc": "+8613800138000", "cucc": "+8618600186000", "ctcc": "+8618900189000"}
OPERATORS = ("cmcc", "cucc", "ctcc")

AUTHORIZE = {
    "cmcc": "/cmcc/unisdk/oauth2/authorize",
    "cucc": "/cucc/openapi/netauth/v2/authorize",
    "ctcc": "/ctcc/openapi/oauth/authorize.do",
}
AUTHORIZE_PARAMS = {  # app id, redirect URI, login hint
    "cmcc": ("appid", "redirect_uri", "login_hint"),
    "cucc": ("appId", "redirectUri", "mobileHint"),
    "ctcc": ("appId", "returnUrl", "loginHint"),
}
ENRICHMENT = {"cmcc": "x-up-calling-line-id", "cucc": "x-msisdn", "ctcc": "x-ctc-msisdn"}
NUMBER_FORM = {
    "cmcc": ("/cmcc/unisdk/oauth2/sms", "msisdn"),
    "cucc": ("/cucc/openapi/netauth/v2/authorize/sms", "mobile"),
    "ctcc": ("/ctcc/openapi/oauth/sendSms.do", "phone"),
}
CODE_FORM = {
    "cmcc": ("/cmcc/unisdk/oauth2/verify", "smsCode"),
    "cucc": ("/cucc/openapi/netauth/v2/authorize/code", "verifyCode"),
    "ctcc": ("/ctcc/openapi/oauth/checkSms.do", "smsCode"),
}
SMS_SENDERS = {"cmcc": "10086", "cucc": "10010", "ctcc": "10001"}
CODE_PREFIXES = {"cmcc": "CMAC", "cucc": "CUAC", "ctcc": "CTAC"}
CODE_LIFETIMES = {"cmcc": 60, "cucc": 60, "ctcc": 30}
WINDOW_HOURS = {"cmcc": 2400, "cucc": 720, "ctcc": 1440}


def national(phone: str) -> str:
    return phone.removeprefix("+86")


def beijing17(moment: datetime) -> str:
    local = moment.astimezone(BEIJING)
    return f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}"


def epoch_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def query_of(url: str) -> dict[str, str]:
    """The first value of every query parameter of ``url``."""
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


# China Mobile


def cmcc_query(
    app: App, msisdn: str, now: datetime, *, key: str | None = None, **header: str
) -> dict[str, Any]:
    """A signed line query: uppercase HMAC-SHA256 over appId + msgId + msisdn + timestamp + version."""
    head = {
        "version": "1.0",
        "msgId": secrets.token_hex(16),
        "timestamp": beijing17(now),
        "appId": app.app_id,
    }
    head |= header
    message = head["appId"] + head["msgId"] + msisdn + head["timestamp"] + head["version"]
    sign = hmac.new((key or app.app_key).encode(), message.encode(), hashlib.sha256).hexdigest().upper()
    return {"header": head, "body": {"msisdn": msisdn, "sign": sign}}


def cmcc_code_request(
    app: App, code: str, redirect_uri: str, now: datetime, *, key: str | None = None
) -> dict[str, Any]:
    """A signed authCodeValidate body: uppercase MD5 over the values in the documented order + appkey."""
    fields = {
        "version": "2.0",
        "msgid": secrets.token_hex(8),
        "systemtime": beijing17(now),
        "appid": app.app_id,
        "code": code,
        "redirect_uri": redirect_uri,
    }
    material = (
        fields["appid"]
        + fields["version"]
        + fields["msgid"]
        + fields["systemtime"]
        + code
        + redirect_uri
        + (key or app.app_key)
    )
    return {**fields, "sign": hashlib.md5(material.encode()).hexdigest().upper()}  # noqa: S324 - dialect


# China Unicom


def _cucc_cipher(app_key: str) -> Cipher[modes.CBC]:
    digest = hashlib.md5(app_key.encode()).hexdigest()  # noqa: S324 - the dialect
    return Cipher(algorithms.AES(digest[:16].encode()), modes.CBC(digest[16:].encode()))


def cucc_encrypt(app_key: str, plaintext: str) -> str:
    padder = padding.PKCS7(128).padder()
    encryptor = _cucc_cipher(app_key).encryptor()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    return (encryptor.update(padded) + encryptor.finalize()).hex()


def cucc_decrypt(app_key: str, ciphertext: str) -> str:
    decryptor = _cucc_cipher(app_key).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(bytes.fromhex(ciphertext)) + decryptor.finalize()
    return (unpadder.update(padded) + unpadder.finalize()).decode()


def cucc_signed(app: App, now: datetime, *, key: str | None = None, **fields: str) -> dict[str, str]:
    base = {"appId": app.app_id, "timestamp": str(epoch_ms(now)), "nonce": secrets.token_hex(8)} | fields
    message = "&".join(f"{name}={base[name]}" for name in sorted(base) if base[name])
    sign = hmac.new((key or app.app_key).encode(), message.encode(), hashlib.sha256).hexdigest()
    return {**base, "sign": sign}


# China Telecom


def ctcc_encrypt(app_key: str, plaintext: str) -> str:
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(app_key.encode()[:16]), modes.ECB()).encryptor()  # noqa: S305 - dialect
    padded = padder.update(plaintext.encode()) + padder.finalize()
    return (encryptor.update(padded) + encryptor.finalize()).hex().upper()


def ctcc_form(
    app: App, plaintext: str, now: datetime, *, key: str | None = None, **fields: str
) -> dict[str, str]:
    form = {
        "appId": app.app_id,
        "clientType": "30100",
        "format": "json",
        "version": "3.0",
        "timeStamp": str(epoch_ms(now)),
        "params": ctcc_encrypt(app.app_key, plaintext),
    } | fields
    message = "".join(
        form[name] for name in ("appId", "clientType", "format", "params", "timeStamp", "version")
    )
    sign = hmac.new((key or app.app_key).encode(), message.encode(), hashlib.sha1).hexdigest().upper()
    return {**form, "sign": sign}


# SMS (docs: "SMS: submission, delivery reports and replies")

SMS_SUBMIT = {"cmcc": "/cmcc/sms/v3/submit", "cucc": "/cucc/sgip/submit", "ctcc": "/ctcc/smgp/submit.do"}
SMS_SENDER = "1065712345"


def cmcc_sms_request(
    app: App, now: datetime, *, to: str, text: str, reference: str, key: str | None = None, **override: str
) -> dict[str, str]:
    """A signed sms/v3/submit body: uppercase MD5 over the values in the documented order + appkey."""
    fields = {
        "appid": app.app_id,
        "version": "3.0",
        "systemtime": beijing17(now),
        "spMsgId": reference,
        "srcId": SMS_SENDER,
        "destTerminalId": national(to),
        "msgFmt": "8",
        "registeredDelivery": "1",
        "msgContent": text,
    } | override
    material = "".join(fields[name] for name in fields) + (key or app.app_key)
    return {**fields, "sign": hashlib.md5(material.encode()).hexdigest().upper()}  # noqa: S324 - dialect


def cucc_sms_form(
    app: App, now: datetime, *, to: str, text: str, reference: str, key: str | None = None, **override: str
) -> dict[str, str]:
    """A signed sgip/submit form (common cucc signing, encrypted userNumber)."""
    fields = {
        "spNumber": SMS_SENDER,
        "userNumber": cucc_encrypt(app.app_key, national(to)),
        "spSequence": reference,
        "messageCoding": "8",
        "reportFlag": "1",
        "messageContent": text,
    } | override
    return cucc_signed(app, now, key=key, **fields)


def ctcc_sms_form(
    app: App, now: datetime, *, to: str, text: str, reference: str, key: str | None = None, report: str = "1"
) -> dict[str, str]:
    """A signed smgp/submit.do form; only msgContent is percent-encoded inside params."""
    plaintext = (
        f"clientMsgId={reference}&srcTermId={SMS_SENDER}&destTermId={national(to)}"
        f"&msgFormat=8&needReport={report}&msgContent={quote(text, safe='')}"
    )
    return ctcc_form(app, plaintext, now, key=key)


class Submission(TypedDict, total=False):
    """A submission's keyword arguments for the client's ``post``: ``json`` for cmcc, ``data`` otherwise."""

    json: dict[str, str]
    data: dict[str, str]


def sms_submission(op: str, app: App, now: datetime, **fields: Any) -> Submission:
    """A signed submission in ``op``'s dialect, ready for ``client.post(SMS_SUBMIT[op], **submission)``."""
    if op == "cmcc":
        return {"json": cmcc_sms_request(app, now, **fields)}
    if op == "cucc":
        return {"data": cucc_sms_form(app, now, **fields)}
    return {"data": ctcc_sms_form(app, now, **fields)}


def sms_message_id(op: str, answer: dict[str, Any]) -> str | None:
    """The operator's message id in a submission answer (None when refused)."""
    if op == "cmcc":
        message_id: str | None = answer.get("msgId")
    elif op == "cucc":
        message_id = answer["data"].get("submitSeq")
    else:
        message_id = answer["data"].get("msgId")
    return message_id


def sms_result(op: str, answer: dict[str, Any]) -> str:
    """A submission answer's result code, as a string."""
    name = {"cmcc": "resultCode", "cucc": "code", "ctcc": "result"}[op]
    return str(answer.get(name))


SMS_ACCEPTED = {"cmcc": "0", "cucc": "0000", "ctcc": "0"}
SMS_UNKNOWN_NUMBER = {"cmcc": "13", "cucc": "3001", "ctcc": "-20008"}
SMS_SIGN_ERROR = {"cmcc": "3", "cucc": "1001", "ctcc": "-64"}
SMS_UNKNOWN_APP = {"cmcc": "2", "cucc": "1003", "ctcc": "-10003"}
SMS_MESSAGE_IDS = {
    "cmcc": re.compile(r"[0-9A-F]{16}"),
    "cucc": re.compile(r"[0-9]{10}-[0-9]{10}-[0-9]+"),
    "ctcc": re.compile(r"[0-9]{20}"),
}


def open_callback(op: str, app: App, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """Verify a callback's signature per the document and return its fields (cucc numbers decrypted).

    Asserts on a bad signature; ``kind`` is added: ``report`` or ``reply``.
    """
    if op == "cmcc":
        fields: dict[str, Any] = json.loads(body)
        material = "".join(fields[name] for name in sorted(fields) if name != "sign") + app.app_key
        assert fields["sign"] == hashlib.md5(material.encode()).hexdigest().upper()  # noqa: S324
        return fields | {"kind": "report" if fields["registeredDelivery"] == "1" else "reply"}
    if op == "cucc":
        fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
        names = [name for name in sorted(fields) if name != "sign" and fields[name]]
        message = "&".join(f"{name}={fields[name]}" for name in names)
        assert fields["sign"] == hmac.new(app.app_key.encode(), message.encode(), hashlib.sha256).hexdigest()
        fields["userNumber"] = cucc_decrypt(app.app_key, fields["userNumber"])
        return fields | {"kind": "report" if fields["command"] == "REPORT" else "reply"}
    lowered = {name.lower(): value for name, value in headers.items()}
    assert lowered["x-ctcc-app-id"] == app.app_id
    signed = (app.app_id + lowered["x-ctcc-timestamp"]).encode() + body
    assert lowered["x-ctcc-sign"] == hmac.new(app.app_key.encode(), signed, hashlib.sha1).hexdigest().upper()
    fields = json.loads(body)
    return fields | {"kind": "report" if fields["isReport"] == 1 else "reply"}


def callback_summary(op: str, fields: dict[str, Any]) -> dict[str, str]:
    """The dialect-independent content of an opened callback: message id, reference, status / number, text."""
    if fields["kind"] == "report":
        if op == "cmcc":
            return {"id": fields["msgId"], "reference": fields["spMsgId"], "status": fields["stat"]}
        if op == "cucc":
            status = {"0": "DELIVRD", "2": "UNDELIV"}[fields["state"]]
            return {"id": fields["submitSeq"], "reference": fields["spSequence"], "status": status}
        stat = re.search(r"stat:(\S+)", fields["msgContent"])
        assert stat is not None
        return {"id": fields["msgId"], "reference": fields["clientMsgId"], "status": stat.group(1)}
    if op == "cmcc":
        return {
            "number": fields["srcTerminalId"],
            "text": fields["msgContent"],
            "reference": fields["spMsgId"],
            "to": fields["destId"],
        }
    if op == "cucc":
        return {
            "number": fields["userNumber"],
            "text": fields["messageContent"],
            "reference": fields.get("spSequence", ""),
            "to": fields["spNumber"],
        }
    return {
        "number": fields["srcTermId"],
        "text": fields["msgContent"],
        "reference": fields["clientMsgId"],
        "to": fields["destTermId"],
    }
