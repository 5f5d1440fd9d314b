"""The delivery-report state machine as a table, the opt-out keywords, routing and link codes."""

from __future__ import annotations

import math
import re

import pytest

from carrier_adapters import DeliveryState
from gateway.push.links import ALPHABET, CODE_LENGTH, link_url, new_code
from gateway.push.optout import is_opt_out
from gateway.push.routing import route
from gateway.push.states import MessageStatus, ReportStep, step_for_report

S = MessageStatus
D, F = DeliveryState.DELIVERED, DeliveryState.FAILED


@pytest.mark.parametrize(
    ("status", "state", "expected"),
    [
        (S.SUBMITTED, D, ReportStep(S.DELIVERED, "delivered", "message.delivered")),
        (S.SUBMITTED, F, ReportStep(S.FAILED, "failed", "message.failed")),
        (S.QUEUED, D, ReportStep(S.QUEUED, "report", None)),
        (S.QUEUED, F, ReportStep(S.QUEUED, "report", None)),
        (S.DELIVERED, F, ReportStep(S.DELIVERED, "report", None)),
        (S.DELIVERED, D, ReportStep(S.DELIVERED, "report", None)),
        (S.FAILED, D, ReportStep(S.FAILED, "report", None)),
        (S.EXPIRED, D, ReportStep(S.EXPIRED, "report", None)),
        (S.OPENED, F, ReportStep(S.OPENED, "report", None)),
        (S.COMPLETED, F, ReportStep(S.COMPLETED, "report", None)),
    ],
)
def test_report_transitions(status: MessageStatus, state: DeliveryState, expected: ReportStep) -> None:
    """Only a submitted message moves; before submission a report waits; a final state never changes."""
    assert step_for_report(status, state) == expected


def test_reports_in_any_order_end_in_the_first_applied_state() -> None:
    """Folding reports over the machine: after the first one applies, later ones change nothing."""
    for reports in ([D, F], [F, D], [D, D, F], [F, F, D]):
        status = S.SUBMITTED
        for state in reports:
            status = step_for_report(status, state).status
        assert status is (S.DELIVERED if reports[0] is D else S.FAILED)


@pytest.mark.parametrize(
    "text",
    ["T", "t", "TD", "td", "Td", " R ", "r", "\uff34\uff24", "\uff34", "\uff52", "\u3000TD\u3000", "TD\n"],
)
def test_opt_out_keywords(text: str) -> None:
    """T, TD and R count trimmed, in any case, and in full width."""
    assert is_opt_out(text)


@pytest.mark.parametrize("text", ["", "TDD", "退订", "T D", "yes", "R please", "0"])
def test_other_replies_are_not_opt_outs(text: str) -> None:
    """Anything else is not an opt-out."""
    assert not is_opt_out(text)


def test_routing_tries_the_block_owner_first_then_the_others() -> None:
    """A China Unicom block goes to cucc first, then the other configured operators."""
    assert route("+8618600186000", {"cmcc", "cucc", "ctcc"}, fallback=None) == ["cucc", "cmcc", "ctcc"]
    assert route("+8618600186000", {"cmcc"}, fallback=None) == ["cmcc"]


def test_routing_of_foreign_numbers_needs_a_fallback() -> None:
    """A non-mainland number goes only to the configured fallback operator."""
    assert route("+12025550123", {"cmcc", "cucc"}, fallback=None) == []
    assert route("+12025550123", {"cmcc", "cucc"}, fallback="cucc") == ["cucc"]
    assert route("+12025550123", {"cmcc"}, fallback="cucc") == []


def test_link_codes_are_base62_with_more_than_64_bits() -> None:
    """Codes are 22 base62 characters (about 131 bits), all different, in {PUBLIC_URL}/l/{code}."""
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(re.fullmatch(r"[0-9A-Za-z]{22}", code) for code in codes)
    assert CODE_LENGTH * math.log2(len(ALPHABET)) >= 64 and CODE_LENGTH >= 11
    assert set("".join(codes)) == set(ALPHABET)
    assert link_url("https://gw.example/", "abc") == "https://gw.example/l/abc"


def test_link_code_draws_are_unbiased(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random bytes at or above 248 (where byte % 62 would favour the first 8 characters) are
    discarded and drawn again, never folded into the alphabet."""
    draws = iter([bytes([248, 255, 0, 61, 62, 247] + [250] * 26), bytes(range(32))])
    monkeypatch.setattr("gateway.push.links.secrets.token_bytes", lambda n: next(draws))
    assert new_code() == "0z0z" + ALPHABET[: CODE_LENGTH - 4]
