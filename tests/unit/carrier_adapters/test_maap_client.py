"""The MaaP (5G message) client against docs/operator-dialects.md, "5G messages": the signed query, the
botmessage body, the refusals mapped to the error tree, and events decoded from hand-written vectors."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from carrier_adapters import (
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    LineNotEligible,
    NumberNotServed,
    build_maap_clients,
)
from carrier_adapters.maap import (
    ChatbotConfig,
    MaapClient,
    MaapStatus,
    MaapStatusEvent,
    RichCard,
    Suggestion,
    SuggestionResponse,
    callback_bot_id,
)
from carrier_adapters.testing import FakeTransport
from carrier_adapters.testing.transport import Request, answer
from carrier_adapters.transport import refused

NOW = datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
NOW_MS = "1735787045678"
SECRET = "Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0Xc"
CONFIG = ChatbotConfig("cmcc", "http://maap.test/cmcc/maap", "bot-a", SECRET)
PHONE = "+8613812345678"
MESSAGES = "/cmcc/maap/bot/v1/bot-a/messages"
CAPABILITIES = "/cmcc/maap/bot/v1/bot-a/contactCapabilities"
CARD = RichCard(
    "理赔进度",
    "您的理赔已受理",
    (Suggestion("查看进度", "open", "hap://app/com.example.claims/claim?t=x1"), Suggestion("稍后", "later")),
    media_url="https://cdn.example/a.png",
)
EXPECTED_SEND = {
    "messageContact": {"userContact": "tel:+8613812345678"},
    "RCSMessage": {
        "msgId": "m-1",
        "richcardMessage": {
            "message": {
                "generalPurposeCard": {
                    "layout": {"cardOrientation": "VERTICAL"},
                    "content": {
                        "title": "理赔进度",
                        "description": "您的理赔已受理",
                        "media": {"mediaUrl": "https://cdn.example/a.png", "height": "MEDIUM_HEIGHT"},
                        "suggestions": [
                            {
                                "action": {
                                    "displayText": "查看进度",
                                    "postback": {"data": "open"},
                                    "urlAction": {
                                        "openUrl": {"url": "hap://app/com.example.claims/claim?t=x1"}
                                    },
                                }
                            },
                            {"reply": {"displayText": "稍后", "postback": {"data": "later"}}},
                        ],
                    },
                }
            }
        },
    },
}
STATUS_BODY = (
    b'{"event":"messageStatus","botId":"bot-a","messageContact":{"userContact":"tel:+8613812345678"},'
    b'"RCSMessage":{"msgId":"m-1","status":"delivered","timestamp":"2025-01-02T03:04:05.678Z"}}'
)
STATUS_HEADERS = {
    "X-Maap-Bot-Id": "bot-a",
    "X-Maap-Timestamp": NOW_MS,
    "X-Maap-Nonce": "0123456789abcdef0123456789abcdef",
    "X-Maap-Signature": "899530d70e7c31cd008e195e9443b08995668ebae0370b7c430052f579424add",
}


@pytest.fixture
def transport() -> FakeTransport:
    """The fake platform."""
    return FakeTransport()


@pytest.fixture
def client(transport: FakeTransport) -> MaapClient:
    """bot-a at cmcc, at NOW."""
    return MaapClient(CONFIG, transport, clock=lambda: NOW)


def _check_signed(request: Request, path: str) -> None:
    query = {name: values[0] for name, values in parse_qs(urlsplit(request.url).query).items()}
    assert set(query) == {"timestamp", "nonce", "signature"}
    assert query["timestamp"] == NOW_MS
    assert len(query["nonce"]) == 32
    message = f"{path}\n{NOW_MS}\n{query['nonce']}\n{hashlib.sha256(request.content).hexdigest()}"
    assert query["signature"] == hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()


async def test_send_posts_the_documented_botmessage_signed(
    client: MaapClient, transport: FakeTransport
) -> None:
    """The send is a JSON POST of the GSMA rich card (openUrl action, reply) with the signed query over
    the path relative to the platform root; a 202 echoing msgId is the submission."""
    route = transport.on_post(MESSAGES).respond(
        202, json={"RCSMessage": {"msgId": "m-1", "status": "pending"}}
    )

    submission = await client.send(CARD, to=PHONE, msg_id="m-1")

    assert (submission.operator, submission.bot_id, submission.msg_id) == ("cmcc", "bot-a", "m-1")
    assert route.last.json() == EXPECTED_SEND
    assert route.last.content_type == "application/json"
    assert route.last.operator == "cmcc-maap"
    _check_signed(route.last, "/bot/v1/bot-a/messages")


async def test_text_message(client: MaapClient, transport: FakeTransport) -> None:
    """A plain string is sent as textMessage."""
    route = transport.on_post(MESSAGES).respond(202, json={"RCSMessage": {"msgId": "t", "status": "pending"}})
    await client.send("到号提醒", to=PHONE, msg_id="t")
    assert route.last.json()["RCSMessage"] == {"msgId": "t", "textMessage": "到号提醒"}


async def test_capabilities(client: MaapClient, transport: FakeTransport) -> None:
    """A capability list with chatbotCommunication is capable; an empty one is not."""
    route = transport.on_post(CAPABILITIES).sequence(
        answer(200, json={"userContact": f"tel:{PHONE}", "capabilities": ["chatbotCommunication", "x"]}),
        answer(200, json={"userContact": f"tel:{PHONE}", "capabilities": []}),
    )
    capable = await client.capabilities(PHONE)
    incapable = await client.capabilities(PHONE)
    assert capable.capable and capable.features == ("chatbotCommunication", "x")
    assert not incapable.capable
    assert route.last.json() == {"userContact": f"tel:{PHONE}"}
    _check_signed(route.last, "/bot/v1/bot-a/contactCapabilities")


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, "INVALID_REQUEST", CarrierRejected),
        (401, "UNAUTHORIZED", CarrierRejected),
        (403, "NOT_RCS_USER", LineNotEligible),
        (404, "UNKNOWN_USER", NumberNotServed),
        (409, "SOMETHING_NEW", CarrierProtocolError),
    ],
)
async def test_refusals_map_to_the_error_tree(
    client: MaapClient, transport: FakeTransport, status: int, code: str, error: type[Exception]
) -> None:
    """Each documented refusal raises its error with the platform's code; an unknown one is a protocol
    error."""
    transport.on_post(MESSAGES).respond(status, json={"error": {"code": code, "message": "x"}})
    with pytest.raises(error) as caught:
        await client.send(CARD, to=PHONE, msg_id="m-1")
    if error is not CarrierProtocolError:
        assert getattr(caught.value, "code", None) == code


async def test_unavailable_and_garbage(client: MaapClient, transport: FakeTransport) -> None:
    """HTTP 503 is CarrierUnavailable; a 202 that is not JSON or echoes another msgId a protocol error."""
    route = transport.on_post(MESSAGES).sequence(
        answer(503, json={"error": {"code": "SERVICE_UNAVAILABLE", "message": "down"}}),
        answer(202, text="<html>"),
        answer(202, json={"RCSMessage": {"msgId": "other"}}),
    )
    with pytest.raises(CarrierUnavailable):
        await client.send(CARD, to=PHONE, msg_id="m-1")
    for _ in range(2):
        with pytest.raises(CarrierProtocolError):
            await client.send(CARD, to=PHONE, msg_id="m-1")
    assert route.call_count == 3


async def test_a_refused_connection_is_sent_again_once(client: MaapClient, transport: FakeTransport) -> None:
    """Nothing was sent on a refused connection, so the send is tried once more (freshly signed)."""
    route = transport.on_post(MESSAGES).sequence(
        refused, answer(202, json={"RCSMessage": {"msgId": "m-1", "status": "pending"}})
    )
    await client.send(CARD, to=PHONE, msg_id="m-1")
    assert route.call_count == 2


def test_status_event_from_a_vector(client: MaapClient) -> None:
    """The documented messageStatus vector verifies and decodes (E.164 contact, aware UTC time)."""
    event = client.parse_callback(STATUS_BODY, STATUS_HEADERS)
    assert event == MaapStatusEvent("cmcc", "bot-a", "m-1", PHONE, MaapStatus.DELIVERED, NOW)
    assert callback_bot_id(STATUS_BODY) == "bot-a"


def test_response_event_from_a_vector(client: MaapClient) -> None:
    """A response event gives the tapped suggestion's text and postback and the msgId it answers."""
    body = json.dumps(
        {
            "event": "response",
            "botId": "bot-a",
            "messageContact": {"userContact": f"tel:{PHONE}"},
            "RCSMessage": {
                "msgId": "r-9",
                "inReplyToMsgId": "m-1",
                "timestamp": "2025-01-02T11:04:05.678+08:00",
                "suggestedResponse": {
                    "response": {"action": {"displayText": "查看进度", "postback": {"data": "open"}}}
                },
            },
        }
    ).encode()
    event = client.parse_callback(body, _signed_headers(body))
    assert event == SuggestionResponse("cmcc", "bot-a", PHONE, "r-9", "m-1", "查看进度", "open", NOW)


def _signed_headers(
    body: bytes, *, secret: str = SECRET, timestamp: str = NOW_MS, bot: str = "bot-a"
) -> dict[str, str]:
    nonce = "ab" * 16
    message = f"{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {
        "x-maap-bot-id": bot,
        "x-maap-timestamp": timestamp,
        "x-maap-nonce": nonce,
        "x-maap-signature": signature,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {**STATUS_HEADERS, "X-Maap-Signature": "0" * 64},
        _signed_headers(STATUS_BODY, secret="x" * 32),
        _signed_headers(STATUS_BODY, timestamp=str(int(NOW_MS) - 300_001)),
        _signed_headers(STATUS_BODY, bot="bot-b"),
        {},
    ],
)
def test_events_that_do_not_authenticate_are_rejected(client: MaapClient, headers: dict[str, str]) -> None:
    """A wrong signature or secret, a stale timestamp, another chatbot or no headers: CarrierRejected."""
    with pytest.raises(CarrierRejected):
        client.parse_callback(STATUS_BODY, headers)


def test_unknown_events_are_ignored_and_bad_statuses_refused(client: MaapClient) -> None:
    """An event kind the client does not know decodes to None; an unknown status is a protocol error."""
    typing: dict[str, Any] = json.loads(STATUS_BODY)
    typing["event"] = "isTyping"
    body = json.dumps(typing).encode()
    assert client.parse_callback(body, _signed_headers(body)) is None
    typing["event"] = "messageStatus"
    typing["RCSMessage"]["status"] = "lost"
    body = json.dumps(typing).encode()
    with pytest.raises(CarrierProtocolError):
        client.parse_callback(body, _signed_headers(body))


def test_build_maap_clients_keys_by_operator_and_bot(transport: FakeTransport) -> None:
    """One client per (operator, bot); the same chatbot twice is a ValueError; the secret stays out of
    repr."""
    clients = build_maap_clients(
        [CONFIG, ChatbotConfig("cucc", "http://m.test/cucc/maap", "bot-a", SECRET)], transport
    )
    assert set(clients) == {("cmcc", "bot-a"), ("cucc", "bot-a")}
    with pytest.raises(ValueError, match="twice"):
        build_maap_clients([CONFIG, CONFIG], transport)
    assert SECRET not in repr(CONFIG)
