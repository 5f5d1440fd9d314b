"""The pure helpers of bench/push.py: the seeded lines and the dispatch figures."""

from __future__ import annotations

import datetime as dt

from bench.push import dispatch_rate, plan_lines, state_errors
from carrier_adapters import operator_for_number

T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def test_lines_are_distinct_and_in_their_operators_blocks() -> None:
    """Every planned line is distinct, and its number's block belongs to the operator it is seeded with."""
    lines = plan_lines(999)
    assert len({line.number for line in lines}) == 999
    assert {line.operator for line in lines} == {"cmcc", "cucc", "ctcc"}
    assert all(operator_for_number(line.number) == line.operator for line in lines)


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
