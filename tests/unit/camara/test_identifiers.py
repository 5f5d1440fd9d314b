"""The identifier rules table (camara.md §2.4), applied once for every CAMARA API."""

from __future__ import annotations

import pytest

from carrier_adapters.testing import FakeExchanger
from gateway.camara.identifiers import IdentifierRule, LineDirectory, same_number
from gateway.errors import (
    IdentifierNotFound,
    InvalidTokenContext,
    MissingIdentifier,
    Unavailable,
    UnnecessaryIdentifier,
)
from tests.unit.camara.fakes import three_legged, two_legged

CMCC = "+8613800138000"
CUCC = "+8618600186000"


@pytest.fixture
def directory() -> LineDirectory:
    return LineDirectory({"cmcc": FakeExchanger("cmcc"), "cucc": FakeExchanger("cucc")})


@pytest.mark.parametrize("rule", list(IdentifierRule))
def test_three_legged_without_number_uses_the_tokens_line(
    directory: LineDirectory, rule: IdentifierRule
) -> None:
    """A 3-legged token alone names the line: the token's number and operator."""
    line = directory.resolve(three_legged(CUCC, "cucc"), None, rule)
    assert (line.phone_number, line.operator) == (CUCC, "cucc")


@pytest.mark.parametrize("number", [CMCC, CUCC])
def test_strict_rule_refuses_any_number_with_a_three_legged_token(
    directory: LineDirectory, number: str
) -> None:
    """SIM/Device Swap: a number beside a 3-legged token is 422 UNNECESSARY_IDENTIFIER, even the same one."""
    with pytest.raises(UnnecessaryIdentifier) as caught:
        directory.resolve(three_legged(CMCC), number, IdentifierRule.STRICT)
    assert caught.value.status == 422 and caught.value.code == "UNNECESSARY_IDENTIFIER"


def test_confirm_rule_accepts_the_tokens_own_number(directory: LineDirectory) -> None:
    """KYC Match: the token's own number in the body is accepted."""
    line = directory.resolve(three_legged(CMCC), CMCC, IdentifierRule.CONFIRM)
    assert line.phone_number == CMCC


def test_confirm_rule_refuses_another_number(directory: LineDirectory) -> None:
    """KYC Match: another number than the token's is 403 INVALID_TOKEN_CONTEXT."""
    with pytest.raises(InvalidTokenContext) as caught:
        directory.resolve(three_legged(CMCC), "+8613800138001", IdentifierRule.CONFIRM)
    assert caught.value.status == 403 and caught.value.code == "INVALID_TOKEN_CONTEXT"


@pytest.mark.parametrize("rule", list(IdentifierRule))
def test_two_legged_without_number_is_missing_identifier(
    directory: LineDirectory, rule: IdentifierRule
) -> None:
    """A 2-legged token without phoneNumber is 422 MISSING_IDENTIFIER."""
    with pytest.raises(MissingIdentifier) as caught:
        directory.resolve(two_legged(), None, rule)
    assert caught.value.status == 422 and caught.value.code == "MISSING_IDENTIFIER"


def test_two_legged_number_goes_to_the_operator_of_its_block(directory: LineDirectory) -> None:
    """A 2-legged request is routed by the number's block (186 is China Unicom)."""
    line = directory.resolve(two_legged(), CUCC, IdentifierRule.STRICT)
    assert line.operator == "cucc"


@pytest.mark.parametrize(
    "number", ["+447700900123", "+8618900189000"], ids=["foreign", "unconfigured operator"]
)
def test_two_legged_number_no_operator_serves_is_identifier_not_found(
    directory: LineDirectory, number: str
) -> None:
    """A number of no configured operator (foreign, or ctcc here) is 404 IDENTIFIER_NOT_FOUND."""
    with pytest.raises(IdentifierNotFound) as caught:
        directory.resolve(two_legged(), number, IdentifierRule.STRICT)
    assert caught.value.status == 404 and caught.value.code == "IDENTIFIER_NOT_FOUND"


def test_three_legged_token_of_an_unconfigured_operator_is_unavailable(directory: LineDirectory) -> None:
    """A 3-legged token naming an operator this gateway does not serve is 503 UNAVAILABLE."""
    with pytest.raises(Unavailable):
        directory.resolve(three_legged("+8618900189000", "ctcc"), None, IdentifierRule.STRICT)


def test_same_number_is_exact() -> None:
    """Numbers are equal only when identical."""
    assert same_number(CMCC, CMCC)
    assert not same_number(CMCC, CMCC + "0")
    assert not same_number(CMCC, "+8613800138001")
