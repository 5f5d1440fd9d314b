"""DeviceSwap r3.2 (device-swap 1.0.0) test definitions, as tests of our own:
``device-swap-checkDeviceSwap.feature`` and ``device-swap-retrieveDeviceSwapDate.feature``.

Each test is named after its scenario's tag; "identified by the token or provided in the request
body" runs both ways (:mod:`tests.camara.swap_steps`). A line "never connected to the network" is
a sandbox subscriber with no device (no IMEI).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.camara import swap_steps as steps
from tests.camara.client import AUTH_FAILURES, Camara
from tests.camara.oas import assert_error
from tests.camara.swap_steps import DEVICE_SWAP, LINES

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

API = DEVICE_SWAP
HOURS = [260, 120, 24, 12]
NOT_PHONE_NUMBERS: list[Any] = ["123", "+0861380013800", "8613800138000", "+86 138 0013 8000", 8613800138000]


# --- checkDeviceSwap -----------------------------------------------------------------------------


@pytest.mark.parametrize("line", LINES)
async def test_check_device_swap_1_generic_success_scenario(camara: Camara, line: str) -> None:
    """ "Common validations for any sucess scenario": 200, JSON, x-correlator, CheckDeviceSwapInfo."""
    await steps.generic_check_success(camara, API, line)


@pytest.mark.parametrize("line", LINES)
async def test_check_device_swap_2_valid_device_swap_no_max_age(camara: Camara, line: str) -> None:
    """ "Check that the response shows that the device has been swapped using default value for
    maxAge": a swap 239 hours ago is true without maxAge."""
    await steps.check_answers(camara, API, line, API.swapped(camara, 239), True)


@pytest.mark.parametrize("hours", HOURS)
@pytest.mark.parametrize("line", LINES)
async def test_check_device_swap_3_valid_device_swap_max_age(camara: Camara, line: str, hours: int) -> None:
    """ "Check that the response shows that the device has been swapped - maxAge is provided in the
    request": swapped within the last <hours>, maxAge = <hours>, is true."""
    await steps.check_answers(camara, API, line, API.swapped(camara, hours - 0.5), True, max_age=hours)


@pytest.mark.parametrize("line", LINES)
async def test_check_device_swap_4_more_than_240_hours(camara: Camara, line: str) -> None:
    """ "Check that the response shows that the device has not been swapped when "maxAge" is not set
    and the last swap was more than 240 (default) hours ago": false."""
    await steps.check_answers(camara, API, line, API.swapped(camara, 241), False)


@pytest.mark.parametrize("line", LINES)
async def test_check_device_swap_5_out_of_max_age(camara: Camara, line: str) -> None:
    """ "Check that the response shows that the device has not been swapped when the last swap was
    before the maxAge field": a swap 100 hours ago with maxAge 99 is false."""
    await steps.check_answers(camara, API, line, API.swapped(camara, 100), False, max_age=99)


@pytest.mark.parametrize("line", LINES)
async def test_check_device_swap_6_no_device_swap_no_max_age(camara: Camara, line: str) -> None:
    """ "Check that the response shows that the device has not been swapped - maxAge is not provided":
    never swapped, the SIM in this device for 241 hours: false."""
    await steps.check_answers(camara, API, line, API.never_swapped(camara, 241), False)


@pytest.mark.parametrize("hours", HOURS)
@pytest.mark.parametrize("line", LINES)
async def test_check_device_swap_7_no_device_swap_with_max_age(camara: Camara, line: str, hours: int) -> None:
    """ "Check that the response shows that the device has never been swapped - maxAge is provided":
    the SIM in this device for more than <hours>, maxAge below <hours>: false."""
    seed = API.never_swapped(camara, hours + 0.5)
    await steps.check_answers(camara, API, line, seed, False, max_age=hours - 1)


async def test_check_device_swap_8_no_device_swap_phone_number_never_connected(camara: Camara) -> None:
    """ "Error when the phone number has never connected to the Operators's network so the device has
    never been activated" (tag check_device_swap_8_NoDeviceSwapPhoneNumberNeverConnected): 422
    SERVICE_NOT_APPLICABLE."""
    phone = await camara.subscriber("cmcc", activatedAt=camara.ago(5))
    token = await camara.two_legged(API.scope)
    assert_error(await camara.post(API.check, token, {"phoneNumber": phone}), 422, "SERVICE_NOT_APPLICABLE")


@pytest.mark.parametrize("number", NOT_PHONE_NUMBERS)
async def test_check_device_swap_9_c02_01_phone_number_not_schema_compliant(
    camara: Camara, number: Any
) -> None:
    """ "Phone number value does not comply with the schema": 400 INVALID_ARGUMENT."""
    await steps.phone_number_not_schema_compliant(camara, API, API.check, number)


@pytest.mark.parametrize("kind", ["unregistered", "foreign"])
async def test_check_device_swap_10_c02_02_phone_number_not_found(camara: Camara, kind: str) -> None:
    """ "Phone number not found": an unregistered number in a served range, or a number outside every
    served operator, is 404 IDENTIFIER_NOT_FOUND."""
    await steps.phone_number_not_found(camara, API, API.check, kind)


@pytest.mark.parametrize("same", [True, False], ids=["own number", "other number"])
async def test_check_device_swap_11_c02_03_unnecessary_phone_number(camara: Camara, same: bool) -> None:
    """ "Phone number not to be included when it can be deduced from the access token": 422
    UNNECESSARY_IDENTIFIER."""
    await steps.unnecessary_phone_number(camara, API, API.check, same)


async def test_check_device_swap_12_c02_04_missing_phone_number(camara: Camara) -> None:
    """ "Phone number not included and cannot be deducted from the access token": 422
    MISSING_IDENTIFIER."""
    await steps.missing_phone_number(camara, API, API.check)


@pytest.mark.parametrize("line", LINES)
async def test_check_device_swap_13_c02_05_phone_number_not_supported(camara: Camara, line: str) -> None:
    """ "Service not available for the phone number": 422 SERVICE_NOT_APPLICABLE."""
    await steps.phone_number_not_supported(camara, API, API.check, line)


@pytest.mark.parametrize("failure", AUTH_FAILURES)
async def test_check_device_swap_401(camara: Camara, failure: str) -> None:
    """ "No Authorization header", "Expired access token", "Invalid access token" (401.1 to 401.3):
    401 UNAUTHENTICATED."""
    await steps.unauthenticated(camara, API, API.check, failure)


@pytest.mark.parametrize("max_age", ["24", 0, -1, 1.5, True, None, [24]])
async def test_check_device_swap_400_2_invalid_max_age(camara: Camara, max_age: Any) -> None:
    """ "Check that the response shows an error when the max age is invalid": a maxAge against the
    CreateCheckDeviceSwap schema (type, minimum 1, null) is 400 INVALID_ARGUMENT."""
    phone = await camara.subscriber("cmcc", **API.swapped(camara, 5))
    token = await camara.two_legged(API.scope)
    resp = await camara.post(API.check, token, {"phoneNumber": phone, "maxAge": max_age})
    assert_error(resp, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(("max_age", "limit"), [(2401, 2400), (100000, 2400), (721, 720)])
async def test_check_device_swap_400_3_out_of_range(camara: Camara, max_age: int, limit: int) -> None:
    """ "Error when maxAge is out of range": above 2400 hours, or above the operator's history window
    (cucc keeps 720 hours), is 400 OUT_OF_RANGE naming the limit."""
    phone = await camara.subscriber("cucc", **API.swapped(camara, 5))
    token = await camara.two_legged(API.scope)
    resp = await camara.post(API.check, token, {"phoneNumber": phone, "maxAge": max_age})
    assert_error(resp, 400, "OUT_OF_RANGE")
    assert str(limit) in resp.json()["message"]


# --- retrieveDeviceSwapDate ----------------------------------------------------------------------


@pytest.mark.parametrize("line", LINES)
async def test_retrieve_device_swap_date_1_generic_success_scenario(camara: Camara, line: str) -> None:
    """ "Common validations for any sucess scenario": 200, JSON, x-correlator, DeviceSwapInfo."""
    await steps.generic_date_success(camara, API, line)


@pytest.mark.parametrize("line", LINES)
async def test_retrieve_device_swap_date_2_valid_device_swap(camara: Camara, line: str) -> None:
    """ "Retrieve decive swap date for a valid device swap": latestDeviceChange is the swap's timestamp."""
    swapped = API.swapped(camara, 30)
    answer = await steps.date_is(camara, API, line, "cmcc", swapped)
    assert set(answer) == {"latestDeviceChange"}
    assert steps.parsed(answer["latestDeviceChange"]) == swapped["deviceChangedAt"]


@pytest.mark.parametrize("line", LINES)
async def test_retrieve_device_swap_date_3_no_device_swap_returns_activation_date(
    camara: Camara, line: str
) -> None:
    """ "Response contains the first time that the SIM is installed in the device when it hasn't been
    swapped" (within the operator's window): latestDeviceChange is that timestamp."""
    never = API.never_swapped(camara, 500)
    answer = await steps.date_is(camara, API, line, "cmcc", never)
    assert steps.parsed(answer["latestDeviceChange"]) == never["activatedAt"]


@pytest.mark.parametrize("line", LINES)
async def test_retrieve_device_swap_date_4_no_device_swap_or_activation_date_due_to_legal_constrain(
    camara: Camara, line: str
) -> None:
    """ "Retrieves device swap empty for a valid device swap when exists local regulations": a swap
    outside ctcc's 60-day window is null (with monitoredPeriod 60, which the schema allows)."""
    answer = await steps.date_is(camara, API, line, "ctcc", API.swapped(camara, 1500))
    assert answer == {"latestDeviceChange": None, "monitoredPeriod": 60}


async def test_retrieve_device_swap_date_5_not_activated(camara: Camara) -> None:
    """ "Error device swap date for a non-activated sim": a line never in a device is 422
    SERVICE_NOT_APPLICABLE."""
    phone = await camara.subscriber("ctcc", activatedAt=camara.ago(5))
    token = await camara.two_legged(API.scope)
    resp = await camara.post(API.retrieve_date, token, {"phoneNumber": phone})
    assert_error(resp, 422, "SERVICE_NOT_APPLICABLE")


@pytest.mark.parametrize("number", NOT_PHONE_NUMBERS)
async def test_retrieve_device_swap_date_6_c02_01_phone_number_not_schema_compliant(
    camara: Camara, number: Any
) -> None:
    """ "Phone number value does not comply with the schema": 400 INVALID_ARGUMENT."""
    await steps.phone_number_not_schema_compliant(camara, API, API.retrieve_date, number)


@pytest.mark.parametrize("kind", ["unregistered", "foreign"])
async def test_retrieve_device_swap_date_7_c02_02_phone_number_not_found(camara: Camara, kind: str) -> None:
    """ "Phone number not found": 404 IDENTIFIER_NOT_FOUND."""
    await steps.phone_number_not_found(camara, API, API.retrieve_date, kind)


@pytest.mark.parametrize("same", [True, False], ids=["own number", "other number"])
async def test_retrieve_device_swap_date_8_c02_03_unnecessary_phone_number(
    camara: Camara, same: bool
) -> None:
    """ "Phone number not to be included when it can be deduced from the access token": 422
    UNNECESSARY_IDENTIFIER."""
    await steps.unnecessary_phone_number(camara, API, API.retrieve_date, same)


async def test_retrieve_device_swap_date_9_c02_04_missing_phone_number(camara: Camara) -> None:
    """ "Phone number not included and cannot be deducted from the access token" (the feature tags it
    check_device_swap_9_C02_04_missing_phone_number): 422 MISSING_IDENTIFIER."""
    await steps.missing_phone_number(camara, API, API.retrieve_date)


@pytest.mark.parametrize("line", LINES)
async def test_retrieve_device_swap_date_10_c02_05_phone_number_not_supported(
    camara: Camara, line: str
) -> None:
    """ "Service not available for the phone number": 422 SERVICE_NOT_APPLICABLE."""
    await steps.phone_number_not_supported(camara, API, API.retrieve_date, line)


@pytest.mark.parametrize("failure", AUTH_FAILURES)
async def test_retrieve_device_swap_date_401(camara: Camara, failure: str) -> None:
    """ "No Authorization header", "Expired access token", "Invalid access token" (401.1 to 401.3):
    401 UNAUTHENTICATED."""
    await steps.unauthenticated(camara, API, API.retrieve_date, failure)
