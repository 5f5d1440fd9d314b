"""Verification SMS over real sockets, on SQLite and PostgreSQL: templates of the ``verification``
category (API shapes, built-ins, review, bad input) and push messages from them (no link row and no
``link`` in the answers, never held by quiet hours, the code neither in the stored params, nor
plainly hashed in the idempotency record, nor in any log line)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from gateway.crypto import FieldCipher, Keyring
from gateway.db import create_engine
from gateway.push.idempotency import fingerprint
from gateway.push.models import IdempotencyRecord, PushLink, PushMessage, params_aad, text_aad
from gateway.templates import count_segments
from tests.conftest import LOG_SINK
from tests.leaks import SENSITIVE
from tests.stack import Stack, open_stack
from tests.unit.push.fakes import FakeSmsChannel

pytestmark = pytest.mark.integration
SHANGHAI = ZoneInfo("Asia/Shanghai")
SCOPES = ["push:send", "push:read", "templates:write"]
OTP: dict[str, Any] = {
    "name": "登录验证码",
    "category": "verification",
    "signature": "平安银行",
    "text": "{{code}}是您的登录验证码，{{minutes}}分钟内有效，请勿泄露。",  # noqa: RUF001
    "params": {"minutes": {"type": "number", "required": True}},
}
_MESSAGES: sa.Table = PushMessage.__table__  # type: ignore[attr-defined]
_LINKS: sa.Table = PushLink.__table__  # type: ignore[attr-defined]
_KEYS: sa.Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]


def _error(resp: httpx.Response, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"status", "code", "message"}
    assert (body["status"], body["code"]) == (status, code)
    assert "Traceback" not in resp.text
    return str(body["message"])


def _phone() -> str:
    phone = f"+86138{secrets.randbelow(10**8):08d}"
    SENSITIVE.update({phone, phone[3:]})
    return phone


def _code() -> str:
    """A ten-digit code: long enough that finding it in a log line cannot be a coincidence."""
    code = f"{secrets.randbelow(10**10):010d}"
    SENSITIVE.add(code)
    return code


def _seconds_until(now: datetime, hour: int) -> float:
    local = now.astimezone(SHANGHAI)
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    return (target - local).total_seconds()


@asynccontextmanager
async def _stack(url: str, channels: dict[str, FakeSmsChannel] | None = None) -> AsyncIterator[Stack]:
    async with open_stack(url, sms_channels=channels, push_dispatch_poll_seconds=0.05) as stack:
        yield stack


async def _bearer(stack: Stack, *, sandbox: bool = True) -> str:
    return await stack.access_token(await stack.tenant(SCOPES, sandbox=sandbox))


async def _template(stack: Stack, bearer: str, template_id: str) -> dict[str, Any]:
    resp = await stack.http.get(
        f"{stack.gateway_url}/push/v1/templates/{template_id}", headers={"Authorization": f"Bearer {bearer}"}
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _send(stack: Stack, bearer: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}", **({"Idempotency-Key": key} if key else {})}
    return await stack.http.post(f"{stack.gateway_url}/push/v1/messages", json=body, headers=headers)


async def test_verification_template_has_no_flow_quick_app_or_link(database_url: str) -> None:
    """A verification template is stored and shown without flow and quickApp; its segment estimate
    counts a 4-digit code; the verification built-ins install as ordinary templates."""
    async with _stack(database_url) as stack:
        bearer = await _bearer(stack)

        created = await stack.call("/push/v1/templates", bearer, OTP)

        assert created.status_code == 201, created.text
        assert created.json()["status"] == "approved"
        shown = await _template(stack, bearer, created.json()["id"])
        assert "flow" not in shown and "quickApp" not in shown
        assert (shown["category"], shown["text"], shown["params"]) == (
            "verification",
            OTP["text"],
            OTP["params"],
        )
        expected = count_segments(
            "【平安银行】" + OTP["text"].replace("{{code}}", "0000").replace("{{minutes}}", "")
        )
        assert shown["segmentsEstimate"] == {"segments": 1, "encoding": "ucs2", "units": expected.units}
        for name, text in (
            ("verification_code_zh-CN", "您的验证码是{{code}}，{{minutes}}分钟内有效。请勿告诉他人。"),  # noqa: RUF001
            ("verification_code_en", "Your code: {{code}}. Valid {{minutes}} min. Never share it."),
        ):
            installed = await stack.call(
                f"/push/v1/templates/builtin/{name}", bearer, {"signature": "平安银行"}
            )
            assert installed.status_code == 201, installed.text
            builtin = await _template(stack, bearer, installed.json()["id"])
            assert (builtin["builtin"], builtin["category"], builtin["text"]) == (name, "verification", text)
            assert "flow" not in builtin and "quickApp" not in builtin


async def test_verification_templates_are_reviewed_like_any_other(database_url: str) -> None:
    """A normal tenant's verification built-in is pending and cannot be sent until the admin approves it."""
    async with _stack(database_url) as stack:
        bearer = await _bearer(stack, sandbox=False)
        installed = await stack.call(
            "/push/v1/templates/builtin/verification_code_zh-CN", bearer, {"signature": "平安银行"}
        )
        assert installed.json()["status"] == "pending"
        template_id = installed.json()["id"]
        body = {"templateId": template_id, "to": _phone(), "params": {"code": "123456", "minutes": 5}}

        _error(await _send(stack, bearer, body), 422, "TEMPLATE_NOT_APPROVED")
        approved = await stack.call(f"/admin/templates/{template_id}/approve", stack.admin_token)
        assert approved.json()["status"] == "approved"

        assert (await _send(stack, bearer, body)).status_code == 202


@pytest.mark.parametrize(
    ("change", "starts"),
    [
        pytest.param({"flow": "claim_location"}, "flow: ", id="flow"),
        pytest.param({"quickApp": {"package": "com.bank.app", "page": "Otp"}}, "quickApp: ", id="quick-app"),
        pytest.param(
            {"text": "验证码{{code}} {{link}} {{minutes}}"}, "text: verification texts must not", id="link"
        ),
        pytest.param(
            {"text": "验证码 https://x.example {{code}}{{minutes}}"},
            "text: verification texts carry",
            id="url",
        ),
        pytest.param({"text": "您的验证码{{minutes}}分钟有效"}, "text: must contain {{code}}", id="no-code"),
        pytest.param(
            {"params": {"code": {"type": "string"}, "minutes": {"type": "number"}}},
            "params: 'code' is reserved",
            id="declared-code",
        ),
        pytest.param({"category": "otp"}, "", id="category"),
        pytest.param(
            {"category": "notification"}, "flow: required for notification", id="linked-without-flow"
        ),
    ],
)
async def test_bad_verification_templates_are_400(
    sqlite_url: str, change: dict[str, Any], starts: str
) -> None:
    """Each broken rule answers 400 INVALID_ARGUMENT in the error shape, naming the field."""
    async with _stack(sqlite_url) as stack:
        bearer = await _bearer(stack)

        message = _error(
            await stack.call("/push/v1/templates", bearer, {**OTP, **change}), 400, "INVALID_ARGUMENT"
        )

        assert message.startswith(starts)
        refused = await stack.call(
            "/push/v1/templates/builtin/verification_code_en",
            bearer,
            {"signature": "Bank", "quickApp": {"package": "com.bank.app", "page": "Otp"}},
        )
        assert _error(refused, 400, "INVALID_ARGUMENT").startswith("quickApp: ")


async def test_a_verification_sms_at_22h_is_sent_at_once_without_link_or_stored_code(
    database_url: str,
) -> None:
    """At 22:00 Shanghai a verification SMS is accepted without scheduledAt or link and sent at once;
    no link row exists; the stored params lack the code; the idempotency record does not hash it
    plainly; the text reaches the operator; no log line carries the code or the text."""
    channels = {op: FakeSmsChannel(op) for op in ("cmcc", "cucc", "ctcc")}
    async with _stack(database_url, channels) as stack:
        creds = await stack.tenant(SCOPES, sandbox=True)
        bearer = await stack.access_token(creds)
        template_id = (
            await stack.call(
                "/push/v1/templates/builtin/verification_code_zh-CN", bearer, {"signature": "平安银行"}
            )
        ).json()["id"]
        stack.clock.advance(_seconds_until(stack.clock.now(), 22))
        bearer = await stack.access_token(creds)
        phone, code = _phone(), _code()
        request = {"templateId": template_id, "to": phone, "params": {"code": code, "minutes": 5}}
        logs_from = len(LOG_SINK.getvalue())

        accepted = await _send(stack, bearer, request, key="otp-1")

        assert accepted.status_code == 202, accepted.text
        assert set(accepted.json()) == {"id", "status", "segments"}
        message_id = accepted.json()["id"]
        view = await stack.http.get(
            f"{stack.gateway_url}/push/v1/messages/{message_id}",
            headers={"Authorization": f"Bearer {bearer}"},
        )
        assert view.status_code == 200, view.text
        assert "link" not in view.json() and "scheduledAt" not in view.json()
        created = datetime.fromisoformat(view.json()["createdAt"].replace("Z", "+00:00"))
        assert datetime.fromisoformat(view.json()["expiresAt"].replace("Z", "+00:00")) - created == timedelta(
            minutes=10
        )
        deadline = asyncio.get_running_loop().time() + 15
        while not channels["cmcc"].accepted:
            assert asyncio.get_running_loop().time() < deadline, "the SMS was not sent"
            await asyncio.sleep(0.05)
        (sent,) = channels["cmcc"].accepted.values()
        assert sent.text == f"【平安银行】您的验证码是{code}，5分钟内有效。请勿告诉他人。"  # noqa: RUF001

        replay = await _send(stack, bearer, request, key="otp-1")
        assert replay.json() == accepted.json() and replay.headers["Idempotent-Replayed"] == "true"
        other = {**request, "params": {"code": "1234", "minutes": 5}}
        _error(await _send(stack, bearer, other, key="otp-1"), 409, "IDEMPOTENCY_KEY_REUSED")

        engine = create_engine(stack.settings.database_url)
        try:
            async with engine.connect() as conn:
                message = (await conn.execute(sa.select(_MESSAGES).where(_MESSAGES.c.id == message_id))).one()
                links = (await conn.execute(sa.select(_LINKS).where(_LINKS.c.message_id == message_id))).all()
                record = (await conn.execute(sa.select(_KEYS).where(_KEYS.c.key == "otp-1"))).one()
        finally:
            await engine.dispose()
        keys = stack.settings.data_keys
        assert keys is not None
        cipher = FieldCipher(Keyring.parse(keys.get_secret_value()))
        tenant_id = message.tenant_id
        assert links == []
        assert json.loads(cipher.decrypt(message.params_cipher, aad=params_aad(tenant_id, message_id))) == {
            "minutes": 5
        }
        assert cipher.decrypt(message.text_cipher, aad=text_aad(tenant_id, message_id)) == sent.text
        assert code not in message.text_cipher and code not in record.response
        assert record.request_hash != fingerprint(request)
        logged = LOG_SINK.getvalue()[logs_from:]
        assert message_id in logged
        assert code not in logged and "您的验证码" not in logged


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        pytest.param({"minutes": 5}, 422, "MISSING_PARAM", id="no-code"),
        pytest.param({"code": "", "minutes": 5}, 422, "MISSING_PARAM", id="empty-code"),
        pytest.param({"code": None, "minutes": 5}, 422, "MISSING_PARAM", id="null-code"),
        pytest.param({"code": "12345"}, 422, "MISSING_PARAM", id="no-minutes"),
        pytest.param({"code": "123", "minutes": 5}, 400, "INVALID_ARGUMENT", id="short"),
        pytest.param({"code": "12345678901", "minutes": 5}, 400, "INVALID_ARGUMENT", id="long"),
        pytest.param({"code": "12ab56", "minutes": 5}, 400, "INVALID_ARGUMENT", id="letters"),
        pytest.param({"code": 123456, "minutes": 5}, 400, "INVALID_ARGUMENT", id="number"),
        pytest.param({"code": "١٢٣٤٥٦", "minutes": 5}, 400, "INVALID_ARGUMENT", id="arabic-digits"),
        pytest.param({"code": "123456", "minutes": 5, "link": "x"}, 400, "INVALID_ARGUMENT", id="link"),
    ],
)
async def test_a_missing_or_malformed_code_is_refused(
    sqlite_url: str, params: dict[str, Any], status: int, code: str
) -> None:
    """A missing code is 422 MISSING_PARAM, a malformed one (or an unknown parameter) 400
    INVALID_ARGUMENT; the message never repeats the value; nothing is stored."""
    async with _stack(sqlite_url) as stack:
        bearer = await _bearer(stack)
        template_id = (await stack.call("/push/v1/templates", bearer, OTP)).json()["id"]

        message = _error(
            await _send(stack, bearer, {"templateId": template_id, "to": _phone(), "params": params}),
            status,
            code,
        )

        if isinstance(params.get("code"), str) and params["code"]:
            assert params["code"] not in message
        usage = await stack.http.get(
            f"{stack.gateway_url}/push/v1/usage", headers={"Authorization": f"Bearer {bearer}"}
        )
        assert usage.json()["messages"] == 0
