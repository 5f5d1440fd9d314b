"""The pure helpers of bench/push.py: the seeded lines, the dispatch figures and the scaling table."""

from __future__ import annotations

import datetime as dt

import pytest

from bench._harness import LoadResult
from bench.push import (
    DispatchResult,
    ScalingRow,
    batch_mean,
    cpu_per_message,
    dispatch_rate,
    format_scaling,
    plan_lines,
    state_errors,
)
from carrier_adapters import operator_for_number

T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def test_lines_are_distinct_and_in_their_operators_blocks() -> None:
    """Every planned line is distinct, and its number's block belongs to the operator it is seeded with."""
    lines = plan_lines(999)
    assert len({line.number for line in lines}) == 999
    assert {line.operator for line in lines} == {"cmcc", "cucc", "ctcc"}
    assert all(operator_for_number(line.number) == line.operator for line in lines)


def test_batch_mean_is_the_histograms_sum_over_its_count() -> None:
    """Messages per acceptance transaction come from the batch-size histogram; none without units."""
    exposition = (
        "# TYPE gateway_push_accept_batch_size histogram\n"
        'gateway_push_accept_batch_size_bucket{le="1.0"} 2.0\n'
        "gateway_push_accept_batch_size_count 4.0\n"
        "gateway_push_accept_batch_size_sum 30.0\n"
        "gateway_other_sum 99.0\n"
    )
    assert batch_mean(exposition) == 7.5
    assert (
        batch_mean("gateway_push_accept_batch_size_count 0.0\ngateway_push_accept_batch_size_sum 0.0\n")
        is None
    )
    assert batch_mean("") is None


def test_dispatch_rate_is_messages_over_the_event_span() -> None:
    """The rate divides the message count by the seconds between first and last event."""
    assert dispatch_rate(500, T0, T0 + dt.timedelta(seconds=4)) == (4.0, 125.0)


def test_dispatch_rate_is_unknown_without_events_or_span() -> None:
    """No events, no messages or a zero span give no rate."""
    assert dispatch_rate(10, None, T0) == (None, None)
    assert dispatch_rate(0, T0, T0 + dt.timedelta(seconds=1)) == (None, None)
    assert dispatch_rate(1, T0, T0) == (0.0, None)


def test_state_errors_count_every_message_not_delivered_and_missing_ones() -> None:
    """Messages left in any other state, and messages that never appeared, are errors."""
    assert state_errors({"delivered": 10}, 10) == {}
    assert state_errors({"delivered": 7, "submitted": 1, "failed": 1}, 10) == {
        "left submitted": 1,
        "left failed": 1,
        "missing": 1,
    }


def test_cpu_per_message_divides_the_cpu_spent_between_readings() -> None:
    """Each process's CPU seconds between the readings become milliseconds per message; no messages
    give nothing, and a process read only once is left out."""
    before = {"gateway": 10.0, "sandbox": 2.0, "gone": 1.0}
    after = {"gateway": 12.5, "sandbox": 2.5}
    assert cpu_per_message(before, after, 1000) == pytest.approx({"gateway": 2.5, "sandbox": 0.5})
    assert cpu_per_message(before, after, 0) == {}


def test_scaling_table_has_one_row_per_process_count() -> None:
    """The side-by-side table shows, per process count, acceptance rate and latencies, the gateway's
    CPU per accepted and per dispatched message, the dispatch rates and the baseline's rate."""

    def accepted(rps: float, cpu: float) -> LoadResult:
        result = LoadResult("push-acceptance", 100, 0, 1.0, rps, 12.0, 80.0)
        result.cpu_ms = {"gateway": cpu}
        return result

    def batch(submit: float, cpu: float) -> DispatchResult:
        return DispatchResult(
            2000, 1.0, 2.0, submit, submit - 1.0, 3.0, 500.0, {"delivered": 2000}, 0, cpu_ms={"gateway": cpu}
        )

    baseline = LoadResult("baseline", 100, 0, 1.0, 3000.0, 8.0, 20.0)
    rows = [
        ScalingRow(1, accepted(240.0, 4.25), baseline, batch(95.0, 6.5)),
        ScalingRow(4, accepted(610.5, 5.75), baseline, batch(310.0, 7.0)),
    ]
    lines = format_scaling(rows).splitlines()
    assert len(lines) == 4
    assert lines[2].split() == ["1", "240.0", "12.0", "80.0", "4.25", "95.0", "94.0", "6.50", "3000.0"]
    assert lines[3].split() == ["4", "610.5", "12.0", "80.0", "5.75", "310.0", "309.0", "7.00", "3000.0"]
