"""Number Verification: network-authenticated, short-lived, single-use tokens; plain and hashed numbers."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from gateway.camara.number_verification import NumberVerificationService, hash_number
from gateway.errors import NotAuthenticatedByNetwork, Unauthenticated
from gateway.replay import InMemoryReplayCache
from tests.clocks import ManualClock
from tests.unit.camara.fakes import NOW, ListRecorder, three_legged, two_legged

PHONE = "+8613800138000"
OTHER = "+8613800138001"


@pytest.fixture
def recorder() -> ListRecorder:
    return ListRecorder()


@pytest.fixture
def service(recorder: ListRecorder) -> NumberVerificationService:
    clock = ManualClock(NOW)
    return NumberVerificationService(replay=InMemoryReplayCache(clock), recorder=recorder, clock=clock)


async def _verify(service: NumberVerificationService, *, jti: str = "jti-1", **number: str) -> bool:
    who = three_legged(PHONE, jti=jti)
    return await service.verify(who, service.subscriber(who), **number)


def test_hash_is_sha256_hex_of_the_e164_string_with_plus() -> None:
    """The CAMARA hash of +123456789 is the independently known test vector."""
    assert hash_number("+123456789") == "b49f9168e8a886ffd61a090b51a26e117717f5f6fa804af49ea67043a2bfa4f0"


async def test_plain_number_of_the_device_is_verified(
    service: NumberVerificationService, recorder: ListRecorder
) -> None:
    """The token's own number verifies true and leaves one billed usage row."""
    assert await _verify(service, phone_number=PHONE) is True
    [row] = recorder.rows
    assert (row.capability, row.result, row.operator, row.phone_number) == (
        "camara_number_verification_verify",
        "true",
        "cmcc",
        PHONE,
    )


async def test_another_plain_number_is_false_not_an_error(
    service: NumberVerificationService, recorder: ListRecorder
) -> None:
    """A different number answers false (200), recorded as such."""
    assert await _verify(service, phone_number=OTHER) is False
    assert recorder.rows[0].result == "false"


@pytest.mark.parametrize("case", [str.lower, str.upper], ids=["lowercase", "uppercase"])
async def test_hashed_number_of_the_device_is_verified_in_either_case(
    service: NumberVerificationService, case: object
) -> None:
    """The SHA-256 hex of the token's number verifies, in lower- or uppercase hex."""
    digest = hashlib.sha256(PHONE.encode()).hexdigest()
    assert callable(case)
    assert await _verify(service, hashed_phone_number=case(digest)) is True


async def test_hash_of_another_number_is_false(service: NumberVerificationService) -> None:
    """The hash of another number, or of the number without '+', answers false."""
    assert await _verify(service, hashed_phone_number=hash_number(OTHER)) is False
    unprefixed = hashlib.sha256(PHONE[1:].encode()).hexdigest()
    assert await _verify(service, jti="jti-2", hashed_phone_number=unprefixed) is False


async def test_device_phone_number_is_shared(
    service: NumberVerificationService, recorder: ListRecorder
) -> None:
    """The share operation returns the token's number and records a SHARED row."""
    who = three_legged(PHONE)
    assert await service.device_phone_number(who, service.subscriber(who)) == PHONE
    assert [(r.capability, r.result) for r in recorder.rows] == [
        ("camara_number_verification_share", "SHARED")
    ]


def test_two_legged_token_is_not_authenticated_by_the_network(service: NumberVerificationService) -> None:
    """A client-credentials token is 403 NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK."""
    with pytest.raises(NotAuthenticatedByNetwork) as caught:
        service.subscriber(two_legged("number-verification:verify"))
    assert caught.value.status == 403
    assert caught.value.code == "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK"


@pytest.mark.parametrize("amr", [("sms_otp",), ("tel",), ("pwd", "otp"), ()])
def test_tokens_without_network_authentication_are_refused(
    service: NumberVerificationService, amr: tuple[str, ...]
) -> None:
    """Any amr without "network" (SMS OTP, a tel: login hint, a password) is the NV 403."""
    with pytest.raises(NotAuthenticatedByNetwork):
        service.subscriber(three_legged(PHONE, amr=amr))


def test_network_among_several_methods_is_accepted(service: NumberVerificationService) -> None:
    """An amr that includes "network" is network authentication."""
    assert service.subscriber(three_legged(PHONE, amr=("network", "sms_otp"))).phone_number == PHONE


def test_token_living_longer_than_300_seconds_is_unauthenticated(service: NumberVerificationService) -> None:
    """A token with 301 s left is the generic 401; one with exactly 300 s is accepted."""
    with pytest.raises(Unauthenticated):
        service.subscriber(three_legged(PHONE, expires_at=NOW + timedelta(seconds=301)))
    assert service.subscriber(three_legged(PHONE, expires_at=NOW + timedelta(seconds=300)))


async def test_token_is_single_use_for_verify(
    service: NumberVerificationService, recorder: ListRecorder
) -> None:
    """A second verify with the same token is 401 UNAUTHENTICATED and records nothing."""
    await _verify(service, phone_number=PHONE)
    with pytest.raises(Unauthenticated):
        await _verify(service, phone_number=PHONE)
    assert len(recorder.rows) == 1


async def test_token_is_single_use_across_both_operations(service: NumberVerificationService) -> None:
    """A token spent on the share cannot verify, and one spent on verify cannot share."""
    shared = three_legged(PHONE, jti="a")
    await service.device_phone_number(shared, service.subscriber(shared))
    with pytest.raises(Unauthenticated):
        await service.verify(shared, service.subscriber(shared), phone_number=PHONE)
    verified = three_legged(PHONE, jti="b")
    await service.verify(verified, service.subscriber(verified), phone_number=PHONE)
    with pytest.raises(Unauthenticated):
        await service.device_phone_number(verified, service.subscriber(verified))


async def test_other_tokens_are_not_affected_by_a_spent_one(service: NumberVerificationService) -> None:
    """Single use is per token: a fresh token of the same subscriber still verifies."""
    assert await _verify(service, jti="first", phone_number=PHONE)
    assert await _verify(service, jti="second", phone_number=PHONE)


async def test_spent_marker_outlives_the_token_and_its_leeway() -> None:
    """The marker is still held 329 s later (token exp 300 s plus the verifier's 30 s leeway)."""
    clock = ManualClock(NOW)
    service = NumberVerificationService(
        replay=InMemoryReplayCache(clock), recorder=ListRecorder(), clock=clock
    )
    who = three_legged(PHONE)
    await service.verify(who, service.subscriber(who), phone_number=PHONE)
    clock.advance(seconds=329)
    assert who.subscriber is not None
    with pytest.raises(Unauthenticated):
        await service.verify(who, who.subscriber, phone_number=PHONE)
