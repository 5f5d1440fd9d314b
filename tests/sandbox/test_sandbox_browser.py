"""The phone's browser (POST /sandbox/devices/{phone}/authorize) against a tiny gateway and the operators.

The tiny gateway is an aiohttp app on its own loopback socket: its /oauth2/authorize sets a cookie
and redirects to the operator's authorize URL (built by the real adapter); its callback needs the
cookie, exchanges the operator's code with the adapter and redirects to the client's redirect_uri.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from carrier_adapters import (
    ADAPTER_CLASSES,
    AuthMethod,
    CarrierError,
    NetworkIdentity,
    Operator,
    OperatorConfig,
)
from gateway.outbound import build_operator_transport
from sandbox import SandboxConfig
from tests.clocks import ManualClock
from tests.sandbox.conftest import SandboxClient, Subscribe
from tests.sandbox.dialects import ENRICHMENT, OPERATORS, PHONES, SMS_SENDERS, query_of

CLIENT_REDIRECT = "https://bank.example/cb"
RANGES = {"cmcc": "10.64.0.0/16", "cucc": "10.65.0.0/16", "ctcc": "10.66.0.0/16"}


@dataclass
class Gateway:
    """What the tiny gateway saw and did."""

    adapters: dict[str, Operator]
    url: str = ""
    requests: list[dict[str, str]] = field(default_factory=list)
    identities: list[NetworkIdentity] = field(default_factory=list)
    flows: dict[str, dict[str, str]] = field(default_factory=dict)


def gateway_app(gateway: Gateway) -> web.Application:
    async def record(request: web.Request) -> None:
        gateway.requests.append({"path": request.path, **{k.lower(): v for k, v in request.headers.items()}})

    async def authorize(request: web.Request) -> web.Response:
        await record(request)
        op = request.query["op"]
        flow = secrets.token_hex(8)
        gateway.flows[flow] = {
            "op": op,
            "redirect_uri": request.query["redirect_uri"],
            "state": request.query["state"],
        }
        location = gateway.adapters[op].authorization_url(
            redirect_uri=f"{gateway.url}/callback/{op}",
            state=flow,
            login_hint=request.query.get("login_hint"),
        )
        response = web.Response(status=302, headers={"Location": location})
        response.set_cookie("flow", flow)
        return response

    async def callback(request: web.Request) -> web.Response:
        await record(request)
        flow = gateway.flows.get(request.cookies.get("flow", ""))
        if flow is None or request.query.get("state") not in gateway.flows:
            return web.json_response({"code": "NO_SESSION", "message": "cookie missing"}, status=400)
        if "code" not in request.query:
            params = {"error": request.query.get("error", "server_error"), "state": flow["state"]}
        else:
            try:
                identity = await gateway.adapters[flow["op"]].exchange_code(
                    request.query["code"], redirect_uri=f"{gateway.url}/callback/{flow['op']}"
                )
            except CarrierError as exc:
                return web.json_response(
                    {"code": "EXCHANGE_FAILED", "message": type(exc).__name__}, status=502
                )
            gateway.identities.append(identity)
            params = {"code": "gw-code", "state": flow["state"]}
        # a relative Location: the browser resolves it against the callback URL
        return web.Response(
            status=302, headers={"Location": "/done?" + urlencode({"to": flow["redirect_uri"], **params})}
        )

    async def done(request: web.Request) -> web.Response:
        await record(request)
        params = {name: value for name, value in request.query.items() if name != "to"}
        return web.Response(status=303, headers={"Location": request.query["to"] + "?" + urlencode(params)})

    async def loop(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(status=302, headers={"Location": "/loop?redirect_uri=x"})

    async def refuse(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response(
            {"status": 400, "code": "INVALID_ARGUMENT", "message": "bad client"}, status=400
        )

    async def bare_page(request: web.Request) -> web.Response:
        return web.Response(text="<html><title>Hello</title><p>no form</p></html>", content_type="text/html")

    async def otp_page(request: web.Request) -> web.Response:
        form = '<form method="post" action="/x"><input name="c" autocomplete="one-time-code"></form>'
        return web.Response(text=f"<html>{form}</html>", content_type="text/html")

    async def check(request: web.Request) -> web.Response:
        """A service's own page (like a verification check URL): no redirect_uri, straight to the operator."""
        await record(request)
        op = request.match_info["op"]
        flow = secrets.token_hex(8)
        gateway.flows[flow] = {"op": op}
        location = gateway.adapters[op].authorization_url(
            redirect_uri=f"{gateway.url}/check-callback/{op}", state=flow, login_hint=None
        )
        return web.Response(status=302, headers={"Location": location})

    async def check_callback(request: web.Request) -> web.Response:
        await record(request)
        op = request.match_info["op"]
        identity = await gateway.adapters[op].exchange_code(
            request.query["code"], redirect_uri=f"{gateway.url}/check-callback/{op}"
        )
        gateway.identities.append(identity)
        return web.Response(status=302, headers={"Location": f"/checked?flow={request.query['state']}"})

    async def checked(request: web.Request) -> web.Response:
        await record(request)
        form = '<form method="post" action=""><input name="code" autocomplete="one-time-code"></form>'
        return web.Response(text=f"<html><title>Verified</title>{form}</html>", content_type="text/html")

    async def error_redirect(request: web.Request) -> web.Response:
        location = request.query["redirect_uri"] + "?error=access_denied&state=s1"
        return web.Response(status=302, headers={"Location": location})

    app = web.Application()
    app.router.add_get("/oauth2/authorize", authorize)
    app.router.add_get("/callback/{op}", callback)
    app.router.add_get("/done", done)
    app.router.add_get("/loop", loop)
    app.router.add_get("/refuse", refuse)
    app.router.add_get("/bare", bare_page)
    app.router.add_get("/otp", otp_page)
    app.router.add_get("/error-redirect", error_redirect)
    app.router.add_get("/check/{op}", check)
    app.router.add_get("/check-callback/{op}", check_callback)
    app.router.add_get("/checked", checked)
    return app


@pytest.fixture
async def gateway(
    aiohttp_server: AiohttpServer, client: SandboxClient, config: SandboxConfig, clock: ManualClock
) -> AsyncIterator[Gateway]:
    """The tiny gateway, wired to the sandbox's operators through the real adapters."""
    sandbox_url = str(client.make_url("")).rstrip("/")
    transport = build_operator_transport()
    adapters: dict[str, Operator] = {
        op: ADAPTER_CLASSES[op](
            OperatorConfig(op, f"{sandbox_url}/{op}", config.apps[op].app_id, config.apps[op].app_key),
            transport,
            clock=clock.now,
        )
        for op in OPERATORS
    }
    gateway = Gateway(adapters)
    server = await aiohttp_server(gateway_app(gateway), host="127.0.0.1")
    gateway.url = str(server.make_url("")).rstrip("/")
    yield gateway
    await transport.aclose()


def start_url(gateway: Gateway, op: str, path: str = "/oauth2/authorize", **extra: str) -> str:
    query = {"op": op, "redirect_uri": CLIENT_REDIRECT, "state": "s1", **extra}
    return f"{gateway.url}{path}?{urlencode(query)}"


async def browse(client: SandboxClient, phone: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.post(f"/sandbox/devices/{phone}/authorize", json=body)
    return response.status, await response.json()


@pytest.mark.parametrize("op", OPERATORS)
async def test_on_cellular_data_the_network_identifies_the_phone(
    client: SandboxClient, subscribe: Subscribe, gateway: Gateway, op: str
) -> None:
    """By default the walk ends at the client's redirect_uri, the operator having identified the phone."""
    await subscribe(PHONES[op], op)

    status, body = await browse(client, PHONES[op], {"url": start_url(gateway, op)})

    assert status == 200, body
    assert body == {"location": CLIENT_REDIRECT + "?code=gw-code&state=s1"}
    assert [(i.phone_number, i.method) for i in gateway.identities] == [(PHONES[op], AuthMethod.NETWORK)]
    addresses = {request["x-forwarded-for"] for request in gateway.requests}
    assert len(addresses) == 1
    assert IPv4Address(addresses.pop()) in IPv4Network(RANGES[op])
    assert not any(name in request for request in gateway.requests for name in ENRICHMENT.values())
    assert await (await client.get(f"/sandbox/devices/{PHONES[op]}/messages")).json() == []


@pytest.mark.parametrize("op", OPERATORS)
async def test_on_wifi_the_phone_completes_the_sms_otp_forms(
    client: SandboxClient, subscribe: Subscribe, gateway: Gateway, op: str
) -> None:
    """sms_otp: Wi-Fi address, the operator's forms filled from the inbox, an sms_otp identity."""
    await subscribe(PHONES[op], op)

    status, body = await browse(
        client, PHONES[op], {"url": start_url(gateway, op, login_hint=PHONES[op]), "method": "sms_otp"}
    )

    assert status == 200, body
    assert body["location"].startswith(CLIENT_REDIRECT)
    assert [(i.phone_number, i.method) for i in gateway.identities] == [(PHONES[op], AuthMethod.SMS_OTP)]
    assert {IPv4Address(r["x-forwarded-for"]) in IPv4Network("192.0.2.0/24") for r in gateway.requests} == {
        True
    }
    inbox = await (await client.get(f"/sandbox/devices/{PHONES[op]}/messages")).json()
    assert [message["from"] for message in inbox] == [SMS_SENDERS[op]]


@pytest.mark.parametrize("op", OPERATORS)
async def test_a_phone_put_on_wifi_walks_by_sms_otp_unless_the_request_names_its_method(
    client: SandboxClient, subscribe: Subscribe, gateway: Gateway, op: str
) -> None:
    """PUT {"network": "wifi"}: a walk naming no method fills the SMS-OTP forms from a Wi-Fi address;
    one naming "network" is still identified by the network; back on cellular, the network again."""
    await subscribe(PHONES[op], op)
    put = await client.put(f"/sandbox/devices/{PHONES[op]}", json={"network": "wifi"})
    assert (put.status, await put.json()) == (
        200,
        {"phoneNumber": PHONES[op], "network": "wifi", "vendor": "other"},
    )

    url = start_url(gateway, op, login_hint=PHONES[op])
    assert (await browse(client, PHONES[op], {"url": url}))[0] == 200
    assert (await browse(client, PHONES[op], {"url": url, "method": "network"}))[0] == 200
    await client.put(f"/sandbox/devices/{PHONES[op]}", json={"network": "cellular"})
    assert (await browse(client, PHONES[op], {"url": url}))[0] == 200

    methods = [i.method for i in gateway.identities]
    assert methods == [AuthMethod.SMS_OTP, AuthMethod.NETWORK, AuthMethod.NETWORK]
    subscriber = await (await client.get(f"/sandbox/subscribers/{PHONES[op]}")).json()
    assert subscriber["network"] == "cellular"


@pytest.mark.parametrize(
    "body",
    [{"network": "5g"}, {"network": None}, {}, {"network": "wifi", "extra": 1}, ["wifi"]],
    ids=["unknown network", "null", "empty", "unknown field", "not an object"],
)
async def test_a_malformed_network_change_is_400_and_changes_nothing(
    client: SandboxClient, subscribe: Subscribe, body: Any
) -> None:
    """Only {"network": "cellular" | "wifi"} is accepted; the phone stays on cellular data."""
    await subscribe(PHONES["cmcc"], "cmcc")
    answer = await client.put(f"/sandbox/devices/{PHONES['cmcc']}", json=body)
    assert (answer.status, (await answer.json())["code"]) == (400, "INVALID_ARGUMENT")
    assert (await (await client.get(f"/sandbox/subscribers/{PHONES['cmcc']}")).json())[
        "network"
    ] == "cellular"
    unknown = await client.put("/sandbox/devices/+8613700137000", json={"network": "wifi"})
    assert unknown.status == 404


async def test_enrichment_is_only_sent_to_the_phones_own_operator(
    client: SandboxClient, subscribe: Subscribe, gateway: Gateway
) -> None:
    """A cucc phone sent to China Mobile carries no cmcc header: the walk stops at the number form."""
    await subscribe(PHONES["cucc"], "cucc")

    status, body = await browse(client, PHONES["cucc"], {"url": start_url(gateway, "cmcc")})

    assert status == 502
    assert body["code"] == "BAD_GATEWAY"
    assert "/cmcc/unisdk/oauth2/authorize" in body["message"]
    assert "did not identify the phone" in body["message"]
    assert gateway.identities == []


async def test_a_4xx_hop_stops_the_walk_and_says_where(
    client: SandboxClient, subscribe: Subscribe, gateway: Gateway
) -> None:
    """A hop answering 400 ends in 502 naming the request (without its query) and the error code."""
    await subscribe(PHONES["cmcc"], "cmcc")

    status, body = await browse(client, PHONES["cmcc"], {"url": start_url(gateway, "cmcc", "/refuse")})

    assert status == 502
    assert f"GET {gateway.url}/refuse (request 1)" in body["message"]
    assert "HTTP 400" in body["message"]
    assert "INVALID_ARGUMENT" in body["message"]
    assert "redirect_uri" not in body["message"]


async def test_redirect_loops_stop_after_ten_requests(
    client: SandboxClient, subscribe: Subscribe, gateway: Gateway
) -> None:
    """A redirect loop is given up after 10 requests in all."""
    await subscribe(PHONES["cmcc"], "cmcc")

    status, body = await browse(client, PHONES["cmcc"], {"url": start_url(gateway, "cmcc", "/loop")})

    assert status == 502
    assert "10 requests" in body["message"]
    assert len(gateway.requests) == 10


@pytest.mark.parametrize(("path", "words"), [("/bare", "without a form"), ("/otp", "no SMS code")])
async def test_pages_it_cannot_complete(
    client: SandboxClient, subscribe: Subscribe, gateway: Gateway, path: str, words: str
) -> None:
    """On Wi-Fi a page without a form, or a code form without an SMS, stops the walk."""
    await subscribe(PHONES["cmcc"], "cmcc")

    status, body = await browse(
        client, PHONES["cmcc"], {"url": start_url(gateway, "cmcc", path), "method": "sms_otp"}
    )

    assert status == 502
    assert words in body["message"]


async def test_error_redirects_to_the_redirect_uri_are_locations(
    client: SandboxClient, subscribe: Subscribe, gateway: Gateway
) -> None:
    """An error redirect to redirect_uri is where the walk ends, answered as a location."""
    await subscribe(PHONES["cmcc"], "cmcc")

    status, body = await browse(
        client, PHONES["cmcc"], {"url": start_url(gateway, "cmcc", "/error-redirect")}
    )

    assert (status, query_of(body["location"])["error"]) == (200, "access_denied")


async def test_operator_down_stops_the_walk_at_the_operator(
    client: SandboxClient, subscribe: Subscribe, gateway: Gateway
) -> None:
    """A dropped connection at the operator is a 502 naming the operator's endpoint."""
    await subscribe(PHONES["ctcc"], "ctcc")
    await client.put("/sandbox/operators/ctcc/faults", json={"down": True})

    status, body = await browse(client, PHONES["ctcc"], {"url": start_url(gateway, "ctcc")})

    assert status == 502
    assert "/ctcc/openapi/oauth/authorize.do (request 2): no answer" in body["message"]


async def test_unreachable_host_is_a_502(
    client: SandboxClient, subscribe: Subscribe, unused_tcp_port: int
) -> None:
    """A URL nobody listens on ends in 502 'no answer'."""
    await subscribe(PHONES["cmcc"], "cmcc")
    url = f"http://127.0.0.1:{unused_tcp_port}/oauth2/authorize?redirect_uri=https%3A%2F%2Fa.example"

    status, body = await browse(client, PHONES["cmcc"], {"url": url})

    assert status == 502
    assert "no answer" in body["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://gw.example/oauth2/authorize?redirect_uri=&state=1"},
        {"url": "gw.example/oauth2/authorize?redirect_uri=x"},
        {"url": "https://gw.example/?redirect_uri=x", "method": "wifi"},
        {"url": "https://gw.example/?redirect_uri=x", "extra": 1},
        {},
    ],
)
async def test_bad_requests_are_400(
    client: SandboxClient, subscribe: Subscribe, body: dict[str, Any]
) -> None:
    """An empty redirect_uri, a relative URL, an unknown method or an unknown field answer 400
    INVALID_ARGUMENT."""
    await subscribe(PHONES["cmcc"], "cmcc")

    status, answer = await browse(client, PHONES["cmcc"], body)

    assert (status, answer["code"]) == (400, "INVALID_ARGUMENT")


async def test_unknown_phone_is_404(client: SandboxClient) -> None:
    """An unregistered phone has no browser."""
    status, answer = await browse(client, "+8613700137000", {"url": "https://gw.example/?redirect_uri=x"})

    assert (status, answer["code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize("op", OPERATORS)
async def test_without_redirect_uri_the_walk_ends_at_the_first_page_of_the_urls_origin(
    client: SandboxClient, subscribe: Subscribe, gateway: Gateway, op: str
) -> None:
    """A URL without redirect_uri: the browser follows the redirect to the operator (another origin),
    is identified by the network, comes back, and answers the URL of the first page of the URL's
    own origin that says 200, even one with a form (it fills nothing there)."""
    await subscribe(PHONES[op], op)

    status, body = await browse(client, PHONES[op], {"url": f"{gateway.url}/check/{op}"})

    assert status == 200, body
    flow = next(iter(gateway.flows))
    assert body == {"location": f"{gateway.url}/checked?flow={flow}"}
    assert [(i.phone_number, i.method) for i in gateway.identities] == [(PHONES[op], AuthMethod.NETWORK)]
    assert [r["path"] for r in gateway.requests] == [f"/check/{op}", f"/check-callback/{op}", "/checked"]


async def test_without_redirect_uri_a_page_of_another_origin_does_not_end_the_walk(
    client: SandboxClient, subscribe: Subscribe, gateway: Gateway
) -> None:
    """A cucc phone sent to China Mobile meets its number form (200, the operator's origin): that is
    not where the walk ends; on cellular data the form means a 502 at the operator."""
    await subscribe(PHONES["cucc"], "cucc")

    status, body = await browse(client, PHONES["cucc"], {"url": f"{gateway.url}/check/cmcc"})

    assert status == 502
    assert "/cmcc/unisdk/oauth2/authorize" in body["message"]
    assert "did not identify the phone" in body["message"]
    assert [r["path"] for r in gateway.requests] == ["/check/cmcc"]


@pytest.mark.parametrize(("path", "words"), [("/refuse", "HTTP 400"), ("/nowhere", "HTTP 404")])
async def test_without_redirect_uri_an_error_page_of_the_origin_is_still_a_502(
    client: SandboxClient, subscribe: Subscribe, gateway: Gateway, path: str, words: str
) -> None:
    """Only a 200 page ends a walk without redirect_uri: a 4xx of the URL's own origin is a 502
    naming the request and its status."""
    await subscribe(PHONES["cmcc"], "cmcc")

    status, body = await browse(client, PHONES["cmcc"], {"url": f"{gateway.url}{path}"})

    assert status == 502
    assert f"GET {gateway.url}{path} (request 1): {words}" in body["message"]
