"""China Mobile adapter against the dialect of docs/operator-dialects.md (signing recomputed here)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from carrier_adapters import (
    Assurance,
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    CmccAdapter,
    LoginOutcome,
    OperatorConfig,
    TokenRejected,
    VerifyOutcome,
    VerifyResult,
)
from carrier_adapters.testing import Answer, FakeTransport, Request, answer

NOW = datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
BEIJING_SYSTEMTIME = "20250102110405678"
APP_ID = "300011000001"
APP_KEY = "Xq4r9T2mZ7pL0aB3cD5eF6gH8jK1nV2w"
CONFIG = OperatorConfig(operator="cmcc", base_url="http://operator.test/cmcc", app_id=APP_ID, app_key=APP_KEY)
LOGIN_PATH = "/cmcc/unisdk/rsapi/loginTokenValidate"
CHECK_PATH = "/cmcc/openapi/rs/tokenValidate"
TOKEN = "STsid" + "0a1b2c3d" * 4
H5_TOKEN = "H5HTTPS" + "9f8e7d6c" * 4
NATIONAL = "13800138000"
PHONE = "+8613800138000"

Responder = Callable[[Request], Answer]


@pytest.fixture
def adapter(transport: FakeTransport) -> CmccAdapter:
    """The adapter under test with a fixed clock."""
    return CmccAdapter(CONFIG, transport, clock=lambda: NOW)


def _login_answer(result_code: str, **fields: str) -> Responder:
    def respond(request: Request) -> Answer:
        msgid = json.loads(request.content)["msgid"]
        return answer(
            200, json={"inresponseto": msgid, "systemtime": "x", "resultCode": result_code, **fields}
        )

    return respond


def _check_answer(result_code: str) -> Responder:
    def respond(request: Request) -> Answer:
        header = json.loads(request.content)["header"]
        return answer(
            200,
            json={
                "header": {
                    "msgId": header["msgId"],
                    "timestamp": "x",
                    "appId": APP_ID,
                    "resultCode": result_code,
                },
                "body": {"resultDesc": "描述"},
            },
        )

    return respond


def test_token_shape_and_lifetime(adapter: CmccAdapter) -> None:
    """STsid and H5HTTPS tokens with 32 hex chars are recognised; other shapes are not; tokens live 120 s."""
    assert adapter.operator == "cmcc"
    assert adapter.token_lifetime == 120
    assert adapter.recognises(TOKEN)
    assert adapter.recognises(H5_TOKEN)
    assert not adapter.recognises(TOKEN[:-1])
    assert not adapter.recognises("CUAT" + "a" * 40)
    assert not adapter.recognises("")


async def test_login_request_is_md5_signed_per_dialect(
    adapter: CmccAdapter, transport: FakeTransport
) -> None:
    """loginTokenValidate gets the documented JSON fields, Beijing systemtime and the uppercase MD5 sign."""
    route = transport.on_post(LOGIN_PATH).handle(_login_answer("103000", msisdn=NATIONAL, authType="2"))

    await adapter.exchange_login(TOKEN)

    request = route.last
    assert request.content_type == "application/json"
    sent = json.loads(request.content)
    assert set(sent) == {"version", "msgid", "systemtime", "strictcheck", "appid", "token", "sign"}
    assert sent["version"] == "2.0"
    assert sent["strictcheck"] == "0"
    assert sent["systemtime"] == BEIJING_SYSTEMTIME
    assert sent["appid"] == APP_ID
    assert sent["token"] == TOKEN
    assert 1 <= len(sent["msgid"]) <= 36
    material = APP_ID + "2.0" + sent["msgid"] + BEIJING_SYSTEMTIME + "0" + TOKEN + APP_KEY
    assert sent["sign"] == hashlib.md5(material.encode(), usedforsecurity=False).hexdigest().upper()


@pytest.mark.parametrize(("auth_type", "assurance"), [("2", Assurance.NETWORK), ("3", Assurance.SMS)])
async def test_login_success_maps_number_assurance_and_reference(
    adapter: CmccAdapter, transport: FakeTransport, auth_type: str, assurance: Assurance
) -> None:
    """A 103000 answer yields the E.164 number, the authType's assurance, our echoed msgid, and is billed."""
    route = transport.on_post(LOGIN_PATH).handle(_login_answer("103000", msisdn=NATIONAL, authType=auth_type))

    outcome = await adapter.exchange_login(TOKEN)

    msgid = json.loads(route.last.content)["msgid"]
    assert outcome == LoginOutcome(
        operator="cmcc", phone_number=PHONE, assurance=assurance, provider_ref=msgid, billed=True
    )


async def test_login_accepts_lowercase_resultcode(adapter: CmccAdapter, transport: FakeTransport) -> None:
    """CMCC's examples spell resultcode in lower case too; it is read the same way."""

    def respond(request: Request) -> Answer:
        msgid = json.loads(request.content)["msgid"]
        return answer(
            200, json={"inresponseto": msgid, "resultcode": "103000", "msisdn": NATIONAL, "authType": "2"}
        )

    transport.on_post(LOGIN_PATH).handle(respond)

    assert (await adapter.exchange_login(TOKEN)).phone_number == PHONE


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("103101", CarrierRejected),
        ("103113", TokenRejected),
        ("103119", CarrierRejected),
        ("103505", TokenRejected),
        ("103811", TokenRejected),
        ("104201", TokenRejected),
        ("103911", CarrierRejected),
        ("105018", CarrierProtocolError),
    ],
)
async def test_login_result_codes_map_to_errors(
    adapter: CmccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    code: str,
    error: type[CarrierError],
) -> None:
    """Each documented login failure code raises its error class and raw code; others are protocol errors."""
    transport.on_post(LOGIN_PATH).handle(_login_answer(code))

    with pytest.raises(error) as caught:
        await adapter.exchange_login(TOKEN)

    assert type(caught.value) is error
    assert caught.value.code == code
    assert caught.value.operator == "cmcc"
    assert_no_leak(caught.value, TOKEN)


@pytest.mark.parametrize(
    "fields",
    [
        {"resultCode": "103000", "msisdn": "1380013800", "authType": "2"},
        {"resultCode": "103000", "msisdn": PHONE, "authType": "2"},
        {"resultCode": "103000", "msisdn": "23800138000", "authType": "2"},
        {"resultCode": "103000", "authType": "2"},
        {"resultCode": "103000", "msisdn": NATIONAL},
        {"resultCode": "103000", "msisdn": NATIONAL, "authType": "7"},
        {"resultCode": 103000, "msisdn": NATIONAL, "authType": "2"},
        {"msisdn": NATIONAL, "authType": "2"},
    ],
    ids=[
        "short",
        "e164",
        "not-mobile",
        "no-msisdn",
        "no-authtype",
        "unknown-authtype",
        "int-code",
        "no-code",
    ],
)
async def test_login_malformed_success_is_protocol_error(
    adapter: CmccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    fields: dict[str, object],
) -> None:
    """A success with a bad or missing number, authType or code is a protocol error that leaks nothing."""

    def respond(request: Request) -> Answer:
        return answer(200, json={"inresponseto": json.loads(request.content)["msgid"], **fields})

    transport.on_post(LOGIN_PATH).handle(respond)

    with pytest.raises(CarrierProtocolError) as caught:
        await adapter.exchange_login(TOKEN)

    assert_no_leak(caught.value, TOKEN, NATIONAL, "1380013800")


async def test_login_success_for_another_msgid_is_protocol_error(
    adapter: CmccAdapter, transport: FakeTransport
) -> None:
    """A success whose inresponseto is not our msgid is not trusted."""
    fields = {"inresponseto": "someone-else", "resultCode": "103000", "msisdn": NATIONAL, "authType": "2"}
    transport.on_post(LOGIN_PATH).respond(200, json=fields)

    with pytest.raises(CarrierProtocolError):
        await adapter.exchange_login(TOKEN)


@pytest.mark.parametrize(("token", "requester_type"), [(TOKEN, "0"), (H5_TOKEN, "1")])
async def test_check_request_hashes_number_and_hmac_signs(
    adapter: CmccAdapter, transport: FakeTransport, token: str, requester_type: str
) -> None:
    """tokenValidate gets the header/body envelope, the salted SHA-256 number and the HMAC-SHA256 sign."""
    route = transport.on_post(CHECK_PATH).handle(_check_answer("000"))

    await adapter.verify_number(token, PHONE)

    sent = json.loads(route.last.content)
    header, body = sent["header"], sent["body"]
    assert set(sent) == {"header", "body"}
    assert set(header) == {"version", "msgId", "timestamp", "appId"}
    assert set(body) == {"openType", "requesterType", "keyType", "token", "phoneNum", "sign"}
    assert header["version"] == "1.0"
    assert header["timestamp"] == BEIJING_SYSTEMTIME
    assert header["appId"] == APP_ID
    assert body["openType"] == "1"
    assert body["requesterType"] == requester_type
    assert body["keyType"] == "0"
    assert body["token"] == token
    phone_num = hashlib.sha256((NATIONAL + APP_KEY + BEIJING_SYSTEMTIME).encode()).hexdigest().upper()
    assert body["phoneNum"] == phone_num
    message = APP_ID + header["msgId"] + phone_num + BEIJING_SYSTEMTIME + token + "1.0"
    assert body["sign"] == hmac.new(APP_KEY.encode(), message.encode(), hashlib.sha256).hexdigest().upper()
    assert NATIONAL not in route.last.content.decode()


@pytest.mark.parametrize(
    ("code", "result", "billed"),
    [
        ("000", VerifyResult.PASS, True),
        ("001", VerifyResult.REJECT, True),
        ("002", VerifyResult.UNKNOWN, False),
    ],
)
async def test_check_results_map_to_outcomes(
    adapter: CmccAdapter, transport: FakeTransport, code: str, result: VerifyResult, billed: bool
) -> None:
    """000/001/002 become PASS/REJECT/UNKNOWN, billed except UNKNOWN, referenced by our msgId."""
    route = transport.on_post(CHECK_PATH).handle(_check_answer(code))

    outcome = await adapter.verify_number(TOKEN, PHONE)

    msg_id = json.loads(route.last.content)["header"]["msgId"]
    assert outcome == VerifyOutcome(operator="cmcc", result=result, billed=billed, provider_ref=msg_id)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("102", CarrierRejected),
        ("103", CarrierRejected),
        ("302", CarrierRejected),
        ("606", TokenRejected),
        ("999", CarrierUnavailable),
        ("124", CarrierProtocolError),
    ],
)
async def test_check_result_codes_map_to_errors(
    adapter: CmccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    code: str,
    error: type[CarrierError],
) -> None:
    """Each documented check failure code raises its error class and raw code; others are protocol errors."""
    transport.on_post(CHECK_PATH).handle(_check_answer(code))

    with pytest.raises(error) as caught:
        await adapter.verify_number(TOKEN, PHONE)

    assert type(caught.value) is error
    assert caught.value.code == code
    assert_no_leak(caught.value, TOKEN, PHONE, NATIONAL)
