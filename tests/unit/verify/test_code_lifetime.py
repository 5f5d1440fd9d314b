"""A code works only while its SMS step is active (gateway.verify.service over a real database, fakes
around it): a newer code replaces it, and a step that ended (skipped, expired) takes its code with it,
so a later network step can never be completed by a code."""

from __future__ import annotations

import pytest

from gateway.errors import InvalidCode, VerificationConflict
from gateway.verify.workflow import Channel, Status, StepStatus
from tests.unit.verify.conftest import ServiceEnv


async def test_a_resent_code_replaces_the_previous_one(service_env: ServiceEnv) -> None:
    """next on the last SMS step sends a new code: the old one is then wrong, the new one completes."""
    request_id = await service_env.start(Channel.SMS)
    await service_env.service.next(service_env.tenant_id, request_id)
    first, second = service_env.sender.codes

    if first != second:
        with pytest.raises(InvalidCode):
            await service_env.service.check(service_env.tenant_id, request_id, first)
    view = await service_env.service.check(service_env.tenant_id, request_id, second)

    assert view.status is Status.COMPLETED and view.codes_sent == 2


async def test_a_skipped_sms_steps_code_does_not_work_on_the_next_sms_step(service_env: ServiceEnv) -> None:
    """SMS then SMS: next sends the second step's code; the first step's code is wrong there."""
    request_id = await service_env.start(Channel.SMS, Channel.SMS)
    await service_env.service.next(service_env.tenant_id, request_id)
    first, second = service_env.sender.codes

    if first != second:
        with pytest.raises(InvalidCode):
            await service_env.service.check(service_env.tenant_id, request_id, first)
    view = await service_env.service.check(service_env.tenant_id, request_id, second)

    assert [o.status for o in view.outcomes] == [StepStatus.SKIPPED, StepStatus.COMPLETED]


async def test_a_skipped_sms_steps_code_cannot_complete_the_following_network_step(
    service_env: ServiceEnv,
) -> None:
    """SMS then network: after next the network step is active and no code is live; the first code
    is refused (409) and the request stays pending on its network step."""
    request_id = await service_env.start(Channel.SMS, Channel.NETWORK)
    await service_env.service.next(service_env.tenant_id, request_id)
    (code,) = service_env.sender.codes

    with pytest.raises(VerificationConflict):
        await service_env.service.check(service_env.tenant_id, request_id, code)

    view = await service_env.service.get(service_env.tenant_id, request_id)
    assert view.status is Status.PENDING
    assert [o.status for o in view.outcomes] == [StepStatus.SKIPPED, StepStatus.ACTIVE]
    assert [e[1] for e in service_env.publisher.published] == []


async def test_an_expired_sms_steps_code_cannot_complete_the_following_network_step(
    service_env: ServiceEnv,
) -> None:
    """SMS then network: once channelTimeout has passed the sweeper expires the SMS step; its code
    (past its life) is refused and the network step stays active."""
    request_id = await service_env.start(Channel.SMS, Channel.NETWORK)
    (code,) = service_env.sender.codes
    service_env.clock.advance(301)
    assert await service_env.service.sweep() >= 1

    with pytest.raises(VerificationConflict):
        await service_env.service.check(service_env.tenant_id, request_id, code)

    view = await service_env.service.get(service_env.tenant_id, request_id)
    assert [o.status for o in view.outcomes] == [StepStatus.EXPIRED, StepStatus.ACTIVE]


async def test_a_code_past_its_steps_deadline_is_refused_before_the_sweeper_runs(
    service_env: ServiceEnv,
) -> None:
    """An SMS-only request whose channelTimeout has passed: the code is refused (409) even if no
    sweep has expired the step yet, and the request never completes."""
    request_id = await service_env.start(Channel.SMS)
    (code,) = service_env.sender.codes
    service_env.clock.advance(301)

    with pytest.raises(VerificationConflict):
        await service_env.service.check(service_env.tenant_id, request_id, code)

    assert (await service_env.service.get(service_env.tenant_id, request_id)).status is not Status.COMPLETED
