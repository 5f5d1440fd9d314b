"""Branch queue rules (gateway.flows.queue): labels, business days, estimates and templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.errors import InvalidArgument
from gateway.flows.queue import (
    CALL_PARAMS,
    TICKET_PARAMS,
    call_template_spec,
    check_queue_template,
    estimated_wait_minutes,
    fill_params,
    minutes_per_customer,
    service_day,
    ticket_label,
)
from gateway.templates import Category, Flow, ParamSpec, ParamType, QuickApp, TemplateSpec, check_spec

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def _spec(flow: Flow = Flow.BRANCH_QUEUE, **params: ParamSpec) -> TemplateSpec:
    text = "".join(f"{{{{{name}}}}}" for name in params) + " {{link}}"
    return TemplateSpec(
        name="q",
        category=Category.NOTIFICATION,
        signature="平安银行",
        text=text,
        flow=flow,
        quick_app=QuickApp("com.example.queue", "Ticket"),
        params=params,
    )


def test_labels_count_from_a001() -> None:
    """The day's first ticket is A001; four digits once past 999."""
    assert [ticket_label(n) for n in (1, 42, 999, 1000)] == ["A001", "A042", "A999", "A1000"]


def test_the_business_day_is_shanghai_time() -> None:
    """15:59 UTC is still the 24th in Shanghai, 16:00 UTC is the 25th."""
    assert service_day(datetime(2026, 11, 24, 15, 59, tzinfo=UTC)) == "2026-11-24"
    assert service_day(datetime(2026, 11, 24, 16, 0, tzinfo=UTC)) == "2026-11-25"


def test_estimate_uses_the_default_without_enough_history() -> None:
    """Fewer than three recent calls: the configured minutes per customer."""
    assert minutes_per_customer([], NOW, 5.0) == 5.0
    assert minutes_per_customer([NOW, NOW - timedelta(minutes=1)], NOW, 5.0) == 5.0


def test_estimate_follows_the_recent_call_rhythm() -> None:
    """Calls every 3 minutes give 3 minutes per customer; calls older than 2 h are ignored; the
    result is clamped to 1..60."""
    calls = [NOW - timedelta(minutes=3 * n) for n in range(4)]
    assert minutes_per_customer(calls, NOW, 5.0) == pytest.approx(3.0)
    old = [NOW - timedelta(hours=3, minutes=n) for n in range(5)]
    assert minutes_per_customer(old, NOW, 5.0) == 5.0
    burst = [NOW - timedelta(seconds=n) for n in range(5)]
    assert minutes_per_customer(burst, NOW, 5.0) == 1.0
    slow = [NOW - timedelta(minutes=50 * n) for n in range(3)]
    assert minutes_per_customer(slow, NOW, 5.0) == 50.0


def test_wait_is_position_times_rhythm_rounded_up() -> None:
    """Position 2 at 5 min is 10 min; fractions round up."""
    assert estimated_wait_minutes(2, 5.0) == 10
    assert estimated_wait_minutes(3, 1.5) == 5
    assert estimated_wait_minutes(0, 5.0) == 0


def test_the_builtin_shape_is_a_valid_queue_template() -> None:
    """ticket, branchName (strings) and optional position (number) are fillable."""
    spec = _spec(
        ticket=ParamSpec(ParamType.STRING),
        branchName=ParamSpec(ParamType.STRING),
        position=ParamSpec(ParamType.NUMBER, required=False),
    )
    check_queue_template(spec, TICKET_PARAMS, role="templateId")


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (_spec(Flow.CLAIM_LOCATION, ticket=ParamSpec(ParamType.STRING)), "branch_queue"),
        (_spec(claimNo=ParamSpec(ParamType.STRING)), "claimNo"),
        (_spec(ticket=ParamSpec(ParamType.NUMBER)), "type string"),
        (_spec(position=ParamSpec(ParamType.STRING)), "type number"),
    ],
)
def test_templates_the_queue_cannot_fill_are_refused(spec: TemplateSpec, words: str) -> None:
    """Wrong flow, a required unknown parameter or a wrong type is 400, naming the problem."""
    with pytest.raises(InvalidArgument, match=words):
        check_queue_template(spec, TICKET_PARAMS, role="templateId")


def test_optional_unknown_parameters_are_allowed_and_left_empty() -> None:
    """An optional parameter the queue does not know is accepted and not filled."""
    spec = _spec(ticket=ParamSpec(ParamType.STRING), note=ParamSpec(ParamType.STRING, required=False))
    check_queue_template(spec, TICKET_PARAMS, role="templateId")
    assert fill_params(spec, {"ticket": "A001", "branchName": "x", "note": None}) == {"ticket": "A001"}


def test_the_generated_call_template_passes_the_template_rules() -> None:
    """The call template keeps the ticket template's signature and quick app, declares ticket,
    branchName and counter, and is a valid template by the templates feature's own checks."""
    ticket = _spec(ticket=ParamSpec(ParamType.STRING))
    call = call_template_spec(ticket)
    check_spec(call)
    check_queue_template(call, CALL_PARAMS, role="callTemplateId")
    assert (call.signature, call.quick_app, call.flow) == (
        ticket.signature,
        ticket.quick_app,
        Flow.BRANCH_QUEUE,
    )
    assert set(call.params) == {"ticket", "branchName", "counter"}
    assert "{{counter}}号窗口" in call.text
