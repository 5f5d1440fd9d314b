"""CAMARA SIM Swap Subscriptions v0.3 over real sockets: gateway + sandbox operators + a bank's sink
receiver on 127.0.0.1, on SQLite and PostgreSQL.

The bank subscribes (2-legged and 3-legged tokens), the sandbox registers a SIM swap
(``POST /sandbox/subscribers/{phone}/sim-swap``), the gateway's poller (every 50 ms here) notices
it once the shared clock moved on, and the receiver gets a CloudEvent signed per Standard Webhooks
(verified with ``standardwebhooks``) carrying the sink credential as a bearer token.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from gateway.crypto import FieldCipher, Keyring
from gateway.db import create_engine, session_factory
from gateway.oauth.keys import KeyStore
from gateway.oauth.tokens import AccessTokens, Principal
from tests.leaks import SENSITIVE
from tests.stack import PREFIXES, Stack, TenantCreds, open_stack
from tests.unit.sim_swap_subscriptions.support import end_subscriptions
from tests.unit.webhooks.support import Received, Receiver

pytestmark = pytest.mark.integration

BASE = "/sim-swap-subscriptions/v0.3/subscriptions"
SWAPPED = "org.camaraproject.sim-swap-subscriptions.v0.swapped"
ENDED = "org.camaraproject.sim-swap-subscriptions.v0.subscription-ended"
CREATE = "sim-swap-subscriptions:org.camaraproject.sim-swap-subscriptions.v0.swapped:create"
SCOPES = [CREATE, "sim-swap-subscriptions:read", "sim-swap-subscriptions:delete"]


@dataclass
class Bank:
    """A tenant and its 2-legged token."""

    creds: TenantCreds
    token: str


@dataclass
class Env:
    """A gateway + sandbox pair, a sink receiver and a minter of 3-legged tokens."""

    stack: Stack
    receiver: Receiver
    minter: AccessTokens
    tenants: list[str] = field(default_factory=list)

    async def bank(self, scopes: list[str] | None = None) -> Bank:
        """A tenant holding ``scopes`` (default: all three subscription scopes) and its 2-legged token."""
        creds = await self.stack.tenant(scopes or SCOPES)
        self.tenants.append(creds.tenant_id)
        return Bank(creds, await self.stack.access_token(creds))

    def three_legged(self, bank: Bank, phone: str, operator: str = "cmcc") -> str:
        """A 3-legged token of ``bank`` for ``phone``, as the authorization server would issue it."""
        token = self.minter.issue(
            Principal(bank.creds.tenant_id, bank.creds.client_id, frozenset(SCOPES)),
            {"sub": "pairwise-" + secrets.token_hex(8)},
            phone_number=phone,
            operator=operator,
            amr=["network"],
            ttl=600,
        )
        SENSITIVE.add(token)
        return token

    def body(self, phone: str | None, path: str = "/sink", **config: Any) -> dict[str, Any]:
        """A subscription request to the receiver's ``path`` with a fresh bearer sink credential."""
        sink_token = "sink-" + secrets.token_urlsafe(16)
        SENSITIVE.add(sink_token)
        detail = {} if phone is None else {"phoneNumber": phone}
        return {
            "protocol": "HTTP",
            "sink": self.receiver.url(path),
            "sinkCredential": {
                "credentialType": "ACCESSTOKEN",
                "accessTokenType": "bearer",
                "accessToken": sink_token,
                "accessTokenExpiresUtc": (self.stack.clock.now() + timedelta(days=7)).isoformat(),
            },
            "types": [SWAPPED],
            "config": {"subscriptionDetail": detail, **config},
        }

    async def subscribe(self, bearer: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a subscription; the 201 body (its signing secret registered as sensitive)."""
        resp = await self.stack.call(BASE, bearer, body)
        assert resp.status_code == 201, resp.text
        created: dict[str, Any] = resp.json()
        SENSITIVE.add(created["signingSecret"])
        return created

    async def get(self, bearer: str, path: str = "") -> httpx.Response:
        """GET a subscription path."""
        return await self.stack.http.get(
            f"{self.stack.gateway_url}{BASE}{path}", headers={"Authorization": f"Bearer {bearer}"}
        )

    async def delete(self, bearer: str, subscription_id: str) -> httpx.Response:
        """DELETE a subscription."""
        return await self.stack.http.delete(
            f"{self.stack.gateway_url}{BASE}/{subscription_id}", headers={"Authorization": f"Bearer {bearer}"}
        )

    async def swap(self, phone: str) -> datetime:
        """Let 5 s pass, then register a SIM swap now at the sandbox; the swap time."""
        self.stack.clock.advance(5)
        at = self.stack.clock.now()
        resp = await self.stack.http.post(
            f"{self.stack.sandbox_url}/sandbox/subscribers/{phone}/sim-swap", json={"at": at.isoformat()}
        )
        assert resp.status_code == 200, resp.text
        self.stack.clock.advance(1)
        return at

    async def wait(self, path: str, count: int) -> list[Received]:
        """The first ``count`` requests the receiver got on ``path`` (fails after 10 s)."""

        async def arrived() -> bool:
            return len(self.receiver.at(path)) >= count

        await eventually(arrived)
        return self.receiver.at(path)[:count]


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Wait until ``check()`` holds; fail after ``seconds``."""
    for _ in range(int(seconds / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition did not hold in time")


@asynccontextmanager
async def open_env(database_url: str, **overrides: Any) -> AsyncIterator[Env]:
    """Gateway and sandbox over ``database_url`` with settings ``overrides``, and a receiver."""
    async with open_stack(database_url, **overrides) as stack, Receiver() as receiver:
        engine = create_engine(database_url)
        data_keys = stack.settings.data_keys
        assert data_keys is not None
        cipher = FieldCipher(Keyring.parse(data_keys.get_secret_value()))
        keys = KeyStore(
            session_factory(engine), cipher, stack.clock, max_token_ttl=stack.settings.access_token_ttl
        )
        await keys.load()
        env = Env(
            stack, receiver, AccessTokens(keys, stack.clock, cipher, issuer=stack.settings.issuer, ttl=600)
        )
        try:
            yield env
        finally:
            await end_subscriptions(session_factory(engine), env.tenants)
            await engine.dispose()


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    """Private sinks allowed (the receiver is on 127.0.0.1), polls every 50 ms, both databases."""
    async with open_env(
        database_url, allow_private_webhooks=True, sim_swap_poll_seconds=0.05, webhook_poll_interval=0.1
    ) as running:
        yield running


@pytest.fixture
async def strict_env(sqlite_url: str) -> AsyncIterator[Env]:
    """Production sink policy (no private sinks, https only), on SQLite."""
    async with open_env(sqlite_url) as running:
        yield running


def _error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["status"] == status and body["code"] == code and isinstance(body["message"], str)


async def test_two_legged_subscription_receives_a_signed_cloudevent(env: Env) -> None:
    """A 2-legged subscription answers 201 without the credential; after a swap the sink gets one
    CloudEvent with valid Standard Webhooks signatures, the bearer credential and the number."""
    bank = await env.bank()
    phone = await env.stack.subscriber("cmcc")
    body = env.body(phone)
    created = await env.subscribe(bank.token, body)
    assert created["protocol"] == "HTTP" and created["sink"] == body["sink"]
    assert created["types"] == [SWAPPED] and created["status"] == "ACTIVE"
    assert created["config"] == {"subscriptionDetail": {"phoneNumber": phone}}
    assert created["startsAt"].endswith("Z") and "expiresAt" not in created
    assert "sinkCredential" not in created and created["signingSecret"].startswith("whsec_")

    swapped_at = await env.swap(phone)
    [got] = await env.wait("/sink", 1)

    Webhook(created["signingSecret"]).verify(got.body, got.headers)
    assert got.headers["content-type"] == "application/cloudevents+json"
    assert got.headers["authorization"] == f"Bearer {body['sinkCredential']['accessToken']}"
    event = json.loads(got.body)
    assert event["id"] == got.webhook_id
    assert event["source"] == env.stack.settings.issuer + "/sim-swap-subscriptions/v0.3"
    assert event["type"] == SWAPPED and event["specversion"] == "1.0"
    assert event["datacontenttype"] == "application/json"
    assert event["data"] == {"subscriptionId": created["id"], "phoneNumber": phone}
    reported = datetime.fromisoformat(event["time"])
    assert abs((reported - swapped_at).total_seconds()) < 1
    fetched = await env.get(bank.token, f"/{created['id']}")
    assert fetched.status_code == 200 and "sinkCredential" not in fetched.json()
    assert "signingSecret" not in fetched.json()
    assert {k: v for k, v in fetched.json().items()} == {
        k: v for k, v in created.items() if k != "signingSecret"
    }


async def test_no_event_without_a_swap(env: Env) -> None:
    """A subscribed line without a SIM change gets nothing while another line's swap is delivered."""
    bank = await env.bank()
    quiet = await env.stack.subscriber("cucc")
    busy = await env.stack.subscriber("ctcc")
    await env.subscribe(bank.token, env.body(quiet, "/quiet"))
    await env.subscribe(bank.token, env.body(busy, "/busy"))

    await env.swap(busy)
    await env.wait("/busy", 1)
    await asyncio.sleep(0.3)
    assert env.receiver.at("/quiet") == []


async def test_three_legged_subscription_never_shows_the_number(env: Env) -> None:
    """With a 3-legged token no phoneNumber goes in or comes out: not in the 201, GET, list or event;
    the list holds only that subscriber's subscriptions; another subscriber's token sees 404."""
    bank = await env.bank()
    phone = await env.stack.subscriber("cmcc")
    other = await env.stack.subscriber("cmcc")
    user = env.three_legged(bank, phone)
    created = await env.subscribe(user, env.body(None, "/mine"))
    assert created["config"] == {"subscriptionDetail": {}}
    theirs = await env.subscribe(env.three_legged(bank, other), env.body(None, "/theirs"))

    listed = await env.get(user)
    assert [s["id"] for s in listed.json()] == [created["id"]]
    assert phone not in listed.text and phone[3:] not in listed.text
    _error(await env.get(user, f"/{theirs['id']}"), 404, "NOT_FOUND")
    _error(await env.delete(user, theirs["id"]), 404, "NOT_FOUND")
    as_client = await env.get(bank.token, f"/{created['id']}")
    assert as_client.status_code == 200 and phone not in as_client.text

    await env.swap(phone)
    [got] = await env.wait("/mine", 1)
    Webhook(created["signingSecret"]).verify(got.body, got.headers)
    assert json.loads(got.body)["data"] == {"subscriptionId": created["id"]}
    assert phone[3:] not in got.body.decode()


async def test_three_legged_token_with_a_phone_number_is_422(env: Env) -> None:
    """A phoneNumber next to a 3-legged token is 422 UNNECESSARY_IDENTIFIER, even the same number."""
    bank = await env.bank()
    phone = await env.stack.subscriber("cmcc")
    resp = await env.stack.call(BASE, env.three_legged(bank, phone), env.body(phone))
    _error(resp, 422, "UNNECESSARY_IDENTIFIER")
    assert phone not in resp.text


async def test_max_events_ends_the_subscription(env: Env) -> None:
    """With subscriptionMaxEvents 1 a swap sends swapped and subscription-ended MAX_EVENTS_REACHED;
    the subscription reads EXPIRED and a second swap sends nothing."""
    bank = await env.bank()
    phone = await env.stack.subscriber("cucc")
    created = await env.subscribe(bank.token, env.body(phone, subscriptionMaxEvents=1))
    assert created["config"]["subscriptionMaxEvents"] == 1

    await env.swap(phone)
    received = await env.wait("/sink", 2)
    events = [json.loads(r.body) for r in received]
    for request in received:
        Webhook(created["signingSecret"]).verify(request.body, request.headers)
    assert sorted(e["type"] for e in events) == sorted([SWAPPED, ENDED])
    [ended] = [e for e in events if e["type"] == ENDED]
    assert ended["data"]["subscriptionId"] == created["id"]
    assert ended["data"]["terminationReason"] == "MAX_EVENTS_REACHED"
    assert (await env.get(bank.token, f"/{created['id']}")).json()["status"] == "EXPIRED"

    control = await env.stack.subscriber("cucc")
    await env.subscribe(bank.token, env.body(control, "/control"))
    await env.swap(phone)
    await env.swap(control)
    await env.wait("/control", 1)
    await asyncio.sleep(0.2)
    assert len(env.receiver.at("/sink")) == 2


async def test_expiry_sends_subscription_ended(env: Env) -> None:
    """At subscriptionExpireTime the sink gets subscription-ended SUBSCRIPTION_EXPIRED; GET shows EXPIRED."""
    bank = await env.bank()
    phone = await env.stack.subscriber("ctcc")
    expire = env.stack.clock.now() + timedelta(seconds=30)
    created = await env.subscribe(bank.token, env.body(phone, subscriptionExpireTime=expire.isoformat()))
    assert created["expiresAt"] == created["config"]["subscriptionExpireTime"]

    env.stack.clock.advance(31)
    [got] = await env.wait("/sink", 1)
    event = json.loads(got.body)
    assert event["type"] == ENDED and event["data"]["terminationReason"] == "SUBSCRIPTION_EXPIRED"
    assert (await env.get(bank.token, f"/{created['id']}")).json()["status"] == "EXPIRED"


async def test_delete_notifies_and_removes(env: Env) -> None:
    """DELETE answers 204 (x-correlator echoed) and sends subscription-ended SUBSCRIPTION_DELETED; the
    id is then 404."""
    bank = await env.bank()
    phone = await env.stack.subscriber("cmcc")
    created = await env.subscribe(bank.token, env.body(phone))

    resp = await env.stack.http.delete(
        f"{env.stack.gateway_url}{BASE}/{created['id']}",
        headers={"Authorization": f"Bearer {bank.token}", "x-correlator": "del-42"},
    )
    assert resp.status_code == 204 and resp.content == b""
    assert resp.headers["x-correlator"] == "del-42"
    [got] = await env.wait("/sink", 1)
    Webhook(created["signingSecret"]).verify(got.body, got.headers)
    event = json.loads(got.body)
    assert event["type"] == ENDED and event["data"]["terminationReason"] == "SUBSCRIPTION_DELETED"
    _error(await env.get(bank.token, f"/{created['id']}"), 404, "NOT_FOUND")
    _error(await env.delete(bank.token, created["id"]), 404, "NOT_FOUND")
    assert (await env.get(bank.token)).json() == []


async def test_sink_answering_410_ends_the_subscription(env: Env) -> None:
    """A 410 from the sink ends the subscription (DELETED); later swaps send nothing."""
    bank = await env.bank()
    phone = await env.stack.subscriber("cmcc")
    env.receiver.answer("/gone", 410)
    created = await env.subscribe(bank.token, env.body(phone, "/gone"))

    await env.swap(phone)
    await env.wait("/gone", 1)

    async def ended() -> bool:
        status: str = (await env.get(bank.token, f"/{created['id']}")).json()["status"]
        return status == "DELETED"

    await eventually(ended)
    await env.swap(phone)
    await asyncio.sleep(0.3)
    assert len(env.receiver.at("/gone")) == 1


async def test_another_tenants_subscription_is_404(env: Env) -> None:
    """Another tenant's subscription id is 404 on GET and DELETE and absent from its list; the owner's
    subscription stays ACTIVE. Unknown and malformed ids are 404 too."""
    owner = await env.bank()
    intruder = await env.bank()
    created = await env.subscribe(owner.token, env.body(await env.stack.subscriber("ctcc")))

    _error(await env.get(intruder.token, f"/{created['id']}"), 404, "NOT_FOUND")
    _error(await env.delete(intruder.token, created["id"]), 404, "NOT_FOUND")
    assert (await env.get(intruder.token)).json() == []
    assert (await env.get(owner.token, f"/{created['id']}")).json()["status"] == "ACTIVE"
    _error(await env.get(owner.token, "/00000000-0000-4000-8000-000000000000"), 404, "NOT_FOUND")
    _error(await env.get(owner.token, "/" + "x" * 300), 404, "NOT_FOUND")
    assert env.receiver.received == []


def _bad_bodies(env: Env, phone: str) -> list[tuple[dict[str, Any], int, str]]:
    good = env.body(phone)
    good["sink"] = "https://bank.example.com/camara/sink"
    credential = good["sinkCredential"]

    def with_(**changes: Any) -> dict[str, Any]:
        return {**good, **changes}

    return [
        (with_(protocol="MQTT3"), 400, "INVALID_PROTOCOL"),
        (with_(sink="invalid-url"), 400, "INVALID_SINK"),
        (with_(sink="http://bank.example.com/sink"), 400, "INVALID_SINK"),
        (with_(sink="https://127.0.0.1/sink"), 400, "INVALID_SINK"),
        (with_(sink="https://user:pw@bank.example.com/sink"), 400, "INVALID_SINK"),
        (
            with_(sinkCredential={"credentialType": "PLAIN", "identifier": "a", "secret": "b"}),
            400,
            "INVALID_CREDENTIAL",
        ),
        (with_(sinkCredential={**credential, "extra": 1}), 400, "INVALID_CREDENTIAL"),
        (with_(sinkCredential={**credential, "accessTokenType": "mac"}), 400, "INVALID_TOKEN"),
        (with_(types=["org.camaraproject.sim-swap-subscriptions.v0.other"]), 400, "INVALID_ARGUMENT"),
        (with_(types=[SWAPPED, SWAPPED]), 400, "INVALID_ARGUMENT"),
        (
            with_(config={**good["config"], "subscriptionExpireTime": "2020-01-01T00:00:00Z"}),
            400,
            "INVALID_ARGUMENT",
        ),
        (with_(config={**good["config"], "subscriptionMaxEvents": 0}), 400, "INVALID_ARGUMENT"),
        (with_(config={"subscriptionDetail": {"phoneNumber": "8613800138000"}}), 400, "INVALID_ARGUMENT"),
        (with_(unknown=True), 400, "INVALID_ARGUMENT"),
        ({k: v for k, v in good.items() if k != "config"}, 400, "INVALID_ARGUMENT"),
        (with_(sink=None), 400, "INVALID_ARGUMENT"),
    ]


async def test_bad_input_is_400_never_500(strict_env: Env) -> None:
    """Every malformed request is a 400 with its CAMARA code (never 500), and nothing is created."""
    bank = await strict_env.bank()
    phone = await strict_env.stack.subscriber("cmcc")
    for body, status, code in _bad_bodies(strict_env, phone):
        resp = await strict_env.stack.call(BASE, bank.token, body)
        _error(resp, status, code)
        assert phone not in resp.text
    for raw in (b"{not json", b"[]", b"", b"null"):
        resp = await strict_env.stack.http.post(
            f"{strict_env.stack.gateway_url}{BASE}",
            content=raw,
            headers={"Authorization": f"Bearer {bank.token}", "Content-Type": "application/json"},
        )
        _error(resp, 400, "INVALID_ARGUMENT")
    assert (await strict_env.get(bank.token)).json() == []


async def test_identifier_and_line_errors(strict_env: Env) -> None:
    """No number with a 2-legged token is 422 MISSING_IDENTIFIER; an unknown number 404
    IDENTIFIER_NOT_FOUND; an ineligible line 422 SERVICE_NOT_APPLICABLE; a public https sink works."""
    bank = await strict_env.bank()
    public = {"sink": "https://bank.example.com/camara/sink"}
    resp = await strict_env.stack.call(BASE, bank.token, {**strict_env.body(None), **public})
    _error(resp, 422, "MISSING_IDENTIFIER")
    unknown = f"+86{PREFIXES['cmcc']}{secrets.randbelow(10**8):08d}"
    SENSITIVE.update({unknown, unknown[3:]})
    _error(
        await strict_env.stack.call(BASE, bank.token, {**strict_env.body(unknown), **public}),
        404,
        "IDENTIFIER_NOT_FOUND",
    )
    _error(
        await strict_env.stack.call(BASE, bank.token, {**strict_env.body("+12025550123"), **public}),
        404,
        "IDENTIFIER_NOT_FOUND",
    )
    ineligible = await strict_env.stack.subscriber("cucc", eligible=False)
    resp = await strict_env.stack.call(BASE, bank.token, {**strict_env.body(ineligible), **public})
    _error(resp, 422, "SERVICE_NOT_APPLICABLE")
    ok = await strict_env.stack.call(
        BASE, bank.token, {**strict_env.body(await strict_env.stack.subscriber("cmcc")), **public}
    )
    assert ok.status_code == 201, ok.text
    SENSITIVE.add(ok.json()["signingSecret"])


async def test_scopes_are_enforced(strict_env: Env) -> None:
    """No token is 401; a token without the operation's scope is 403 PERMISSION_DENIED."""
    reader = await strict_env.bank(["sim-swap-subscriptions:read"])
    body = strict_env.body(await strict_env.stack.subscriber("cmcc"))
    _error(await strict_env.stack.call(BASE, reader.token, body), 403, "PERMISSION_DENIED")
    _error(
        await strict_env.delete(reader.token, "00000000-0000-4000-8000-000000000000"),
        403,
        "PERMISSION_DENIED",
    )
    resp = await strict_env.stack.http.get(f"{strict_env.stack.gateway_url}{BASE}")
    _error(resp, 401, "UNAUTHENTICATED")
    assert (await strict_env.get(reader.token)).status_code == 200
