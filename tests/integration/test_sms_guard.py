"""The SMS-fraud controls over HTTP (gateway.push.guard): error shapes and Retry-After, the usage
route, the admin's per-tenant policy, and a pumping run over sequential numbers, on both databases."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.test_push import Bank, _channels, _error, _phone, _push_stack
from tests.leaks import SENSITIVE

pytestmark = pytest.mark.integration


async def test_a_pumping_run_over_one_prefix_is_cut_off_and_reported(own_database_url: str) -> None:
    """80 sends to sequential numbers of one HLR block, as SMS pumping walks them: the first 30 are
    accepted, every later one answers 429 TOO_MANY_REQUESTS with a Retry-After of at most 10 minutes
    and sends nothing; the usage route counts only the accepted ones."""
    async with _push_stack(own_database_url, _channels()) as stack:
        bank = await Bank.create(stack)
        template = await bank.template()
        numbers = [f"+86139001{n:05d}" for n in range(80)]
        SENSITIVE.update(numbers)
        started = time.perf_counter()
        answers = [await bank.send(template, number) for number in numbers]
        elapsed = time.perf_counter() - started
        assert [a.status_code for a in answers] == [202] * 30 + [429] * 50
        for refused in answers[30:]:
            _error(refused, 429, "TOO_MANY_REQUESTS")
            assert 1 <= int(refused.headers["Retry-After"]) <= 600
        usage = (await stack.http.get(f"{stack.gateway_url}/push/v1/usage", headers=_bearer(bank))).json()
        assert (usage["messages"], usage["segments"]) == (30, 30)
        assert usage["timeZone"] == "Asia/Shanghai" and usage["policy"]["prefixPer10Min"] == 30
        assert usage["remainingSegments"] == usage["policy"]["dailyBudget"] - 30
        assert elapsed < 30


async def test_non_mobile_targets_answer_422_in_the_error_shape(sqlite_url: str) -> None:
    """A fixed line and a 95xxx service number: 422 INVALID_PHONE_NUMBER; nothing is counted."""
    async with _push_stack(sqlite_url, _channels()) as stack:
        bank = await Bank.create(stack)
        template = await bank.template()
        for number in ("+861012345678", "+8695588"):
            SENSITIVE.add(number)
            _error(await bank.send(template, number), 422, "INVALID_PHONE_NUMBER")
        usage = (await stack.http.get(f"{stack.gateway_url}/push/v1/usage", headers=_bearer(bank))).json()
        assert usage["messages"] == 0


async def test_the_admin_sets_a_budget_and_the_tenant_meets_quota_exceeded(own_database_url: str) -> None:
    """The admin lowers one tenant's budget to 2 segments: its third message answers 429
    QUOTA_EXCEEDED with Retry-After to the next Shanghai midnight; another tenant still sends."""
    async with _push_stack(own_database_url, _channels()) as stack:
        bank, other = await Bank.create(stack), await Bank.create(stack)
        stored = await _put_policy(stack, bank.creds.tenant_id, {"dailyBudget": 2})
        assert stored.status_code == 200, stored.text
        assert stored.json()["policy"] == {
            "numberPer10Min": 5,
            "numberPerDay": 20,
            "prefixPer10Min": 30,
            "prefixPerDay": 300,
            "dailyBudget": 2,
        }
        template = await bank.template()
        for _ in range(2):
            assert (await bank.send(template, _phone())).status_code == 202
        refused = await bank.send(template, _phone())
        _error(refused, 429, "QUOTA_EXCEEDED")
        assert 1 <= int(refused.headers["Retry-After"]) <= 86_400
        assert (await other.send(await other.template(), _phone())).status_code == 202


@pytest.mark.parametrize(
    "body",
    [
        {"dailyBudget": 0},
        {"numberPer10Min": -1},
        {"prefixPerDay": "300"},
        {"numberPerDay": 1.5},
        {"dailyBudget": 10**12},
        {"perNumber": 3},
        [],
    ],
    ids=["zero", "negative", "string", "fraction", "huge", "unknown field", "not an object"],
)
async def test_a_malformed_policy_is_400_and_changes_nothing(sqlite_url: str, body: Any) -> None:
    """Each malformed policy body answers 400 INVALID_ARGUMENT; the tenant keeps the defaults."""
    async with _push_stack(sqlite_url, _channels()) as stack:
        bank = await Bank.create(stack)
        _error(await _put_policy(stack, bank.creds.tenant_id, body), 400, "INVALID_ARGUMENT")
        usage = (await stack.http.get(f"{stack.gateway_url}/push/v1/usage", headers=_bearer(bank))).json()
        assert usage["policy"]["dailyBudget"] == 10_000


async def test_the_policy_route_is_the_admins_and_names_an_existing_tenant(sqlite_url: str) -> None:
    """A tenant's own bearer cannot set limits (401); an unknown tenant id is 404."""
    async with _push_stack(sqlite_url, _channels()) as stack:
        bank = await Bank.create(stack)
        as_tenant = await stack.http.put(
            f"{stack.gateway_url}/admin/tenants/{bank.creds.tenant_id}/sms-policy",
            json={"dailyBudget": 10**6},
            headers=_bearer(bank),
        )
        _error(as_tenant, 401, "UNAUTHENTICATED")
        _error(await _put_policy(stack, "no-such-tenant", {}), 404, "NOT_FOUND")


def _bearer(bank: Bank) -> dict[str, str]:
    return {"Authorization": f"Bearer {bank.bearer}"}


async def _put_policy(stack: Any, tenant_id: str, body: Any) -> Any:
    return await stack.http.put(
        f"{stack.gateway_url}/admin/tenants/{tenant_id}/sms-policy",
        json=body,
        headers={"Authorization": f"Bearer {stack.admin_token}"},
    )
