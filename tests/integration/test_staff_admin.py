"""The admin staff API over HTTP, on SQLite and PostgreSQL: creating accounts (201, never echoing
the password; 409 for a taken username; 400 for malformed bodies, weak passwords and foreign
branches; 404 for an unknown tenant), another tenant's staff ids answering 404, the member
actions, what a disabled account can do (nothing), and the audit log."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pyotp
import pytest

from gateway.clock import SystemClock
from gateway.crypto import FieldCipher, Keyring
from gateway.db import create_engine, session_factory
from gateway.staff import SignInFailed
from gateway.staff.audit import StaffAudit
from gateway.staff.service import StaffService
from tests.leaks import SENSITIVE
from tests.stack import Stack, TenantCreds

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "another horse battery staple"
SENSITIVE.update({PASSWORD, NEW_PASSWORD})
MEMBER_KEYS = {
    "id",
    "tenantId",
    "username",
    "role",
    "branches",
    "totpEnabled",
    "disabled",
    "createdAt",
    "ssoSubject",
}


def _admin(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.admin_token}"}


async def _call(
    stack: Stack, method: str, path: str, body: Any = None, *, admin: bool = True, **kwargs: Any
) -> httpx.Response:
    headers = _admin(stack) if admin else {}
    return await stack.http.request(
        method, f"{stack.gateway_url}{path}", json=body, headers=headers, **kwargs
    )


def _error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    assert body["status"] == status and body["code"] == code and set(body) == {"status", "code", "message"}
    return body


async def _create(stack: Stack, tenant_id: str, username: str, **extra: Any) -> httpx.Response:
    body = {"username": username, "password": PASSWORD, "role": "teller", **extra}
    return await _call(stack, "POST", f"/admin/tenants/{tenant_id}/staff", body)


@asynccontextmanager
async def _accounts(stack: Stack) -> AsyncIterator[StaffService]:
    """The staff service the console uses, on the stack's database and data keys."""
    assert stack.settings.data_keys is not None
    engine = create_engine(stack.settings.database_url)
    sessions = session_factory(engine)
    clock = SystemClock()
    cipher = FieldCipher(Keyring.parse(stack.settings.data_keys.get_secret_value()))
    try:
        yield StaffService(sessions, audit=StaffAudit(sessions, clock=clock), cipher=cipher, clock=clock)
    finally:
        await engine.dispose()


async def test_create_answers_201_without_the_password_and_lists_the_member(stack: Stack) -> None:
    """POST …/staff answers 201 with the member (username in lower case, no password or hash
    anywhere); GET …/staff lists it; the same username again, in any case, is 409 USERNAME_TAKEN."""
    tenant = await stack.tenant(["push:send"])
    suffix = secrets.token_hex(3)
    created = await _create(stack, tenant.tenant_id, f"Li.Na.{suffix}@PingAn")
    assert created.status_code == 201, created.text
    member = created.json()
    assert set(member) == MEMBER_KEYS
    assert (member["username"], member["role"], member["branches"]) == (
        f"li.na.{suffix}@pingan",
        "teller",
        [],
    )
    assert (member["tenantId"], member["totpEnabled"], member["disabled"]) == (tenant.tenant_id, False, False)
    assert PASSWORD not in created.text and "argon2" not in created.text

    listed = await _call(stack, "GET", f"/admin/tenants/{tenant.tenant_id}/staff")
    assert listed.status_code == 200 and listed.json() == {"staff": [member]}
    _error(await _create(stack, tenant.tenant_id, f"LI.NA.{suffix.upper()}@PINGAN"), 409, "USERNAME_TAKEN")
    other = await stack.tenant(["push:send"])
    _error(await _create(stack, other.tenant_id, f"li.na.{suffix}@pingan"), 409, "USERNAME_TAKEN")


async def test_malformed_bodies_and_weak_passwords_are_400_and_never_echoed(stack: Stack) -> None:
    """Unknown properties, missing fields, an unknown role, a malformed username, branch ids of the
    wrong type and weak passwords answer 400 INVALID_ARGUMENT; no answer repeats the password."""
    tenant = await stack.tenant(["push:send"])
    path = f"/admin/tenants/{tenant.tenant_id}/staff"
    good = {"username": "wang.fang", "password": PASSWORD, "role": "teller"}
    for body in (
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "password"},
        {**good, "role": "root"},
        {**good, "username": "王芳"},
        {**good, "username": "ab"},
        {**good, "branches": "b1"},
        {**good, "branches": [1]},
        {**good, "password": 123456789012},
        {**good, "password": "Password2025!"},
        {**good, "password": "short"},
        {**good, "password": "wang.fang-2025-x"},
    ):
        resp = await _call(stack, "POST", path, body)
        error = _error(resp, 400, "INVALID_ARGUMENT")
        assert str(body.get("password")) not in error["message"]
    resp = await stack.http.post(
        f"{stack.gateway_url}{path}",
        content=b"{not json",
        headers={**_admin(stack), "Content-Type": "application/json"},
    )
    _error(resp, 400, "INVALID_ARGUMENT")
    listed = await _call(stack, "GET", path)
    assert listed.json() == {"staff": []}


async def test_branches_must_be_the_tenants_own(stack: Stack) -> None:
    """A member serves the tenant's own branches; another tenant's branch or an unknown id is 400;
    PATCH replaces the branches and the role."""
    scopes = ["templates:write", "branches:manage", "push:send"]
    tenant, other = await stack.tenant(scopes, sandbox=True), await stack.tenant(scopes, sandbox=True)
    own, foreign = await _branch(stack, tenant), await _branch(stack, other)

    created = await _create(stack, tenant.tenant_id, "zhang.wei", branches=[own])
    assert created.status_code == 201, created.text
    assert created.json()["branches"] == [own]
    for branches in ([own, foreign], ["5b7b9c1e-0000-4000-8000-000000000000"]):
        _error(
            await _create(stack, tenant.tenant_id, "zhang.min", branches=branches), 400, "INVALID_ARGUMENT"
        )
    member = created.json()["id"]
    path = f"/admin/tenants/{tenant.tenant_id}/staff/{member}"
    _error(await _call(stack, "PATCH", path, {"branches": [foreign]}), 400, "INVALID_ARGUMENT")
    _error(await _call(stack, "PATCH", path, {"role": "owner"}), 400, "INVALID_ARGUMENT")
    patched = await _call(stack, "PATCH", path, {"role": "supervisor", "branches": []})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["role"], patched.json()["branches"]) == ("supervisor", [])
    unchanged = await _call(stack, "PATCH", path, {})
    assert unchanged.json() == patched.json()


async def _branch(stack: Stack, tenant: TenantCreds) -> str:
    """A branch of ``tenant`` (a sandbox tenant: its built-in queue template is approved at once)."""
    headers = {"Authorization": f"Bearer {await stack.access_token(tenant)}"}
    template = await stack.http.post(
        f"{stack.gateway_url}/push/v1/templates/builtin/branch-queue",
        json={"signature": "平安银行"},
        headers=headers,
    )
    assert template.status_code == 201, template.text
    branch = await stack.http.post(
        f"{stack.gateway_url}/push/v1/branches",
        json={"name": "陆家嘴支行", "templateId": template.json()["id"]},
        headers=headers,
    )
    assert branch.status_code == 201, branch.text
    branch_id: str = branch.json()["id"]
    return branch_id


async def test_unknown_tenants_and_other_tenants_staff_ids_are_404(stack: Stack) -> None:
    """Every staff route with an unknown tenant, or with another tenant's (or an unknown) staff id,
    answers 404 NOT_FOUND; the member stays as it was."""
    owner, intruder = await stack.tenant(["push:send"]), await stack.tenant(["push:send"])
    member = (await _create(stack, owner.tenant_id, "liu.yang")).json()
    missing = "5b7b9c1e-0000-4000-8000-000000000000"
    _error(await _create(stack, missing, "liu.yang2"), 404, "NOT_FOUND")
    _error(await _call(stack, "GET", f"/admin/tenants/{missing}/staff"), 404, "NOT_FOUND")
    _error(await _call(stack, "GET", f"/admin/tenants/{missing}/audit"), 404, "NOT_FOUND")
    for tenant_id, staff_id in (
        (intruder.tenant_id, member["id"]),
        (owner.tenant_id, missing),
        (missing, member["id"]),
    ):
        base = f"/admin/tenants/{tenant_id}/staff/{staff_id}"
        for method, path, body in (
            ("PATCH", base, {"role": "admin"}),
            ("POST", base + "/disable", None),
            ("POST", base + "/enable", None),
            ("POST", base + "/reset-password", {"password": NEW_PASSWORD}),
            ("POST", base + "/reset-totp", None),
        ):
            _error(await _call(stack, method, path, body), 404, "NOT_FOUND")
    listed = await _call(stack, "GET", f"/admin/tenants/{owner.tenant_id}/staff")
    assert listed.json() == {"staff": [member]}
    assert (await _call(stack, "GET", f"/admin/tenants/{intruder.tenant_id}/staff")).json() == {"staff": []}


async def test_the_routes_need_the_admin_bearer(stack: Stack) -> None:
    """Without the admin bearer, or with a tenant's own access token, staff routes answer 401 (four
    calls: the admin throttle lets five failures through before it answers 429)."""
    tenant = await stack.tenant(["push:send"])
    token = await stack.access_token(tenant)
    base = f"{stack.gateway_url}/admin/tenants/{tenant.tenant_id}"
    tenant_bearer = {"Authorization": f"Bearer {token}"}
    for method, path, headers in (
        ("POST", "/staff", {}),
        ("GET", "/audit", {}),
        ("GET", "/staff", tenant_bearer),
        ("POST", "/staff/x/disable", tenant_bearer),
    ):
        body = {"username": "a.b.c", "password": PASSWORD, "role": "admin"} if method == "POST" else None
        _error(
            await stack.http.request(method, base + path, json=body, headers=headers), 401, "UNAUTHENTICATED"
        )
    assert (await _call(stack, "GET", f"/admin/tenants/{tenant.tenant_id}/staff")).json() == {"staff": []}


async def test_disable_enable_and_password_reset_decide_who_signs_in(stack: Stack) -> None:
    """A disabled member cannot authenticate with the right password; enabled again, it can; after
    a password reset only the new password works. Disabling twice is the same answer."""
    tenant = await stack.tenant(["push:send"])
    member = (await _create(stack, tenant.tenant_id, "chen.jie")).json()
    base = f"/admin/tenants/{tenant.tenant_id}/staff/{member['id']}"
    async with _accounts(stack) as accounts:
        assert (await accounts.authenticate("chen.jie", PASSWORD, None)).id == member["id"]

        disabled = await _call(stack, "POST", base + "/disable")
        assert disabled.status_code == 200 and disabled.json()["disabled"] is True
        again = await _call(stack, "POST", base + "/disable", {})
        assert again.json() == disabled.json()
        with pytest.raises(SignInFailed):
            await accounts.authenticate("chen.jie", PASSWORD, None)

        enabled = await _call(stack, "POST", base + "/enable")
        assert enabled.status_code == 200 and enabled.json()["disabled"] is False
        assert (await accounts.authenticate("chen.jie", PASSWORD, None)).id == member["id"]

        _error(
            await _call(stack, "POST", base + "/reset-password", {"password": "short"}),
            400,
            "INVALID_ARGUMENT",
        )
        _error(await _call(stack, "POST", base + "/disable", {"force": True}), 400, "INVALID_ARGUMENT")
        reset = await _call(stack, "POST", base + "/reset-password", {"password": NEW_PASSWORD})
        assert reset.status_code == 200 and NEW_PASSWORD not in reset.text
        with pytest.raises(SignInFailed):
            await accounts.authenticate("chen.jie", PASSWORD, None)
        assert (await accounts.authenticate("chen.jie", NEW_PASSWORD, None)).id == member["id"]


async def test_reset_totp_turns_the_second_factor_off(stack: Stack) -> None:
    """A member who enrolled TOTP shows totpEnabled; the admin's reset-totp turns it off and the
    password alone signs in again."""
    tenant = await stack.tenant(["push:send"])
    member = (await _create(stack, tenant.tenant_id, "huang.li")).json()
    base = f"/admin/tenants/{tenant.tenant_id}/staff/{member['id']}"
    async with _accounts(stack) as accounts:
        enrolment = await accounts.begin_totp(member["id"])
        await accounts.confirm_totp(member["id"], pyotp.TOTP(enrolment.secret).now())
        listed = (await _call(stack, "GET", f"/admin/tenants/{tenant.tenant_id}/staff")).json()
        assert listed["staff"][0]["totpEnabled"] is True

        reset = await _call(stack, "POST", base + "/reset-totp")
        assert reset.status_code == 200 and reset.json()["totpEnabled"] is False
        assert (await accounts.authenticate("huang.li", PASSWORD, None)).id == member["id"]


async def test_the_audit_log_pages_newest_first(stack: Stack) -> None:
    """Each admin action leaves one entry (no actor, ``via: admin-api``), newest first; ``limit``
    and ``nextBefore`` page through them; another tenant sees none; bad paging is 400."""
    tenant, other = await stack.tenant(["push:send"]), await stack.tenant(["push:send"])
    member = (await _create(stack, tenant.tenant_id, "zhao.lei")).json()
    base = f"/admin/tenants/{tenant.tenant_id}/staff/{member['id']}"
    await _call(stack, "PATCH", base, {"role": "admin"})
    await _call(stack, "POST", base + "/disable")
    await _call(stack, "POST", base + "/enable")
    await _call(stack, "POST", base + "/reset-password", {"password": NEW_PASSWORD})
    audit = f"/admin/tenants/{tenant.tenant_id}/audit"

    whole = await _call(stack, "GET", audit)
    assert whole.status_code == 200, whole.text
    entries = whole.json()["entries"]
    assert [e["action"] for e in entries] == [
        "staff.password_reset",
        "staff.enabled",
        "staff.disabled",
        "staff.updated",
        "staff.created",
    ]
    assert whole.json()["nextBefore"] is None
    assert all(e["staffId"] is None and e["username"] is None for e in entries)
    assert all(e["target"] == f"staff:{member['id']}" and e["detail"]["via"] == "admin-api" for e in entries)
    assert entries[3]["detail"]["role"] == {"from": "teller", "to": "admin"}
    assert PASSWORD not in whole.text and NEW_PASSWORD not in whole.text

    first = (await _call(stack, "GET", audit, params={"limit": 2})).json()
    assert [e["id"] for e in first["entries"]] == [e["id"] for e in entries[:2]]
    second = (await _call(stack, "GET", audit, params={"limit": 2, "before": first["nextBefore"]})).json()
    assert [e["id"] for e in second["entries"]] == [e["id"] for e in entries[2:4]]
    assert (await _call(stack, "GET", f"/admin/tenants/{other.tenant_id}/audit")).json() == {
        "entries": [],
        "nextBefore": None,
    }
    for params in ({"limit": 0}, {"limit": 501}, {"limit": "x"}, {"before": 0}, {"page": 1}):
        _error(await _call(stack, "GET", audit, params=params), 400, "INVALID_ARGUMENT")
    _error(await _call(stack, "GET", audit + "?limit=1&limit=2"), 400, "INVALID_ARGUMENT")
