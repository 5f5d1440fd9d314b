"""FakeExchanger as a whole Operator: seeded line history, customer records, ineligible lines and codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from carrier_adapters import (
    AuthMethod,
    CarrierTimeout,
    LineNotEligible,
    NetworkIdentity,
    NumberNotServed,
    Operator,
    SwapHistory,
    TokenRejected,
)
from carrier_adapters.testing import FakeExchanger

PHONE = "+8613800138000"
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REDIRECT = "https://gw.example/cb"


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


@pytest.mark.parametrize(("operator", "hours"), [("cmcc", 2400), ("cucc", 720), ("ctcc", 1440)])
def test_fake_is_an_operator_with_the_real_window(operator: str, hours: int) -> None:
    """The fake satisfies the Operator protocol and reports the real operator's history window."""
    fake = FakeExchanger(operator)

    assert isinstance(fake, Operator)
    assert fake.history_window_hours == hours


async def test_seeded_history_is_answered() -> None:
    """set_history seeds both histories; the window defaults to the operator's, in days."""
    fake = FakeExchanger("cucc")
    fake.set_history(PHONE, sim=WHEN, device=None)

    assert await fake.sim_history(PHONE) == SwapHistory("cucc", WHEN, 30)
    assert await fake.device_history(PHONE) == SwapHistory("cucc", None, 30)


async def test_history_window_and_unknown_device() -> None:
    """window_days overrides the window; device_known=False makes the device history 'no data'."""
    fake = FakeExchanger("cmcc")
    fake.set_history(PHONE, sim=None, window_days=7, device_known=False)

    assert await fake.sim_history(PHONE) == SwapHistory("cmcc", None, 7)
    assert await fake.device_history(PHONE) == SwapHistory("cmcc", None, 7, known=False)


def test_naive_history_datetimes_are_refused() -> None:
    """History datetimes must be timezone-aware."""
    with pytest.raises(ValueError, match="aware"):
        FakeExchanger().set_history(PHONE, sim=datetime(2026, 1, 1))


async def test_unseeded_numbers_are_not_served() -> None:
    """Unseeded numbers raise NumberNotServed on each line-insight call; record-only lines have no history."""
    fake = FakeExchanger()
    fake.set_record(PHONE, {"name": "张三"})

    with pytest.raises(NumberNotServed):
        await fake.sim_history("+8613900139000")
    with pytest.raises(NumberNotServed):
        await fake.customer_record("+8613900139000")
    with pytest.raises(NumberNotServed):
        await fake.device_history(PHONE)


async def test_customer_record_and_its_absence() -> None:
    """set_record seeds the record (a copy); a line with history but no record raises NumberNotServed."""
    fake = FakeExchanger("ctcc")
    attributes = {"name": "张三", "birthdate": "1990-01-01"}
    fake.set_record(PHONE, attributes)
    attributes["name"] = "changed"
    fake.set_history("+8618900189000", sim=WHEN)

    record = await fake.customer_record(PHONE)

    assert (record.operator, dict(record.attributes)) == ("ctcc", {"name": "张三", "birthdate": "1990-01-01"})
    with pytest.raises(NumberNotServed):
        await fake.customer_record("+8618900189000")


async def test_ineligible_lines() -> None:
    """set_ineligible makes every line-insight call raise LineNotEligible, seeded or not."""
    fake = FakeExchanger()
    fake.set_history(PHONE, sim=WHEN)
    fake.set_ineligible(PHONE)
    fake.set_ineligible("+8613900139000")

    for call in (fake.sim_history, fake.device_history, fake.customer_record):
        with pytest.raises(LineNotEligible):
            await call(PHONE)
        with pytest.raises(LineNotEligible):
            await call("+8613900139000")


async def test_issued_codes_are_single_use() -> None:
    """A code yields its phone and method once; reuse and unknown codes are TokenRejected."""
    fake = FakeExchanger("cucc")
    code = fake.issue_code(PHONE, AuthMethod.SMS_OTP)

    identity = await fake.exchange_code(code, redirect_uri=REDIRECT)

    assert (identity.operator, identity.phone_number, identity.method) == ("cucc", PHONE, AuthMethod.SMS_OTP)
    with pytest.raises(TokenRejected) as reused:
        await fake.exchange_code(code, redirect_uri=REDIRECT)
    with pytest.raises(TokenRejected) as unknown:
        await fake.exchange_code("nope", redirect_uri=REDIRECT)
    assert (reused.value.code, unknown.value.code) == ("replay", "invalid")
    assert fake.calls[-3:] == [("exchange_code", code), ("exchange_code", code), ("exchange_code", "nope")]


async def test_codes_bound_to_a_redirect_uri() -> None:
    """A code issued for a redirect_uri is refused for another one, without being spent."""
    fake = FakeExchanger()
    code = fake.issue_code(PHONE, redirect_uri=REDIRECT)

    with pytest.raises(TokenRejected) as caught:
        await fake.exchange_code(code, redirect_uri="https://elsewhere.example/cb")
    assert caught.value.code == "redirect"
    assert (await fake.exchange_code(code, redirect_uri=REDIRECT)).method is AuthMethod.NETWORK


async def test_authorization_url_and_approve() -> None:
    """authorization_url embeds redirect_uri, state and hint on a fake host; approve answers the callback."""
    fake = FakeExchanger("ctcc")
    url = fake.authorization_url(redirect_uri=REDIRECT + "?a=1", state="st-9", login_hint=PHONE)

    assert urlsplit(url).hostname == "ctcc.fake-operator.test"
    assert query(url) == {"redirect_uri": REDIRECT + "?a=1", "state": "st-9", "login_hint": PHONE}
    assert "login_hint" not in fake.authorization_url(redirect_uri=REDIRECT, state="s", login_hint=None)

    callback = fake.approve(url, PHONE, AuthMethod.SMS_OTP)

    assert callback.startswith(REDIRECT + "?a=1&code=")
    params = query(callback)
    assert params["state"] == "st-9"
    identity = await fake.exchange_code(params["code"], redirect_uri=REDIRECT + "?a=1")
    assert identity == NetworkIdentity("ctcc", PHONE, AuthMethod.SMS_OTP, identity.provider_ref)


async def test_queued_failures_apply_to_every_operator_call() -> None:
    """fail_next errors are raised by line-insight calls and code exchanges too, in order, before any rule."""
    fake = FakeExchanger()
    fake.set_history(PHONE, sim=WHEN - timedelta(days=1))
    code = fake.issue_code(PHONE)
    fake.fail_next(CarrierTimeout("cmcc", "slow"), NumberNotServed("cmcc", "gone"))

    with pytest.raises(CarrierTimeout):
        await fake.sim_history(PHONE)
    with pytest.raises(NumberNotServed):
        await fake.exchange_code(code, redirect_uri=REDIRECT)
    assert (await fake.exchange_code(code, redirect_uri=REDIRECT)).phone_number == PHONE
    assert fake.calls[0] == ("sim_history", PHONE)
