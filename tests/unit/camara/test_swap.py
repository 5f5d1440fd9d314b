"""SIM Swap and Device Swap: maxAge bounds, the swapped window, dates, monitoredPeriod and operator errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carrier_adapters import (
    CarrierProtocolError,
    CarrierTimeout,
    CarrierUnavailable,
    CustomerRecord,
    LineInsight,
    SwapHistory,
)
from carrier_adapters.testing import FakeExchanger
from gateway.camara.identifiers import LineDirectory
from gateway.camara.swap import DEVICE_SWAP, SIM_SWAP, SwapDate, SwapKind, SwapService
from gateway.errors import (
    ApiError,
    BadGateway,
    GatewayTimeout,
    IdentifierNotFound,
    MissingIdentifier,
    OutOfRange,
    ServiceNotApplicable,
    Unavailable,
    UnnecessaryIdentifier,
)
from tests.clocks import ManualClock
from tests.unit.camara.fakes import NOW, ListRecorder, three_legged, two_legged

PHONES = {"cmcc": "+8613800138000", "cucc": "+8618600186000", "ctcc": "+8618900189000"}
PHONE = PHONES["cmcc"]
KINDS = [pytest.param(SIM_SWAP, id="sim"), pytest.param(DEVICE_SWAP, id="device")]


class ScriptedLines:
    """An operator answering one fixed history, for answers FakeExchanger does not produce."""

    def __init__(self, history: SwapHistory) -> None:
        self.history = history
        self.history_window_hours = 2400

    async def sim_history(self, phone_number: str) -> SwapHistory:
        """The fixed history."""
        return self.history

    async def device_history(self, phone_number: str) -> SwapHistory:
        """The fixed history."""
        return self.history

    async def customer_record(self, phone_number: str) -> CustomerRecord:
        """Never asked."""
        raise AssertionError("not a KYC test")


class Harness:
    """A swap service of one kind over one fake operator and a fixed clock; ``phone`` is its subscriber."""

    def __init__(self, kind: SwapKind, operator: str = "cmcc", *, lines: LineInsight | None = None) -> None:
        self.phone = PHONES[operator]
        self.lines = FakeExchanger(operator)
        self.recorder = ListRecorder()
        self.clock = ManualClock(NOW)
        self.service = SwapService(
            kind,
            lines=LineDirectory({operator: lines or self.lines}),
            recorder=self.recorder,
            clock=self.clock,
        )

    def changed(self, moment: datetime | None, *, device_known: bool = True) -> None:
        """Seed the subscriber whose latest change (of either kind) was at ``moment``."""
        self.lines.set_history(self.phone, sim=moment, device=moment, device_known=device_known)

    async def check(self, max_age: int = 240) -> bool:
        """A 2-legged check of the subscriber."""
        return await self.service.check(two_legged(), phone_number=self.phone, max_age=max_age)

    async def retrieve(self) -> SwapDate:
        """A 2-legged retrieve-date of the subscriber."""
        return await self.service.retrieve_date(two_legged(), phone_number=self.phone)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("hours_ago", "max_age", "swapped"),
    [(239, 240, True), (240, 240, True), (241, 240, False), (1, 1, True), (2, 1, False), (2399, 2400, True)],
)
async def test_swapped_iff_the_change_lies_within_max_age(
    kind: SwapKind, hours_ago: int, max_age: int, swapped: bool
) -> None:
    """``swapped`` is true exactly when the latest change is at most maxAge hours before now."""
    harness = Harness(kind)
    harness.changed(NOW - timedelta(hours=hours_ago))
    assert await harness.check(max_age) is swapped


@pytest.mark.parametrize("kind", KINDS)
async def test_the_runtime_clock_decides(kind: SwapKind) -> None:
    """The same history reads swapped now and not swapped once the clock has moved past maxAge."""
    harness = Harness(kind)
    harness.changed(NOW - timedelta(hours=10))
    assert await harness.check(24) is True
    harness.clock.advance(15 * 3600)
    assert await harness.check(24) is False


@pytest.mark.parametrize("kind", KINDS)
async def test_change_beyond_the_retention_window_is_not_swapped(kind: SwapKind) -> None:
    """A change the operator may no longer disclose (latest_change None) is not a swap."""
    harness = Harness(kind)
    harness.changed(None)
    assert await harness.check(2400) is False


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("max_age", [2401, 100000, 2**40])
async def test_max_age_above_2400_is_out_of_range_naming_the_limit(kind: SwapKind, max_age: int) -> None:
    """maxAge above 2400 is 400 OUT_OF_RANGE whose message states 2400, before any operator call."""
    harness = Harness(kind)
    with pytest.raises(OutOfRange) as caught:
        await harness.check(max_age)
    assert caught.value.status == 400 and caught.value.code == "OUT_OF_RANGE"
    assert "2400" in caught.value.message
    assert harness.lines.calls == []


@pytest.mark.parametrize("kind", KINDS)
async def test_max_age_above_the_operators_window_is_out_of_range(kind: SwapKind) -> None:
    """An operator keeping 720 h (cucc): maxAge 721 is OUT_OF_RANGE naming 720; 720 is answered."""
    harness = Harness(kind, "cucc")
    harness.changed(NOW - timedelta(hours=700))
    with pytest.raises(OutOfRange) as caught:
        await harness.check(721)
    assert "720" in caught.value.message
    assert await harness.check(720) is True


@pytest.mark.parametrize("kind", KINDS)
async def test_check_records_a_billed_row(kind: SwapKind) -> None:
    """An answered check leaves one usage row named after the API, with the answer as result."""
    harness = Harness(kind)
    harness.changed(NOW - timedelta(hours=1))
    await harness.check()
    [row] = harness.recorder.rows
    assert (row.capability, row.result, row.operator) == (f"camara_{kind.name}_check", "true", "cmcc")


@pytest.mark.parametrize("kind", KINDS)
async def test_retrieve_date_returns_the_latest_change(kind: SwapKind) -> None:
    """The date is the operator's latest change, timezone-aware, without monitoredPeriod."""
    harness = Harness(kind)
    moment = datetime(2026, 2, 20, 8, 30, tzinfo=UTC)
    harness.changed(moment)
    answer = await harness.retrieve()
    assert answer.latest_change == moment and answer.latest_change.tzinfo is not None
    assert answer.monitored_days is None
    assert harness.recorder.rows[0].capability == f"camara_{kind.name}_retrieve_date"


@pytest.mark.parametrize("kind", KINDS)
async def test_naive_operator_dates_are_read_as_utc(kind: SwapKind) -> None:
    """A naive datetime from an adapter is taken as UTC, never as local time."""
    harness = Harness(kind)
    naive = datetime(2026, 2, 20, 8, 30)
    harness = Harness(kind, lines=ScriptedLines(SwapHistory("cmcc", naive, 100)))
    answer = await harness.retrieve()
    assert answer.latest_change == naive.replace(tzinfo=UTC)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("operator", "days"), [("cmcc", 100), ("cucc", 30), ("ctcc", 60)])
async def test_date_beyond_the_window_is_null_with_monitored_period(
    kind: SwapKind, operator: str, days: int
) -> None:
    """A change beyond the operator's retention window: null date and monitoredPeriod in days."""
    harness = Harness(kind, operator)
    harness.changed(None)
    answer = await harness.retrieve()
    assert answer.latest_change is None and answer.monitored_days == days


async def test_device_swap_without_device_data_is_service_not_applicable() -> None:
    """A number never seen in a device: Device Swap check and retrieve are 422 SERVICE_NOT_APPLICABLE."""
    harness = Harness(DEVICE_SWAP)
    harness.changed(NOW - timedelta(hours=1), device_known=False)
    with pytest.raises(ServiceNotApplicable) as caught:
        await harness.check()
    assert caught.value.status == 422 and caught.value.code == "SERVICE_NOT_APPLICABLE"
    with pytest.raises(ServiceNotApplicable):
        await harness.retrieve()
    assert harness.recorder.rows == []


async def test_sim_swap_without_data_is_false_and_a_bare_null() -> None:
    """SIM Swap with no data for the line: not swapped, null date without monitoredPeriod."""
    harness = Harness(SIM_SWAP, lines=ScriptedLines(SwapHistory("cmcc", None, 100, known=False)))
    assert await harness.check() is False
    answer = await harness.retrieve()
    assert answer.latest_change is None and answer.monitored_days is None


@pytest.mark.parametrize("kind", KINDS)
async def test_three_legged_token_names_the_line(kind: SwapKind) -> None:
    """With a 3-legged token and no phoneNumber, the token's line is checked."""
    harness = Harness(kind)
    harness.changed(NOW - timedelta(hours=1))
    assert await harness.service.check(three_legged(PHONE), phone_number=None, max_age=240) is True
    assert harness.lines.calls[0][1] == PHONE


@pytest.mark.parametrize("kind", KINDS)
async def test_three_legged_token_with_its_own_number_is_unnecessary_identifier(kind: SwapKind) -> None:
    """A 3-legged token plus phoneNumber is 422 UNNECESSARY_IDENTIFIER on both operations, even if equal."""
    harness = Harness(kind)
    harness.changed(NOW)
    with pytest.raises(UnnecessaryIdentifier):
        await harness.service.check(three_legged(PHONE), phone_number=PHONE, max_age=240)
    with pytest.raises(UnnecessaryIdentifier):
        await harness.service.retrieve_date(three_legged(PHONE), phone_number=PHONE)
    assert harness.lines.calls == []


@pytest.mark.parametrize("kind", KINDS)
async def test_two_legged_without_number_is_missing_identifier(kind: SwapKind) -> None:
    """A 2-legged token without phoneNumber is 422 MISSING_IDENTIFIER on both operations."""
    harness = Harness(kind)
    with pytest.raises(MissingIdentifier):
        await harness.service.check(two_legged(), phone_number=None, max_age=240)
    with pytest.raises(MissingIdentifier):
        await harness.service.retrieve_date(two_legged(), phone_number=None)


@pytest.mark.parametrize("kind", KINDS)
async def test_number_unknown_to_the_operator_is_identifier_not_found(kind: SwapKind) -> None:
    """NumberNotServed from the operator is 404 IDENTIFIER_NOT_FOUND on both operations."""
    harness = Harness(kind)
    with pytest.raises(IdentifierNotFound):
        await harness.check()
    with pytest.raises(IdentifierNotFound):
        await harness.retrieve()


@pytest.mark.parametrize("kind", KINDS)
async def test_ineligible_line_is_service_not_applicable(kind: SwapKind) -> None:
    """LineNotEligible from the operator is 422 SERVICE_NOT_APPLICABLE on both operations."""
    harness = Harness(kind)
    harness.changed(NOW)
    harness.lines.set_ineligible(PHONE)
    with pytest.raises(ServiceNotApplicable):
        await harness.check()
    with pytest.raises(ServiceNotApplicable):
        await harness.retrieve()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("failure", "expected", "status"),
    [
        (CarrierUnavailable("cmcc", "down"), Unavailable, 503),
        (CarrierTimeout("cmcc", "slow"), GatewayTimeout, 504),
        (CarrierProtocolError("cmcc", "garbage"), BadGateway, 502),
    ],
)
async def test_operator_failures_map_to_5xx(
    kind: SwapKind, failure: Exception, expected: type[ApiError], status: int
) -> None:
    """Operator failures are 503 UNAVAILABLE, 504 TIMEOUT or 502 BAD_GATEWAY, and record nothing."""
    harness = Harness(kind)
    harness.changed(NOW)
    harness.lines.fail_next(failure)  # type: ignore[arg-type]
    with pytest.raises(expected) as caught:
        await harness.check()
    assert caught.value.status == status
    assert harness.recorder.rows == []
