"""Hand-written clients of the sandbox's MaaP and card platforms, signed as docs/operator-dialects.md
says ("5G messages", "Card SMS"), independent of carrier_adapters."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from tests.sandbox.conftest import SandboxClient

__all__ = ["BOT_SECRET", "CARD_KEY", "card_call", "maap_call", "rich_card", "signed_query"]

BOT_SECRET: Final = "s" * 16 + "S" * 16
CARD_KEY: Final = "k" * 16 + "K" * 16


def _signature(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_query(secret: str, path: str, body: bytes, now: datetime, **extra: str) -> str:
    """The query string of a signed request to ``path`` (relative to the platform root)."""
    timestamp = str(int(now.timestamp() * 1000))
    nonce = secrets.token_hex(8)
    message = f"{path}\n{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    name = "sign" if "appId" in extra else "signature"
    return urlencode({**extra, "timestamp": timestamp, "nonce": nonce, name: _signature(secret, message)})


async def maap_call(
    client: SandboxClient,
    op: str,
    bot: str,
    endpoint: str,
    payload: object,
    now: datetime,
    *,
    secret: str = BOT_SECRET,
) -> tuple[int, Any]:
    """POST a signed MaaP request; the status and the JSON answer."""
    body = json.dumps(payload).encode()
    path = f"/bot/v1/{bot}/{endpoint}"
    query = signed_query(secret, path, body, now)
    response = await client.post(
        f"/{op}/maap{path}?{query}", data=body, headers={"Content-Type": "application/json"}
    )
    return response.status, await response.json(content_type=None)


async def card_call(
    client: SandboxClient,
    vendor: str,
    endpoint: str,
    payload: object,
    now: datetime,
    *,
    app_id: str = "tenant-a",
    key: str = CARD_KEY,
) -> Any:
    """POST a signed card-platform request; the JSON answer (HTTP 200 is asserted)."""
    body = json.dumps(payload).encode()
    path = f"/v1/{endpoint}"
    query = signed_query(key, path, body, now, appId=app_id)
    response = await client.post(
        f"/cards/{vendor}{path}?{query}", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 200, await response.text()
    return await response.json()


def rich_card(msg_id: str, phone: str, url: str) -> dict[str, Any]:
    """A botmessage send with a rich card, an openUrl action to ``url`` and a reply."""
    return {
        "messageContact": {"userContact": f"tel:{phone}"},
        "RCSMessage": {
            "msgId": msg_id,
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
                                        "urlAction": {"openUrl": {"url": url}},
                                    }
                                },
                                {"reply": {"displayText": "稍后提醒", "postback": {"data": "later"}}},
                            ],
                        },
                    }
                }
            },
        },
    }
