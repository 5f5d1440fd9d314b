"""Tenant isolation swept from the live router (contract §1: "A tenant never sees another tenant's
objects: their ids answer 404 NOT_FOUND, not 403").

Tenant A creates one of every object the API addresses by id (template, message, branch, device
binding, SIM swap subscription, webhook delivery). Tenant B, holding every scope, calls every
method of every id route of ``create_app``'s router with A's ids and must get exactly the answer
an id that was never issued gets: ``404 NOT_FOUND`` in the contract's error shape, so the answer
does not even reveal that the id exists. Afterwards A's objects are unchanged, and B's list routes
show none of them.

The staff console is swept the same way with B's admin signed in (an admin serves every branch
of B): every console route with A's branch id answers what a never-issued id does, and B's
console lists none of A's branches or audit entries.

The routes come from the router, not from a list kept here: a new route with a path parameter
fails :func:`test_every_id_route_is_swept_or_excluded_for_a_reason` until it gets a probe in
:data:`PROBES` or :data:`CONSOLE_PROBES` (and a resource factory in :class:`TenantA`) or a
justified entry in :data:`NOT_TENANT_SCOPED`; likewise a new tenant-scoped ``GET`` without
parameters until it is classified in :data:`LISTS` or :data:`NOT_LISTS`.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web

from gateway.app import create_app
from gateway.auth import policy_of
from gateway.crypto import BlindIndex, FieldCipher, Keyring
from gateway.dashboard import DashboardService, Period
from gateway.db import create_engine, session_factory
from gateway.settings import Settings
from gateway.webhooks import WebhookService
from tests.leaks import SENSITIVE
from tests.stack import SESSION_DATA_KEYS, SESSION_INDEX_KEYS, Stack, TenantCreds, open_stack
from tests.unit.console.support import ConsoleClient, console_client, create_staff
from tests.unit.webhooks.support import Receiver

pytestmark = pytest.mark.integration

SUBSCRIPTION_CREATE = "sim-swap-subscriptions:org.camaraproject.sim-swap-subscriptions.v0.swapped:create"
SCOPES = [
    "push:send",
    "push:read",
    "templates:write",
    "webhooks:manage",
    "branches:manage",
    "login-check",
    SUBSCRIPTION_CREATE,
    "sim-swap-subscriptions:read",
    "sim-swap-subscriptions:delete",
    "verify",
]
VERIFICATIONS = "/verify/v1/requests"
SUBSCRIPTIONS = "/sim-swap-subscriptions/v0.3/subscriptions"
DEVICES = "/login-check/v1/devices"
CAMPAIGNS = "/push/v1/campaigns"


@dataclass(frozen=True)
class Probe:
    """How B calls one id route: which of A's objects fills the path, and the (valid) body it sends,
    so that only ownership can make the call fail."""

    resource: str
    body: Callable[[str], dict[str, Any]] | None = None


PROBES: dict[tuple[str, str], Probe] = {
    ("GET", SUBSCRIPTIONS + "/{subscriptionId}"): Probe("subscription"),
    ("DELETE", SUBSCRIPTIONS + "/{subscriptionId}"): Probe("subscription"),
    ("DELETE", DEVICES + "/{id}"): Probe("device"),
    ("GET", "/push/v1/templates/{id}"): Probe("template"),
    ("GET", "/push/v1/webhook/deliveries/{id}"): Probe("delivery"),
    ("GET", "/push/v1/messages/{id}"): Probe("message"),
    ("GET", "/push/v1/messages/{id}/location"): Probe("message"),
    ("GET", "/push/v1/branches/{id}"): Probe("branch"),
    ("POST", "/push/v1/branches/{id}/tickets"): Probe("branch", lambda b_phone: {"phoneNumber": b_phone}),
    ("POST", "/push/v1/branches/{id}/call-next"): Probe("branch", lambda _: {"counter": "3"}),
    ("GET", "/push/v1/branches/{id}/queue"): Probe("branch"),
    ("GET", VERIFICATIONS + "/{id}"): Probe("verification"),
    ("POST", VERIFICATIONS + "/{id}/check"): Probe("verification", lambda _: {"code": "123456"}),
    ("POST", VERIFICATIONS + "/{id}/next"): Probe("verification"),
    ("DELETE", VERIFICATIONS + "/{id}"): Probe("verification"),
    ("GET", CAMPAIGNS + "/{id}"): Probe("campaign"),
    ("POST", CAMPAIGNS + "/{id}/recipients"): Probe("campaign", lambda b_phone: {"phoneNumber": b_phone}),
    ("POST", CAMPAIGNS + "/{id}/start"): Probe("campaign"),
    ("POST", CAMPAIGNS + "/{id}/pause"): Probe("campaign"),
    ("POST", CAMPAIGNS + "/{id}/resume"): Probe("campaign"),
    ("POST", CAMPAIGNS + "/{id}/cancel"): Probe("campaign"),
    ("GET", "/push/v1/card-templates/{id}"): Probe("card_template"),
}

#: Console routes (a staff session of B's admin) with A's branch id, and the body each sends.
CONSOLE_PROBES: dict[tuple[str, str], Probe] = {
    ("GET", "/console/api/branches/{id}/queue"): Probe("branch"),
    ("GET", "/console/api/branches/{id}/calls"): Probe("branch"),
    ("POST", "/console/api/branches/{id}/tickets"): Probe("branch", lambda b_phone: {"phoneNumber": b_phone}),
    ("POST", "/console/api/branches/{id}/call-next"): Probe("branch", lambda _: {"counter": "3"}),
    ("POST", "/console/api/branches/{id}/recall"): Probe("branch", lambda _: {"counter": "3"}),
    ("POST", "/console/api/branches/{id}/no-show"): Probe("branch", lambda _: {"counter": "3"}),
}

#: Admin-only routes: a tenant's token (even the owner's) is the generic 401.
ADMIN_ONLY = {
    ("POST", "/admin/templates/{id}/approve"),
    ("POST", "/admin/templates/{id}/reject"),
    ("PUT", "/admin/tenants/{id}/sms-policy"),
    ("POST", "/admin/tenants/{tenant_id}/staff"),
    ("GET", "/admin/tenants/{tenant_id}/staff"),
    ("PATCH", "/admin/tenants/{tenant_id}/staff/{staff_id}"),
    ("POST", "/admin/tenants/{tenant_id}/staff/{staff_id}/disable"),
    ("POST", "/admin/tenants/{tenant_id}/staff/{staff_id}/enable"),
    ("POST", "/admin/tenants/{tenant_id}/staff/{staff_id}/reset-password"),
    ("POST", "/admin/tenants/{tenant_id}/staff/{staff_id}/reset-totp"),
    ("GET", "/admin/tenants/{tenant_id}/audit"),
    ("PUT", "/admin/tenants/{tenant_id}/staff/{staff_id}/sso-subject"),
    ("DELETE", "/admin/tenants/{tenant_id}/staff/{staff_id}/sso-subject"),
    ("PUT", "/admin/tenants/{tenant_id}/sso"),
    ("GET", "/admin/tenants/{tenant_id}/sso"),
    ("DELETE", "/admin/tenants/{tenant_id}/sso"),
}

#: Routes with a path parameter that does not name a tenant's object, and why.
NOT_TENANT_SCOPED: dict[tuple[str, str], str] = {
    ("GET", "/oauth2/callback/{operator}"): (
        "the operator sends the phone's browser back here during a code flow; {operator} is one of "
        "the configured operators and the pending flow is found by its single-use state, no tenant "
        "credential is presented"
    ),
    ("POST", "/operator-callbacks/{operator}"): (
        "delivery reports and replies from an operator, authenticated by that operator's signature; "
        "{operator} is cmcc, cucc or ctcc"
    ),
    ("GET", "/l/{code}"): (
        "the SMS short link: {code} is a 64+-bit capability the recipient's phone holds; the landing "
        "page carries no tenant data and redemption is bound to the recipient's number "
        "(tests/integration/test_flows.py)"
    ),
    ("POST", "/push/v1/links/{code}/redeem"): (
        "the same capability, redeemed with an operator token of the recipient's own phone "
        "(403 LINK_NOT_FOR_THIS_DEVICE otherwise, tests/integration/test_flows.py); no tenant credential"
    ),
    ("POST", "/push/v1/templates/builtin/{name}"): (
        "{name} is an entry of the gateway's built-in catalogue, shared by every tenant; the call "
        "creates a template of the caller's own"
    ),
    ("GET", "/flows/static/{name}"): "scripts and styles of the pages, an allow-list of files",
    ("GET", "/verify/v1/check/{token}"): (
        "the verification check URL the customer's phone opens: {token} is the request id with a MAC "
        "under the gateway's key (a capability, tests/unit/verify/test_codes.py); no tenant credential"
    ),
    ("POST", "/verify/v1/check/{token}"): "the code typed on that same page, under the same capability",
    ("GET", "/verify/v1/callback/{operator}"): (
        "the operator sends the phone's browser back here after a verification's network step; the "
        "step is found by its single-use state, no tenant credential is presented"
    ),
    ("GET", "/oauth2/code-entry/{handle}"): (
        "the code-entry page of a pending authorization off the mobile network: {handle} is a 256-bit "
        "capability given only to that browser (tests/integration/test_code_entry.py)"
    ),
    ("POST", "/oauth2/code-entry/{handle}"): "the code typed on that same page, under the same capability",
    ("GET", "/console/sso/{tenant_id}/start"): (
        "a browser that has no session yet starts single sign-on at the tenant's identity provider; "
        "nothing of the tenant is shown, and the provider's answer signs in only a member of that "
        "tenant linked to the subject (tests/integration/test_console_sso.py, tenant isolation)"
    ),
    **{
        (method, f"/push/v1/channels/{kind}/{{{name}}}"): (
            f"{{{name}}} is one of the platforms every tenant may use; the chatbot or account is the "
            "caller's own (B's GET and DELETE answer 404 while A has one, its PUT of A's id 409, "
            "checked below and in tests/integration/test_rich_channels.py)"
        )
        for method in ("PUT", "GET", "DELETE")
        for kind, name in (("5g", "operator"), ("card", "vendor"))
    },
    ("POST", "/operator-callbacks/{operator}/maap"): (
        "5G-message events from an operator's MaaP platform, authenticated by the signature of the "
        "chatbot they name (tests/integration/test_rich_channels.py)"
    ),
    ("POST", "/operator-callbacks/cards/{vendor}"): (
        "card-SMS receipts from a vendor's platform, authenticated by the signature of the account "
        "they name (tests/integration/test_rich_channels.py)"
    ),
    ("GET", "/console/branches/{id}"): (
        "the teller desk page: a public shell whose script calls the console API; without a session "
        "it is the same page for A's branch and a made-up id, and with B's session both are the "
        "same 404 page (checked below)"
    ),
}

#: Tenant-scoped GET routes without parameters that list or show the caller's own objects.
LISTS = {
    ("GET", SUBSCRIPTIONS),
    ("GET", DEVICES),
    ("GET", "/push/v1/webhook"),
    ("GET", "/login-check/v1/policy"),
    ("GET", CAMPAIGNS),
}

#: Console GET routes without parameters that list the signed-in member's tenant's objects.
CONSOLE_LISTS = {("GET", "/console/api/branches"), ("GET", "/console/api/audit")}

#: The dashboard's figures of the signed-in member's tenant (checked by :func:`_dashboard_shows_only_own`).
DASHBOARD = (
    "funnel",
    "operators",
    "identity",
    "identity.csv",
    "verifications",
    "webhooks",
    "queues",
    "search",
)
CONSOLE_LISTS |= {("GET", f"/console/api/dashboard/{name}") for name in DASHBOARD}

#: Tenant-scoped GET routes without parameters that show no stored object, and why.
NOT_LISTS = {
    ("GET", "/number-verification/v2/device-phone-number"): (
        "answers the number of the 3-legged token's own subject, read from the token"
    ),
    ("GET", "/push/v1/usage"): "answers the caller's own counts of the day and its limits, no object",
    ("GET", "/console/api/session"): "answers the caller's own console session, read from its cookie",
}


def _router() -> web.UrlDispatcher:
    return create_app(Settings(database_url="sqlite:///unused.db")).router


def _routes() -> dict[tuple[str, str], str]:
    """Every (method, path template) of the live router with its auth policy."""
    found = {}
    for route in _router().routes():
        if route.method != "HEAD" and route.resource is not None:
            found[(route.method, route.resource.canonical)] = policy_of(route.handler) or ""
    return found


def _id_routes() -> dict[tuple[str, str], str]:
    return {key: policy for key, policy in _routes().items() if "{" in key[1]}


def test_every_id_route_is_swept_or_excluded_for_a_reason() -> None:
    """The router's id routes are exactly the swept, admin-only and justified-exclusion ones, each
    with the policy its class implies; tenant-scoped parameterless GETs are all classified."""
    id_routes = _id_routes()
    assert set(id_routes) == set(PROBES) | set(CONSOLE_PROBES) | ADMIN_ONLY | set(NOT_TENANT_SCOPED)
    for key in PROBES:
        assert id_routes[key].startswith("scope:"), key
    for key in CONSOLE_PROBES:
        assert id_routes[key].startswith("staff-session"), key
    for key in ADMIN_ONLY:
        assert id_routes[key] == "admin", key
    for key in NOT_TENANT_SCOPED:
        assert id_routes[key] == "public" or key[1].startswith(
            ("/push/v1/templates/builtin/", "/push/v1/channels/")
        ), key
    tenant_gets = {
        key
        for key, policy in _routes().items()
        if key[0] == "GET" and "{" not in key[1] and policy.startswith(("scope:", "staff-session"))
    }
    assert tenant_gets == LISTS | CONSOLE_LISTS | set(NOT_LISTS)


def _fill(template: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, template)


def _never_issued(real: str) -> str:
    """An id of the same shape as ``real`` that nobody was given (its last segment's characters shuffled)."""
    head, sep, tail = real.rpartition("_")
    chars = [c for c in tail if c.isalnum()]
    while True:
        random.shuffle(chars)
        it = iter(chars)
        forged = head + sep + "".join(next(it) if c.isalnum() else c for c in tail)
        if forged != real:
            return forged


@dataclass
class Tenant:
    """A tenant with every scope and its 2-legged token."""

    stack: Stack
    creds: TenantCreds
    bearer: str
    ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def create(cls, stack: Stack) -> Tenant:
        creds = await stack.tenant(SCOPES, sandbox=True)
        return cls(stack, creds, await stack.access_token(creds))

    async def call(self, method: str, path: str, body: Any = None, **params: str) -> httpx.Response:
        return await self.stack.http.request(
            method,
            f"{self.stack.gateway_url}{path}",
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {self.bearer}"},
        )

    async def ok(self, method: str, path: str, body: Any = None, **params: str) -> dict[str, Any]:
        resp = await self.call(method, path, body, **params)
        assert resp.status_code < 300, (method, path, resp.status_code, resp.text)
        answer: dict[str, Any] = resp.json()
        return answer


def _subscription(stack: Stack, receiver: Receiver, phone: str) -> dict[str, Any]:
    sink_token = "sink-" + secrets.token_urlsafe(16)
    SENSITIVE.add(sink_token)
    return {
        "protocol": "HTTP",
        "sink": receiver.url("/sink"),
        "sinkCredential": {
            "credentialType": "ACCESSTOKEN",
            "accessTokenType": "bearer",
            "accessToken": sink_token,
            "accessTokenExpiresUtc": (stack.clock.now() + timedelta(days=7)).isoformat(),
        },
        "types": ["org.camaraproject.sim-swap-subscriptions.v0.swapped"],
        "config": {"subscriptionDetail": {"phoneNumber": phone}},
    }


async def _share_location(a: Tenant, code: str, phone: str) -> None:
    """The holder of A's claim message shares a location, so A has one to read by the message id."""
    token = await a.stack.sdk_token(phone, "h5")
    redeemed = await a.stack.http.post(
        f"{a.stack.gateway_url}/push/v1/links/{code}/redeem", json={"token": token}
    )
    assert redeemed.status_code == 200, redeemed.text
    session = redeemed.json()["session"]
    SENSITIVE.add(session)
    position = {"latitude": 31.2304, "longitude": 121.4737, "accuracyMeters": 12.0}
    shared = await a.stack.http.post(
        f"{a.stack.gateway_url}/flows/v1/claim-location",
        json=position,
        headers={"Authorization": f"Bearer {session}"},
    )
    assert shared.status_code == 200, shared.text


async def _card_template(a: Tenant) -> str:
    """A's chatbot at cmcc and card account at huawei (registered at the sandbox), and a card template."""
    app_id, key = f"app-{secrets.token_hex(4)}", secrets.token_hex(16)
    SENSITIVE.add(key)
    registered = await a.stack.http.put(
        f"{a.stack.sandbox_url}/sandbox/cards/accounts/{app_id}", json={"appKey": key}
    )
    assert registered.status_code == 200, registered.text
    await a.ok("PUT", "/push/v1/channels/card/huawei", {"appId": app_id, "appKey": key})
    await a.ok("PUT", "/push/v1/channels/5g/cmcc", {"botId": f"bot-{secrets.token_hex(4)}", "secret": key})
    template = {
        "vendor": "huawei",
        "name": "claim",
        "title": "理赔",
        "description": "案件 ${case} 已受理",
        "buttons": [{"text": "查看", "actionType": "OPEN_URL", "action": "${link}"}],
        "params": ["case", "link"],
    }
    created: str = (await a.ok("POST", "/push/v1/card-templates", template))["id"]
    return created


async def _populate(a: Tenant, receiver: Receiver, phone: str) -> None:
    """Tenant A's objects, one of each kind, their ids in ``a.ids``."""
    hook = {"url": receiver.url("/hook"), "events": ["message.submitted"]}
    SENSITIVE.add((await a.ok("PUT", "/push/v1/webhook", hook))["secret"])
    template = await a.ok(
        "POST",
        "/push/v1/templates",
        {
            "name": "claim",
            "category": "notification",
            "signature": "平安保险",
            "text": "案件{{claimNo}}请点击 {{link}} 共享位置。",
            "flow": "claim_location",
            "quickApp": {"package": "com.example.claims", "page": "Location"},
            "params": {"claimNo": {"type": "string", "required": True}},
        },
    )
    a.ids["template"] = template["id"]
    message = await a.ok(
        "POST", "/push/v1/messages", {"templateId": template["id"], "to": phone, "params": {"claimNo": "C-9"}}
    )
    a.ids["message"] = message["id"]
    a.ids["campaign"] = (await a.ok("POST", CAMPAIGNS, {"templateId": template["id"]}))["id"]
    a.ids["card_template"] = await _card_template(a)
    await _share_location(a, message["link"].rsplit("/l/", 1)[1], phone)
    queue_template = await a.ok("POST", "/push/v1/templates/builtin/branch-queue", {"signature": "平安银行"})
    branch = await a.ok(
        "POST", "/push/v1/branches", {"name": "陆家嘴支行", "templateId": queue_template["id"]}
    )
    a.ids["branch"] = branch["id"]
    device = await a.ok("POST", DEVICES, {"phoneNumber": phone, "deviceId": "dev-a-" + secrets.token_hex(4)})
    a.ids["device"] = device["id"]
    created = await a.ok("POST", SUBSCRIPTIONS, _subscription(a.stack, receiver, phone))
    SENSITIVE.add(created["signingSecret"])
    a.ids["subscription"] = created["id"]
    await a.ok("POST", "/push/v1/templates/builtin/verification_code_zh-CN", {"signature": "平安银行"})
    verification = await a.ok(
        "POST",
        VERIFICATIONS,
        {"phoneNumber": phone, "workflow": [{"channel": "network"}, {"channel": "sms"}]},
    )
    a.ids["verification"] = verification["requestId"]
    async with asyncio.timeout(15):
        while True:
            hooks = receiver.at("/hook")
            if hooks:
                a.ids["delivery"] = hooks[0].webhook_id
                break
            await asyncio.sleep(0.05)


@pytest.fixture
async def stack(own_database_url: str) -> AsyncIterator[Stack]:
    """Gateway and sandbox, private webhook and sink URLs allowed (the receiver is on 127.0.0.1)."""
    async with open_stack(
        own_database_url,
        allow_private_webhooks=True,
        webhook_poll_interval=0.05,
        push_dispatch_poll_seconds=0.05,
    ) as running:
        yield running


async def _admin_succeeds(stack: Stack, tenant: Tenant) -> None:
    """One call with the admin bearer (a read), which clears the admin throttle's failure count, so
    the next admin-only probes meet 401 and not the throttle's 429."""
    resp = await stack.http.get(
        f"{stack.gateway_url}/admin/tenants/{tenant.creds.tenant_id}/staff",
        headers={"Authorization": f"Bearer {stack.admin_token}"},
    )
    assert resp.status_code == 200, resp.text


def _assert_not_found(resp: httpx.Response, control: httpx.Response, secret_id: str, what: str) -> None:
    assert resp.status_code == 404, (what, resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json"), what
    body = resp.json()
    assert set(body) == {"status", "code", "message"} and body["status"] == 404, (what, body)
    assert body["code"] == "NOT_FOUND", (what, body)
    assert secret_id not in resp.text, what
    assert (control.status_code, control.json()) == (404, body), (what, control.text)


async def test_another_tenants_ids_answer_404_everywhere(stack: Stack) -> None:
    """B, holding every scope, gets the never-issued-id 404 on every method of every id route with
    A's ids, cannot approve or reject through admin routes, and lists none of A's objects; A's
    objects are unchanged afterwards."""
    async with Receiver() as receiver:
        a, b = await Tenant.create(stack), await Tenant.create(stack)
        phone = await stack.subscriber("cmcc")
        await _populate(a, receiver, phone)
        b_phone = await stack.subscriber("cucc")
        policy = {"windowSeconds": 77, "attemptsPerNumber": 3}
        await a.ok("PUT", "/login-check/v1/policy", policy)

        for (method, template), policy_name in sorted(_id_routes().items()):
            if (method, template) in NOT_TENANT_SCOPED or (method, template) in CONSOLE_PROBES:
                continue
            if (method, template) in ADMIN_ONLY:
                for caller in (a, b):
                    resp = await caller.call(method, _fill(template, a.ids["template"]), {})
                    assert resp.status_code == 401 and resp.json()["code"] == "UNAUTHENTICATED", resp.text
                await _admin_succeeds(stack, a)
                continue
            probe = PROBES[(method, template)]
            body = probe.body(b_phone) if probe.body else None
            real = a.ids[probe.resource]
            resp = await b.call(method, _fill(template, real), body)
            control = await b.call(method, _fill(template, _never_issued(real)), body)
            _assert_not_found(resp, control, real, f"{method} {template} ({policy_name})")

        for path, extra in (
            ("/push/v1/messages", {"to": b_phone, "params": {"claimNo": "C-1"}}),
            ("/push/v1/branches", {"name": "外滩支行"}),
            (CAMPAIGNS, {}),
        ):
            real = a.ids["template"]
            resp = await b.call("POST", path, {"templateId": real, **extra})
            control = await b.call("POST", path, {"templateId": _never_issued(real), **extra})
            _assert_not_found(resp, control, real, f"POST {path} naming A's template")

        await _lists_show_only_own(a, b, receiver, phone)
        await _console_reveals_nothing(stack, a, b, b_phone)
        await _a_is_unchanged(a, phone, policy)


async def _lists_show_only_own(a: Tenant, b: Tenant, receiver: Receiver, phone: str) -> None:
    own_subscription = await b.ok("POST", SUBSCRIPTIONS, _subscription(b.stack, receiver, phone))
    SENSITIVE.add(own_subscription["signingSecret"])
    listed = await b.call("GET", SUBSCRIPTIONS)
    assert listed.status_code == 200, listed.text
    assert [s["id"] for s in listed.json()] == [own_subscription["id"]]

    assert (await b.ok("GET", DEVICES, phoneNumber=phone)) == {"devices": []}
    own_device = await b.ok(
        "POST", DEVICES, {"phoneNumber": phone, "deviceId": "dev-b-" + secrets.token_hex(4)}
    )
    assert (await b.ok("GET", DEVICES, phoneNumber=phone))["devices"] == [own_device]

    no_endpoint = await b.call("GET", "/push/v1/webhook")
    assert no_endpoint.status_code == 404 and no_endpoint.json()["code"] == "NOT_FOUND"
    assert receiver.url("/hook") not in no_endpoint.text

    defaults = await b.ok("GET", "/login-check/v1/policy")
    assert defaults["windowSeconds"] != 77

    assert await b.ok("GET", CAMPAIGNS) == {"campaigns": [], "nextBefore": None}

    for path in ("/push/v1/channels/5g/cmcc", "/push/v1/channels/card/huawei"):
        for method in ("GET", "DELETE"):
            resp = await b.call(method, path)
            assert resp.status_code == 404 and resp.json()["code"] == "NOT_FOUND", (method, path, resp.text)


async def _a_is_unchanged(a: Tenant, phone: str, policy: dict[str, int]) -> None:
    assert (await a.ok("GET", f"/push/v1/templates/{a.ids['template']}"))["status"] == "approved"
    assert (await a.ok("GET", f"/push/v1/messages/{a.ids['message']}"))["id"] == a.ids["message"]
    shared = await a.ok("GET", f"/push/v1/messages/{a.ids['message']}/location")
    assert shared["location"]["accuracyMeters"] == 12
    queue = await a.ok("GET", f"/push/v1/branches/{a.ids['branch']}/queue")
    assert queue["waiting"] == [] and queue["called"] == [], queue
    devices = (await a.ok("GET", DEVICES, phoneNumber=phone))["devices"]
    assert [d["id"] for d in devices] == [a.ids["device"]]
    subscription = await a.ok("GET", f"{SUBSCRIPTIONS}/{a.ids['subscription']}")
    assert subscription["status"] == "ACTIVE"
    assert (await a.ok("GET", f"/push/v1/webhook/deliveries/{a.ids['delivery']}"))["id"] == a.ids["delivery"]
    assert (await a.ok("GET", "/login-check/v1/policy")).items() >= policy.items()
    campaign = await a.ok("GET", f"{CAMPAIGNS}/{a.ids['campaign']}")
    assert campaign["status"] == "draft" and campaign["recipients"] == 0
    assert (await a.ok("GET", f"/push/v1/card-templates/{a.ids['card_template']}"))["status"] == "approved"
    assert (await a.ok("GET", "/push/v1/channels/5g/cmcc"))["operator"] == "cmcc"
    assert (await a.ok("GET", "/push/v1/channels/card/huawei"))["vendor"] == "huawei"


async def _console_reveals_nothing(stack: Stack, a: Tenant, b: Tenant, b_phone: str) -> None:
    branch_id = a.ids["branch"]
    made_up = _never_issued(branch_id)
    real = await stack.http.get(f"{stack.gateway_url}/console/branches/{branch_id}")
    fake = await stack.http.get(f"{stack.gateway_url}/console/branches/{made_up}")
    assert real.status_code == fake.status_code == 200
    assert real.text.replace(branch_id, "<id>") == fake.text.replace(made_up, "<id>")

    admin, password = await create_staff(stack, b.creds.tenant_id, "admin")
    async with console_client(stack) as console:
        assert (await console.sign_in(admin["username"], password)).status_code == 200
        for (method, template), probe in sorted(CONSOLE_PROBES.items()):
            body = probe.body(b_phone) if probe.body else None
            resp = await console.call(method, _fill(template, branch_id).removeprefix("/console/api"), body)
            control = await console.call(method, _fill(template, made_up).removeprefix("/console/api"), body)
            _assert_not_found(resp, control, branch_id, f"{method} {template} (B's admin)")
        real = await console.http.get(f"/console/branches/{branch_id}")
        fake = await console.http.get(f"/console/branches/{made_up}")
        assert real.status_code == fake.status_code == 404
        assert real.text == fake.text and branch_id not in real.text
        assert await console.ok("GET", "/branches") == {"branches": []}
        entries = (await console.ok("GET", "/audit"))["entries"]
        assert {e["action"] for e in entries} <= {"staff.created", "console.sign_in"}
        assert a.creds.tenant_id not in str(entries) and branch_id not in str(entries)
        await _dashboard_shows_only_own(stack, a, console)


async def _dashboard_shows_only_own(stack: Stack, a: Tenant, console: ConsoleClient) -> None:
    """With today's rollups computed for every tenant, B's admin sees none of A's messages,
    templates, branches or webhook deliveries on the dashboard, and the search finds none of them."""
    engine = create_engine(stack.settings.database_url)
    cipher = FieldCipher(Keyring.parse(SESSION_DATA_KEYS))
    webhooks = WebhookService(session_factory(engine), cipher=cipher, clock=stack.clock, allow_private=True)
    index = BlindIndex(Keyring.parse(SESSION_INDEX_KEYS))
    dashboard = DashboardService(engine, cipher=cipher, index=index, webhooks=webhooks, clock=stack.clock)
    try:
        await dashboard.rollups.refresh(budget=1000)
        own = await dashboard.funnel(a.creds.tenant_id, Period.parse(None, None, now=stack.clock.now()))
        assert [row.template_id for row in own.rows] == [a.ids["template"]], "A's own figures are there"
    finally:
        await engine.dispose()
    funnel = await console.ok("GET", "/dashboard/funnel")
    assert funnel["templates"] == [] and sum(d["accepted"] for d in funnel["days"]) == 0
    assert (await console.ok("GET", "/dashboard/webhooks"))["targets"] == []
    assert (await console.ok("GET", "/dashboard/queues"))["branches"] == []
    assert (await console.ok("GET", f"/dashboard/search?q={a.ids['message']}"))["messages"] == []
    for name in DASHBOARD[:-1]:
        resp = await console.call("GET", f"/dashboard/{name}")
        assert resp.status_code == 200, (name, resp.text)
        for secret in (a.ids["template"], a.ids["message"], a.ids["branch"], a.ids["delivery"]):
            assert secret not in resp.text, name
