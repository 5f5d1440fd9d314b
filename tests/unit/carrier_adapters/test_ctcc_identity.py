"""China Telecom line queries, customer record and network authorization against the dialect."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlsplit

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from carrier_adapters import (
    AuthMethod,
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    CtccAdapter,
    LineNotEligible,
    NetworkIdentity,
    NumberNotServed,
    OperatorConfig,
    SwapHistory,
    TokenRejected,
)
from carrier_adapters.testing import Answer, FakeTransport, Request, answer

NOW = datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
EPOCH_MILLIS = "1735787045678"
APP_ID = "8123456789"
APP_KEY = "Tq8wE3rY6uI9oP2aS5dF7gH1jK4lZ0xC"
BASE = "http://operator.test/ctcc"
CONFIG = OperatorConfig(operator="ctcc", base_url=BASE, app_id=APP_ID, app_key=APP_KEY)
SIM_PATH = "/ctcc/openapi/lineinfo/querySimChange.do"
DEVICE_PATH = "/ctcc/openapi/lineinfo/queryDeviceChange.do"
CUSTOMER_PATH = "/ctcc/openapi/lineinfo/queryRealName.do"
CODE_PATH = "/ctcc/openapi/oauth/getMobileByCode.do"
NATIONAL = "18912345678"
PHONE = "+8618912345678"
CODE = "CTAC" + "9f" * 20
REDIRECT = "https://gw.example/oauth2/callback?op=ctcc&flow=a%2Fb"

Responder = Callable[[Request], Answer]


def _decrypt(cipher_hex: str) -> str:
    decryptor = Cipher(algorithms.AES(APP_KEY.encode()[:16]), modes.ECB()).decryptor()  # noqa: S305 - dialect
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(bytes.fromhex(cipher_hex)) + decryptor.finalize()
    return (unpadder.update(padded) + unpadder.finalize()).decode()


def _form(request: Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def _answer(result: int, data: object = None, req_id: str | None = "req-1") -> Responder:
    def respond(request: Request) -> Answer:
        return answer(200, json={"result": result, "msg": "m", "reqId": req_id, "data": data or {}})

    return respond


@pytest.fixture
def adapter(transport: FakeTransport) -> CtccAdapter:
    """The adapter under test with a fixed clock."""
    return CtccAdapter(CONFIG, transport, clock=lambda: NOW)


@pytest.mark.parametrize("path", [SIM_PATH, DEVICE_PATH, CUSTOMER_PATH])
async def test_line_queries_are_signed_forms(
    adapter: CtccAdapter, transport: FakeTransport, path: str
) -> None:
    """The signed form with params 'mobile=<national>' AES-ECB encrypted and the HMAC-SHA1 sign."""
    route = transport.on_post(path).handle(_answer(-20008))
    call = {
        SIM_PATH: adapter.sim_history,
        DEVICE_PATH: adapter.device_history,
        CUSTOMER_PATH: adapter.customer_record,
    }

    with pytest.raises(NumberNotServed):
        await call[path](PHONE)

    request = route.last
    assert request.content_type == "application/x-www-form-urlencoded"
    form = _form(request)
    assert set(form) == {"appId", "clientType", "format", "version", "timeStamp", "params", "sign"}
    assert (form["clientType"], form["format"], form["version"], form["timeStamp"]) == (
        "30100",
        "json",
        "3.0",
        EPOCH_MILLIS,
    )
    assert _decrypt(form["params"]) == f"mobile={NATIONAL}"
    message = APP_ID + "30100" + "json" + form["params"] + EPOCH_MILLIS + "3.0"
    assert form["sign"] == hmac.new(APP_KEY.encode(), message.encode(), hashlib.sha1).hexdigest().upper()
    assert NATIONAL not in request.content.decode()


async def test_history_answers(adapter: CtccAdapter, transport: FakeTransport) -> None:
    """changeTime (Beijing, seconds) becomes aware UTC; an empty one is 'none disclosed'; retainDays used."""
    transport.on_post(SIM_PATH).handle(
        _answer(0, {"changeTime": "2025-01-02 11:04:05", "changeType": "1", "retainDays": "60"})
    )
    transport.on_post(DEVICE_PATH).handle(
        _answer(0, {"changeTime": "", "changeType": "", "retainDays": "45"})
    )

    assert await adapter.sim_history(PHONE) == SwapHistory("ctcc", NOW.replace(microsecond=0), 60)
    assert await adapter.device_history(PHONE) == SwapHistory("ctcc", None, 45)
    assert adapter.history_window_hours == 1440


async def test_no_device_record(adapter: CtccAdapter, transport: FakeTransport) -> None:
    """-30001 is a device history with no data, in the operator's window."""
    transport.on_post(DEVICE_PATH).handle(_answer(-30001))

    assert await adapter.device_history(PHONE) == SwapHistory("ctcc", None, 60, known=False)


@pytest.mark.parametrize(
    "data",
    [
        {"changeTime": "20250102110405", "changeType": "1", "retainDays": "60"},
        {"changeTime": "2025-01-02 11:04:05", "changeType": "1"},
        {"changeType": "1", "retainDays": "60"},
        {"changeTime": "2025-02-30 11:04:05", "changeType": "1", "retainDays": "60"},
    ],
    ids=["compact", "no-window", "no-time", "bad-day"],
)
async def test_malformed_history_is_a_protocol_error(
    adapter: CtccAdapter, transport: FakeTransport, data: dict[str, str]
) -> None:
    """A changeTime in another format, or missing fields, is a protocol error."""
    transport.on_post(SIM_PATH).handle(_answer(0, data))

    with pytest.raises(CarrierProtocolError):
        await adapter.sim_history(PHONE)


@pytest.mark.parametrize(
    ("result", "error"),
    [
        (-64, CarrierRejected),
        (-10001, CarrierRejected),
        (-10002, CarrierRejected),
        (-10003, CarrierRejected),
        (-20008, NumberNotServed),
        (-30002, LineNotEligible),
        (-99999, CarrierUnavailable),
        (-30003, CarrierProtocolError),
        (-20005, CarrierProtocolError),
    ],
)
async def test_history_results_map_to_errors(
    adapter: CtccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    result: int,
    error: type[CarrierError],
) -> None:
    """Each documented failure raises its class with the raw result; others are protocol errors."""
    transport.on_post(SIM_PATH).handle(_answer(result))

    with pytest.raises(error) as caught:
        await adapter.sim_history(PHONE)

    assert type(caught.value) is error
    assert caught.value.code == str(result)
    assert_no_leak(caught.value, PHONE, NATIONAL)


async def test_customer_record_is_translated_to_kyc_names(
    adapter: CtccAdapter, transport: FakeTransport
) -> None:
    """ctcc snake_case names, yyyyMMdd dates and M/F/O genders become KYC Match attributes."""
    data = {
        "cust_name": "赵六",
        "birth_date": "19700701",
        "gender": "M",
        "cert_num": "X1",
        "cert_expiry": "20291231",
        "zip_code": "510000",
        "province": "广东省",
        "city": "广州市",
        "star_level": "5",
    }
    transport.on_post(CUSTOMER_PATH).handle(_answer(0, data))

    record = await adapter.customer_record(PHONE)

    assert dict(record.attributes) == {
        "name": "赵六",
        "birthdate": "1970-07-01",
        "gender": "MALE",
        "idDocument": "X1",
        "idDocumentExpiryDate": "2029-12-31",
        "postalCode": "510000",
        "region": "广东省",
        "locality": "广州市",
    }


@pytest.mark.parametrize(
    ("result", "error"), [(-30003, NumberNotServed), (-30002, LineNotEligible), (-20008, NumberNotServed)]
)
async def test_customer_record_failures(
    adapter: CtccAdapter, transport: FakeTransport, result: int, error: type[CarrierError]
) -> None:
    """No customer record (-30003) and unknown numbers are NumberNotServed; ineligible LineNotEligible."""
    transport.on_post(CUSTOMER_PATH).handle(_answer(result))

    with pytest.raises(error):
        await adapter.customer_record(PHONE)


@pytest.mark.parametrize("data", [{"birth_date": "1970-07-01"}, {"gender": "MALE"}, {"cust_name": ["x"]}])
async def test_malformed_customer_record_is_a_protocol_error(
    adapter: CtccAdapter, transport: FakeTransport, data: dict[str, object]
) -> None:
    """An ISO date, a KYC Match gender or a non-string value is not ctcc's format: protocol error."""
    transport.on_post(CUSTOMER_PATH).handle(_answer(0, data))

    with pytest.raises(CarrierProtocolError):
        await adapter.customer_record(PHONE)


def test_authorization_url_per_dialect(adapter: CtccAdapter) -> None:
    """appId, returnUrl, state and the AES-ECB uppercase-hex loginHint on the documented path."""
    url = adapter.authorization_url(redirect_uri=REDIRECT, state="s-1", login_hint=PHONE)

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == BASE + "/openapi/oauth/authorize.do"
    query = parse_qs(parts.query)
    assert set(query) == {"appId", "returnUrl", "state", "loginHint"}
    assert (query["appId"], query["returnUrl"], query["state"]) == ([APP_ID], [REDIRECT], ["s-1"])
    assert query["loginHint"][0] == query["loginHint"][0].upper()
    assert _decrypt(query["loginHint"][0]) == NATIONAL


async def test_code_exchange_sends_percent_encoded_return_url(
    adapter: CtccAdapter, transport: FakeTransport
) -> None:
    """params 'code=<code>&returnUrl=<percent-encoded URL>' inside the signed form."""
    route = transport.on_post(CODE_PATH).handle(_answer(0, {"mobile": NATIONAL, "authMode": "1"}))

    await adapter.exchange_code(CODE, redirect_uri=REDIRECT)

    plaintext = _decrypt(_form(route.last)["params"])
    assert plaintext == f"code={CODE}&returnUrl={quote(REDIRECT, safe='')}"
    assert unquote(plaintext.split("returnUrl=")[1]) == REDIRECT


@pytest.mark.parametrize(("mode", "method"), [("1", AuthMethod.NETWORK), ("2", AuthMethod.SMS_OTP)])
async def test_code_exchange_success(
    adapter: CtccAdapter, transport: FakeTransport, mode: str, method: AuthMethod
) -> None:
    """result 0: the plain number in E.164, the authMode's method and the reqId."""
    transport.on_post(CODE_PATH).handle(_answer(0, {"mobile": NATIONAL, "authMode": mode}))

    assert await adapter.exchange_code(CODE, redirect_uri=REDIRECT) == NetworkIdentity(
        "ctcc", PHONE, method, "req-1"
    )


@pytest.mark.parametrize(
    ("result", "error"),
    [
        (-64, CarrierRejected),
        (-10001, CarrierRejected),
        (-10002, CarrierRejected),
        (-10003, CarrierRejected),
        (-20005, TokenRejected),
        (-20006, TokenRejected),
        (-20007, TokenRejected),
        (-20009, TokenRejected),
        (-99999, CarrierUnavailable),
        (-20008, CarrierProtocolError),
    ],
)
async def test_code_exchange_results_map_to_errors(
    adapter: CtccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    result: int,
    error: type[CarrierError],
) -> None:
    """Each documented exchange failure raises its class with the raw result; others are protocol errors."""
    transport.on_post(CODE_PATH).handle(_answer(result))

    with pytest.raises(error) as caught:
        await adapter.exchange_code(CODE, redirect_uri=REDIRECT)

    assert type(caught.value) is error
    assert caught.value.code == str(result)
    assert_no_leak(caught.value, CODE)


@pytest.mark.parametrize(
    ("data", "req_id"),
    [
        ({"mobile": NATIONAL, "authMode": "3"}, "r"),
        ({"mobile": PHONE, "authMode": "1"}, "r"),
        ({"mobile": NATIONAL, "authMode": "1"}, None),
    ],
    ids=["unknown-mode", "e164", "no-reference"],
)
async def test_malformed_code_success_is_a_protocol_error(
    adapter: CtccAdapter, transport: FakeTransport, data: dict[str, str], req_id: str | None
) -> None:
    """An unknown authMode, a number not in national form or no reqId is a protocol error."""
    transport.on_post(CODE_PATH).handle(_answer(0, data, req_id))

    with pytest.raises(CarrierProtocolError):
        await adapter.exchange_code(CODE, redirect_uri=REDIRECT)
