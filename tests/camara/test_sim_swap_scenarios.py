"""SimSwap r3.3 (sim-swap 2.1.0) test definitions, as tests of our own:
``sim-swap-checkSimSwap.feature`` and ``sim-swap-retrieveSimSwapDate.feature``.

Each test is named after its scenario's tag; "identified by the token or provided in the request
body" runs both ways (:mod:`tests.camara.swap_steps`).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.camara import swap_steps as steps
from tests.camara.client import AUTH_FAILURES, Camara
from tests.camara.oas import assert_error
from tests.camara.swap_steps import LINES, SIM_SWAP

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

API = SIM_SWAP
HOURS = [260, 120, 24, 12]
NOT_PHONE_NUMBERS: list[Any] = ["123", "+0861380013800", "8613800138000", "+86 138 0013 8000", 8613800138000]


# --- checkSimSwap --------------------------------------------------------------------------------


@pytest.mark.parametrize("line", LINES)
async def test_check_sim_swap_1_generic_success_scenario(camara: Camara, line: str) -> None:
    """ "Common validations for any sucess scenario": 200, JSON, x-correlator, CheckSimSwapInfo."""
    await steps.generic_check_success(camara, API, line)


@pytest.mark.parametrize("line", LINES)
async def test_check_sim_swap_2_valid_sim_swap_no_max_age(camara: Camara, line: str) -> None:
    """ "Check that the response shows that the SIM has been swapped using default value for maxAge":
    a swap 239 hours ago is true without maxAge."""
    await steps.check_answers(camara, API, line, API.swapped(camara, 239), True)


@pytest.mark.parametrize("hours", HOURS)
@pytest.mark.parametrize("line", LINES)
async def test_check_sim_swap_3_valid_sim_swap_max_age(camara: Camara, line: str, hours: int) -> None:
    """ "Check that the response shows that the SIM has been swapped - maxAge is provided in the
    request": swapped within the last <hours>, maxAge = <hours>, is true."""
    await steps.check_answers(camara, API, line, API.swapped(camara, hours - 0.5), True, max_age=hours)


@pytest.mark.parametrize("line", LINES)
async def test_check_sim_swap_4_more_than_240_hours(camara: Camara, line: str) -> None:
    """ "Check that the response shows that the SIM has not been swapped when the last swap was more
    than 240 hours ago": false without maxAge."""
    await steps.check_answers(camara, API, line, API.swapped(camara, 241), False)


@pytest.mark.parametrize("line", LINES)
async def test_check_sim_swap_5_out_of_max_age(camara: Camara, line: str) -> None:
    """ "Check that the response shows that the SIM has not been swapped when the last swap was before
    the maxAge field": maxAge = hours since the swap minus 1 is false."""
    await steps.check_answers(camara, API, line, API.swapped(camara, 100), False, max_age=99)


@pytest.mark.parametrize("line", LINES)
async def test_check_sim_swap_6_no_sim_swap_no_max_age(camara: Camara, line: str) -> None:
    """ "Check that the response shows that the SIM has not been swapped - maxAge is not provided":
    never swapped, activated 241 hours ago: false."""
    await steps.check_answers(camara, API, line, API.never_swapped(camara, 241), False)


@pytest.mark.parametrize("hours", HOURS)
@pytest.mark.parametrize("line", LINES)
async def test_check_sim_swap_7_no_sim_swap_with_max_age(camara: Camara, line: str, hours: int) -> None:
    """ "Check that the response shows that the SIM has not been swapped - maxAge is provided": never
    swapped, activated more than <hours> ago, maxAge below <hours>: false."""
    seed = API.never_swapped(camara, hours + 0.5)
    await steps.check_answers(camara, API, line, seed, False, max_age=hours - 1)


@pytest.mark.parametrize("failure", AUTH_FAILURES)
async def test_check_sim_swap_401(camara: Camara, failure: str) -> None:
    """ "No Authorization header", "Expired access token", "Invalid access token" (401.1 to 401.3):
    401 UNAUTHENTICATED."""
    await steps.unauthenticated(camara, API, API.check, failure)


@pytest.mark.parametrize("max_age", ["24", 0, -1, 1.5, True, None, [24]])
async def test_check_sim_swap_400_1_invalid_max_age(camara: Camara, max_age: Any) -> None:
    """ "Check that the response shows an error when the max age is invalid": a maxAge against the
    CreateCheckSimSwap schema (type, minimum 1, null) is 400 INVALID_ARGUMENT."""
    phone = await camara.subscriber("cmcc", **API.swapped(camara, 5))
    token = await camara.two_legged(API.scope)
    resp = await camara.post(API.check, token, {"phoneNumber": phone, "maxAge": max_age})
    assert_error(resp, 400, "INVALID_ARGUMENT")


async def test_check_sim_swap_400_2_invalid_max_age_value(camara: Camara) -> None:
    """ "Check that the response shows an error when the max age is above the limit": maxAge 100000
    is 400 OUT_OF_RANGE, naming the 2400-hour limit."""
    phone = await camara.subscriber("cmcc", **API.swapped(camara, 5))
    token = await camara.two_legged(API.scope)
    resp = await camara.post(API.check, token, {"phoneNumber": phone, "maxAge": 100000})
    assert_error(resp, 400, "OUT_OF_RANGE")
    assert "2400" in resp.json()["message"]


@pytest.mark.parametrize(("operator", "window"), [("cucc", 720), ("ctcc", 1440)])
async def test_check_sim_swap_400_3_max_age_out_of_monitored_period(
    camara: Camara, operator: str, window: int
) -> None:
    """ "Check that the response shows an error when the max age is above the supported monitored
    period of the API Provider": one hour over the operator's history window (within 2400) is 400
    OUT_OF_RANGE naming the window; the window itself is answered."""
    phone = await camara.subscriber(operator, **API.swapped(camara, 5))
    token = await camara.two_legged(API.scope)
    resp = await camara.post(API.check, token, {"phoneNumber": phone, "maxAge": window + 1})
    assert_error(resp, 400, "OUT_OF_RANGE")
    assert str(window) in resp.json()["message"]
    resp = await camara.post(API.check, token, {"phoneNumber": phone, "maxAge": window})
    assert resp.status_code == 200 and resp.json() == {"swapped": True}


@pytest.mark.parametrize("number", NOT_PHONE_NUMBERS)
async def test_check_sim_swap_c02_01_phone_number_not_schema_compliant(camara: Camara, number: Any) -> None:
    """ "Phone number value does not comply with the schema": 400 INVALID_ARGUMENT."""
    await steps.phone_number_not_schema_compliant(camara, API, API.check, number)


@pytest.mark.parametrize("kind", ["unregistered", "foreign"])
async def test_check_sim_swap_c02_02_phone_number_not_found(camara: Camara, kind: str) -> None:
    """ "Phone number not found": an unregistered number in a served range, or a number outside every
    served operator, is 404 IDENTIFIER_NOT_FOUND."""
    await steps.phone_number_not_found(camara, API, API.check, kind)


@pytest.mark.parametrize("same", [True, False], ids=["own number", "other number"])
async def test_check_sim_swap_c02_03_unnecessary_phone_number(camara: Camara, same: bool) -> None:
    """ "Phone number not to be included when it can be deduced from the access token": 422
    UNNECESSARY_IDENTIFIER."""
    await steps.unnecessary_phone_number(camara, API, API.check, same)


async def test_check_sim_swap_c02_04_missing_phone_number(camara: Camara) -> None:
    """ "Phone number not included and cannot be deducted from the access token": 422
    MISSING_IDENTIFIER."""
    await steps.missing_phone_number(camara, API, API.check)


@pytest.mark.parametrize("line", LINES)
async def test_check_sim_swap_c02_05_phone_number_not_supported(camara: Camara, line: str) -> None:
    """ "Service not available for the phone number": 422 SERVICE_NOT_APPLICABLE."""
    await steps.phone_number_not_supported(camara, API, API.check, line)


# --- retrieveSimSwapDate -------------------------------------------------------------------------


@pytest.mark.parametrize("line", LINES)
async def test_retrieve_sim_swap_date_1_generic_success_scenario(camara: Camara, line: str) -> None:
    """ "Common validations for any success scenario": 200, JSON, x-correlator, SimSwapInfo."""
    await steps.generic_date_success(camara, API, line)


@pytest.mark.parametrize("line", LINES)
async def test_retrieve_sim_swap_date_2_valid_sim_swap(camara: Camara, line: str) -> None:
    """ "Retrieve SIM swap date for a valid SIM swap": latestSimChange is the swap's timestamp."""
    swapped = API.swapped(camara, 30)
    answer = await steps.date_is(camara, API, line, "cmcc", swapped)
    assert set(answer) == {"latestSimChange"}
    assert steps.parsed(answer["latestSimChange"]) == swapped["simChangedAt"]


@pytest.mark.parametrize("line", LINES)
async def test_retrieve_sim_swap_date_3_no_sim_swap_returns_activation_date(
    camara: Camara, line: str
) -> None:
    """ "Response contains the sim's activation date when it hasn't been swapped" (within the
    operator's history window): latestSimChange is the activation timestamp."""
    never = API.never_swapped(camara, 500)
    answer = await steps.date_is(camara, API, line, "cmcc", never)
    assert steps.parsed(answer["latestSimChange"]) == never["activatedAt"]


@pytest.mark.parametrize("line", LINES)
async def test_retrieve_sim_swap_date_5_no_sim_swap_or_activation_date_due_to_legal_constrain(
    camara: Camara, line: str
) -> None:
    """ "Retrieves SIM swap date for a valid SIM swap" before the limited history window: ctcc keeps
    60 days, so a swap 1500 hours ago is null with monitoredPeriod 60."""
    answer = await steps.date_is(camara, API, line, "ctcc", API.swapped(camara, 1500))
    assert answer == {"latestSimChange": None, "monitoredPeriod": 60}


@pytest.mark.parametrize("failure", AUTH_FAILURES)
async def test_retrieve_sim_swap_date_401(camara: Camara, failure: str) -> None:
    """ "No Authorization header", "Expired access token", "Invalid access token" (401.1 to 401.3):
    401 UNAUTHENTICATED."""
    await steps.unauthenticated(camara, API, API.retrieve_date, failure)


@pytest.mark.parametrize("number", NOT_PHONE_NUMBERS)
async def test_retrieve_sim_swap_date_c02_01_phone_number_not_schema_compliant(
    camara: Camara, number: Any
) -> None:
    """ "Phone number value does not comply with the schema": 400 INVALID_ARGUMENT."""
    await steps.phone_number_not_schema_compliant(camara, API, API.retrieve_date, number)


@pytest.mark.parametrize("kind", ["unregistered", "foreign"])
async def test_retrieve_sim_swap_date_c02_02_phone_number_not_found(camara: Camara, kind: str) -> None:
    """ "Phone number not found": 404 IDENTIFIER_NOT_FOUND."""
    await steps.phone_number_not_found(camara, API, API.retrieve_date, kind)


@pytest.mark.parametrize("same", [True, False], ids=["own number", "other number"])
async def test_retrieve_sim_swap_date_c02_03_unnecessary_phone_number(camara: Camara, same: bool) -> None:
    """ "Phone number not to be included when it can be deduced from the access token": 422
    UNNECESSARY_IDENTIFIER."""
    await steps.unnecessary_phone_number(camara, API, API.retrieve_date, same)


async def test_retrieve_sim_swap_date_c02_04_missing_phone_number(camara: Camara) -> None:
    """ "Phone number not included and cannot be deducted from the access token": 422
    MISSING_IDENTIFIER."""
    await steps.missing_phone_number(camara, API, API.retrieve_date)


@pytest.mark.parametrize("line", LINES)
async def test_retrieve_sim_swap_date_c02_05_phone_number_not_supported(camara: Camara, line: str) -> None:
    """ "Service not available for the phone number": 422 SERVICE_NOT_APPLICABLE."""
    await steps.phone_number_not_supported(camara, API, API.retrieve_date, line)
