"""Failed redemptions counted per device and source (gateway.flows.attempts), on the in-memory store."""

from __future__ import annotations

import pytest

from gateway.errors import TooManyRequests, Unavailable
from gateway.failure_backoff import BackoffPolicy, InMemoryFailureBackoff
from gateway.flows.attempts import Attempts, Caller, new_device_id, valid_device_id
from gateway.flows.rules import Refusal
from tests.clocks import ManualClock


def _attempts(clock: ManualClock, attempts: int = 2) -> Attempts:
    return Attempts(InMemoryFailureBackoff(clock), attempts=attempts, window_seconds=600)


def test_device_ids_are_random_and_shaped() -> None:
    """New ids are distinct and valid; anything else a cookie may carry is not a device id."""
    first, second = new_device_id(), new_device_id()
    assert first != second and valid_device_id(first) and valid_device_id(second)
    for bad in (None, "", "dv_short", first + "x", "xx" + first[2:], 'dv_"; Path=/' + "a" * 12):
        assert not valid_device_id(bad), bad


def test_only_definitive_refusals_are_remembered() -> None:
    """NUMBER_MISMATCH and OPERATOR_MISMATCH are definitive, NOT_CONFIRMED (maybe the holder) is not."""
    assert Refusal.NUMBER_MISMATCH.definitive and Refusal.OPERATOR_MISMATCH.definitive
    assert not Refusal.NOT_CONFIRMED.definitive


async def test_a_wrong_phone_is_remembered_per_message_device_and_source() -> None:
    """After a definitive failure the same (message, device, source) is known wrong for the window;
    another message, device or source is not, and a non-definitive failure remembers nothing."""
    clock = ManualClock()
    attempts = _attempts(clock, attempts=10)
    wrong = Caller(new_device_id(), "10.64.1.7")
    await attempts.failed("m1", wrong, definitive=True)

    assert await attempts.known_wrong("m1", wrong)
    assert not await attempts.known_wrong("m2", wrong)
    assert not await attempts.known_wrong("m1", Caller(new_device_id(), "10.64.1.7"))
    assert not await attempts.known_wrong("m1", Caller(wrong.device, "10.80.3.3"))
    unsure = Caller(new_device_id(), "10.64.1.7")
    await attempts.failed("m1", unsure, definitive=False)
    assert not await attempts.known_wrong("m1", unsure)
    clock.advance(600)
    assert not await attempts.known_wrong("m1", wrong)


async def test_devices_and_sources_are_blocked_never_links() -> None:
    """The device is blocked after FLOW_REDEEM_ATTEMPTS failures, its source after five times as
    many; a success resets the device; nothing is counted per message."""
    clock = ManualClock()
    attempts = _attempts(clock, attempts=2)
    device = Caller(new_device_id(), "10.64.1.7")
    await attempts.failed("m1", device, definitive=False)
    await attempts.check(device)
    await attempts.failed("m1", device, definitive=False)
    with pytest.raises(TooManyRequests) as blocked:
        await attempts.check(device)
    assert blocked.value.headers["Retry-After"] == "600"
    await attempts.check(Caller(new_device_id(), "10.64.1.7"))

    await attempts.succeeded(device)
    await attempts.check(device)
    for _ in range(7):
        await attempts.failed("m1", Caller(new_device_id(), "10.64.1.7"), definitive=True)
    await attempts.check(Caller(new_device_id(), "10.64.1.7"))
    await attempts.failed("m1", Caller(new_device_id(), "10.64.1.7"), definitive=True)
    with pytest.raises(TooManyRequests):
        await attempts.check(Caller(new_device_id(), "10.64.1.7"))
    await attempts.check(Caller(new_device_id(), "10.80.3.3"))


class _Down:
    """A failure store that cannot answer (Redis down)."""

    async def blocked(self, *keys: str) -> int:
        raise Unavailable()

    async def failed(self, key: str, policy: BackoffPolicy) -> int:
        raise Unavailable()

    async def reset(self, *keys: str) -> None:
        raise Unavailable()


async def test_a_store_that_cannot_answer_refuses_rather_than_checks_unbounded() -> None:
    """Without the counts the redemption is 503 (Unavailable), never an unthrottled check."""
    attempts = Attempts(_Down(), attempts=10, window_seconds=600)
    caller = Caller(new_device_id(), "10.64.1.7")
    with pytest.raises(Unavailable):
        await attempts.known_wrong("m1", caller)
    with pytest.raises(Unavailable):
        await attempts.check(caller)
