"""The verification workflow's state machine (gateway.verify.workflow): every transition, what it
asks of its caller (a code to send, a webhook) and the conflicts it refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from gateway.verify.workflow import (
    MAX_SENDS,
    MAX_WRONG_CODES,
    Channel,
    Effects,
    Status,
    Step,
    StepOutcome,
    StepStatus,
    Verification,
    WorkflowConflict,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TIMEOUT = timedelta(seconds=300)
NETWORK = Step(Channel.NETWORK)
SMS = Step(Channel.SMS, "tpl-1")


def _started(*steps: Step) -> tuple[Verification, Effects]:
    state = Verification(steps, TIMEOUT)
    return state, state.start(T0)


def _statuses(state: Verification) -> list[tuple[StepStatus, str | None]]:
    return [(o.status, o.reason) for o in state.outcomes]


def _later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_new_request_is_pending_with_every_step_waiting() -> None:
    """Before start every step waits, nothing has been sent and all attempts remain."""
    state = Verification((NETWORK, SMS), TIMEOUT)

    assert state.status is Status.PENDING
    assert _statuses(state) == [(StepStatus.WAITING, None)] * 2
    assert (state.sends, state.wrong_codes, state.attempts_left) == (0, 0, MAX_WRONG_CODES)


def test_starting_with_an_sms_step_asks_for_a_code() -> None:
    """An SMS first step is active at once with its deadline, and the caller must send a code."""
    state, effects = _started(SMS, NETWORK)

    assert effects == Effects(send_code=True)
    assert state.current == 0 and state.on(Channel.SMS) and not state.on(Channel.NETWORK)
    assert state.outcomes[0] == StepOutcome(StepStatus.ACTIVE, T0)
    assert state.deadline == T0 + TIMEOUT
    assert state.outcomes[1].status is StepStatus.WAITING


def test_starting_with_a_network_step_sends_nothing() -> None:
    """A network first step waits for the phone to open the check URL: no code, no event."""
    state, effects = _started(NETWORK, SMS)

    assert effects == Effects()
    assert state.on(Channel.NETWORK) and state.deadline == T0 + TIMEOUT


@pytest.mark.parametrize("reason", ["off_network", "operator_unavailable", "number_mismatch"])
def test_a_failed_network_step_activates_the_sms_step_with_a_code(reason: str) -> None:
    """The network step fails with its reason; the SMS step becomes active with a fresh deadline
    and a code to send; the request stays pending and publishes nothing."""
    state, _ = _started(NETWORK, SMS)

    effects = state.fail_step(reason, _later(10))

    assert effects == Effects(send_code=True)
    assert state.status is Status.PENDING and state.current == 1
    assert state.outcomes[0] == StepOutcome(StepStatus.FAILED, T0, _later(10), reason)
    assert state.outcomes[1] == StepOutcome(StepStatus.ACTIVE, _later(10))
    assert state.deadline == _later(10) + TIMEOUT


def test_an_expired_network_step_gives_way_to_the_sms_step() -> None:
    """A step whose time is up ends expired (reason timeout) and the next step starts."""
    state, _ = _started(NETWORK, SMS)

    effects = state.expire_step(_later(300))

    assert effects == Effects(send_code=True)
    assert _statuses(state) == [(StepStatus.EXPIRED, "timeout"), (StepStatus.ACTIVE, None)]


def test_a_failed_sms_step_activates_a_following_network_step_without_a_code() -> None:
    """SMS then network: the SMS step failing starts the network step, which sends no code."""
    state, _ = _started(SMS, NETWORK)

    assert state.fail_step("sms_refused", _later(1)) == Effects()
    assert state.on(Channel.NETWORK)


def test_expiry_on_the_last_step_expires_the_request_and_reports_it() -> None:
    """The last step timing out ends the request expired, with verify.failed and no deadline left."""
    state, _ = _started(NETWORK, SMS)
    state.fail_step("off_network", _later(1))

    effects = state.expire_step(_later(301))

    assert effects == Effects(event="verify.failed")
    assert state.status is Status.EXPIRED and state.deadline is None
    assert state.outcomes[1] == StepOutcome(StepStatus.EXPIRED, _later(1), _later(301), "timeout")


def test_a_failure_on_the_last_step_fails_the_request_and_reports_it() -> None:
    """The last step failing for any reason but time ends the request failed, with verify.failed."""
    state, _ = _started(SMS, NETWORK)
    state.fail_step("sms_refused", _later(1))

    effects = state.fail_step("operator_refused", _later(2))

    assert effects == Effects(event="verify.failed")
    assert state.status is Status.FAILED and state.deadline is None
    assert _statuses(state) == [(StepStatus.FAILED, "sms_refused"), (StepStatus.FAILED, "operator_refused")]


def test_completing_a_step_completes_the_request_and_leaves_later_steps_waiting() -> None:
    """complete: the active step and the request are completed, verify.completed is published."""
    state, _ = _started(NETWORK, SMS)

    effects = state.complete(_later(5))

    assert effects == Effects(event="verify.completed")
    assert state.status is Status.COMPLETED and state.deadline is None
    assert state.outcomes[0] == StepOutcome(StepStatus.COMPLETED, T0, _later(5), None)
    assert state.outcomes[1].status is StepStatus.WAITING


def test_skip_moves_to_the_next_step_without_a_reason() -> None:
    """next on a step that is not the last: it ends skipped (no reason) and the next one starts."""
    state, _ = _started(NETWORK, SMS)

    effects = state.skip(_later(3))

    assert effects == Effects(send_code=True)
    assert _statuses(state) == [(StepStatus.SKIPPED, None), (StepStatus.ACTIVE, None)]
    assert state.current == 1


def test_skip_on_the_last_sms_step_asks_for_a_new_code_and_renews_the_deadline() -> None:
    """next on the last SMS step keeps the step active, asks for a new code and restarts its time."""
    state, _ = _started(SMS)
    state.sends = 1

    effects = state.skip(_later(100))

    assert effects == Effects(send_code=True)
    assert state.current == 0 and state.outcomes[0].status is StepStatus.ACTIVE
    assert state.deadline == _later(100) + TIMEOUT


def test_skip_on_the_last_sms_step_is_refused_once_every_send_is_spent() -> None:
    """With MAX_SENDS codes sent, next on the last SMS step is a conflict and changes nothing."""
    state, _ = _started(SMS)
    state.sends = MAX_SENDS

    with pytest.raises(WorkflowConflict, match=f"At most {MAX_SENDS} codes"):
        state.skip(_later(1))

    assert state.status is Status.PENDING and state.deadline == T0 + TIMEOUT


def test_skip_on_a_last_network_step_is_refused() -> None:
    """Nothing follows a last network step: next is a conflict saying so."""
    state, _ = _started(SMS, NETWORK)
    state.skip(_later(1))

    with pytest.raises(WorkflowConflict, match="no further step"):
        state.skip(_later(2))

    assert state.on(Channel.NETWORK)


def test_skip_towards_an_sms_step_is_refused_once_every_send_is_spent() -> None:
    """next towards an SMS step when no send is left is a conflict; the active step stays."""
    state, _ = _started(SMS, SMS)
    state.sends = MAX_SENDS

    with pytest.raises(WorkflowConflict, match=f"At most {MAX_SENDS} codes"):
        state.skip(_later(1))

    assert state.current == 0 and state.outcomes[0].status is StepStatus.ACTIVE


def test_a_failure_before_an_sms_step_with_no_send_left_fails_the_request() -> None:
    """When the step after a failed one is SMS and every send is spent, the request fails instead
    of starting a step that could send nothing."""
    state, _ = _started(SMS, SMS)
    state.sends = MAX_SENDS

    effects = state.fail_step("sms_refused", _later(1))

    assert effects == Effects(event="verify.failed")
    assert state.status is Status.FAILED
    assert _statuses(state) == [(StepStatus.FAILED, "sms_refused"), (StepStatus.WAITING, None)]


def test_the_fifth_wrong_code_fails_the_request() -> None:
    """Wrong codes count down the attempts; the fifth fails the step (too_many_attempts) and the
    request, with verify.failed; the earlier ones have no effect but the count."""
    state, _ = _started(SMS)

    effects = [state.wrong_code(_later(n)) for n in range(1, MAX_WRONG_CODES)]
    left = state.attempts_left
    last = state.wrong_code(_later(MAX_WRONG_CODES))

    assert effects == [Effects()] * (MAX_WRONG_CODES - 1)
    assert left == 1 and state.attempts_left == 0
    assert last == Effects(event="verify.failed")
    assert state.status is Status.FAILED
    assert _statuses(state) == [(StepStatus.FAILED, "too_many_attempts")]


def test_wrong_codes_on_an_earlier_sms_step_fail_the_whole_request() -> None:
    """The wrong-code limit is per request: it does not move on to a later step."""
    state, _ = _started(SMS, NETWORK)
    for n in range(MAX_WRONG_CODES):
        state.wrong_code(_later(n))

    assert state.status is Status.FAILED
    assert _statuses(state) == [(StepStatus.FAILED, "too_many_attempts"), (StepStatus.WAITING, None)]


def test_cancel_ends_the_active_step_and_keeps_later_steps_waiting() -> None:
    """cancel: the active step is cancelled, the untried steps stay waiting, no event is published."""
    state, _ = _started(NETWORK, SMS)

    effects = state.cancel(_later(7))

    assert effects == Effects()
    assert state.status is Status.CANCELLED and state.deadline is None
    assert _statuses(state) == [(StepStatus.CANCELLED, None), (StepStatus.WAITING, None)]


def test_abort_fails_the_request_without_a_webhook_even_with_steps_left() -> None:
    """abort (the creator was told directly) fails the request at once, later steps untried."""
    state, _ = _started(SMS, NETWORK)

    effects = state.abort("sms_refused", _later(1))

    assert effects == Effects()
    assert state.status is Status.FAILED
    assert _statuses(state) == [(StepStatus.FAILED, "sms_refused"), (StepStatus.WAITING, None)]


def _completed() -> Verification:
    state, _ = _started(SMS)
    state.complete(_later(1))
    return state


def _cancelled() -> Verification:
    state, _ = _started(SMS)
    state.cancel(_later(1))
    return state


@pytest.mark.parametrize("make", [_completed, _cancelled], ids=["completed", "cancelled"])
@pytest.mark.parametrize(
    "transition",
    ["complete", "fail_step", "abort", "expire_step", "wrong_code", "skip", "cancel"],
)
def test_a_request_that_has_ended_refuses_every_transition(
    make: Callable[[], Verification], transition: str
) -> None:
    """Every transition on a request that is no longer pending is a conflict naming its status."""
    state = make()
    before = (state.status, _statuses(state), state.wrong_codes)
    method = getattr(state, transition)
    args = ("why", _later(9)) if transition in ("fail_step", "abort") else (_later(9),)

    with pytest.raises(WorkflowConflict, match=f"is {state.status.value}"):
        method(*args)

    assert (state.status, _statuses(state), state.wrong_codes) == before


def test_step_outcomes_survive_a_json_round_trip() -> None:
    """as_json / from_json (through JSON text) give back the same outcome, with and without times."""
    outcomes = [
        StepOutcome(),
        StepOutcome(StepStatus.ACTIVE, T0),
        StepOutcome(StepStatus.FAILED, T0, _later(12.5), "off_network"),
    ]

    stored = json.dumps([o.as_json() for o in outcomes])
    back = [StepOutcome.from_json(o) for o in json.loads(stored)]

    assert back == outcomes
    assert json.loads(stored)[2] == {
        "status": "failed",
        "startedAt": "2026-12-01T09:00:00+00:00",
        "endedAt": "2026-12-01T09:00:12.500000+00:00",
        "reason": "off_network",
    }


def test_a_workflow_rebuilt_from_its_stored_state_continues_where_it_was() -> None:
    """A Verification built from stored fields (as the service loads a row) transitions like the original."""
    state, _ = _started(NETWORK, SMS)
    state.fail_step("off_network", _later(1))
    state.sends = 1
    stored = json.dumps([o.as_json() for o in state.outcomes])

    again = Verification(
        (NETWORK, SMS),
        TIMEOUT,
        status=state.status,
        current=state.current,
        deadline=state.deadline,
        sends=state.sends,
        outcomes=[StepOutcome.from_json(o) for o in json.loads(stored)],
    )

    assert again.skip(_later(2)) == Effects(send_code=True)
    assert again.complete(_later(3)) == Effects(event="verify.completed")
    assert _statuses(again) == [(StepStatus.FAILED, "off_network"), (StepStatus.COMPLETED, None)]
