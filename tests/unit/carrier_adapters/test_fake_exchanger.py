"""The in-memory FakeExchanger that gateway unit tests use in place of an operator."""

from __future__ import annotations

import pytest

from carrier_adapters import (
    Assurance,
    CarrierTimeout,
    NumberNotServed,
    OneTapExchanger,
    TokenRejected,
    VerifyResult,
    operator_for_token,
)
from carrier_adapters.testing import FakeExchanger

PHONE = "+8613800138000"


def test_fake_is_a_one_tap_exchanger() -> None:
    """The fake satisfies the protocol and reports the real operator's code and token lifetime."""
    fake = FakeExchanger("cucc")

    assert isinstance(fake, OneTapExchanger)
    assert fake.operator == "cucc"
    assert fake.token_lifetime == 1800


@pytest.mark.parametrize("operator", ["cmcc", "cucc", "ctcc"])
def test_issued_tokens_have_the_operator_shape(operator: str) -> None:
    """Minted tokens are recognised by the fake and routed to its operator."""
    fake = FakeExchanger(operator)
    token = fake.issue(PHONE)

    assert fake.recognises(token)
    assert operator_for_token(token, {operator: fake}) == operator


async def test_login_returns_the_number_once() -> None:
    """A login token yields its phone and assurance once; the second use is a replay."""
    fake = FakeExchanger("ctcc")
    token = fake.issue(PHONE, assurance=Assurance.SMS)

    outcome = await fake.exchange_login(token)

    assert (outcome.operator, outcome.phone_number, outcome.assurance, outcome.billed) == (
        "ctcc",
        PHONE,
        Assurance.SMS,
        True,
    )
    with pytest.raises(TokenRejected) as caught:
        await fake.exchange_login(token)
    assert caught.value.code == "replay"
    assert fake.calls == [("exchange_login", token), ("exchange_login", token)]


async def test_verify_compares_numbers() -> None:
    """A verify token passes for its own number and is rejected (billed) for another."""
    fake = FakeExchanger()
    own, other = fake.issue(PHONE, purpose="verify"), fake.issue(PHONE, purpose="h5")

    passed = await fake.verify_number(own, PHONE)
    rejected = await fake.verify_number(other, "+8613900139000")

    assert (passed.result, passed.billed) == (VerifyResult.PASS, True)
    assert (rejected.result, rejected.billed) == (VerifyResult.REJECT, True)
    assert passed.provider_ref != rejected.provider_ref


async def test_forced_unknown_is_not_billed() -> None:
    """A token issued with verify_result=UNKNOWN checks as UNKNOWN, not billed."""
    fake = FakeExchanger()
    token = fake.issue(PHONE, purpose="verify", verify_result=VerifyResult.UNKNOWN)

    outcome = await fake.verify_number(token, PHONE)

    assert (outcome.result, outcome.billed) == (VerifyResult.UNKNOWN, False)


async def test_wrong_purpose_and_unknown_tokens_are_rejected() -> None:
    """Login tokens fail on verify and the reverse; unknown tokens are invalid."""
    fake = FakeExchanger()
    login, check = fake.issue(PHONE), fake.issue(PHONE, purpose="verify")

    with pytest.raises(TokenRejected, match="purpose"):
        await fake.verify_number(login, PHONE)
    with pytest.raises(TokenRejected, match="purpose"):
        await fake.exchange_login(check)
    with pytest.raises(TokenRejected) as caught:
        await fake.exchange_login("STsid" + "0" * 32)
    assert caught.value.code == "invalid"


async def test_queued_failures_come_first_in_order() -> None:
    """Failures queued with fail_next are raised one per call, before token rules, then service resumes."""
    fake = FakeExchanger()
    token = fake.issue(PHONE, purpose="verify")
    fake.fail_next(CarrierTimeout("cmcc", "slow"), NumberNotServed("cmcc", "not ours"))

    with pytest.raises(CarrierTimeout):
        await fake.verify_number(token, PHONE)
    with pytest.raises(NumberNotServed):
        await fake.verify_number(token, PHONE)
    assert (await fake.verify_number(token, PHONE)).result is VerifyResult.PASS


async def test_ping_follows_up_flag() -> None:
    """ping() reports the up flag."""
    fake = FakeExchanger(up=False)

    assert await fake.ping() is False
    fake.up = True
    assert await fake.ping() is True
