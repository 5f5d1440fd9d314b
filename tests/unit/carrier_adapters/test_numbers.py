"""E.164 <-> national conversion for +86 and the number-range operator guess."""

from __future__ import annotations

import pytest

from carrier_adapters import is_national_mobile, operator_for_number, to_e164, to_national


def test_e164_to_national_and_back() -> None:
    """+8613800138000 and 13800138000 convert into each other."""
    assert to_national("+8613800138000") == "13800138000"
    assert to_e164("13800138000") == "+8613800138000"
    assert to_e164(to_national("+8619912345678")) == "+8619912345678"


@pytest.mark.parametrize(
    "e164",
    [
        "13800138000",
        "+86138001380000",
        "+861380013800",
        "+8612800138000",
        "+14155550100",
        "+86 13800138000",
        "",
    ],
)
def test_to_national_rejects_non_mainland_mobile(e164: str) -> None:
    """Anything but +86 followed by an 11-digit mobile number raises ValueError."""
    with pytest.raises(ValueError):
        to_national(e164)


@pytest.mark.parametrize(
    "national", ["+8613800138000", "1380013800", "138001380001", "23800138000", "1380013800a", ""]
)
def test_to_e164_rejects_malformed_national(national: str) -> None:
    """A national number that is not 11 digits starting 13-19 raises ValueError."""
    with pytest.raises(ValueError):
        to_e164(national)


def test_national_shape() -> None:
    """The national shape is exactly 1, then 3-9, then nine digits."""
    assert is_national_mobile("13000000000")
    assert not is_national_mobile("12000000000")
    assert not is_national_mobile("1300000000\n")


@pytest.mark.parametrize(
    ("e164", "operator"),
    [
        ("+8613800138000", "cmcc"),
        ("+8618612345678", "cucc"),
        ("+8618912345678", "ctcc"),
    ],
)
def test_operator_guess_by_range(e164: str, operator: str) -> None:
    """138 is a China Mobile range, 186 China Unicom, 189 China Telecom."""
    assert operator_for_number(e164) == operator


@pytest.mark.parametrize("e164", ["+14155550100", "+442079460000", "+861012345678", "not a number", ""])
def test_operator_guess_is_none_outside_mainland_mobile(e164: str) -> None:
    """Foreign, fixed-line and unparseable numbers have no operator guess."""
    assert operator_for_number(e164) is None
