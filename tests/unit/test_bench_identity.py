"""The pure parts of ``bench.identity``: seeded lines, expected answers, pool sizes and verdicts."""

from __future__ import annotations

import datetime as dt

import pytest

from bench._harness import LoadResult
from bench.identity import (
    BASELINE,
    BASELINE_LOGIN_CHECK,
    LOGIN_CHECK,
    MAX_AGE_H,
    MIN_TOKENS,
    NUMBER_VERIFICATION,
    SIM_SWAP,
    expected_assessment,
    imei,
    plan_lines,
    pool_size,
    verdict,
    verdicts,
)
from gateway.login_check.policy import NumberStatus, Observations, SwapStatus, assess
from gateway.login_check.schemas import assessment_json


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value // 10 + value % 10
    return total % 10 == 0


def _result(rps: float, p99: float | None, target: str = "t") -> LoadResult:
    return LoadResult(target=target, count=100, errors=0, elapsed=1.0, rps=rps, p50_ms=1.0, p99_ms=p99)


def test_imeis_are_luhn_valid_and_distinct() -> None:
    """Every seeded IMEI has 15 digits, a valid Luhn check digit, and differs from the others."""
    values = [imei(serial) for serial in (0, 1, 7, 42, 999_999)]
    assert all(len(v) == 15 and v.isdigit() and _luhn_valid(v) for v in values)
    assert len(set(values)) == len(values)
    assert not _luhn_valid(values[0][:-1] + str((int(values[0][-1]) + 1) % 10))


@pytest.mark.parametrize("sim_swapped", [False, True])
@pytest.mark.parametrize("device_known", [False, True])
def test_expected_assessment_matches_the_gateway_policy(sim_swapped: bool, device_known: bool) -> None:
    """The answer the benchmark expects is the one the gateway's policy gives for the same observations
    (no one-tap token, device not swapped, not throttled)."""
    seen = Observations(
        NumberStatus.NOT_ASKED,
        SwapStatus.SWAPPED if sim_swapped else SwapStatus.NOT_SWAPPED,
        SwapStatus.NOT_SWAPPED,
        device_known,
    )
    assert expected_assessment(sim_swapped=sim_swapped, device_known=device_known) == assessment_json(
        assess(seen)
    )


def test_planned_lines_cover_every_combination_and_seed_dates() -> None:
    """The lines are distinct cmcc numbers covering all four swapped/known combinations; a swapped
    line's SIM change is inside maxAge and every activation outside it."""
    lines = plan_lines(12)
    assert len({line.number for line in lines}) == 12
    assert all(line.number.startswith("+86138") and len(line.number) == 14 for line in lines)
    assert {(line.sim_swapped, line.device_known) for line in lines} == {
        (False, False),
        (False, True),
        (True, False),
        (True, True),
    }
    now = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    max_age = dt.timedelta(hours=MAX_AGE_H)
    for line in lines:
        record = line.sandbox_record(now)
        activated = dt.datetime.fromisoformat(record["activatedAt"])
        assert now - activated > max_age
        assert ("simChangedAt" in record) == line.sim_swapped
        if line.sim_swapped:
            assert now - dt.datetime.fromisoformat(record["simChangedAt"]) <= max_age
        assert line.sim_check().expect_json == {"swapped": line.sim_swapped}
        baseline = line.baseline_evaluate()
        assert baseline.json == line.evaluate().json
        assert baseline.expect_json == {"simSwapped": line.sim_swapped, "deviceSwapped": False}


def test_pool_size_covers_the_phase_within_bounds() -> None:
    """A pool holds 1.5x the expected requests of settle + duration plus one per client, clamped."""
    assert pool_size(1000.0, duration=10.0, concurrency=32, max_tokens=100_000) == 15_782
    assert pool_size(1.0, duration=10.0, concurrency=32, max_tokens=100_000) == MIN_TOKENS
    assert pool_size(1e6, duration=10.0, concurrency=32, max_tokens=40_000) == 40_000


def test_verdict_needs_both_ratio_and_tail_latency() -> None:
    """MET needs req/s >= 0.60 of the baseline and p99 below twice the baseline's; either miss fails."""
    baseline = _result(1000.0, 10.0)
    met = verdict(baseline, _result(600.0, 19.9))
    assert met.met and met.ratio == pytest.approx(0.6) and met.p99_factor == pytest.approx(1.99)
    assert not verdict(baseline, _result(599.0, 10.0)).met
    assert not verdict(baseline, _result(900.0, 20.0)).met
    assert not verdict(baseline, _result(900.0, None)).met
    assert not verdict(_result(0.0, None), _result(900.0, 5.0)).met


def test_each_gateway_target_is_judged_against_its_own_baseline() -> None:
    """The login check is compared with the two-query baseline, SIM Swap and Number Verification with
    the SIM-history one; baselines get no verdict of their own, and each verdict names its baseline."""
    chosen = {
        BASELINE: _result(1000.0, 10.0, BASELINE),
        SIM_SWAP: _result(700.0, 15.0, SIM_SWAP),
        NUMBER_VERIFICATION: _result(500.0, 15.0, NUMBER_VERIFICATION),
        BASELINE_LOGIN_CHECK: _result(400.0, 20.0, BASELINE_LOGIN_CHECK),
        LOGIN_CHECK: _result(300.0, 30.0, LOGIN_CHECK),
    }
    judged = verdicts(chosen)
    assert set(judged) == {SIM_SWAP, NUMBER_VERIFICATION, LOGIN_CHECK}
    assert judged[SIM_SWAP].baseline == BASELINE and judged[SIM_SWAP].met
    assert judged[NUMBER_VERIFICATION].baseline == BASELINE and not judged[NUMBER_VERIFICATION].met
    login = judged[LOGIN_CHECK]
    assert login.baseline == BASELINE_LOGIN_CHECK
    assert login.ratio == pytest.approx(0.75) and login.p99_factor == pytest.approx(1.5) and login.met
