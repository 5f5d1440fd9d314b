"""SimSwap r3.3 (sim-swap-subscriptions 0.3.0) test definitions, as tests of our own:
``sim-swap-subscriptions.feature``.

Each test is named after its scenario's tag; "identified by the token or provided in the request
body" runs both ways (``2-legged``: client credentials, ``config.subscriptionDetail.phoneNumber``;
``3-legged``: a CIBA ``tel:`` token, ``subscriptionDetail`` empty). The "provided callbackUrl" is a
receiver on 127.0.0.1 (so the module's gateway allows private http sinks); scenarios that read a
``Subscription`` without receiving anything use a public ``https`` sink, as the schema's pattern
asks. A SIM swap is registered at the sandbox; the gateway's poller (every 100 ms here) notices it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any, Final

import httpx
import pytest
import pytest_asyncio

from gateway.db import create_engine, session_factory
from tests.camara.client import AUTH_FAILURES, PURPOSE, Camara
from tests.camara.oas import assert_complies, assert_correlated, assert_error, assert_success
from tests.camara.swap_steps import LINES, Caller, parsed
from tests.leaks import SENSITIVE
from tests.stack import Stack, open_stack
from tests.unit.sim_swap_subscriptions.support import end_subscriptions
from tests.unit.webhooks.support import Received, Receiver

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

BASE: Final = "/sim-swap-subscriptions/v0.3/subscriptions"
SWAPPED: Final = "org.camaraproject.sim-swap-subscriptions.v0.swapped"
ENDED: Final = "org.camaraproject.sim-swap-subscriptions.v0.subscription-ended"
SCOPES: Final = (
    "sim-swap-subscriptions:org.camaraproject.sim-swap-subscriptions.v0.swapped:create",
    "sim-swap-subscriptions:read",
    "sim-swap-subscriptions:delete",
)
SCOPE: Final = " ".join(SCOPES)
MILLISECOND: Final = timedelta(milliseconds=1)


# --- the module's stack, bank and callback receiver ----------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(module_database_url: str) -> AsyncIterator[Stack]:
    """Gateway and sandbox on real sockets (as in the conftest), with private sinks allowed and the
    SIM history polled every 100 ms."""
    async with open_stack(
        module_database_url,
        public=True,
        allow_private_webhooks=True,
        sim_swap_poll_seconds=0.1,
        webhook_poll_interval=0.1,
    ) as stack:
        yield stack


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def camara(live: Stack) -> Camara:
    """A bank registered with the three subscription scopes."""
    return await Camara.register(live, ["openid", PURPOSE, *SCOPES])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    """The bank's callback receiver; each subscription gets a path of its own."""
    async with Receiver() as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", autouse=True)
async def _end_subscriptions(module_database_url: str, camara: Camara) -> AsyncIterator[None]:
    """After each scenario the bank's subscriptions that are still active end (in the database), so
    the poller of the module's gateway does not keep asking for them."""
    yield
    await _end(module_database_url, camara)


async def _end(database_url: str, bank: Camara) -> None:
    engine = create_engine(database_url)
    try:
        await end_subscriptions(session_factory(engine), [bank.creds.tenant_id])
    finally:
        await engine.dispose()


# --- steps ---------------------------------------------------------------------------------------


async def line_of(camara: Camara, line: str, operator: str = "cmcc", **seed: Any) -> Caller:
    """A fresh subscriber and how ``line`` names it: the token alone (3-legged), or the token and
    ``subscriptionDetail.phoneNumber`` (2-legged)."""
    phone = await camara.subscriber(operator, **seed)
    if line == "2-legged":
        return Caller(phone, await camara.two_legged(SCOPE), {"phoneNumber": phone})
    return Caller(phone, await camara.ciba(phone, SCOPE), {})


def public_sink() -> str:
    """An https sink on a public host, as the ``Subscription`` schema's pattern asks."""
    return f"https://bank.example.com/camara/sink/{uuid.uuid4()}"


def callback(receiver: Receiver) -> tuple[str, str]:
    """A fresh path on the receiver and its URL (the scenario's "provided callbackUrl")."""
    path = f"/callback/{uuid.uuid4()}"
    return path, receiver.url(path)


def request_body(
    camara: Camara,
    detail: dict[str, str],
    sink: str,
    *,
    credential: dict[str, Any] | None = None,
    **config: Any,
) -> dict[str, Any]:
    """A request body compliant with ``SubscriptionRequest``: HTTP, the swapped type, a bearer sink
    credential valid for a week (or ``credential`` over it), ``detail`` and ``config`` extras."""
    token = "sink-" + secrets.token_urlsafe(16)
    SENSITIVE.add(token)
    sink_credential = {
        "credentialType": "ACCESSTOKEN",
        "accessTokenType": "bearer",
        "accessToken": token,
        "accessTokenExpiresUtc": (camara.stack.clock.now() + timedelta(days=7)).isoformat(),
        **(credential or {}),
    }
    return {
        "protocol": "HTTP",
        "sink": sink,
        "sinkCredential": sink_credential,
        "types": [SWAPPED],
        "config": {"subscriptionDetail": detail, **config},
    }


async def create(camara: Camara, token: str | None, body: dict[str, Any]) -> httpx.Response:
    """``POST /subscriptions``."""
    return await camara.post(BASE, token, body)


async def created(camara: Camara, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create a subscription: 201, JSON, x-correlator echoed, a ``Subscription``; its body."""
    answer = assert_success(await create(camara, token, body), "Subscription", status=201)
    SENSITIVE.add(answer["signingSecret"])
    return answer


async def subscribed(camara: Camara, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create a subscription whose sink is the local receiver: 201, JSON, x-correlator echoed, a
    ``Subscription`` but for the sink's ``https`` pattern, which an ``http://127.0.0.1`` receiver
    cannot meet (private http sinks exist only with ALLOW_PRIVATE_WEBHOOKS); its body."""
    resp = await create(camara, token, body)
    assert resp.status_code == 201, resp.text
    assert resp.headers["content-type"].split(";")[0] == "application/json"
    assert_correlated(resp)
    answer: dict[str, Any] = resp.json()
    SENSITIVE.add(answer["signingSecret"])
    assert answer["sink"] == body["sink"] and answer["sink"].startswith("http://127.0.0.1:")
    assert_complies({**answer, "sink": "https://" + answer["sink"].removeprefix("http://")}, "Subscription")
    return answer


async def events(receiver: Receiver, path: str, count: int, seconds: float = 10.0) -> list[dict[str, Any]]:
    """The first ``count`` CloudEvents received on ``path`` (fails after ``seconds``)."""
    for _ in range(int(seconds / 0.02)):
        if len(receiver.at(path)) >= count:
            break
        await asyncio.sleep(0.02)
    got: list[Received] = receiver.at(path)
    assert len(got) >= count, f"{len(got)} of {count} notifications arrived at {path}"
    for request in got:
        assert request.headers["content-type"] == "application/cloudevents+json"
    return [json.loads(request.body) for request in got[:count]]


async def swap(camara: Camara, phone: str) -> datetime:
    """Perform a SIM swap on the line at the sandbox (5 s from now on the shared clock); its time."""
    camara.stack.clock.advance(5)
    at = camara.stack.clock.now()
    resp = await camara.stack.http.post(
        f"{camara.stack.sandbox_url}/sandbox/subscribers/{phone}/sim-swap", json={"at": at.isoformat()}
    )
    assert resp.status_code == 200, resp.text
    camara.stack.clock.advance(1)
    return at


def within(value: str, start: datetime, end: datetime) -> None:
    """``value`` is an RFC 3339 instant between ``start`` and ``end`` (at millisecond precision)."""
    moment = parsed(value)
    assert start - MILLISECOND <= moment <= end + MILLISECOND, (value, start, end)


# --- happy paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("line", LINES)
async def test_sim_swap_subscription_creation_01_sync_creation(camara: Camara, line: str) -> None:
    """ "Check sync subscription creation": 201, JSON, x-correlator, a Subscription with the types,
    protocol, sink and phoneNumber sent (no phoneNumber with a 3-legged token) and startsAt the
    time of the response."""
    who = await line_of(camara, line)
    sink = public_sink()
    before = camara.stack.clock.now()
    body = await created(camara, who.token, request_body(camara, who.line, sink))
    after = camara.stack.clock.now()
    assert body["types"] == [SWAPPED] and body["protocol"] == "HTTP" and body["sink"] == sink
    assert body["config"]["subscriptionDetail"] == who.line
    assert "sinkCredential" not in body
    within(body["startsAt"], before, after)


@pytest.mark.parametrize("line", LINES)
async def test_sim_swap_subscription_retrieve_03_retrieve_by_id(camara: Camara, line: str) -> None:
    """ "Check existing subscription is retrieved by id": 200, JSON, x-correlator, the Subscription
    as created (without the creation's signingSecret)."""
    who = await line_of(camara, line)
    made = await created(camara, who.token, request_body(camara, who.line, public_sink()))
    resp = await camara.send("GET", f"{BASE}/{made['id']}", who.token)
    body = assert_success(resp, "Subscription")
    assert body == {key: value for key, value in made.items() if key != "signingSecret"}


async def test_sim_swap_subscription_retrieve_04_retrieve_list_2legs(
    live: Stack, module_database_url: str
) -> None:
    """ "Check existing subscription(s) is/are retreived in list": with a 2-legged token, 200, JSON,
    x-correlator, an array of Subscription holding the API client's subscriptions, oldest first."""
    bank = await Camara.register(live, ["openid", PURPOSE, *SCOPES])
    token = await bank.two_legged(SCOPE)
    made = []
    for _ in range(2):
        phone = await bank.subscriber("cmcc")
        made.append(await created(bank, token, request_body(bank, {"phoneNumber": phone}, public_sink())))
    resp = await bank.send("GET", BASE, token)
    listed = _list(resp)
    assert [s["id"] for s in listed] == [s["id"] for s in made]
    assert [s["config"]["subscriptionDetail"] for s in listed] == [
        s["config"]["subscriptionDetail"] for s in made
    ]
    await _end(module_database_url, bank)


async def test_sim_swap_subscription_retrieve_07_retrieve_list_3legs(camara: Camara) -> None:
    """ "Check existing subscription(s) is/are retrieved in list": with a 3-legged token, the
    subscriptions of the token's phone number only (another line's subscription of the same client
    is not listed)."""
    who = await line_of(camara, "3-legged")
    mine = [await created(camara, who.token, request_body(camara, {}, public_sink())) for _ in range(2)]
    other = await line_of(camara, "3-legged")
    await created(camara, other.token, request_body(camara, {}, public_sink()))
    listed = _list(await camara.send("GET", BASE, who.token))
    assert [s["id"] for s in listed] == [s["id"] for s in mine]
    assert all(s["config"]["subscriptionDetail"] == {} for s in listed)


async def test_sim_swap_subscription_retrieve_08_retrieve_empty_list_3legs(camara: Camara) -> None:
    """ "Check no existing subscription is retrieved in list": with a 3-legged token of a line
    without subscriptions (while the client has others), 200, JSON, x-correlator, ``[]``."""
    other = await line_of(camara, "2-legged")
    await created(camara, other.token, request_body(camara, other.line, public_sink()))
    who = await line_of(camara, "3-legged")
    assert _list(await camara.send("GET", BASE, who.token)) == []


def _list(resp: httpx.Response) -> list[dict[str, Any]]:
    """200, JSON, x-correlator echoed, an array of ``Subscription``."""
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].split(";")[0] == "application/json"
    assert_correlated(resp)
    body: list[dict[str, Any]] = resp.json()
    assert_complies(body, "SubscriptionList")
    return body


@pytest.mark.parametrize("line", LINES)
async def test_sim_swap_subscription_delete_05_delete_subscription(
    camara: Camara, receiver: Receiver, line: str
) -> None:
    """ "Check deletion of existing subscription & triggering of subscription-ended event": 204 with
    the x-correlator and no body; the callback receives a subscription-ended CloudEvent with the
    subscriptionId, the phoneNumber (2-legged only) and the time of the deletion."""
    who = await line_of(camara, line)
    path, url = callback(receiver)
    made = await subscribed(camara, who.token, request_body(camara, who.line, url))
    before = camara.stack.clock.now()
    resp = await camara.send("DELETE", f"{BASE}/{made['id']}", who.token)
    after = camara.stack.clock.now()
    assert resp.status_code == 204 and resp.content == b"", resp.text
    assert_correlated(resp)
    [event] = await events(receiver, path, 1)
    assert_complies(event, "EventSubscriptionEnded")
    assert event["type"] == ENDED
    assert event["data"]["subscriptionId"] == made["id"]
    assert event["data"]["terminationReason"] == "SUBSCRIPTION_DELETED"
    assert event["data"].get("phoneNumber") == who.line.get("phoneNumber")
    within(event["time"], before, after)


async def test_sim_swap_subscription_creation_06_swapped(camara: Camara, receiver: Receiver) -> None:
    """ "Check swapped event is triggered when a sim swap is performed on the device": 201 with an
    id; after a SIM swap the callback receives a swapped CloudEvent with the phoneNumber, the
    subscriptionId and the time of the swap."""
    who = await line_of(camara, "2-legged", activatedAt=camara.ago(2000))
    path, url = callback(receiver)
    made = await subscribed(camara, who.token, request_body(camara, who.line, url))
    assert made["id"]
    swapped_at = await swap(camara, who.phone)
    [event] = await events(receiver, path, 1)
    assert_complies(event, "EventSimSwap")
    assert event["type"] == SWAPPED
    assert event["data"] == {"phoneNumber": who.phone, "subscriptionId": made["id"]}
    within(event["time"], swapped_at, swapped_at)


async def test_sim_swap_subscription_creation_07_subscription_ends_on_max_events(
    camara: Camara, receiver: Receiver
) -> None:
    """ "Receive notification for subscription-ended event on max events reached": with
    subscriptionMaxEvents 1, a swap sends swapped, then subscription-ended MAX_EVENTS_REACHED."""
    who = await line_of(camara, "2-legged")
    path, url = callback(receiver)
    made = await subscribed(camara, who.token, request_body(camara, who.line, url, subscriptionMaxEvents=1))
    await swap(camara, who.phone)
    swapped, ended = sorted(await events(receiver, path, 2), key=lambda event: event["type"] == ENDED)
    assert_complies(swapped, "EventSimSwap")
    assert_complies(ended, "EventSubscriptionEnded")
    assert swapped["data"] == {"phoneNumber": who.phone, "subscriptionId": made["id"]}
    assert ended["type"] == ENDED and ended["data"]["subscriptionId"] == made["id"]
    assert ended["data"]["terminationReason"] == "MAX_EVENTS_REACHED"
    assert ended["data"]["phoneNumber"] == who.phone


# --- 400 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["MQTT3", "MQTT5", "AMQP", "NATS", "KAFKA"])
async def test_sim_swap_subscription_creation_20_invalid_protocol(camara: Camara, protocol: str) -> None:
    """ "subscription creation with invalid protocol": a protocol other than HTTP is 400
    INVALID_PROTOCOL."""
    who = await line_of(camara, "2-legged")
    body = {**request_body(camara, who.line, public_sink()), "protocol": protocol}
    assert_error(await create(camara, who.token, body), 400, "INVALID_PROTOCOL")


@pytest.mark.parametrize("credential_type", ["PLAIN", "REFRESHTOKEN"])
async def test_sim_swap_subscription_creation_21_invalid_credential(
    camara: Camara, credential_type: str
) -> None:
    """ "subscription creation with invalid credential": a credentialType other than ACCESSTOKEN
    (with a valid bearer token, type and expiry) is 400 INVALID_CREDENTIAL."""
    who = await line_of(camara, "2-legged")
    body = request_body(camara, who.line, public_sink(), credential={"credentialType": credential_type})
    assert_error(await create(camara, who.token, body), 400, "INVALID_CREDENTIAL")


@pytest.mark.parametrize("token_type", ["mac", "DPoP"])
async def test_sim_swap_subscription_creation_22_invalid_token(camara: Camara, token_type: str) -> None:
    """ "subscription creation with invalid token": an ACCESSTOKEN credential whose accessTokenType
    is not bearer is 400 INVALID_TOKEN."""
    who = await line_of(camara, "2-legged")
    body = request_body(camara, who.line, public_sink(), credential={"accessTokenType": token_type})
    assert_error(await create(camara, who.token, body), 400, "INVALID_TOKEN")


@pytest.mark.parametrize(
    "types",
    [
        ["org.camaraproject.sim-swap-subscriptions.v0.subscription-ended"],
        ["org.camaraproject.sim-swap-subscriptions.v1.swapped"],
        ["org.camaraproject.device-swap-subscriptions.v0.swapped"],
        [],
        "org.camaraproject.sim-swap-subscriptions.v0.swapped",
    ],
)
async def test_sim_swap_subscription_creation_23_invalid_eventType(camara: Camara, types: Any) -> None:
    """ "subscription creation with invalid event type": types other than [swapped] is 400
    INVALID_ARGUMENT."""
    who = await line_of(camara, "2-legged")
    body = {**request_body(camara, who.line, public_sink()), "types": types}
    assert_error(await create(camara, who.token, body), 400, "INVALID_ARGUMENT")


async def test_sim_swap_subscription_creation_24_invalid_subscription_expire_time(camara: Camara) -> None:
    """ "subscription creation with invalid expire time": a subscriptionExpireTime in the past is
    400 INVALID_ARGUMENT."""
    who = await line_of(camara, "2-legged")
    past = (camara.stack.clock.now() - timedelta(minutes=1)).isoformat()
    body = request_body(camara, who.line, public_sink(), subscriptionExpireTime=past)
    assert_error(await create(camara, who.token, body), 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    ("missing", "status", "code"),
    [
        ("protocol", 400, "INVALID_ARGUMENT"),
        ("sink", 400, "INVALID_ARGUMENT"),
        ("types", 400, "INVALID_ARGUMENT"),
        ("config.subscriptionDetail.phoneNumber", 422, "MISSING_IDENTIFIER"),
    ],
)
async def test_sim_swap_subscription_creation_25_require_input_properties_missing(
    camara: Camara, missing: str, status: int, code: str
) -> None:
    """ "subscription creation with required properties missing": without protocol, sink or types,
    400 INVALID_ARGUMENT; without phoneNumber (2-legged token), 422 MISSING_IDENTIFIER, as the YAML
    has it (``CreateSubscriptionDetail`` requires nothing; docs/camara.md)."""
    who = await line_of(camara, "2-legged")
    body = request_body(camara, who.line, public_sink())
    *parents, name = missing.split(".")
    holder = body
    for parent in parents:
        holder = holder[parent]
    del holder[name]
    assert_error(await create(camara, who.token, body), status, code)


@pytest.mark.parametrize(
    "sink", ["invalid-url", "azerty", "bank.example.com/sink", "ftp://bank.example.com/sink", "https://"]
)
async def test_sim_swap_subscription_creation_26_invalid_sink(camara: Camara, sink: str) -> None:
    """ "subscription creation with invalid sink": a sink that is not an http(s) URL (with an expire
    time in the past, as written) is 400 INVALID_SINK, the YAML's code for it (docs/camara.md)."""
    who = await line_of(camara, "2-legged")
    past = (camara.stack.clock.now() - timedelta(minutes=1)).isoformat()
    body = request_body(camara, who.line, sink, subscriptionExpireTime=past)
    assert_error(await create(camara, who.token, body), 400, "INVALID_SINK")


# --- 401 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", AUTH_FAILURES)
async def test_sim_swap_subscription_creation_40_41_42_unauthenticated(camara: Camara, failure: str) -> None:
    """ "No Authorization header", "Expired access token", "Invalid access token" (creation_40 to
    creation_42): with a valid body, 401 UNAUTHENTICATED (JSON)."""
    phone = await camara.subscriber("cmcc")
    bearer = await camara.failing_authorization(failure, await camara.two_legged(SCOPE))
    body = request_body(camara, {"phoneNumber": phone}, public_sink())
    assert_error(await create(camara, bearer, body), 401, "UNAUTHENTICATED")


# --- 404 -----------------------------------------------------------------------------------------


async def test_sim_swap_subscription_retrieve_80_not_found_retrieve_by_id(camara: Camara) -> None:
    """ "Request to retrieve a non-existing subscription": 404 NOT_FOUND."""
    token = await camara.two_legged(SCOPE)
    assert_error(await camara.send("GET", f"{BASE}/{uuid.uuid4()}", token), 404, "NOT_FOUND")


async def test_sim_swap_subscription_delete_81_not_found_delete_by_id(camara: Camara) -> None:
    """ "Request to delete a non-existing subscription": 404 NOT_FOUND."""
    token = await camara.two_legged(SCOPE)
    assert_error(await camara.send("DELETE", f"{BASE}/{uuid.uuid4()}", token), 404, "NOT_FOUND")


# --- 422 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("same", [True, False], ids=["own number", "other number"])
async def test_sim_swap_subscription_creation_101_phone_number_token_mismatch(
    camara: Camara, same: bool
) -> None:
    """ "Inconsistent access token context for the phone number": a phoneNumber with a token that
    identifies a line (its own or another number) is 422 UNNECESSARY_IDENTIFIER."""
    who = await line_of(camara, "3-legged")
    number = who.phone if same else await camara.subscriber("cmcc")
    body = request_body(camara, {"phoneNumber": number}, public_sink())
    resp = await create(camara, who.token, body)
    assert_error(resp, 422, "UNNECESSARY_IDENTIFIER")
    assert number not in resp.text


@pytest.mark.parametrize("line", LINES)
async def test_sim_swap_subscription_creation_100_not_applicable(camara: Camara, line: str) -> None:
    """ "request for an unapplicable phone number for sim swap subscription": a line the operator
    does not serve for SIM swap is 422 SERVICE_NOT_APPLICABLE, the YAML's code (the feature's
    UNSUPPORTED_IDENTIFIER is not among the YAML's; docs/camara.md)."""
    who = await line_of(camara, line, "cucc", eligible=False)
    body = request_body(camara, who.line, public_sink())
    assert_error(await create(camara, who.token, body), 422, "SERVICE_NOT_APPLICABLE")


async def test_sim_swap_subscription_creation_102_missing_identifier(camara: Camara) -> None:
    """ "request without any device identifier for sim swap subscription": a 2-legged token and no
    phoneNumber is 422 MISSING_IDENTIFIER."""
    token = await camara.two_legged(SCOPE)
    body = request_body(camara, {}, public_sink())
    assert_error(await create(camara, token, body), 422, "MISSING_IDENTIFIER")
