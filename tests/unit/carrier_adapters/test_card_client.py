"""The card-SMS client against docs/operator-dialects.md, "Card SMS": signed requests, template review,
support query, send, codes mapped to the error tree, and receipts decoded from hand-written vectors."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from carrier_adapters import (
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    LineNotEligible,
    build_card_clients,
)
from carrier_adapters.cards import (
    CardAccountConfig,
    CardButton,
    CardClient,
    CardReceipt,
    CardReceiptEvent,
    CardTemplateSpec,
    ReviewState,
    TemplateReview,
    callback_app_id,
)
from carrier_adapters.testing import FakeTransport
from carrier_adapters.testing.transport import Request

NOW = datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
NOW_MS = "1735787045678"
KEY = "Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0Xc"
CONFIG = CardAccountConfig("huawei", "http://cards.test/cards/huawei", "tenant-a", KEY)
PHONE = "+8613812345678"
SPEC = CardTemplateSpec(
    "claim",
    "${company}理赔",
    "案件 ${case} 已受理",
    (CardButton("查看", "OPEN_QUICK", "hap://app/com.example.claims/claim?t=${ticket}"),),
    media_url="https://cdn.example/a.png",
)
RECEIPT_BODY = (
    b'{"event":"RENDERED","appId":"tenant-a","cardMsgId":"0123456789abcdef0123456789abcdef",'
    b'"bizId":"b-1","mobile":"13812345678","at":"2025-01-02T03:04:05.678Z"}'
)
RECEIPT_HEADERS = {
    "X-Card-App-Id": "tenant-a",
    "X-Card-Timestamp": NOW_MS,
    "X-Card-Nonce": "0123456789abcdef0123456789abcdef",
    "X-Card-Sign": "4ba1ade44572b7893bdd7c385b609787d998a9aacdb110bdf9f2371affbd2064",
}


@pytest.fixture
def transport() -> FakeTransport:
    """The fake vendor platform."""
    return FakeTransport()


@pytest.fixture
def client(transport: FakeTransport) -> CardClient:
    """tenant-a at huawei, at NOW."""
    return CardClient(CONFIG, transport, clock=lambda: NOW)


def _ok(data: object) -> dict[str, object]:
    return {"code": "0", "message": "success", "data": data}


def _check_signed(request: Request, path: str) -> None:
    query = {name: values[0] for name, values in parse_qs(urlsplit(request.url).query).items()}
    assert set(query) == {"appId", "timestamp", "nonce", "sign"}
    assert (query["appId"], query["timestamp"]) == ("tenant-a", NOW_MS)
    message = f"{path}\n{NOW_MS}\n{query['nonce']}\n{hashlib.sha256(request.content).hexdigest()}"
    assert query["sign"] == hmac.new(KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


async def test_register_and_query_a_template(client: CardClient, transport: FakeTransport) -> None:
    """Registration posts the documented template body and answers pending; the query reads the review."""
    register = transport.on_post("/cards/huawei/v1/templates").respond(
        json=_ok({"templateId": "huawei-00000001", "state": "pending"})
    )
    query = transport.on_post("/cards/huawei/v1/templates/query").respond(
        json=_ok({"templateId": "huawei-00000001", "state": "rejected", "reason": "图片"})
    )
    assert await client.register_template(SPEC) == TemplateReview(
        "huawei", "huawei-00000001", ReviewState.PENDING
    )
    assert register.last.json() == {
        "name": "claim",
        "title": "${company}理赔",
        "description": "案件 ${case} 已受理",
        "buttons": [
            {
                "text": "查看",
                "actionType": "OPEN_QUICK",
                "action": "hap://app/com.example.claims/claim?t=${ticket}",
            }
        ],
        "media": {"url": "https://cdn.example/a.png"},
    }
    _check_signed(register.last, "/v1/templates")
    review = await client.template_review("huawei-00000001")
    assert review == TemplateReview("huawei", "huawei-00000001", ReviewState.REJECTED, "图片")
    assert query.last.json() == {"templateId": "huawei-00000001"}


async def test_support_query_in_e164(client: CardClient, transport: FakeTransport) -> None:
    """Numbers go national and come back keyed by E.164; a number the answer omits is unsupported."""
    route = transport.on_post("/cards/huawei/v1/support").respond(
        json=_ok({"results": [{"mobile": "13812345678", "support": True}]})
    )
    assert await client.supports([PHONE, "+8613900000000"]) == {PHONE: True, "+8613900000000": False}
    assert route.last.json() == {"mobiles": ["13812345678", "13900000000"]}
    with pytest.raises(ValueError, match="1-100"):
        await client.supports([])


async def test_send(client: CardClient, transport: FakeTransport) -> None:
    """The send names template, national number, parameters and bizId; the answer's cardMsgId is kept."""
    route = transport.on_post("/cards/huawei/v1/send").respond(json=_ok({"cardMsgId": "c" * 32}))
    submission = await client.send("huawei-1", to=PHONE, params={"case": "A1"}, biz_id="b-1")
    assert (submission.vendor, submission.card_msg_id, submission.biz_id) == ("huawei", "c" * 32, "b-1")
    assert route.last.json() == {
        "templateId": "huawei-1",
        "mobile": "13812345678",
        "params": {"case": "A1"},
        "bizId": "b-1",
    }
    assert route.last.operator == "card-huawei"
    _check_signed(route.last, "/v1/send")


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("1001", CarrierRejected),
        ("1002", CarrierRejected),
        ("1004", CarrierRejected),
        ("2001", CarrierRejected),
        ("2002", CarrierRejected),
        ("2003", CarrierRejected),
        ("3001", LineNotEligible),
        ("9999", CarrierUnavailable),
        ("7777", CarrierProtocolError),
    ],
)
async def test_codes_map_to_the_error_tree(
    client: CardClient, transport: FakeTransport, code: str, error: type[Exception]
) -> None:
    """Each documented code raises its error carrying the code; an unknown code is a protocol error."""
    transport.on_post("/cards/huawei/v1/send").respond(json={"code": code, "message": "x", "data": None})
    with pytest.raises(error) as caught:
        await client.send("huawei-1", to=PHONE, params={}, biz_id="b")
    assert getattr(caught.value, "code", None) == code


async def test_down_is_unavailable(client: CardClient, transport: FakeTransport) -> None:
    """A 503 HTML answer (platform down) is CarrierUnavailable; a 404 a protocol error."""
    route = transport.on_post("/cards/huawei/v1/send")
    route.respond(503, text="<html>down</html>")
    with pytest.raises(CarrierUnavailable):
        await client.send("huawei-1", to=PHONE, params={}, biz_id="b")
    route.respond(404, text="no")
    with pytest.raises(CarrierProtocolError):
        await client.send("huawei-1", to=PHONE, params={}, biz_id="b")


def test_receipt_from_a_vector(client: CardClient) -> None:
    """The documented RENDERED vector verifies and decodes (E.164, aware UTC)."""
    assert client.parse_callback(RECEIPT_BODY, RECEIPT_HEADERS) == CardReceipt(
        "huawei", "tenant-a", "0123456789abcdef0123456789abcdef", "b-1", PHONE, CardReceiptEvent.RENDERED, NOW
    )
    assert callback_app_id(RECEIPT_BODY) == "tenant-a"


@pytest.mark.parametrize(
    "headers",
    [
        {**RECEIPT_HEADERS, "X-Card-Sign": "f" * 64},
        {**RECEIPT_HEADERS, "X-Card-Timestamp": str(int(NOW_MS) + 300_001)},
        {**RECEIPT_HEADERS, "X-Card-App-Id": "tenant-b"},
        {},
    ],
)
def test_receipts_that_do_not_authenticate_are_rejected(client: CardClient, headers: dict[str, str]) -> None:
    """A wrong signature, a stale timestamp (the signature then fails too), another account, no headers."""
    with pytest.raises(CarrierRejected):
        client.parse_callback(RECEIPT_BODY, headers)


def test_another_accounts_receipt_is_rejected(transport: FakeTransport) -> None:
    """A correctly signed receipt of another appId is refused by this account's client."""
    other = CardClient(
        CardAccountConfig("huawei", "http://c.test/cards/huawei", "tenant-b", KEY),
        transport,
        clock=lambda: NOW,
    )
    with pytest.raises(CarrierRejected, match="another account"):
        other.parse_callback(RECEIPT_BODY, RECEIPT_HEADERS)


def test_build_card_clients(transport: FakeTransport) -> None:
    """One client per (vendor, appId); twice is a ValueError; the key stays out of repr."""
    clients = build_card_clients(
        [CONFIG, CardAccountConfig("vivo", "http://c.test/cards/vivo", "tenant-a", KEY)], transport
    )
    assert set(clients) == {("huawei", "tenant-a"), ("vivo", "tenant-a")}
    with pytest.raises(ValueError, match="twice"):
        build_card_clients([CONFIG, CONFIG], transport)
    assert KEY not in repr(CONFIG)
