"""The staff console over real sockets on SQLite and PostgreSQL: sign-in (right, wrong, disabled,
throttled, TOTP), the session cookie's flags, sessions that end server-side (sign-out, idle and
absolute ends, a disabled member, a password reset), CSRF and origin checks on every state change,
roles and branch assignment enforced by the server, the desk running a queue, TOTP enrolment by
the member, and the audit log.
Staff accounts are made through the admin API, as a bank's administrator makes them."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pyotp
import pytest

from gateway.crypto import FieldCipher, Keyring
from gateway.db import create_engine, session_factory
from gateway.staff.audit import StaffAudit
from gateway.staff.service import StaffService
from tests.leaks import SENSITIVE
from tests.stack import SESSION_DATA_KEYS, Stack
from tests.unit.console.support import ConsoleClient, admin_call, console_client, create_staff
from tests.unit.flows.support import Tenant, flows_stack, random_phone
from tests.unit.push.fakes import FakeSmsChannel

pytestmark = pytest.mark.integration
Flows = tuple[Stack, dict[str, FakeSmsChannel]]
API = "/console/api"


@pytest.fixture
async def flows(database_url: str) -> AsyncIterator[Flows]:
    """Gateway + sandbox with in-memory SMS channels, on SQLite and PostgreSQL."""
    async with flows_stack(database_url) as running:
        yield running


async def _bank_with_branches(stack: Stack, *names: str) -> tuple[Tenant, list[str]]:
    bank = await Tenant.create(stack)
    template = await bank.builtin("branch-queue", "平安银行")
    ids = []
    for name in names:
        resp = await bank.call("POST", "/push/v1/branches", {"name": name, "templateId": template})
        assert resp.status_code == 201, resp.text
        ids.append(str(resp.json()["id"]))
    return bank, ids


async def _signed_in(client: ConsoleClient, member: dict[str, Any], password: str) -> None:
    resp = await client.sign_in(member["username"], password)
    assert resp.status_code == 200, resp.text


async def _audit(stack: Stack, tenant_id: str) -> list[dict[str, Any]]:
    resp = await admin_call(stack, "GET", f"/admin/tenants/{tenant_id}/audit")
    assert resp.status_code == 200, resp.text
    entries: list[dict[str, Any]] = resp.json()["entries"]
    return entries


def _cookie_attributes(set_cookie: str) -> dict[str, str]:
    parts = [p.strip() for p in set_cookie.split(";")]
    name, _, value = parts[0].partition("=")
    attributes = {"name": name, "value": value}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        attributes[key.lower()] = val
    return attributes


async def test_sign_in_sets_a_strict_cookie_and_sign_out_ends_the_session(flows: Flows) -> None:
    """Sign-in answers the member, a CSRF token and the ends, with an HttpOnly, SameSite=Strict,
    Path=/console session cookie (no Secure on a loopback http gateway, no Max-Age); who-am-I
    works with the cookie; sign-out clears the cookie and ends the session on the server, so the
    old cookie value sent again is 401; both are in the audit log."""
    stack, _ = flows
    bank, [branch] = await _bank_with_branches(stack, "陆家嘴支行")
    member, password = await create_staff(stack, bank.creds.tenant_id, "teller", [branch])
    async with console_client(stack) as client:
        resp = await client.sign_in(member["username"], password)
        assert resp.status_code == 200, resp.text
        cookie = _cookie_attributes(resp.headers["set-cookie"])
        assert cookie["name"] == "gw_console" and re.fullmatch(r"gcs_[A-Za-z0-9_-]{43}", cookie["value"])
        assert cookie["path"] == "/console" and cookie["samesite"] == "Strict" and "httponly" in cookie
        assert "secure" not in cookie and "max-age" not in cookie and "expires" not in cookie
        assert resp.headers["cache-control"] == "no-store"
        body = resp.json()
        assert body["staff"] == {
            "id": member["id"],
            "username": member["username"],
            "role": "teller",
            "branches": [branch],
            "totpEnabled": False,
        }
        assert body["idleTimeoutSeconds"] == 900 and body["warningSeconds"] == 120
        assert 899 <= body["idleExpiresInSeconds"] <= 900 and 43_199 <= body["expiresInSeconds"] <= 43_200
        assert password not in resp.text

        again = await client.call("GET", "/session")
        assert again.status_code == 200 and again.json()["csrfToken"] == client.csrf

        out = await client.call("DELETE", "/session")
        assert out.status_code == 204
        cleared = _cookie_attributes(out.headers["set-cookie"])
        assert cleared["value"] in ("", '""') and cleared["max-age"] == "0" and cleared["path"] == "/console"
        replay = await stack.http.get(
            f"{stack.gateway_url}{API}/session", headers={"Cookie": f"gw_console={cookie['value']}"}
        )
        assert replay.status_code == 401 and replay.json()["code"] == "UNAUTHENTICATED"
    actions = [e["action"] for e in await _audit(stack, bank.creds.tenant_id)]
    assert actions[:2] == ["console.sign_out", "console.sign_in"]


async def test_the_cookie_is_secure_behind_an_https_public_url(sqlite_url: str) -> None:
    """With an https public URL the session cookie carries Secure."""
    async with flows_stack(sqlite_url, public_url="https://gw.bank.example") as (stack, _):
        bank, [branch] = await _bank_with_branches(stack, "外滩支行")
        member, password = await create_staff(stack, bank.creds.tenant_id, "teller", [branch])
        async with console_client(stack) as client:
            resp = await client.sign_in(member["username"], password)
            assert resp.status_code == 200, resp.text
            assert "secure" in _cookie_attributes(resp.headers["set-cookie"])


async def test_wrong_credentials_and_disabled_accounts_are_one_generic_401(flows: Flows) -> None:
    """A wrong password, an unknown username and a disabled account's right password all answer the
    same 401 UNAUTHENTICATED body, set no cookie, and name neither field."""
    stack, _ = flows
    bank, [branch] = await _bank_with_branches(stack, "陆家嘴支行")
    member, password = await create_staff(stack, bank.creds.tenant_id, "teller", [branch])
    async with console_client(stack) as client:
        wrong = await client.sign_in(member["username"], password + "x")
        unknown = await client.sign_in("nobody.here@bank", password)
        disabled = await admin_call(
            stack, "POST", f"/admin/tenants/{bank.creds.tenant_id}/staff/{member['id']}/disable"
        )
        assert disabled.status_code == 200, disabled.text
        refused = await client.sign_in(member["username"], password)
    for resp in (wrong, unknown, refused):
        assert resp.status_code == 401 and "set-cookie" not in resp.headers
        assert resp.json() == wrong.json()
    assert wrong.json()["code"] == "UNAUTHENTICATED"
    assert "password" in wrong.json()["message"] and member["username"] not in wrong.text


async def test_failed_sign_ins_are_throttled(flows: Flows) -> None:
    """Five failures from one address are plain 401s; the sixth starts a block, so the next attempt
    is 429 with Retry-After even with the right password; once the block has passed it signs in."""
    stack, _ = flows
    bank, [branch] = await _bank_with_branches(stack, "陆家嘴支行")
    member, password = await create_staff(stack, bank.creds.tenant_id, "teller", [branch])
    async with console_client(stack) as client:
        for _ in range(6):
            assert (await client.sign_in(member["username"], "Wrong-password-1")).status_code == 401
        blocked = await client.sign_in(member["username"], password)
        assert blocked.status_code == 429 and blocked.json()["code"] == "TOO_MANY_REQUESTS"
        assert int(blocked.headers["retry-after"]) >= 1
        stack.clock.advance(int(blocked.headers["retry-after"]))
        assert (await client.sign_in(member["username"], password)).status_code == 200


async def test_totp_is_asked_for_when_missing(flows: Flows) -> None:
    """An account with TOTP: the right password alone is 401 TOTP_REQUIRED; a wrong code is the
    generic 401; the authenticator's current code signs in."""
    stack, _ = flows
    bank, [branch] = await _bank_with_branches(stack, "陆家嘴支行")
    member, password = await create_staff(stack, bank.creds.tenant_id, "supervisor", [branch])
    engine = create_engine(stack.settings.database_url)
    try:
        sessions = session_factory(engine)
        cipher = FieldCipher(Keyring.parse(SESSION_DATA_KEYS))
        service = StaffService(
            sessions, audit=StaffAudit(sessions, clock=stack.clock), cipher=cipher, clock=stack.clock
        )
        totp = pyotp.TOTP((await service.begin_totp(member["id"])).secret)
        await service.confirm_totp(member["id"], totp.at(stack.clock.now()))
    finally:
        await engine.dispose()
    stack.clock.advance(30)
    async with console_client(stack) as client:
        asked = await client.sign_in(member["username"], password)
        assert asked.status_code == 401 and asked.json()["code"] == "TOTP_REQUIRED"
        assert asked.headers["www-authenticate"]
        assert "set-cookie" not in asked.headers
        code = totp.at(stack.clock.now())
        wrong = await client.sign_in(member["username"], password, "000000" if code != "000000" else "111111")
        assert wrong.status_code == 401 and wrong.json()["code"] == "UNAUTHENTICATED"
        signed = await client.sign_in(member["username"], password, code)
        assert signed.status_code == 200 and signed.json()["staff"]["totpEnabled"] is True


def _window(totp: pyotp.TOTP, at: datetime) -> set[str]:
    """The codes accepted at ``at``: its step's and one step either side."""
    return {totp.generate_otp(totp.timecode(at) + offset) for offset in (-1, 0, 1)}


def _other_code(totp: pyotp.TOTP, at: datetime) -> str:
    """A well-formed code that is not accepted at ``at``."""
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in _window(totp, at))


async def test_a_member_enrols_totp_in_the_console_and_then_signs_in_with_it(flows: Flows) -> None:
    """The two-step page is a public shell whose CSP allows data: images (the QR code) and no inline
    script. Beginning an enrolment without the member's password, or with a wrong one, is refused in
    the error shape. A signed-in teller begins an enrolment with it: the base32 secret, the otpauth
    URI naming the tenant and the member, and the QR code as a data:image/svg+xml;base64 URL, never
    cached. A wrong
    code is 400 INVALID_ARGUMENT in the error shape and leaves TOTP off; beginning again replaces
    the secret (the first one's code no longer confirms); the authenticator's code of the new secret
    turns TOTP on. Then beginning or confirming again is 409. After sign-out the password alone is
    401 TOTP_REQUIRED and the password with a later code signs in, a replay of that code does not.
    The audit log has the member's own entries, without the secret."""
    stack, _ = flows
    bank, [branch] = await _bank_with_branches(stack, "陆家嘴支行")
    member, password = await create_staff(stack, bank.creds.tenant_id, "teller", [branch])
    page = await stack.http.get(f"{stack.gateway_url}/console/security")
    assert page.status_code == 200 and 'data-page="security"' in page.text
    csp = page.headers["content-security-policy"]
    assert "img-src 'self' data:;" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp
    async with console_client(stack) as client:
        await _signed_in(client, member, password)
        missing = await client.call("POST", "/totp/enrolment")
        assert missing.status_code == 415 and missing.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
        for body in ({}, {"password": password + "x"}):
            refused = await client.call("POST", "/totp/enrolment", body)
            assert refused.status_code == 400 and refused.json()["code"] == "INVALID_ARGUMENT", refused.text
        first = await client.call("POST", "/totp/enrolment", {"password": password})
        assert first.status_code == 200, first.text
        assert first.headers["cache-control"] == "no-store"
        old_secret = first.json()["secret"]
        SENSITIVE.add(old_secret)
        wrong = await client.call(
            "POST", "/totp/confirm", {"code": _other_code(pyotp.TOTP(old_secret), stack.clock.now())}
        )
        assert wrong.status_code == 400 and wrong.json()["code"] == "INVALID_ARGUMENT"
        assert set(wrong.json()) == {"status", "code", "message"} and old_secret not in wrong.text
        assert (await client.ok("GET", "/session"))["staff"]["totpEnabled"] is False

        again = await client.call("POST", "/totp/enrolment", {"password": password})
        assert again.status_code == 200, again.text
        enrolment = again.json()
        secret = enrolment["secret"]
        SENSITIVE.add(secret)
        assert set(enrolment) == {"secret", "otpauthUri", "qrCode"} and secret != old_secret
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        parsed = pyotp.parse_uri(enrolment["otpauthUri"])
        assert parsed.secret == secret and parsed.name == member["username"]
        assert re.fullmatch(r"t-[0-9a-f]{6}", str(parsed.issuer))
        prefix = "data:image/svg+xml;base64,"
        assert enrolment["qrCode"].startswith(prefix)
        svg = base64.b64decode(enrolment["qrCode"].removeprefix(prefix), validate=True).decode()
        assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "<script" not in svg
        totp = pyotp.TOTP(secret)
        old_code = pyotp.TOTP(old_secret).at(stack.clock.now())
        if old_code != _other_code(totp, stack.clock.now()) and old_code not in _window(
            totp, stack.clock.now()
        ):
            stale = await client.call("POST", "/totp/confirm", {"code": old_code})
            assert stale.status_code == 400, stale.text
        code = totp.at(stack.clock.now())
        confirmed = await client.call("POST", "/totp/confirm", {"code": f"{code[:3]} {code[3:]}"})
        assert confirmed.status_code == 200, confirmed.text
        assert (
            confirmed.json()["staff"]["totpEnabled"] is True
            and confirmed.json()["staff"]["id"] == member["id"]
        )
        assert (await client.ok("GET", "/session"))["staff"]["totpEnabled"] is True
        for path, body in (("/totp/enrolment", {"password": password}), ("/totp/confirm", {"code": code})):
            conflict = await client.call("POST", path, body)
            assert conflict.status_code == 409 and conflict.json()["code"] == "TOTP_ENROLMENT_CONFLICT"
        assert (await client.call("DELETE", "/session")).status_code == 204

    stack.clock.advance(30)
    async with console_client(stack) as client:
        asked = await client.sign_in(member["username"], password)
        assert asked.status_code == 401 and asked.json()["code"] == "TOTP_REQUIRED"
        later = totp.at(stack.clock.now())
        signed = await client.sign_in(member["username"], password, later)
        assert signed.status_code == 200 and signed.json()["staff"]["totpEnabled"] is True
    async with console_client(stack) as replay:
        refused = await replay.sign_in(member["username"], password, later)
        assert refused.status_code == 401 and refused.json()["code"] == "UNAUTHENTICATED"

    entries = await _audit(stack, bank.creds.tenant_id)
    mine = [e["action"] for e in reversed(entries) if e["staffId"] == member["id"]]
    assert mine == [
        "console.sign_in",
        "staff.totp_enrolment_begun",
        "staff.totp_enrolment_begun",
        "staff.totp_enabled",
        "console.sign_out",
        "console.sign_in",
    ]
    assert all(
        e["target"] == f"staff:{member['id']}" for e in entries if e["action"].startswith("staff.totp")
    )
    assert secret not in str(entries) and old_secret not in str(entries)


async def test_every_state_change_needs_the_csrf_token_and_our_origin(flows: Flows) -> None:
    """Every state-changing console route refuses a missing or wrong X-CSRF-Token, a foreign Origin
    and a cross-site Sec-Fetch-Site with 403 PERMISSION_DENIED in the contract's shape, and nothing
    changes; a foreign Origin cannot sign in either. With the token from our origin it works."""
    stack, channels = flows
    bank, [branch] = await _bank_with_branches(stack, "陆家嘴支行")
    member, password = await create_staff(stack, bank.creds.tenant_id, "teller", [branch])
    desk = f"/branches/{branch}"
    phone = random_phone()
    changes = [
        ("POST", desk + "/tickets", {"phoneNumber": phone}),
        ("POST", desk + "/call-next", {"counter": 5}),
        ("POST", desk + "/recall", {"counter": 5}),
        ("POST", desk + "/no-show", {"counter": 5}),
        ("POST", "/totp/enrolment", None),
        ("POST", "/totp/confirm", {"code": "123456"}),
        ("DELETE", "/session", None),
    ]
    refusals: list[dict[str, str]] = [
        {"X-CSRF-Token": ""},
        {"X-CSRF-Token": "not-the-token"},
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ]
    async with console_client(stack) as client:
        await _signed_in(client, member, password)
        for method, path, body in changes:
            missing = await client.call(method, path, body, csrf=False)
            assert missing.status_code == 403, (path, missing.text)
            for headers in refusals:
                resp = await client.call(method, path, body, headers=headers)
                assert resp.status_code == 403, (path, headers, resp.text)
                assert resp.json() == missing.json()
        assert missing.json()["code"] == "PERMISSION_DENIED" and set(missing.json()) == {
            "status",
            "code",
            "message",
        }
        queue = await client.ok("GET", desk + "/queue")
        assert queue["waiting"] == [] and channels["cmcc"].inbox(changes[0][2]["phoneNumber"]) == []  # type: ignore[index]
        actions = {e["action"] for e in await _audit(stack, bank.creds.tenant_id)}
        assert "staff.totp_enrolment_begun" not in actions
        issued = await client.call(
            "POST", desk + "/tickets", changes[0][2], headers={"Origin": stack.gateway_url}
        )
        assert issued.status_code == 201, issued.text
        assert (await client.call("GET", "/session")).status_code == 200
    async with console_client(stack) as other:
        foreign = await other.sign_in(
            member["username"], password, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403 and "set-cookie" not in foreign.headers


async def test_a_teller_sees_only_assigned_branches(flows: Flows) -> None:
    """A teller of branch A lists only A; every desk route of branch B answers exactly what an
    unknown branch does (404 NOT_FOUND), and B's desk page is the 404 page; the admin-only audit
    route is 403. A supervisor of A is held to A as well; the tenant's admin sees both and the
    audit log; another tenant's admin gets 404 for A."""
    stack, _ = flows
    bank, [a, b] = await _bank_with_branches(stack, "陆家嘴支行", "外滩支行")
    other_bank, _ = await _bank_with_branches(stack, "南京路支行")
    unknown = "00000000-0000-4000-8000-000000000000"
    teller, teller_password = await create_staff(stack, bank.creds.tenant_id, "teller", [a])
    supervisor, supervisor_password = await create_staff(stack, bank.creds.tenant_id, "supervisor", [a])
    admin, admin_password = await create_staff(stack, bank.creds.tenant_id, "admin")
    outsider, outsider_password = await create_staff(stack, other_bank.creds.tenant_id, "admin")
    probes = [
        ("GET", "/queue", None),
        ("GET", "/calls", None),
        ("POST", "/tickets", {"phoneNumber": random_phone()}),
        ("POST", "/call-next", {"counter": 5}),
        ("POST", "/recall", {"counter": 5}),
        ("POST", "/no-show", {"counter": 5}),
    ]

    async def refused_everywhere(client: ConsoleClient, branch_id: str) -> None:
        for method, suffix, body in probes:
            resp = await client.call(method, f"/branches/{branch_id}{suffix}", body)
            control = await client.call(method, f"/branches/{unknown}{suffix}", body)
            assert resp.status_code == 404 and resp.json()["code"] == "NOT_FOUND", (suffix, resp.text)
            assert resp.json() == control.json() and branch_id not in resp.text
        page = await client.http.get(f"/console/branches/{branch_id}")
        assert page.status_code == 404 and "找不到此网点" in page.text

    async with console_client(stack) as client:
        await _signed_in(client, teller, teller_password)
        assert await client.ok("GET", "/branches") == {"branches": [{"id": a, "name": "陆家嘴支行"}]}
        await refused_everywhere(client, b)
        assert (await client.http.get(f"/console/branches/{a}")).status_code == 200
        audit = await client.call("GET", "/audit")
        assert audit.status_code == 403 and audit.json()["code"] == "PERMISSION_DENIED"
    async with console_client(stack) as client:
        await _signed_in(client, supervisor, supervisor_password)
        await refused_everywhere(client, b)
        assert (await client.call("GET", "/audit")).status_code == 403
    async with console_client(stack) as client:
        await _signed_in(client, admin, admin_password)
        listed = await client.ok("GET", "/branches")
        assert sorted(x["id"] for x in listed["branches"]) == sorted([a, b])
        assert (await client.call("GET", f"/branches/{b}/queue")).status_code == 200
        assert (await client.call("GET", "/audit")).status_code == 200
    async with console_client(stack) as client:
        await _signed_in(client, outsider, outsider_password)
        await refused_everywhere(client, a)


async def test_the_desk_runs_the_queue_and_the_audit_log_says_who(flows: Flows) -> None:
    """A teller issues a ticket to a national number typed with spaces (the SMS goes to +86…),
    calls it to counter 5, recalls it, marks it no-show; the queue shows the number masked, the
    day's calls show the no-show; a bad number is refused in words. The admin reads each action,
    by the teller, in the audit log, and no entry holds the number."""
    stack, channels = flows
    bank, [branch] = await _bank_with_branches(stack, "陆家嘴支行")
    teller, teller_password = await create_staff(stack, bank.creds.tenant_id, "teller", [branch])
    admin, admin_password = await create_staff(stack, bank.creds.tenant_id, "admin")
    phone = random_phone("139")
    national = f"{phone[3:6]} {phone[6:10]} {phone[10:]}"
    desk = f"/branches/{branch}"
    async with console_client(stack) as client:
        await _signed_in(client, teller, teller_password)
        bad = await client.call("POST", desk + "/tickets", {"phoneNumber": "1380013800"})
        assert bad.status_code == 400 and "11-digit mainland mobile number" in bad.json()["message"]
        issued = await client.call("POST", desk + "/tickets", {"phoneNumber": national})
        assert issued.status_code == 201, issued.text
        assert issued.json()["ticket"] == "A001"
        queue = await client.ok("GET", desk + "/queue")
        assert queue["waiting"][0]["phoneNumber"] == phone[:6] + "****" + phone[-4:]
        assert phone[3:] not in str(queue)
        called = await client.ok("POST", desk + "/call-next", {"counter": 5})
        assert (called["ticket"], called["counter"]) == ("A001", "5")
        assert (await client.ok("POST", desk + "/recall", {"counter": "5"}))["ticket"] == "A001"
        assert (await client.ok("POST", desk + "/no-show", {"counter": 5}))["ticket"] == "A001"
        again = await client.call("POST", desk + "/recall", {"counter": 5})
        assert again.status_code == 409 and again.json()["code"] == "NO_TICKET_CALLED"
        empty = await client.call("POST", desk + "/call-next", {"counter": 5})
        assert empty.status_code == 409 and empty.json()["code"] == "QUEUE_EMPTY"
        calls = (await client.ok("GET", desk + "/calls"))["calls"]
        assert [(c["ticket"], c["counter"], c["status"]) for c in calls] == [("A001", "5", "no_show")]
    assert len(channels["cmcc"].inbox(phone)) >= 1
    async with console_client(stack) as client:
        await _signed_in(client, admin, admin_password)
        entries = (await client.ok("GET", "/audit?limit=10"))["entries"]
    mine = [e for e in entries if e["staffId"] == teller["id"]]
    assert [e["action"] for e in reversed(mine)] == [
        "console.sign_in",
        "queue.ticket_issued",
        "queue.ticket_called",
        "queue.ticket_recalled",
        "queue.ticket_no_show",
    ]
    assert all(e["username"] == teller["username"] for e in mine)
    assert {e["target"] for e in mine[:4]} == {branch}
    assert mine[0]["detail"]["ticket"] == "A001" and mine[0]["detail"]["counter"] == "5"
    assert phone[3:] not in str(entries) and phone[-8:] not in str(entries)


async def test_sessions_end_when_idle_and_at_their_absolute_end(flows: Flows) -> None:
    """Polling the queue is not activity: 15 minutes after the last activity the session is 401.
    Activity moves the idle end. However active, a session ends 12 hours after sign-in."""
    stack, _ = flows
    bank, [branch] = await _bank_with_branches(stack, "陆家嘴支行")
    member, password = await create_staff(stack, bank.creds.tenant_id, "teller", [branch])
    async with console_client(stack) as client:
        await _signed_in(client, member, password)
        stack.clock.advance(14 * 60)
        assert (await client.call("GET", f"/branches/{branch}/queue")).status_code == 200
        stack.clock.advance(61)
        expired = await client.call("GET", f"/branches/{branch}/queue")
        assert expired.status_code == 401 and expired.json()["code"] == "UNAUTHENTICATED"

        await _signed_in(client, member, password)
        for _ in range(12 * 6 - 1):
            stack.clock.advance(10 * 60)
            kept = await client.call("GET", "/session")
            assert kept.status_code == 200, kept.text
        assert kept.json()["idleExpiresInSeconds"] <= 600
        stack.clock.advance(10 * 60)
        assert (await client.call("GET", "/session")).status_code == 401


async def test_disabling_or_resetting_a_member_ends_the_session(flows: Flows) -> None:
    """The admin API's disable ends the member's session at its next request (and enabling does
    not bring it back); after a new sign-in, a password reset ends that session too."""
    stack, _ = flows
    bank, [branch] = await _bank_with_branches(stack, "陆家嘴支行")
    member, password = await create_staff(stack, bank.creds.tenant_id, "teller", [branch])
    base = f"/admin/tenants/{bank.creds.tenant_id}/staff/{member['id']}"
    async with console_client(stack) as client:
        await _signed_in(client, member, password)
        assert (await admin_call(stack, "POST", base + "/disable")).status_code == 200
        assert (await client.call("GET", f"/branches/{branch}/queue")).status_code == 401
        assert (await admin_call(stack, "POST", base + "/enable")).status_code == 200
        assert (await client.call("GET", f"/branches/{branch}/queue")).status_code == 401
        await _signed_in(client, member, password)
        stack.clock.advance(1)
        reset = await admin_call(stack, "POST", base + "/reset-password", {"password": "Another-horse-10-x"})
        assert reset.status_code == 200, reset.text
        assert (await client.call("GET", "/session")).status_code == 401
        assert (await client.sign_in(member["username"], password)).status_code == 401


async def test_console_pages_carry_no_token(flows: Flows) -> None:
    """/console redirects to /console/, the sign-in page; the pages load only /flows/static scripts
    under a strict CSP (data: images only on the two-step page, for its QR code) and ask for no
    access token; a malformed branch id is the 404 page."""
    stack, _ = flows
    http, base = stack.http, stack.gateway_url
    root = await http.get(f"{base}/console", follow_redirects=False)
    assert root.status_code == 302 and root.headers["location"] == "/console/"
    for path in ("/console/", "/console/branches/00000000-0000-4000-8000-000000000000", "/console/security"):
        page = await http.get(base + path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert ("img-src 'self' data:;" in csp) == (path == "/console/security"), csp
        assert re.findall(r"<script[^>]*>", page.text) == [
            '<script src="/flows/static/console-session.js" defer>',
            '<script src="/flows/static/console.js" defer>',
        ]
        assert "Bearer" not in page.text and "access-token" not in page.text and "令牌" not in page.text
        assert "登录" in page.text and "Sign in" in page.text
    missing = await http.get(f"{base}/console/branches/not-a-branch")
    assert missing.status_code == 404 and "找不到此网点" in missing.text
    for name in ("console-session.js", "console.js"):
        script = await http.get(f"{base}/flows/static/{name}")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert "Authorization" not in script.text and "sessionStorage" not in script.text
