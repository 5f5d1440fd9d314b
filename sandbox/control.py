"""The sandbox control API (``/sandbox/*``, CONTRACT §8): seed subscribers, act as a phone (one-tap
token, browser, SMS inbox and replies, the phone page), inject and clear faults.

Bodies are strict JSON (unknown fields are ``400 INVALID_ARGUMENT``); errors use the contract's
error body via :mod:`sandbox.errors`.
"""

from __future__ import annotations

from aiohttp import web

from sandbox.appkeys import CLOCK, CONFIG, SMS, SMSC, STATE
from sandbox.browser import walk
from sandbox.config import SMSC_OPERATORS, SmscOperator, parse_address
from sandbox.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from sandbox.numbers import is_e164, to_national
from sandbox.phone_page import phone_page
from sandbox.rich_center import RICH
from sandbox.schemas import (
    DeviceAuthorize,
    DeviceSwap,
    DeviceUpdate,
    FaultsUpdate,
    OneTapTokenRequest,
    ReplyRequest,
    SimSwap,
    SpListenerUpdate,
    SubscriberCreate,
    faults_view,
    message_view,
    parse_body,
    subscriber_view,
)
from sandbox.state import Faults, Subscriber, random_imei
from sandbox.tokens import LIFETIMES, mint

__all__ = ["add_control_routes"]


def add_control_routes(app: web.Application) -> None:
    """Register every ``/sandbox/*`` route on ``app`` (which holds the :mod:`sandbox.appkeys`)."""
    app.router.add_routes(
        [
            web.get("/sandbox/healthz", healthz),
            web.post("/sandbox/reset", reset),
            web.post("/sandbox/subscribers", create_subscriber),
            web.get("/sandbox/subscribers/{phoneNumber}", get_subscriber),
            web.post("/sandbox/subscribers/{phoneNumber}/sim-swap", sim_swap),
            web.post("/sandbox/subscribers/{phoneNumber}/device-swap", device_swap),
            web.put("/sandbox/devices/{phoneNumber}", put_device),
            web.post("/sandbox/devices/{phoneNumber}/one-tap-token", one_tap_token),
            web.post("/sandbox/devices/{phoneNumber}/authorize", authorize),
            web.get("/sandbox/devices/{phoneNumber}/messages", messages),
            web.post("/sandbox/devices/{phoneNumber}/reply", reply),
            web.get("/sandbox/phone/{phoneNumber}", phone),
            web.get("/sandbox/operators/{operator}/faults", get_faults),
            web.put("/sandbox/operators/{operator}/faults", put_faults),
            web.delete("/sandbox/operators/{operator}/faults", clear_faults),
            web.delete("/sandbox/faults", clear_all_faults),
            web.get("/sandbox/smsc", smsc),
            web.put("/sandbox/smsc/cucc/sp-listener", put_sp_listener),
        ]
    )


async def healthz(request: web.Request) -> web.Response:
    """200 while the sandbox runs."""
    return web.json_response({"status": "ok"})


async def reset(request: web.Request) -> web.Response:
    """Forget subscribers, tokens, messages, codes and OTP sessions, clear every fault and give up
    pending SMS callbacks; 204."""
    request.app[STATE].reset()
    request.app[SMS].cancel_pending()
    return web.Response(status=204)


async def create_subscriber(request: web.Request) -> web.Response:
    """Register a line; 201 with the stored record, 409 if the number is already registered."""
    body = parse_body(SubscriberCreate, await request.read())
    subscribers = request.app[STATE].subscribers
    if body.phone_number in subscribers:
        raise AlreadyExists("A subscriber with this phone number already exists.")
    subscriber = Subscriber(
        phone_number=body.phone_number,
        operator=body.operator,
        activated_at=body.activated_at or request.app[CLOCK].now(),
        imei=body.imei,
        eligible=body.eligible,
        kyc=dict(body.kyc),
        rcs=body.rcs,
        vendor=body.vendor,
    )
    if body.sim_changed_at is not None:
        subscriber.record_sim_swap(body.sim_changed_at)
    if body.device_changed_at is not None:
        subscriber.record_device_swap(body.device_changed_at, body.imei)
    subscribers[subscriber.phone_number] = subscriber
    return web.json_response(subscriber_view(subscriber), status=201)


async def get_subscriber(request: web.Request) -> web.Response:
    """The stored record of a line."""
    return web.json_response(subscriber_view(_subscriber(request)))


async def sim_swap(request: web.Request) -> web.Response:
    """Record a SIM change at ``at`` (default now); 200 with the record."""
    subscriber = _subscriber(request)
    body = parse_body(SimSwap, await request.read() or b"{}")
    subscriber.record_sim_swap(body.at or request.app[CLOCK].now())
    return web.json_response(subscriber_view(subscriber))


async def device_swap(request: web.Request) -> web.Response:
    """Record a device change at ``at`` (default now) into ``imei`` (default a fresh one); 200."""
    subscriber = _subscriber(request)
    body = parse_body(DeviceSwap, await request.read() or b"{}")
    subscriber.record_device_swap(body.at or request.app[CLOCK].now(), body.imei or random_imei())
    return web.json_response(subscriber_view(subscriber))


async def put_device(request: web.Request) -> web.Response:
    """Put the phone on cellular data or Wi-Fi and/or name its maker; 200 with the three."""
    subscriber = _subscriber(request)
    body = parse_body(DeviceUpdate, await request.read())
    if body.network is None and body.vendor is None:
        raise InvalidArgument("Give network, vendor or both.")
    subscriber.network = body.network or subscriber.network
    subscriber.vendor = body.vendor or subscriber.vendor
    return web.json_response(
        {"phoneNumber": subscriber.phone_number, "network": subscriber.network, "vendor": subscriber.vendor}
    )


async def one_tap_token(request: web.Request) -> web.Response:
    """What the operator SDK on the phone returns: a token of the line's own operator."""
    subscriber = _subscriber(request)
    body = parse_body(OneTapTokenRequest, await request.read())
    if to_national(subscriber.phone_number) is None:
        raise NotFound("No China operator serves this number, so it gets no one-tap token.")
    operator = subscriber.operator
    token = mint(
        request.app[STATE],
        phone_number=subscriber.phone_number,
        operator=operator,
        app_id=body.app_id or request.app[CONFIG].apps[operator].app_id,
        purpose=body.purpose,
        auth_type=body.method or subscriber.auth_type,
        now=request.app[CLOCK].now(),
    )
    return web.json_response({"token": token.value, "operator": operator, "expiresIn": LIFETIMES[operator]})


async def authorize(request: web.Request) -> web.Response:
    """The phone's browser opens ``url`` and follows it to its ``redirect_uri``: ``{"location"}``.

    400 for a ``url`` without ``redirect_uri``, 502 naming the request where the walk stopped.
    """
    subscriber = _subscriber(request)
    body = parse_body(DeviceAuthorize, await request.read())
    location = await walk(
        body.url,
        subscriber=subscriber,
        bearer=body.method or subscriber.bearer,
        inboxes=request.app[STATE].inboxes,
    )
    return web.json_response({"location": location})


async def messages(request: web.Request) -> web.Response:
    """The phone's SMS inbox, oldest first."""
    subscriber = _subscriber(request)
    inbox = request.app[STATE].inboxes.messages(subscriber.phone_number)
    return web.json_response([message_view(message) for message in inbox])


async def reply(request: web.Request) -> web.Response:
    """The phone replies to the latest SMS submitted to it; its operator POSTs the MO callback.

    202 ``{"to"}`` (the number replied to); 409 when no submitted SMS reached the phone.
    """
    subscriber = _subscriber(request)
    body = parse_body(ReplyRequest, await request.read())
    answered = request.app[SMS].reply(subscriber.phone_number, body.text)
    if answered is None:
        raise Conflict("No SMS submitted through an operator reached this phone: nothing to reply to.")
    return web.json_response({"to": answered.sender}, status=202)


async def phone(request: web.Request) -> web.Response:
    """The phone page: the inbox, newest first, with tappable links and a reply box."""
    subscriber = _subscriber(request)
    inbox = request.app[STATE].inboxes.messages(subscriber.phone_number)
    cards = request.app[STATE].rich.inboxes.messages(subscriber.phone_number)
    for card in cards:
        request.app[RICH].display(card)
    return phone_page(subscriber.phone_number, subscriber.operator, inbox, cards)


async def get_faults(request: web.Request) -> web.Response:
    """The operator's current faults."""
    return web.json_response(faults_view(_faults(request)))


async def put_faults(request: web.Request) -> web.Response:
    """Change the fields given and answer the operator's full fault state."""
    faults = _faults(request)
    parse_body(FaultsUpdate, await request.read()).apply_to(faults)
    return web.json_response(faults_view(faults))


async def clear_faults(request: web.Request) -> web.Response:
    """Put the operator's faults back to none and answer its full fault state."""
    operator = _operator(request)
    state = request.app[STATE]
    state.clear_faults(operator)
    return web.json_response(faults_view(state.faults[operator]))


async def clear_all_faults(request: web.Request) -> web.Response:
    """Put every operator's faults back to none, keeping subscribers and messages; 204."""
    request.app[STATE].clear_faults(*SMSC_OPERATORS)
    request.app[STATE].rich.clear_faults()
    return web.Response(status=204)


async def smsc(request: web.Request) -> web.Response:
    """Where each operator's binary-protocol SMS gateway listens: protocol, host, port, SP login and
    access number per operator (SGIP also its corp id and the SP listener it dials)."""
    return web.json_response(dict(request.app[SMSC].view()))


async def put_sp_listener(request: web.Request) -> web.Response:
    """Point the SGIP SMG at the SP's listener ``{"address": "host:port"}`` (null: none, it then holds
    its reports and MO); answers the SMG's view. 400 for an address that is not ``host:port``."""
    body = parse_body(SpListenerUpdate, await request.read())
    try:
        address = None if body.address is None else parse_address(body.address)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None
    servers = request.app[SMSC]
    servers.set_sgip_listener(address)
    return web.json_response(dict(servers.view()["cucc"]))


def _subscriber(request: web.Request) -> Subscriber:
    phone_number = request.match_info["phoneNumber"]
    if not is_e164(phone_number):
        raise InvalidArgument("phoneNumber must be E.164 with a leading '+'.")
    subscriber = request.app[STATE].subscribers.get(phone_number)
    if subscriber is None:
        raise NotFound("No subscriber has this phone number.")
    return subscriber


def _faults(request: web.Request) -> Faults:
    return request.app[STATE].faults[_operator(request)]


def _operator(request: web.Request) -> SmscOperator:
    code = request.match_info["operator"]
    for operator in SMSC_OPERATORS:
        if operator == code:
            return operator
    raise NotFound(f"Unknown operator; expected one of {', '.join(SMSC_OPERATORS)}.")
