"""Template API of contract §6 over real sockets, on SQLite and PostgreSQL: review states, tenant isolation,
built-ins, and bad input answered 400 (never 500)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.templates import count_segments
from tests.stack import Stack

pytestmark = pytest.mark.integration

CLAIM: dict[str, Any] = {
    "name": "理赔定位",
    "category": "notification",
    "signature": "平安保险",
    "text": "您的理赔案件{{claimNo}}需确认出险地点，请点击 {{link}} 共享位置。",  # noqa: RUF001
    "flow": "claim_location",
    "quickApp": {"package": "com.pingan.claims", "page": "Location"},
    "params": {"claimNo": {"type": "string", "required": True}},
}


def _assert_error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = resp.json()
    assert (body["status"], body["code"]) == (status, code)
    assert isinstance(body["message"], str) and "Traceback" not in resp.text
    return body


async def _writer(stack: Stack, **extra: Any) -> str:
    return await stack.access_token(await stack.tenant(["templates:write", "push:send"], **extra))


async def _get(stack: Stack, bearer: str, template_id: str) -> httpx.Response:
    return await stack.http.get(
        f"{stack.gateway_url}/push/v1/templates/{template_id}", headers={"Authorization": f"Bearer {bearer}"}
    )


async def _admin(stack: Stack, template_id: str, action: str, body: Any = None) -> httpx.Response:
    return await stack.call(f"/admin/templates/{template_id}/{action}", stack.admin_token, body)


async def test_normal_tenant_template_is_pending_until_the_admin_approves(stack: Stack) -> None:
    """Creation answers 201 pending; GET shows the template; the admin's approval makes it approved."""
    bearer = await _writer(stack)

    created = await stack.call("/push/v1/templates", bearer, CLAIM)

    assert created.status_code == 201, created.text
    assert set(created.json()) == {"id", "status"}
    assert created.json()["status"] == "pending"
    template_id = created.json()["id"]
    assert created.headers["Location"] == f"/push/v1/templates/{template_id}"
    shown = (await _get(stack, bearer, template_id)).json()
    assert shown["status"] == "pending" and "decidedAt" not in shown
    assert (shown["text"], shown["signature"], shown["params"]) == (
        CLAIM["text"],
        "平安保险",
        CLAIM["params"],
    )
    assert (shown["category"], shown["flow"], shown["quickApp"]) == (
        "notification",
        "claim_location",
        CLAIM["quickApp"],
    )
    sample_link = "x" * (len(f"{stack.settings.issuer}/l/") + 22)
    expected = count_segments(
        "【平安保险】" + CLAIM["text"].replace("{{claimNo}}", "").replace("{{link}}", sample_link)
    )
    assert shown["segmentsEstimate"] == {
        "segments": expected.segments,
        "encoding": "ucs2",
        "units": expected.units,
    }

    approved = await _admin(stack, template_id, "approve")

    assert approved.status_code == 200, approved.text
    assert approved.json() == {"id": template_id, "status": "approved"}
    shown = (await _get(stack, bearer, template_id)).json()
    assert shown["status"] == "approved" and shown["decidedAt"].endswith("Z")


async def test_sandbox_tenant_template_is_approved_at_once(stack: Stack) -> None:
    """A sandbox tenant's template needs no review."""
    bearer = await _writer(stack, sandbox=True)

    created = await stack.call("/push/v1/templates", bearer, CLAIM)

    assert created.status_code == 201, created.text
    assert created.json()["status"] == "approved"
    assert (await _get(stack, bearer, created.json()["id"])).json()["status"] == "approved"


async def test_rejection_carries_a_reason_and_can_withdraw_an_approval(stack: Stack) -> None:
    """The admin rejects with a reason the tenant sees; approving again is possible, rejecting again too."""
    bearer = await _writer(stack)
    template_id = (await stack.call("/push/v1/templates", bearer, CLAIM)).json()["id"]

    rejected = await _admin(stack, template_id, "reject", {"reason": "签名未报备"})

    assert rejected.json() == {"id": template_id, "status": "rejected", "reason": "签名未报备"}
    shown = (await _get(stack, bearer, template_id)).json()
    assert (shown["status"], shown["reason"]) == ("rejected", "签名未报备")
    assert (await _admin(stack, template_id, "approve", {})).json()["status"] == "approved"
    assert "reason" not in (await _get(stack, bearer, template_id)).json()
    assert (await _admin(stack, template_id, "reject", {"reason": "withdrawn"})).json()[
        "status"
    ] == "rejected"


async def test_another_tenants_template_is_not_found(stack: Stack) -> None:
    """A tenant reading another tenant's template gets 404 NOT_FOUND, as for an unknown id."""
    owner = await _writer(stack)
    other = await _writer(stack)
    template_id = (await stack.call("/push/v1/templates", owner, CLAIM)).json()["id"]

    _assert_error(await _get(stack, other, template_id), 404, "NOT_FOUND")
    _assert_error(await _get(stack, other, "7d0e6a8c-1f59-4b8e-9d59-2a4b1f3c9e01"), 404, "NOT_FOUND")
    _assert_error(await _get(stack, other, "not-a-uuid%00"), 404, "NOT_FOUND")
    assert (await _get(stack, owner, template_id)).status_code == 200


async def test_builtin_install_uses_the_tenants_signature(stack: Stack) -> None:
    """POST /push/v1/templates/builtin/{name} creates an ordinary template from templates/sms/."""
    bearer = await _writer(stack)

    created = await stack.call("/push/v1/templates/builtin/branch-queue", bearer, {"signature": "招商银行"})

    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending"
    shown = (await _get(stack, bearer, created.json()["id"])).json()
    assert (shown["builtin"], shown["flow"], shown["signature"]) == (
        "branch-queue",
        "branch_queue",
        "招商银行",
    )
    assert set(shown["params"]) == {"ticket", "branchName"}
    _assert_error(
        await stack.call("/push/v1/templates/builtin/nope", bearer, {"signature": "招商银行"}),
        404,
        "NOT_FOUND",
    )
    _assert_error(
        await stack.call("/push/v1/templates/builtin/claim-location", bearer, {"signature": "【招商银行】"}),
        400,
        "INVALID_ARGUMENT",
    )


async def test_admin_routes_need_the_admin_bearer(stack: Stack) -> None:
    """Approval with a tenant token or none is 401; an unknown template is 404."""
    bearer = await _writer(stack)
    template_id = (await stack.call("/push/v1/templates", bearer, CLAIM)).json()["id"]

    _assert_error(await stack.call(f"/admin/templates/{template_id}/approve", bearer), 401, "UNAUTHENTICATED")
    _assert_error(
        await stack.http.post(f"{stack.gateway_url}/admin/templates/{template_id}/approve"),
        401,
        "UNAUTHENTICATED",
    )
    _assert_error(await _admin(stack, "7d0e6a8c-1f59-4b8e-9d59-2a4b1f3c9e01", "approve"), 404, "NOT_FOUND")
    _assert_error(await _admin(stack, template_id, "approve", {"note": "x"}), 400, "INVALID_ARGUMENT")
    _assert_error(await _admin(stack, template_id, "reject", {}), 400, "INVALID_ARGUMENT")
    _assert_error(await _admin(stack, template_id, "reject", {"reason": "a\u0000b"}), 400, "INVALID_ARGUMENT")
    assert (await _get(stack, bearer, template_id)).json()["status"] == "pending"


async def test_scope_is_required(stack: Stack) -> None:
    """Creating needs templates:write (403 otherwise); reading is open to push:read too."""
    reader = await stack.access_token(await stack.tenant(["push:read"]))
    _assert_error(await stack.call("/push/v1/templates", reader, CLAIM), 403, "PERMISSION_DENIED")
    _assert_error(await stack.call("/push/v1/templates", "not-a-token", CLAIM), 401, "UNAUTHENTICATED")


def _with(**changes: Any) -> dict[str, Any]:
    body = {**CLAIM, **changes}
    return {k: v for k, v in body.items() if v is not None}


BAD_BODIES = [
    pytest.param(_with(text="{{ ''.__class__ }} {{link}}"), id="attribute"),
    pytest.param(_with(text="{{ claimNo.__init__ }} {{link}}"), id="dunder"),
    pytest.param(_with(text="{{ cycler.__init__.__globals__ }} {{link}}"), id="globals"),
    pytest.param(_with(text="{% for c in claimNo %}{{ c }}{% endfor %} {{link}}"), id="for"),
    pytest.param(_with(text="{{ claimNo|attr('upper') }} {{link}}"), id="attr-filter"),
    pytest.param(_with(text="{{ lipsum() }}{{claimNo}} {{link}}"), id="call"),
    pytest.param(_with(text="案件{{claimNo}}"), id="no-link"),
    pytest.param(_with(text="{{claimNo}} {{link}} {{amount}}"), id="undeclared"),
    pytest.param(_with(text="{{ link"), id="syntax"),
    pytest.param(_with(text="a\u0000{{claimNo}}{{link}}"), id="nul-in-text"),
    pytest.param(_with(signature="平"), id="short-signature"),
    pytest.param(_with(signature="【平安保险】"), id="bracketed-signature"),
    pytest.param(_with(signature="平安\u0000"), id="nul-in-signature"),
    pytest.param(_with(name="a\u0000b"), id="nul-in-name"),
    pytest.param(_with(category="promo"), id="category"),
    pytest.param(_with(flow="loan"), id="flow"),
    pytest.param(_with(params={"claimNo": {"type": "money"}}), id="param-type"),
    pytest.param(_with(params={"claimNo": {"type": "string", "x": 1}}), id="param-extra"),
    pytest.param(_with(params={"claimNo": {"type": "string"}, "link": {"type": "string"}}), id="param-link"),
    pytest.param(_with(quickApp={"package": "nodots", "page": "a"}), id="package"),
    pytest.param(_with(quickApp=None), id="no-quickapp"),
    pytest.param(_with(extra=True), id="unknown-property"),
    pytest.param(_with(text=None), id="no-text"),
    pytest.param([], id="array"),
]


@pytest.mark.parametrize("body", BAD_BODIES)
async def test_bad_input_is_400(stack: Stack, body: Any) -> None:
    """Each refused body is 400 INVALID_ARGUMENT with a message, never a 500."""
    bearer = await _writer(stack)
    _assert_error(await stack.call("/push/v1/templates", bearer, body), 400, "INVALID_ARGUMENT")
