"""The operators' H5 token endpoint: device identification by cellular address or the sandbox phone
cookie, refusals, and CORS (docs: "H5 one-tap token")."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import ClientResponse

from sandbox import SandboxConfig
from sandbox.appkeys import STATE
from sandbox.cellular import cellular_ip, wifi_ip
from sandbox.config import Operator
from tests.sandbox.conftest import SandboxClient, Subscribe
from tests.sandbox.dialects import OPERATORS, PHONES

LIFETIMES = {"cmcc": 120, "cucc": 1800, "ctcc": 600}
SHAPES = {
    "cmcc": re.compile(r"H5HTTPS[0-9a-f]{32}"),
    "cucc": re.compile(r"CUAT[A-Za-z0-9_-]{40}"),
    "ctcc": re.compile(r"CTA0[0-9a-f]{40}"),
}
OTHER: dict[Operator, Operator] = {"cmcc": "cucc", "cucc": "ctcc", "ctcc": "cmcc"}
ORIGIN = "http://127.0.0.1:8080"
H5Token = Callable[..., Awaitable[ClientResponse]]


@pytest.fixture
def h5_token(client: SandboxClient, config: SandboxConfig) -> H5Token:
    """POST /{op}/h5/token with the operator's app id (or ``app_id``) and the given headers."""

    async def h5_token(op: str, *, app_id: str | None = None, **headers: str) -> ClientResponse:
        return await client.post(
            f"/{op}/h5/token",
            json={"appId": app_id or config.apps[op].app_id},
            headers={name.replace("_", "-"): value for name, value in headers.items()},
        )

    return h5_token


@pytest.mark.parametrize("op", OPERATORS)
async def test_cellular_address_identifies_the_phone(
    op: Operator, client: SandboxClient, subscribe: Subscribe, h5_token: H5Token
) -> None:
    """X-Forwarded-For at the phone's cellular address yields an h5 network token for that phone."""
    await subscribe(PHONES[op], op)

    response = await h5_token(op, X_Forwarded_For=str(cellular_ip(PHONES[op], op)))

    assert response.status == 200
    body = await response.json()
    assert (body["operator"], body["expiresIn"]) == (op, LIFETIMES[op])
    assert SHAPES[op].fullmatch(body["token"])
    assert response.headers["Cache-Control"] == "no-store"
    issued = client.app[STATE].tokens.get(body["token"])
    assert issued is not None
    assert (issued.phone_number, issued.purpose, issued.auth_type) == (PHONES[op], "h5", "network")


@pytest.mark.parametrize("op", OPERATORS)
async def test_the_phone_cookie_stands_in_for_enrichment(
    op: str, client: SandboxClient, subscribe: Subscribe, h5_token: H5Token
) -> None:
    """Off the cellular ranges, the sandbox_phone cookie (plain or percent-encoded) names the phone."""
    await subscribe(PHONES[op], op)

    plain = await h5_token(op, Cookie=f"sandbox_phone={PHONES[op]}")
    encoded = await h5_token(
        op, Cookie=f"sandbox_phone=%2B{PHONES[op][1:]}", X_Forwarded_For=str(wifi_ip(PHONES[op]))
    )

    for response in (plain, encoded):
        assert response.status == 200
        issued = client.app[STATE].tokens.get((await response.json())["token"])
        assert issued is not None and issued.phone_number == PHONES[op]


@pytest.mark.parametrize("op", OPERATORS)
async def test_devices_not_on_this_network_are_refused(
    op: Operator, subscribe: Subscribe, h5_token: H5Token
) -> None:
    """Another operator's subscriber or network, an unknown address or cookie, or nothing: 403."""
    other = OTHER[op]
    await subscribe(PHONES[op], op)
    await subscribe(PHONES[other], other)
    own_cookie = f"sandbox_phone={PHONES[op]}"

    attempts = [
        await h5_token(op),
        await h5_token(op, Cookie=f"sandbox_phone={PHONES[other]}"),
        await h5_token(op, Cookie="sandbox_phone=+8613700137000"),
        await h5_token(op, X_Forwarded_For=str(cellular_ip(PHONES[other], other)), Cookie=own_cookie),
        await h5_token(op, X_Forwarded_For=str(cellular_ip(PHONES[op], other))),
        await h5_token(op, X_Forwarded_For=str(cellular_ip("+8613700137000", op))),
    ]

    for response in attempts:
        assert response.status == 403
        assert await response.json() == {"error": "not_on_this_network"}


async def test_the_first_forwarded_address_is_the_device(subscribe: Subscribe, h5_token: H5Token) -> None:
    """With several X-Forwarded-For entries, the first (the client) decides."""
    await subscribe(PHONES["cucc"], "cucc")
    device = str(cellular_ip(PHONES["cucc"], "cucc"))

    first = await h5_token("cucc", X_Forwarded_For=f"{device}, 10.0.0.1")
    last = await h5_token("cucc", X_Forwarded_For=f"192.0.2.1, {device}")

    assert (first.status, last.status) == (200, 403)


async def test_bad_requests(client: SandboxClient, subscribe: Subscribe, h5_token: H5Token) -> None:
    """No string appId: invalid_request; an app id the operator does not know: invalid_app."""
    await subscribe(PHONES["cmcc"], "cmcc")
    cookie = f"sandbox_phone={PHONES['cmcc']}"

    garbage = await client.post("/cmcc/h5/token", data=b"not json", headers={"Cookie": cookie})
    numeric = await client.post("/cmcc/h5/token", json={"appId": 1}, headers={"Cookie": cookie})
    stranger = await h5_token("cmcc", app_id="300011999999", Cookie=cookie)

    assert (garbage.status, await garbage.json()) == (400, {"error": "invalid_request"})
    assert (numeric.status, await numeric.json()) == (400, {"error": "invalid_request"})
    assert (stranger.status, await stranger.json()) == (400, {"error": "invalid_app"})


@pytest.mark.parametrize("op", OPERATORS)
async def test_cors_preflight(op: str, client: SandboxClient) -> None:
    """OPTIONS answers 204 allowing a credentialed JSON POST from the requesting origin."""
    response = await client.options(
        f"/{op}/h5/token",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"].lower() == "content-type"
    assert response.headers["Vary"] == "Origin"


async def test_cors_headers_on_answers_and_errors(subscribe: Subscribe, h5_token: H5Token) -> None:
    """Success and refusal both echo the Origin with credentials; without Origin there is no CORS header."""
    await subscribe(PHONES["ctcc"], "ctcc")
    cookie = f"sandbox_phone={PHONES['ctcc']}"

    granted = await h5_token("ctcc", Origin=ORIGIN, Cookie=cookie)
    refused = await h5_token("ctcc", Origin="https://bank.example")
    plain = await h5_token("ctcc", Cookie=cookie)

    assert granted.status == 200 and granted.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert refused.status == 403 and refused.headers["Access-Control-Allow-Origin"] == "https://bank.example"
    assert granted.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Origin" not in plain.headers


async def test_faults_apply_to_the_h5_endpoint(
    client: SandboxClient, subscribe: Subscribe, h5_token: H5Token
) -> None:
    """The endpoint is under the operator's prefix, so its faults apply."""
    await subscribe(PHONES["cmcc"], "cmcc")
    await client.put("/sandbox/operators/cmcc/faults", json={"errorRate": 1.0})

    response = await h5_token("cmcc", Cookie=f"sandbox_phone={PHONES['cmcc']}")

    assert response.status == 500
