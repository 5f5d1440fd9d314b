"""China Mobile line queries, customer record and network authorization against the dialect."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from carrier_adapters import (
    AuthMethod,
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    CmccAdapter,
    LineNotEligible,
    NetworkIdentity,
    NumberNotServed,
    OperatorConfig,
    SwapHistory,
    TokenRejected,
)
from carrier_adapters.testing import Answer, FakeTransport, Request, answer

NOW = datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
BEIJING_SYSTEMTIME = "20250102110405678"
APP_ID = "300011000001"
APP_KEY = "Xq4r9T2mZ7pL0aB3cD5eF6gH8jK1nV2w"
BASE = "http://operator.test/cmcc"
CONFIG = OperatorConfig(operator="cmcc", base_url=BASE, app_id=APP_ID, app_key=APP_KEY)
SIM_PATH = "/cmcc/openapi/rs/simChangeQuery"
DEVICE_PATH = "/cmcc/openapi/rs/deviceChangeQuery"
CUSTOMER_PATH = "/cmcc/openapi/rs/custInfoQuery"
CODE_PATH = "/cmcc/unisdk/rsapi/authCodeValidate"
PHONE = "+8613800138000"
NATIONAL = "13800138000"
CODE = "CMAC" + "5e" * 16
REDIRECT = "https://gw.example/oauth2/callback/cmcc?flow=1"

Responder = Callable[[Request], Answer]


@pytest.fixture
def adapter(transport: FakeTransport) -> CmccAdapter:
    """The adapter under test with a fixed clock."""
    return CmccAdapter(CONFIG, transport, clock=lambda: NOW)


def _query_answer(result_code: str, **body: object) -> Responder:
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
                "body": {"resultDesc": "描述", **body},
            },
        )

    return respond


def _code_answer(result_code: str, **fields: str) -> Responder:
    def respond(request: Request) -> Answer:
        msgid = json.loads(request.content)["msgid"]
        return answer(
            200, json={"inresponseto": msgid, "systemtime": "x", "resultCode": result_code, **fields}
        )

    return respond


@pytest.mark.parametrize("path", [SIM_PATH, DEVICE_PATH, CUSTOMER_PATH])
async def test_line_queries_are_hmac_signed_per_dialect(
    adapter: CmccAdapter, transport: FakeTransport, path: str
) -> None:
    """The tokenValidate envelope with the plain national msisdn and HMAC-SHA256 over the sorted values."""
    route = transport.on_post(path).handle(_query_answer("201"))
    call = {
        SIM_PATH: adapter.sim_history,
        DEVICE_PATH: adapter.device_history,
        CUSTOMER_PATH: adapter.customer_record,
    }

    with pytest.raises(NumberNotServed):
        await call[path](PHONE)

    request = route.last
    assert request.content_type == "application/json"
    sent = json.loads(request.content)
    assert set(sent) == {"header", "body"}
    header, body = sent["header"], sent["body"]
    assert set(header) == {"version", "msgId", "timestamp", "appId"}
    assert (header["version"], header["timestamp"], header["appId"]) == ("1.0", BEIJING_SYSTEMTIME, APP_ID)
    assert set(body) == {"msisdn", "sign"}
    assert body["msisdn"] == NATIONAL
    message = APP_ID + header["msgId"] + NATIONAL + BEIJING_SYSTEMTIME + "1.0"
    assert body["sign"] == hmac.new(APP_KEY.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


async def test_disclosed_change_is_beijing_time_in_utc(
    adapter: CmccAdapter, transport: FakeTransport
) -> None:
    """000: changeTime (Beijing, ms) becomes an aware UTC datetime; window from retentionHours."""
    transport.on_post(SIM_PATH).handle(
        _query_answer("000", changeTime="20241225080000123", changeType="1", retentionHours="2400")
    )

    history = await adapter.sim_history(PHONE)

    assert history == SwapHistory("cmcc", datetime(2024, 12, 25, 0, 0, 0, 123_000, tzinfo=UTC), 100)
    assert adapter.history_window_hours == 2400


async def test_withheld_and_unrecorded_history(adapter: CmccAdapter, transport: FakeTransport) -> None:
    """001 is 'no change within the window' (known), 002 'no data' (unknown); the answer's window counts."""
    transport.on_post(SIM_PATH).handle(_query_answer("001", retentionHours="720"))
    transport.on_post(DEVICE_PATH).handle(_query_answer("002", retentionHours="2400"))

    assert await adapter.sim_history(PHONE) == SwapHistory("cmcc", None, 30)
    assert await adapter.device_history(PHONE) == SwapHistory("cmcc", None, 100, known=False)


@pytest.mark.parametrize(
    "body",
    [
        {"changeTime": "2024-12-25", "changeType": "1", "retentionHours": "2400"},
        {"changeType": "1", "retentionHours": "2400"},
        {"changeTime": "20241225080000123", "changeType": "1"},
        {"changeTime": "20241225080000123", "changeType": "1", "retentionHours": "0"},
        {"changeTime": "20241399080000123", "changeType": "1", "retentionHours": "2400"},
    ],
    ids=["date-format", "no-time", "no-window", "zero-window", "bad-month"],
)
async def test_malformed_history_is_a_protocol_error(
    adapter: CmccAdapter, transport: FakeTransport, body: dict[str, str]
) -> None:
    """A 000 without a parseable changeTime or a positive retentionHours is a protocol error."""
    transport.on_post(DEVICE_PATH).handle(_query_answer("000", **body))

    with pytest.raises(CarrierProtocolError):
        await adapter.device_history(PHONE)


async def test_history_for_another_msg_id_is_a_protocol_error(
    adapter: CmccAdapter, transport: FakeTransport
) -> None:
    """An answer that echoes another msgId is not trusted."""
    fields = {"header": {"msgId": "other", "resultCode": "001"}, "body": {"retentionHours": "2400"}}
    transport.on_post(SIM_PATH).respond(200, json=fields)

    with pytest.raises(CarrierProtocolError):
        await adapter.sim_history(PHONE)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("102", CarrierRejected),
        ("103", CarrierRejected),
        ("201", NumberNotServed),
        ("202", LineNotEligible),
        ("302", CarrierRejected),
        ("999", CarrierUnavailable),
        ("203", CarrierProtocolError),
        ("606", CarrierProtocolError),
    ],
)
async def test_history_result_codes_map_to_errors(
    adapter: CmccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    code: str,
    error: type[CarrierError],
) -> None:
    """Each documented failure code raises its class with the raw code; 203 and others are protocol errors."""
    transport.on_post(SIM_PATH).handle(_query_answer(code))

    with pytest.raises(error) as caught:
        await adapter.sim_history(PHONE)

    assert type(caught.value) is error
    assert caught.value.code == code
    assert_no_leak(caught.value, PHONE, NATIONAL)


async def test_non_mainland_number_is_not_served_without_a_call(adapter: CmccAdapter) -> None:
    """A number China Mobile cannot hold raises NumberNotServed before any request."""
    for call in (adapter.sim_history, adapter.device_history, adapter.customer_record):
        with pytest.raises(NumberNotServed):
            await call("+447911123456")


async def test_customer_record_is_translated_to_kyc_names(
    adapter: CmccAdapter, transport: FakeTransport
) -> None:
    """custInfo fields get KYC Match names, ISO dates and genders; unknown fields and empty values go."""
    cust_info = {
        "custName": "张三",
        "firstName": "三",
        "lastName": "张",
        "certCode": "110101199001011234",
        "certType": "national_id_card",
        "certExpireDate": "20350630",
        "custAddress": "北京市",
        "postCode": "100010",
        "countryCode": "CN",
        "birthday": "19900101",
        "sex": "9",
        "email": "",
        "vipLevel": "gold",
    }
    transport.on_post(CUSTOMER_PATH).handle(_query_answer("000", custInfo=cust_info))

    record = await adapter.customer_record(PHONE)

    assert record.operator == "cmcc"
    assert dict(record.attributes) == {
        "name": "张三",
        "givenName": "三",
        "familyName": "张",
        "idDocument": "110101199001011234",
        "idDocumentType": "national_id_card",
        "idDocumentExpiryDate": "2035-06-30",
        "address": "北京市",
        "postalCode": "100010",
        "country": "CN",
        "birthdate": "1990-01-01",
        "gender": "OTHER",
    }


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("203", NumberNotServed),
        ("201", NumberNotServed),
        ("202", LineNotEligible),
        ("001", CarrierProtocolError),
    ],
)
async def test_customer_record_failures(
    adapter: CmccAdapter, transport: FakeTransport, code: str, error: type[CarrierError]
) -> None:
    """No customer record (203) and an unknown number are NumberNotServed; 001 means nothing here."""
    transport.on_post(CUSTOMER_PATH).handle(_query_answer(code))

    with pytest.raises(error):
        await adapter.customer_record(PHONE)


@pytest.mark.parametrize(
    "cust_info",
    [{"birthday": "1990-01-01"}, {"sex": "M"}, {"custName": 7}, "not-an-object"],
    ids=["iso-date", "sex-letter", "number", "not-object"],
)
async def test_malformed_customer_record_is_a_protocol_error(
    adapter: CmccAdapter, transport: FakeTransport, assert_no_leak: Callable[..., None], cust_info: object
) -> None:
    """A date, gender or value in another format is a protocol error naming the attribute, not its value."""
    transport.on_post(CUSTOMER_PATH).handle(_query_answer("000", custInfo=cust_info))

    with pytest.raises(CarrierProtocolError) as caught:
        await adapter.customer_record(PHONE)

    assert_no_leak(caught.value, "1990-01-01")


def test_authorization_url_per_dialect(adapter: CmccAdapter) -> None:
    """appid, redirect_uri, state and the plain national login_hint on the documented path."""
    url = adapter.authorization_url(redirect_uri=REDIRECT, state="st&=1", login_hint=PHONE)

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == BASE + "/unisdk/oauth2/authorize"
    assert parse_qs(parts.query) == {
        "appid": [APP_ID],
        "redirect_uri": [REDIRECT],
        "state": ["st&=1"],
        "login_hint": [NATIONAL],
    }


@pytest.mark.parametrize("hint", [None, "+447911123456"])
def test_authorization_url_without_usable_hint(adapter: CmccAdapter, hint: str | None) -> None:
    """No hint, or one China Mobile cannot serve, leaves login_hint out."""
    url = adapter.authorization_url(redirect_uri=REDIRECT, state="s", login_hint=hint)

    assert "login_hint" not in parse_qs(urlsplit(url).query)


async def test_code_exchange_is_md5_signed_per_dialect(
    adapter: CmccAdapter, transport: FakeTransport
) -> None:
    """authCodeValidate: the documented strings and MD5 over appid..redirect_uri + appkey."""
    route = transport.on_post(CODE_PATH).handle(_code_answer("103000", msisdn=NATIONAL, authType="2"))

    await adapter.exchange_code(CODE, redirect_uri=REDIRECT)

    sent = json.loads(route.last.content)
    assert set(sent) == {"version", "msgid", "systemtime", "appid", "code", "redirect_uri", "sign"}
    assert (sent["version"], sent["systemtime"], sent["appid"]) == ("2.0", BEIJING_SYSTEMTIME, APP_ID)
    assert (sent["code"], sent["redirect_uri"]) == (CODE, REDIRECT)
    material = APP_ID + "2.0" + sent["msgid"] + BEIJING_SYSTEMTIME + CODE + REDIRECT + APP_KEY
    assert sent["sign"] == hashlib.md5(material.encode(), usedforsecurity=False).hexdigest().upper()


@pytest.mark.parametrize(("auth_type", "method"), [("2", AuthMethod.NETWORK), ("7", AuthMethod.SMS_OTP)])
async def test_code_exchange_success(
    adapter: CmccAdapter, transport: FakeTransport, auth_type: str, method: AuthMethod
) -> None:
    """103000: the E.164 number, the method of authType, our echoed msgid as the reference."""
    route = transport.on_post(CODE_PATH).handle(_code_answer("103000", msisdn=NATIONAL, authType=auth_type))

    identity = await adapter.exchange_code(CODE, redirect_uri=REDIRECT)

    msgid = json.loads(route.last.content)["msgid"]
    assert identity == NetworkIdentity("cmcc", PHONE, method, msgid)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("103101", CarrierRejected),
        ("103113", TokenRejected),
        ("103119", CarrierRejected),
        ("103505", TokenRejected),
        ("103811", TokenRejected),
        ("104201", TokenRejected),
        ("103911", CarrierProtocolError),
    ],
)
async def test_code_exchange_result_codes_map_to_errors(
    adapter: CmccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    code: str,
    error: type[CarrierError],
) -> None:
    """Each documented exchange failure raises its class with the raw code; others are protocol errors."""
    transport.on_post(CODE_PATH).handle(_code_answer(code))

    with pytest.raises(error) as caught:
        await adapter.exchange_code(CODE, redirect_uri=REDIRECT)

    assert type(caught.value) is error
    assert caught.value.code == code
    assert_no_leak(caught.value, CODE)


@pytest.mark.parametrize(
    "fields",
    [{"msisdn": "1380013800", "authType": "2"}, {"msisdn": NATIONAL, "authType": "3"}, {"msisdn": NATIONAL}],
    ids=["short-number", "login-auth-type", "no-auth-type"],
)
async def test_malformed_code_success_is_a_protocol_error(
    adapter: CmccAdapter, transport: FakeTransport, fields: dict[str, str]
) -> None:
    """A 103000 with a bad number or an authType other than 2/7 is a protocol error."""
    transport.on_post(CODE_PATH).handle(_code_answer("103000", **fields))

    with pytest.raises(CarrierProtocolError):
        await adapter.exchange_code(CODE, redirect_uri=REDIRECT)


@pytest.mark.parametrize("code", ["", "CMAC&x=1", "a b", "x" * 513])
async def test_malformed_code_is_rejected_without_a_call(adapter: CmccAdapter, code: str) -> None:
    """A code that no operator issues (empty, URL syntax, too long) is TokenRejected before any request."""
    with pytest.raises(TokenRejected):
        await adapter.exchange_code(code, redirect_uri=REDIRECT)
