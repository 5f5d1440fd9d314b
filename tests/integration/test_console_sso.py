"""Console single sign-on over real sockets, on SQLite and PostgreSQL, against the sandbox's bank
identity provider: the admin API of a tenant's provider, the sign-in page's button, a full sign-in
that lands in the same console session as a password sign-in (and its audit entry), single-use
states bound to the browser, unlinked and disabled members refused, a cancelled sign-in, and
tenant isolation (tenant A's provider never signs anyone into tenant B)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from gateway.db import create_engine
from tests.stack import Stack, open_stack
from tests.unit.console.sso_support import (
    BankClient,
    bank_client,
    bank_employee,
    configure_sso,
    link,
    walk_sso,
)
from tests.unit.console.support import admin_call, create_staff

pytestmark = pytest.mark.integration


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    """Gateway and sandbox on real sockets; the identity provider on 127.0.0.1 is allowed (as under
    ``gateway up``), and the gateway's public URL is its real address (the provider redirects there)."""
    async with open_stack(database_url, public=True, allow_private_webhooks=True) as running:
        yield running


async def _tenant(stack: Stack) -> str:
    return (await stack.tenant(["branches:manage"])).tenant_id


def _sso_error(resp: httpx.Response) -> tuple[str | None, str | None]:
    assert resp.status_code == 303, resp.text
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/console/"
    query = parse_qs(location.query)
    return query.get("sso_error", [None])[0], query.get("tenant", [None])[0]


async def _browser(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=10.0)


async def _audit_actions(stack: Stack, tenant_id: str) -> list[str]:
    resp = await admin_call(stack, "GET", f"/admin/tenants/{tenant_id}/audit")
    assert resp.status_code == 200, resp.text
    return [e["action"] for e in resp.json()["entries"]]


async def test_admin_api_sets_reads_and_removes_a_tenants_provider(stack: Stack) -> None:
    """PUT answers the provider and the redirect URI to register, never the secret; GET the same;
    the secret is stored encrypted; DELETE removes it (then GET and DELETE are 404); an unknown
    tenant is 404 and an unknown property 400."""
    tenant_id = await _tenant(stack)
    client = await bank_client(stack)
    put = await configure_sso(stack, tenant_id, client)
    assert put["issuer"] == client.issuer
    assert put["clientId"] == client.client_id
    assert put["redirectUri"] == f"{stack.gateway_url}/console/sso/callback"
    assert "clientSecret" not in put and client.client_secret not in str(put)
    got = await admin_call(stack, "GET", f"/admin/tenants/{tenant_id}/sso")
    assert got.status_code == 200 and got.json() == put

    engine = create_engine(stack.settings.database_url)
    try:
        async with engine.connect() as conn:
            stored = (
                await conn.execute(
                    sa.text("SELECT client_secret_cipher FROM tenant_sso WHERE tenant_id = :t"),
                    {"t": tenant_id},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert client.client_secret not in stored

    assert (
        await admin_call(
            stack,
            "PUT",
            "/admin/tenants/nope/sso",
            {"issuer": client.issuer, "clientId": "x", "clientSecret": "y"},
        )
    ).status_code == 404
    bad = await admin_call(
        stack,
        "PUT",
        f"/admin/tenants/{tenant_id}/sso",
        {"issuer": client.issuer, "clientId": "x", "clientSecret": "y", "roles": ["admin"]},
    )
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_ARGUMENT"
    assert (await admin_call(stack, "DELETE", f"/admin/tenants/{tenant_id}/sso")).status_code == 204
    assert (await admin_call(stack, "GET", f"/admin/tenants/{tenant_id}/sso")).status_code == 404
    assert (await admin_call(stack, "DELETE", f"/admin/tenants/{tenant_id}/sso")).status_code == 404
    actions = await _audit_actions(stack, tenant_id)
    assert actions[:2] == ["sso.removed", "sso.configured"]


async def test_sign_in_page_offers_the_bank_account_only_for_a_tenant_with_a_provider(stack: Stack) -> None:
    """``/console/?tenant=<id>`` shows the bank-account button linking to that tenant's start when
    the tenant has a provider, and not for a tenant without one, an unknown or a malformed id; an
    ``sso_error`` is shown in words, Chinese first."""
    with_sso, without = await _tenant(stack), await _tenant(stack)
    await configure_sso(stack, with_sso, await bank_client(stack))
    page = await stack.http.get(f"{stack.gateway_url}/console/", params={"tenant": with_sso})
    assert page.status_code == 200
    assert "使用银行账号登录 · Sign in with bank account" in page.text
    assert f'href="/console/sso/{with_sso}/start"' in page.text
    for tenant in (without, "unknown-tenant", "<script>"):
        other = await stack.http.get(f"{stack.gateway_url}/console/", params={"tenant": tenant})
        assert other.status_code == 200 and "使用银行账号登录" not in other.text
    failed = await stack.http.get(f"{stack.gateway_url}/console/", params={"sso_error": "no_account"})
    assert "此银行账号未关联控制台账号" in failed.text and "not linked to a console account" in failed.text


async def test_a_linked_member_signs_in_through_the_bank_provider(stack: Stack) -> None:
    """Start → the provider's authorize endpoint with code, PKCE S256, state and nonce; back at the
    callback the member gets the console session cookie and lands on /console/; the session is the
    password sign-in's (GET /console/api/session names the member) and ``staff.sso_sign_in`` is in
    the audit log."""
    tenant_id = await _tenant(stack)
    await configure_sso(stack, tenant_id, await bank_client(stack))
    member, _ = await create_staff(stack, tenant_id, "admin")
    linked = await link(stack, tenant_id, member["id"], "employee-0001")
    assert linked["ssoSubject"] == "employee-0001"
    async with await _browser(stack) as http:
        start = await http.get(f"{stack.gateway_url}/console/sso/{tenant_id}/start")
        assert start.status_code == 303
        query = parse_qs(urlsplit(start.headers["Location"]).query)
        assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
        assert {"state", "nonce", "code_challenge", "client_id", "redirect_uri"} <= set(query)
        assert "HttpOnly" in start.headers["Set-Cookie"] and "SameSite=Lax" in start.headers["Set-Cookie"]

        back = await walk_sso(http, stack, tenant_id, "employee-0001")
        assert back.status_code == 303, back.text
        assert back.headers["Location"] == "/console/"
        cookie = http.cookies.get("gw_console")
        assert cookie is not None and cookie.startswith("gcs_")
        session = await http.get(f"{stack.gateway_url}/console/api/session")
        assert session.status_code == 200, session.text
        assert session.json()["staff"]["username"] == member["username"]
    assert "staff.sso_sign_in" in await _audit_actions(stack, tenant_id)


async def test_a_callback_is_single_use_and_bound_to_the_browser_that_started(stack: Stack) -> None:
    """The provider's redirect replayed answers the sign-in page with ``expired``; a callback
    arriving in another browser (no binding cookie) is refused the same way and signs nobody in."""
    tenant_id = await _tenant(stack)
    await configure_sso(stack, tenant_id, await bank_client(stack))
    member, _ = await create_staff(stack, tenant_id, "teller")
    await link(stack, tenant_id, member["id"], "employee-0001")
    async with await _browser(stack) as http:
        back = await walk_sso(http, stack, tenant_id, "employee-0001")
        assert back.status_code == 303 and back.headers["Location"] == "/console/"
        callback = str(back.request.url)
        again = await http.get(callback)
        assert _sso_error(again) == ("expired", None)

    async with await _browser(stack) as victim, await _browser(stack) as attacker:
        start = await attacker.get(f"{stack.gateway_url}/console/sso/{tenant_id}/start")
        page = await attacker.get(start.headers["Location"])
        assert page.status_code == 200
        query = parse_qs(urlsplit(start.headers["Location"]).query)
        form = {k: v[0] for k, v in query.items()} | {"sub": "employee-0001"}
        submitted = await attacker.post(f"{stack.sandbox_url}/bank-idp/authorize", data=form)
        refused = await victim.get(submitted.headers["Location"])
        assert _sso_error(refused) == ("expired", tenant_id)
        assert victim.cookies.get("gw_console") is None


async def test_unlinked_and_disabled_members_are_refused(stack: Stack) -> None:
    """A subject no member of the tenant is linked to, and a linked but disabled member, both answer
    the sign-in page with ``no_account`` and no session cookie; unlinking works too."""
    tenant_id = await _tenant(stack)
    await configure_sso(stack, tenant_id, await bank_client(stack))
    await bank_employee(stack, "employee-0099")
    member, _ = await create_staff(stack, tenant_id, "teller")
    await link(stack, tenant_id, member["id"], "employee-0099")
    async with await _browser(stack) as http:
        assert _sso_error(await walk_sso(http, stack, tenant_id, "employee-0001")) == (
            "no_account",
            tenant_id,
        )
        assert http.cookies.get("gw_console") is None
    disabled = await admin_call(stack, "POST", f"/admin/tenants/{tenant_id}/staff/{member['id']}/disable")
    assert disabled.status_code == 200
    async with await _browser(stack) as http:
        assert _sso_error(await walk_sso(http, stack, tenant_id, "employee-0099")) == (
            "no_account",
            tenant_id,
        )
        assert http.cookies.get("gw_console") is None
    await admin_call(stack, "POST", f"/admin/tenants/{tenant_id}/staff/{member['id']}/enable")
    unlinked = await admin_call(
        stack, "DELETE", f"/admin/tenants/{tenant_id}/staff/{member['id']}/sso-subject"
    )
    assert unlinked.status_code == 200 and unlinked.json()["ssoSubject"] is None
    async with await _browser(stack) as http:
        assert _sso_error(await walk_sso(http, stack, tenant_id, "employee-0099")) == (
            "no_account",
            tenant_id,
        )


async def test_a_cancelled_sign_in_and_a_tenant_without_provider_say_why(stack: Stack) -> None:
    """Cancel at the provider is ``denied``; starting for a tenant without a provider (or an unknown
    one) is ``not_configured``; neither is a 500."""
    tenant_id = await _tenant(stack)
    await configure_sso(stack, tenant_id, await bank_client(stack))
    async with await _browser(stack) as http:
        assert _sso_error(await walk_sso(http, stack, tenant_id, None, cancel=True)) == ("denied", tenant_id)
    bare = await _tenant(stack)
    async with await _browser(stack) as http:
        assert _sso_error(await http.get(f"{stack.gateway_url}/console/sso/{bare}/start")) == (
            "not_configured",
            bare,
        )
        assert _sso_error(await http.get(f"{stack.gateway_url}/console/sso/callback")) == ("expired", None)


async def test_tenant_a_provider_never_signs_into_tenant_b(stack: Stack) -> None:
    """Two tenants at the same provider (same client): the subject linked in tenant A signs into A
    only; started for tenant B it finds nobody (``no_account``); a subject may be linked in both
    tenants to different members, each sign-in landing in its own tenant; within one tenant a
    subject links one member only (400)."""
    client: BankClient = await bank_client(stack)
    tenant_a, tenant_b = await _tenant(stack), await _tenant(stack)
    await configure_sso(stack, tenant_a, client)
    await configure_sso(stack, tenant_b, client)
    member_a, _ = await create_staff(stack, tenant_a, "admin")
    await link(stack, tenant_a, member_a["id"], "employee-0001")
    async with await _browser(stack) as http:
        assert _sso_error(await walk_sso(http, stack, tenant_b, "employee-0001")) == ("no_account", tenant_b)
        assert http.cookies.get("gw_console") is None

    member_b, _ = await create_staff(stack, tenant_b, "teller")
    await link(stack, tenant_b, member_b["id"], "employee-0001")
    for tenant_id, member in ((tenant_a, member_a), (tenant_b, member_b)):
        async with await _browser(stack) as http:
            back = await walk_sso(http, stack, tenant_id, "employee-0001")
            assert back.headers["Location"] == "/console/"
            session = await http.get(f"{stack.gateway_url}/console/api/session")
            assert session.json()["staff"]["id"] == member["id"]

    other, _ = await create_staff(stack, tenant_a, "teller")
    taken = await admin_call(
        stack,
        "PUT",
        f"/admin/tenants/{tenant_a}/staff/{other['id']}/sso-subject",
        {"subject": "employee-0001"},
    )
    assert taken.status_code == 400
    cross = await admin_call(
        stack, "PUT", f"/admin/tenants/{tenant_b}/staff/{member_a['id']}/sso-subject", {"subject": "x"}
    )
    assert cross.status_code == 404


async def test_a_new_issuer_unlinks_the_tenants_members(stack: Stack) -> None:
    """Replacing the provider's issuer clears every member's ``ssoSubject`` (a subject means nothing
    at another provider); replacing only the client keeps them."""
    tenant_id = await _tenant(stack)
    client = await bank_client(stack)
    await configure_sso(stack, tenant_id, client)
    member, _ = await create_staff(stack, tenant_id, "teller")
    await link(stack, tenant_id, member["id"], "employee-0001")
    second = await bank_client(stack)
    await configure_sso(stack, tenant_id, second)
    listed = await admin_call(stack, "GET", f"/admin/tenants/{tenant_id}/staff")
    assert listed.json()["staff"][0]["ssoSubject"] == "employee-0001"
    moved = BankClient(client.issuer + "/", client.client_id, client.client_secret)
    await configure_sso(stack, tenant_id, moved)
    listed = await admin_call(stack, "GET", f"/admin/tenants/{tenant_id}/staff")
    assert listed.json()["staff"][0]["ssoSubject"] is None
