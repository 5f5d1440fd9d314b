"""Schemathesis over every operation of the OpenAPI document, against a live gateway + sandbox.

The document is the one ``create_app`` renders (and ``GET /openapi.json`` serves); each operation is
one test (documented examples, coverage cases, then fuzzed cases: deterministic and bounded), on
SQLite and on PostgreSQL. Requests carry the credentials the operation's ``security`` names: an
access token with every scope, a fresh network-authenticated token for Number Verification, the
admin bearer, a flow session of the matching flow, client_secret_basic, or a console session cookie
of a staff admin with its CSRF token (not for signing out, which would end it for the other
operations). A scripted journey with real ids then checks the success answers the fuzzer cannot
reach.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyotp
import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from carrier_adapters import DeliveryState
from carrier_adapters._signed import callback_signature
from gateway.app import create_app
from gateway.cli import DEMO_SUBSCRIBERS
from gateway.openapi import OPENAPI_JSON
from gateway.openapi.operations import OPERATIONS
from gateway.scopes import KNOWN_SCOPES
from gateway.settings import Settings
from tests.leaks import SENSITIVE
from tests.stack import Stack, TenantCreds
from tests.unit.console.support import console_client, create_staff, new_password
from tests.unit.flows.support import code_of, flows_stack, h5_token, redeem

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiCase

pytestmark = pytest.mark.integration

T = TypeVar("T")
MAX_EXAMPLES = 15
PURPOSE = "dpv:FraudPreventionAndDetection"
SCOPES = sorted(KNOWN_SCOPES | {PURPOSE})
REDIRECT_URI = "https://bank.example/callback"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
DOCUMENT: dict[str, Any] = json.loads(create_app(Settings(database_url="sqlite://"))[OPENAPI_JSON])


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes:
    """Campaign recipients as NDJSON: a generated string is the body as is, anything else one line."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode() + b"\n"


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260501,
        "suppress-health-check": ["too_slow"],
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def _example(method: str, path: str, name: str) -> dict[str, Any]:
    body = OPERATIONS[(method, path)].body
    assert body is not None
    example: dict[str, Any] = body.examples[name]
    return example


TEMPLATE = _example("POST", "/push/v1/templates", "claim")
SUBSCRIPTION = _example("POST", "/sim-swap-subscriptions/v0.3/subscriptions", "demo")


class LiveGateway:
    """A gateway + sandbox served from an event loop in a background thread, with credentials."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-gateway", daemon=True)
        self._exit = AsyncExitStack()
        self.stack: Stack
        self.creds: TenantCreds
        self.bearer = ""
        self.sessions: dict[str, str] = {}
        self.channels: dict[str, Any] = {}
        self.console: dict[str, str] = {}

    def run(self, work: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
        """Run ``work`` on the gateway's loop and wait for its result."""

        async def wrapped() -> T:
            return await work()

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(timeout)

    def __enter__(self) -> LiveGateway:
        self._thread.start()
        try:
            self.run(self._start)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.run(self._exit.aclose)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        stack, channels = await self._exit.enter_async_context(
            flows_stack(self._database_url, public=True, allow_private_webhooks=False)
        )
        self.stack = stack
        self.channels = channels
        for phone, operator, imei in DEMO_SUBSCRIBERS:
            line = {
                "phoneNumber": phone,
                "operator": operator,
                "imei": imei,
                "kyc": {"name": "张伟", "birthdate": "1990-01-01"},
            }
            resp = await stack.http.post(f"{stack.sandbox_url}/sandbox/subscribers", json=line)
            assert resp.status_code == 201, resp.text
        self.creds = await stack.tenant(SCOPES, sandbox=True, redirect_uris=[REDIRECT_URI])
        self.bearer = await stack.access_token(self.creds)
        self.sessions["claim_location"] = await self._claim_session()
        self.sessions["branch_queue"] = await self._queue_session(channels)
        admin, password = await create_staff(stack, self.creds.tenant_id, "admin")
        async with console_client(stack) as console:
            assert (await console.sign_in(admin["username"], password)).status_code == 200
            cookie = str(console.http.cookies["gw_console"])
        self.console = {"Cookie": f"gw_console={cookie}", "X-CSRF-Token": str(console.csrf)}

    async def _call(self, method: str, path: str, body: Any) -> dict[str, Any]:
        resp = await self.stack.http.request(
            method,
            f"{self.stack.gateway_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.bearer}"},
        )
        assert resp.status_code < 300, resp.text
        out: dict[str, Any] = resp.json()
        return out

    async def _builtin(self, name: str) -> str:
        installed = await self._call("POST", f"/push/v1/templates/builtin/{name}", {"signature": "平安银行"})
        return str(installed["id"])

    async def _session_for(self, phone: str, code: str) -> str:
        resp = await redeem(self.stack, code, await h5_token(self.stack, phone), operator="cmcc")
        assert resp.status_code == 200, resp.text
        session = str(resp.json()["session"])
        SENSITIVE.add(session)
        return session

    async def _claim_session(self) -> str:
        phone = await self.stack.subscriber("cmcc")
        template = await self._builtin("claim-location")
        body = {"templateId": template, "to": phone, "params": {"claimNo": "BA1", "insurerName": "平安产险"}}
        sent = await self._call("POST", "/push/v1/messages", body)
        return await self._session_for(phone, code_of(str(sent["link"])))

    async def _queue_session(self, channels: dict[str, Any]) -> str:
        phone = await self.stack.subscriber("cmcc")
        branch = await self._call(
            "POST",
            "/push/v1/branches",
            {"name": "陆家嘴支行", "templateId": await self._builtin("branch-queue")},
        )
        await self._call("POST", f"/push/v1/branches/{branch['id']}/tickets", {"phoneNumber": phone})
        async with asyncio.timeout(10):
            while True:
                texts = channels["cmcc"].inbox(phone)
                if texts:
                    break
                await asyncio.sleep(0.05)
        text = texts[0]
        start = text.index("/l/") + 3
        return await self._session_for(phone, text[start : start + 22])

    def number_verification_token(self) -> str:
        """A fresh single-use token from network authentication of the cmcc demo subscriber."""

        async def fetch() -> str:
            body = await self.stack.code_flow(
                self.creds,
                DEMO_SUBSCRIBERS[0][0],
                f"openid {PURPOSE} number-verification:verify number-verification:device-phone-number:read",
                REDIRECT_URI,
            )
            return str(body["access_token"])

        return self.run(fetch)

    def headers_for(self, operation: dict[str, Any], path: str) -> dict[str, str]:
        """The credentials the operation's ``security`` asks for."""
        schemes = {name for requirement in operation.get("security", []) for name in requirement}
        if "adminBearer" in schemes:
            return {"Authorization": f"Bearer {self.stack.admin_token}"}
        if "flowSession" in schemes:
            flow = "branch_queue" if "branch-queue" in path else "claim_location"
            return {"Authorization": f"Bearer {self.sessions[flow]}"}
        if "consoleSession" in schemes:
            if operation.get("operationId") == "consoleSignOut":
                return {"Cookie": self.console["Cookie"]}
            return dict(self.console)
        if "clientSecretBasic" in schemes:
            basic = base64.b64encode(f"{self.creds.client_id}:{self.creds.client_secret}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        if "oauth2" in schemes:
            if path.startswith("/number-verification/"):
                return {"Authorization": f"Bearer {self.number_verification_token()}"}
            return {"Authorization": f"Bearer {self.bearer}"}
        return {}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    """The live gateway, on a SQLite file or on a PostgreSQL database of the module's own (which,
    unlike SQLite, enforces column lengths and refuses NUL characters), shared by the module's tests."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("schemathesis") / "gateway.db"
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("module_postgres_url")
    with LiveGateway(url) as running:
        yield running


@schema.parametrize()
def test_operation_conforms(case: OpenApiCase, live: LiveGateway) -> None:
    """Generated requests to the operation never get a 5xx, and every answer's status, content
    type, headers and body are the ones the document gives for the operation."""
    headers = live.headers_for(case.operation.definition.raw, case.path)
    case.call_and_validate(base_url=live.stack.gateway_url, headers=headers, checks=CHECKS)


class Scenario:
    """Explicit requests through the document's operations, each answer checked like the fuzzed ones."""

    def __init__(self, live: LiveGateway) -> None:
        self.live = live

    def call(
        self, method: str, path: str, status: int, *, auth: dict[str, str] | None = None, **data: Any
    ) -> schemathesis.Response:
        """Send ``data`` (``path_parameters``, ``query``, ``headers``, ``body``, ``media_type``) to
        the operation; the answer must have ``status`` and pass every check."""
        operation = schema[path][method]
        case = operation.Case(**data)
        headers = auth if auth is not None else self.live.headers_for(operation.definition.raw, path)
        response = case.call_and_validate(
            base_url=self.live.stack.gateway_url, headers=headers, checks=CHECKS
        )
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response

    def sdk_token(self, purpose: str) -> str:
        """A token of the SDK on the cmcc demo phone."""
        return self.live.run(lambda: self.live.stack.sdk_token(DEMO_SUBSCRIBERS[0][0], purpose))


def _campaign_answers_conform(go: Scenario, template: str) -> None:
    """A campaign scheduled a day ahead (so nothing is sent): created, a CSV and an NDJSON chunk with a
    bad line and a duplicate, read, listed, started, paused, resumed, cancelled, then refused."""
    later = "2099-01-01T08:00:00+08:00"
    body = {"templateId": template, "name": "renewals", "scheduledAt": later, "channels": [{"type": "sms"}]}
    created = go.call("POST", "/push/v1/campaigns", 201, body=body).json()
    at = {"id": created["id"]}
    csv = "phoneNumber,claimNo\n13800138000,C-1\nnot-a-number,C-2\n"
    go.call(
        "POST", "/push/v1/campaigns/{id}/recipients", 202, path_parameters=at, body=csv, media_type="text/csv"
    )
    line = json.dumps({"phoneNumber": "+8613800138000", "params": {"claimNo": "C-3"}})
    nd = "application/x-ndjson"
    go.call("POST", "/push/v1/campaigns/{id}/recipients", 202, path_parameters=at, body=line, media_type=nd)
    go.call("GET", "/push/v1/campaigns/{id}", 200, path_parameters=at)
    go.call("GET", "/push/v1/campaigns", 200, query={"limit": 1})
    for action, status in (("start", 200), ("pause", 200), ("resume", 200), ("cancel", 200), ("start", 409)):
        go.call("POST", f"/push/v1/campaigns/{{id}}/{action}", status, path_parameters=at)


def test_success_answers_conform(live: LiveGateway) -> None:
    """A bank's and a customer's journey through templates, push, links, flows, branches,
    one-tap, CIBA, subscriptions, devices and operator callbacks: every answer (successes and the
    expected refusals) has a documented status, content type, headers and body."""
    go = Scenario(live)
    phone = DEMO_SUBSCRIBERS[0][0]
    template = go.call("POST", "/push/v1/templates", 201, body=TEMPLATE).json()["id"]
    go.call("GET", "/push/v1/templates/{id}", 200, path_parameters={"id": template})
    go.call(
        "POST", "/admin/templates/{id}/reject", 200, path_parameters={"id": template}, body={"reason": "No."}
    )
    go.call("POST", "/admin/templates/{id}/approve", 200, path_parameters={"id": template})
    send = {"templateId": template, "to": phone, "params": {"claimNo": "BA2026-0042"}}
    key = {"Idempotency-Key": "scenario-1"}
    sent = go.call("POST", "/push/v1/messages", 202, body=send, headers=key).json()
    replayed = go.call("POST", "/push/v1/messages", 202, body=send, headers=key)
    assert replayed.headers["idempotent-replayed"] == ["true"] and replayed.json() == sent
    go.call("POST", "/push/v1/messages", 409, body={**send, "ttlSeconds": 600}, headers=key)
    go.call("GET", "/push/v1/messages/{id}", 200, path_parameters={"id": sent["id"]})
    _campaign_answers_conform(go, template)
    code = code_of(sent["link"])
    go.call("GET", "/l/{code}", 200, path_parameters={"code": code})
    redeem = {"token": go.sdk_token("h5"), "operator": "cmcc"}
    session = go.call(
        "POST", "/push/v1/links/{code}/redeem", 200, path_parameters={"code": code}, body=redeem
    )
    holder = {"Authorization": f"Bearer {session.json()['session']}"}
    SENSITIVE.add(session.json()["session"])
    go.call("POST", "/flows/v1/claim-location/decline", 200, auth=holder)
    shared = {"id": sent["id"]}
    go.call("GET", "/push/v1/messages/{id}/location", 404, path_parameters=shared)
    where = {"latitude": 31.2304, "longitude": 121.4737, "accuracyMeters": 25}
    go.call("POST", "/flows/v1/claim-location", 200, auth=holder, body=where)
    go.call("POST", "/flows/v1/claim-location", 409, auth=holder, body=where)
    go.call("GET", "/push/v1/messages/{id}/location", 200, path_parameters=shared)
    go.call("GET", "/flows/v1/branch-queue", 403, auth=holder)
    channel = live.channels["cmcc"]
    report, signed = channel.sign([channel.report(sent["id"], DeliveryState.DELIVERED)])
    go.call(
        "POST",
        "/operator-callbacks/{operator}",
        200,
        path_parameters={"operator": "cmcc"},
        body=json.loads(report),
        headers=signed,
        media_type="application/json",
    )

    queue_template = go.call(
        "POST",
        "/push/v1/templates/builtin/{name}",
        201,
        path_parameters={"name": "branch-queue"},
        body={"signature": "平安银行"},
    ).json()["id"]
    branch = go.call(
        "POST", "/push/v1/branches", 201, body={"name": "外滩支行", "templateId": queue_template}
    ).json()["id"]
    at_branch = {"path_parameters": {"id": branch}}
    go.call("GET", "/push/v1/branches/{id}", 200, **at_branch)
    go.call(
        "POST",
        "/push/v1/branches/{id}/tickets",
        201,
        **at_branch,
        body={"phoneNumber": phone, "service": "对公业务"},
    )
    go.call("GET", "/push/v1/branches/{id}/queue", 200, **at_branch)
    go.call("POST", "/push/v1/branches/{id}/call-next", 200, **at_branch, body={"counter": 3})
    go.call("POST", "/push/v1/branches/{id}/call-next", 409, **at_branch, body={"counter": "A3"})
    go.call("GET", "/console/branches/{id}", 200, **at_branch)

    go.call("POST", "/one-tap/v1/login", 200, body={"token": go.sdk_token("login")})
    go.call("POST", "/one-tap/v1/verify", 200, body={"token": go.sdk_token("verify"), "phoneNumber": phone})
    form = "application/x-www-form-urlencoded"
    ciba = {"scope": f"openid {PURPOSE} sim-swap:check", "login_hint": f"tel:{phone}"}
    started = go.call("POST", "/oauth2/bc-authorize", 200, body=ciba, media_type=form).json()
    grant = {"grant_type": "urn:openid:params:grant-type:ciba", "auth_req_id": started["auth_req_id"]}
    tokens = go.call("POST", "/oauth2/token", 200, body=grant, media_type=form).json()
    SENSITIVE.update({tokens["access_token"], tokens["id_token"]})

    subscription = go.call(
        "POST", "/sim-swap-subscriptions/v0.3/subscriptions", 201, body=SUBSCRIPTION
    ).json()
    SENSITIVE.add(subscription["signingSecret"])
    one = {"path_parameters": {"subscriptionId": subscription["id"]}}
    go.call("GET", "/sim-swap-subscriptions/v0.3/subscriptions/{subscriptionId}", 200, **one)
    go.call("DELETE", "/sim-swap-subscriptions/v0.3/subscriptions/{subscriptionId}", 204, **one)
    go.call("GET", "/sim-swap-subscriptions/v0.3/subscriptions/{subscriptionId}", 404, **one)
    device = go.call(
        "POST", "/login-check/v1/devices", 201, body={"phoneNumber": phone, "deviceId": "scenario-1"}
    ).json()
    go.call("DELETE", "/login-check/v1/devices/{id}", 204, path_parameters={"id": device["id"]})


def test_rich_channel_answers_conform(live: LiveGateway) -> None:
    """A chatbot and a card account set (new, then replaced), read and deleted, a card template
    registered at the sandbox's vendor and read, a signed 5G event posted twice and a forged one:
    every answer as documented."""
    go = Scenario(live)
    stack = live.stack
    bot_id, app_id, key = f"bot-{secrets.token_hex(4)}", f"app-{secrets.token_hex(4)}", secrets.token_hex(16)
    SENSITIVE.add(key)

    async def prepare() -> None:
        for path in ("/push/v1/channels/5g/cmcc", "/push/v1/channels/card/huawei"):
            await stack.http.delete(
                f"{stack.gateway_url}{path}", headers={"Authorization": f"Bearer {live.bearer}"}
            )
        registered = await stack.http.put(
            f"{stack.sandbox_url}/sandbox/cards/accounts/{app_id}", json={"appKey": key}
        )
        assert registered.status_code == 200, registered.text

    live.run(prepare)
    chatbot = {"path_parameters": {"operator": "cmcc"}}
    go.call("PUT", "/push/v1/channels/5g/{operator}", 201, **chatbot, body={"botId": bot_id, "secret": key})
    go.call("PUT", "/push/v1/channels/5g/{operator}", 200, **chatbot, body={"botId": bot_id, "secret": key})
    go.call("GET", "/push/v1/channels/5g/{operator}", 200, **chatbot)
    account = {"path_parameters": {"vendor": "huawei"}}
    go.call("PUT", "/push/v1/channels/card/{vendor}", 201, **account, body={"appId": app_id, "appKey": key})
    go.call("GET", "/push/v1/channels/card/{vendor}", 200, **account)
    card = _example("POST", "/push/v1/card-templates", "claim")
    created = go.call("POST", "/push/v1/card-templates", 201, body=card).json()
    go.call("GET", "/push/v1/card-templates/{id}", 200, path_parameters={"id": created["id"]})
    go.call("DELETE", "/push/v1/channels/card/{vendor}", 204, **account)
    go.call("POST", "/push/v1/card-templates", 409, body=card)

    event = {
        "event": "messageStatus",
        "botId": bot_id,
        "messageContact": {"userContact": "tel:+8613800138000"},
        "RCSMessage": {
            "msgId": str(uuid.uuid4()),
            "status": "delivered",
            "timestamp": "2026-03-02T01:30:15Z",
        },
    }
    raw = json.dumps(event).encode()
    stamp, nonce = str(int(stack.clock.now().timestamp() * 1000)), secrets.token_hex(16)
    signed = {
        "X-Maap-Bot-Id": bot_id,
        "X-Maap-Timestamp": stamp,
        "X-Maap-Nonce": nonce,
        "X-Maap-Signature": callback_signature(key, stamp, nonce, raw),
    }
    post: dict[str, Any] = {
        "path_parameters": {"operator": "cmcc"},
        "body": event,
        "media_type": "application/json",
    }
    assert (
        go.call("POST", "/operator-callbacks/{operator}/maap", 200, **post, headers=signed).json()["outcome"]
        == "stored"
    )
    again = go.call("POST", "/operator-callbacks/{operator}/maap", 200, **post, headers=signed)
    assert again.json()["outcome"] == "duplicate"
    forged = {**signed, "X-Maap-Signature": "0" * 64}
    go.call("POST", "/operator-callbacks/{operator}/maap", 401, **post, headers=forged)
    go.call("DELETE", "/push/v1/channels/5g/{operator}", 204, **chatbot)


def test_staff_answers_conform(live: LiveGateway) -> None:
    """The admin staff API's journey: create (and a taken username), list, change, disable, enable,
    reset the password and the TOTP, read the audit log; every answer as documented."""
    go = Scenario(live)
    tenant = {"tenant_id": live.creds.tenant_id}
    body = {"username": "li.na@schemathesis", "password": "correct horse battery staple", "role": "teller"}
    SENSITIVE.add(body["password"])
    member = go.call(
        "POST", "/admin/tenants/{tenant_id}/staff", 201, path_parameters=tenant, body=body
    ).json()
    go.call("POST", "/admin/tenants/{tenant_id}/staff", 409, path_parameters=tenant, body=body)
    go.call("GET", "/admin/tenants/{tenant_id}/staff", 200, path_parameters=tenant)
    one = {**tenant, "staff_id": member["id"]}
    go.call(
        "PATCH",
        "/admin/tenants/{tenant_id}/staff/{staff_id}",
        200,
        path_parameters=one,
        body={"role": "admin"},
    )
    go.call("POST", "/admin/tenants/{tenant_id}/staff/{staff_id}/disable", 200, path_parameters=one)
    go.call("POST", "/admin/tenants/{tenant_id}/staff/{staff_id}/enable", 200, path_parameters=one, body={})
    go.call(
        "POST",
        "/admin/tenants/{tenant_id}/staff/{staff_id}/reset-password",
        200,
        path_parameters=one,
        body={"password": "another horse battery staple"},
    )
    go.call("POST", "/admin/tenants/{tenant_id}/staff/{staff_id}/reset-totp", 200, path_parameters=one)
    page = go.call(
        "GET", "/admin/tenants/{tenant_id}/audit", 200, path_parameters=tenant, query={"limit": 2}
    ).json()
    assert page["nextBefore"] is not None
    go.call(
        "GET",
        "/admin/tenants/{tenant_id}/audit",
        200,
        path_parameters=tenant,
        query={"before": page["nextBefore"]},
    )


def test_console_answers_conform(live: LiveGateway) -> None:
    """A teller's day at the console: a wrong password, then sign-in; who-am-I, the branch list, a
    ticket for a national number, call, recall, no-show (then recall is 409), the day's calls, the
    desk page, the admin-only audit log (403 for a teller), the two-step page, a TOTP enrolment (a
    wrong code 400, the right one 200, enrolling again 409), sign-out (then 401); every answer as
    documented."""
    go = Scenario(live)
    template = go.call(
        "POST",
        "/push/v1/templates/builtin/{name}",
        201,
        path_parameters={"name": "branch-queue"},
        body={"signature": "平安银行"},
    ).json()["id"]
    branch = go.call(
        "POST", "/push/v1/branches", 201, body={"name": "南京路支行", "templateId": template}
    ).json()
    password = new_password()
    teller = {
        "username": "wang.fang@schemathesis",
        "password": password,
        "role": "teller",
        "branches": [branch["id"]],
    }
    go.call(
        "POST",
        "/admin/tenants/{tenant_id}/staff",
        201,
        path_parameters={"tenant_id": live.creds.tenant_id},
        body=teller,
    )
    credentials = {"username": teller["username"], "password": password}
    go.call("POST", "/console/api/session", 401, auth={}, body={**credentials, "password": password + "!"})
    signed = go.call("POST", "/console/api/session", 200, auth={}, body=credentials)
    cookie = signed.headers["set-cookie"][0].split(";", 1)[0]
    SENSITIVE.update({cookie.split("=", 1)[1], signed.json()["csrfToken"]})
    auth = {"Cookie": cookie, "X-CSRF-Token": signed.json()["csrfToken"]}
    go.call("GET", "/console/api/session", 200, auth=auth)
    go.call("GET", "/console/api/branches", 200, auth=auth)
    at_branch = {"path_parameters": {"id": branch["id"]}, "auth": auth}
    go.call(
        "POST", "/console/api/branches/{id}/tickets", 201, body={"phoneNumber": "13800138000"}, **at_branch
    )
    go.call("GET", "/console/api/branches/{id}/queue", 200, **at_branch)
    go.call("POST", "/console/api/branches/{id}/call-next", 200, body={"counter": 3}, **at_branch)
    go.call("POST", "/console/api/branches/{id}/recall", 200, body={"counter": 3}, **at_branch)
    go.call("POST", "/console/api/branches/{id}/no-show", 200, body={"counter": "3"}, **at_branch)
    go.call("POST", "/console/api/branches/{id}/recall", 409, body={"counter": 3}, **at_branch)
    go.call("POST", "/console/api/branches/{id}/call-next", 409, body={"counter": 3}, **at_branch)
    go.call("GET", "/console/api/branches/{id}/calls", 200, **at_branch)
    go.call("GET", "/console/branches/{id}", 200, **at_branch)
    go.call("GET", "/console/api/audit", 403, auth=auth)
    go.call("GET", "/console/api/audit", 200, query={"limit": 5})
    go.call("GET", "/console/security", 200)
    go.call("POST", "/console/api/totp/enrolment", 400, body={"password": password + "!"}, auth=auth)
    begun = go.call("POST", "/console/api/totp/enrolment", 200, body={"password": password}, auth=auth)
    secret = begun.json()["secret"]
    SENSITIVE.add(secret)
    totp = pyotp.TOTP(secret)
    step = totp.timecode(live.stack.clock.now())
    window = {totp.generate_otp(step + offset) for offset in (-1, 0, 1)}
    wrong = next(code for code in ("000000", "111111", "222222") if code not in window)
    go.call("POST", "/console/api/totp/confirm", 400, body={"code": wrong}, auth=auth)
    go.call("POST", "/console/api/totp/confirm", 200, body={"code": totp.generate_otp(step)}, auth=auth)
    go.call("POST", "/console/api/totp/enrolment", 409, body={"password": password}, auth=auth)
    go.call("DELETE", "/console/api/session", 204, auth=auth)
    go.call("GET", "/console/api/session", 401, auth=auth)
    go.call("GET", "/console/", 200)
    go.call("GET", "/console", 302)
