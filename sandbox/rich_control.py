"""Control API of the 5G-message and card platforms, and the phone's side of them.

``docs/operator-dialects.md``, "5G messages", "Card SMS" and "The phone page: 5G messages and
cards": register chatbots and card accounts, decide template reviews, set vendor faults, read a
phone's rich messages, and tap or display them as the phone page does.
"""

from __future__ import annotations

from aiohttp import web

from sandbox.appkeys import STATE
from sandbox.config import OPERATORS
from sandbox.errors import Conflict, InvalidArgument, NotFound
from sandbox.numbers import is_e164
from sandbox.rich import IDENTIFIER, VENDORS, CardAccount, RichMessage, VendorFaults
from sandbox.rich_center import RICH
from sandbox.schemas import (
    CardAccountRegistration,
    ChatbotRegistration,
    Tap,
    TemplateDecision,
    VendorFaultsUpdate,
    parse_body,
    rfc3339,
)

__all__ = ["add_rich_control_routes", "rich_message_view"]


def add_rich_control_routes(app: web.Application) -> None:
    """Register the rich-messaging control routes on ``app`` (which holds :data:`RICH`)."""
    app.router.add_routes(
        [
            web.put("/sandbox/maap/{operator}/chatbots/{botId}", put_chatbot),
            web.put("/sandbox/cards/accounts/{appId}", put_card_account),
            web.put("/sandbox/cards/{vendor}/templates/{templateId}", decide_template),
            web.get("/sandbox/cards/{vendor}/faults", get_vendor_faults),
            web.put("/sandbox/cards/{vendor}/faults", put_vendor_faults),
            web.delete("/sandbox/cards/{vendor}/faults", clear_vendor_faults),
            web.get("/sandbox/devices/{phoneNumber}/rich-messages", rich_messages),
            web.post("/sandbox/devices/{phoneNumber}/rich-messages/{id}/tap", tap),
            web.post("/sandbox/devices/{phoneNumber}/rich-messages/{id}/display", display),
        ]
    )


def rich_message_view(message: RichMessage) -> dict[str, object]:
    """The JSON form of a 5G message or card on a phone."""
    return {
        "id": message.id,
        "kind": message.kind,
        "from": message.sender,
        "title": message.title,
        "description": message.description,
        "mediaUrl": message.media_url,
        "buttons": [{"text": button.text, "url": button.url} for button in message.buttons],
        "receivedAt": rfc3339(message.received_at),
    }


def _vendor_faults_view(faults: VendorFaults) -> dict[str, object]:
    return {
        "down": faults.down,
        "latencyMs": faults.latency_ms,
        "delivery": faults.delivery,
        "reviewOutcome": faults.review_outcome,
        "reviewDelayMs": faults.review_delay_ms,
    }


def _identifier(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    if IDENTIFIER.fullmatch(value) is None:
        raise InvalidArgument(f"{name} must be 1-64 characters of [A-Za-z0-9._-].")
    return value


def _vendor(request: web.Request) -> str:
    vendor = request.match_info["vendor"]
    if vendor not in VENDORS:
        raise NotFound(f"Unknown card vendor; expected one of {', '.join(VENDORS)}.")
    return vendor


async def put_chatbot(request: web.Request) -> web.Response:
    """Register (or re-key) a chatbot at an operator's MaaP platform; 200 ``{"operator", "botId"}``."""
    operator = request.match_info["operator"]
    if operator not in OPERATORS:
        raise NotFound(f"Unknown operator; expected one of {', '.join(OPERATORS)}.")
    bot_id = _identifier(request, "botId")
    body = parse_body(ChatbotRegistration, await request.read())
    request.app[STATE].rich.chatbots[(operator, bot_id)] = body.secret
    return web.json_response({"operator": operator, "botId": bot_id})


async def put_card_account(request: web.Request) -> web.Response:
    """Register (or re-key) a card-platform account, valid at every vendor; 200 ``{"appId"}``."""
    app_id = _identifier(request, "appId")
    body = parse_body(CardAccountRegistration, await request.read())
    request.app[STATE].rich.accounts[app_id] = CardAccount(app_id, body.app_key)
    return web.json_response({"appId": app_id})


async def decide_template(request: web.Request) -> web.Response:
    """Set a template's review state by hand; 200 ``{"templateId", "state", "reason"}``."""
    vendor = _vendor(request)
    template = request.app[STATE].rich.templates.get(request.match_info["templateId"])
    if template is None or template.vendor != vendor:
        raise NotFound("No template of this vendor has this id.")
    body = parse_body(TemplateDecision, await request.read())
    template.state = body.state
    template.reason = body.reason if body.state == "rejected" else None
    return web.json_response(
        {"templateId": template.template_id, "state": template.state, "reason": template.reason}
    )


async def get_vendor_faults(request: web.Request) -> web.Response:
    """The vendor platform's faults and review settings."""
    return web.json_response(_vendor_faults_view(request.app[STATE].rich.vendor_faults[_vendor(request)]))


async def put_vendor_faults(request: web.Request) -> web.Response:
    """Change the fields given; answer the vendor's full state."""
    faults = request.app[STATE].rich.vendor_faults[_vendor(request)]
    update = parse_body(VendorFaultsUpdate, await request.read())
    for name in update.model_fields_set:
        setattr(faults, name, getattr(update, name))
    return web.json_response(_vendor_faults_view(faults))


async def clear_vendor_faults(request: web.Request) -> web.Response:
    """Put the vendor back to no faults and the default review; answer its state."""
    vendor = _vendor(request)
    rich = request.app[STATE].rich
    rich.vendor_faults[vendor] = VendorFaults()
    return web.json_response(_vendor_faults_view(rich.vendor_faults[vendor]))


def _phone(request: web.Request) -> str:
    phone = request.match_info["phoneNumber"]
    if not is_e164(phone):
        raise InvalidArgument("phoneNumber must be E.164 with a leading '+'.")
    if phone not in request.app[STATE].subscribers:
        raise NotFound("No subscriber has this phone number.")
    return phone


def _message(request: web.Request) -> RichMessage:
    message = request.app[STATE].rich.inboxes.get(_phone(request), request.match_info["id"])
    if message is None:
        raise NotFound("No 5G message or card with this id reached this phone.")
    return message


async def rich_messages(request: web.Request) -> web.Response:
    """The phone's 5G messages and cards, oldest first."""
    messages = request.app[STATE].rich.inboxes.messages(_phone(request))
    return web.json_response([rich_message_view(message) for message in messages])


async def tap(request: web.Request) -> web.Response:
    """The user taps a button: 202 ``{"url"}`` (null for a reply); the platform hears of it."""
    message = _message(request)
    body = parse_body(Tap, await request.read())
    if body.button >= len(message.buttons):
        raise Conflict("This message has no such button.")
    return web.json_response({"url": request.app[RICH].tap(message, body.button)}, status=202)


async def display(request: web.Request) -> web.Response:
    """The phone shows the message (a 5G message's ``displayed`` notification, once); 204."""
    request.app[RICH].display(_message(request))
    return web.Response(status=204)
