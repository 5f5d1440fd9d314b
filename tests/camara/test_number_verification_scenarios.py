"""NumberVerification r3.2 (number-verification 2.1.0) test definitions, as tests of our own:
``number-verification-phoneNumberVerify.feature`` and ``number-verification-phoneNumberShare.feature``.

"A token obtained by a supported authentication method" is a code-flow token from the phone's
browser on cellular data; the unsupported methods are SMS-OTP, CIBA ``tel:`` and client
credentials. Each test is named after its scenario's tag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

import pytest

from tests.camara.client import AUTH_FAILURES, NO_BODY, NV_SHARE, NV_VERIFY, Camara
from tests.camara.oas import assert_error, assert_success
from tests.leaks import SENSITIVE

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

VERIFY = "/number-verification/v2/verify"
SHARE = "/number-verification/v2/device-phone-number"
NV = f"{NV_VERIFY} {NV_SHARE}"
NOT_BY_NETWORK = "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK"


def other_number(phone: str) -> str:
    """A valid number differing from ``phone`` in its last digit (marked sensitive)."""
    other = phone[:-1] + str((int(phone[-1]) + 1) % 10)
    SENSITIVE.update({other, other[3:]})
    return other


def sha256_hex(phone: str) -> str:
    """SHA-256 (hexadecimal) of the E.164 number with '+'."""
    return hashlib.sha256(phone.encode()).hexdigest()


UNSUPPORTED_METHODS: dict[str, Callable[[Camara, str], Awaitable[str]]] = {
    "sms_otp_code_flow": lambda camara, phone: camara.sms_otp(phone, NV),
    "ciba_tel": lambda camara, phone: camara.ciba(phone, NV),
    "client_credentials": lambda camara, phone: camara.two_legged(f"{NV_VERIFY} {NV_SHARE}"),
}


# --- phoneNumberVerify ---------------------------------------------------------------------------


async def test_phone_number_verify_01_generic_success_scenario(camara: Camara) -> None:
    """ "Common validations for any success scenario": 200, JSON, x-correlator echoed, the body a
    NumberVerificationMatchResponse."""
    phone = await camara.subscriber("cmcc")
    token = await camara.network(phone, NV_VERIFY)
    assert_success(
        await camara.post(VERIFY, token, {"phoneNumber": phone}), "NumberVerificationMatchResponse"
    )


@pytest.mark.parametrize(
    ("field", "same", "verified"),
    [
        pytest.param("phoneNumber", True, True, id="02_validate_phone_number_success_true"),
        pytest.param("phoneNumber", False, False, id="03_validate_phone_number_success_false"),
        pytest.param("hashedPhoneNumber", True, True, id="04_validate_hashed_phone_number_success_true"),
        pytest.param("hashedPhoneNumber", False, False, id="05_validate_hashed_phone_number_success_false"),
    ],
)
@pytest.mark.parametrize("operator", ["cmcc", "cucc", "ctcc"])
async def test_phone_number_verify_02_to_05_validate_success(
    camara: Camara, operator: str, field: str, same: bool, verified: bool
) -> None:
    """ "Validate success with (hashed) phone number when response is true/false": the token's own
    number, plain or SHA-256 hex, is true; another valid number is false (each operator)."""
    phone = await camara.subscriber(operator)
    token = await camara.network(phone, NV_VERIFY)
    number = phone if same else other_number(phone)
    value = number if field == "phoneNumber" else sha256_hex(number)
    body = assert_success(await camara.post(VERIFY, token, {field: value}), "NumberVerificationMatchResponse")
    assert body == {"devicePhoneNumberVerified": verified}


@pytest.mark.parametrize(
    "body",
    [NO_BODY, {}, {"additional_property": "foo_value"}, "both"],
    ids=[
        "400.1_no_request_body",
        "400.2_empty_request_body",
        "400.3_invalid_request_non_existing_property",
        "400.4_both_phone_number_and_hashed_in_request",
    ],
)
async def test_phone_number_verify_400(camara: Camara, body: object) -> None:
    """ "Missing request body", "Empty object as request body", "Error when request body contains a
    property but it is neither phoneNumber nor hashedPhoneNumber", "Response error when phoneNumber
    and hashedPhoneNumber are provided together": 400 INVALID_ARGUMENT."""
    phone = await camara.subscriber("cucc")
    token = await camara.network(phone, NV_VERIFY)
    if body == "both":
        body = {"phoneNumber": phone, "hashedPhoneNumber": sha256_hex(phone)}
    assert_error(await camara.post(VERIFY, token, body), 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("failure", AUTH_FAILURES)
async def test_phone_number_verify_401(camara: Camara, failure: str) -> None:
    """ "No Authorization header", "Expired access token", "Invalid access token" (401.1 to 401.3):
    401 UNAUTHENTICATED."""
    phone = await camara.subscriber("ctcc")
    bearer = await camara.failing_authorization(failure, await camara.network(phone, NV_VERIFY))
    assert_error(await camara.post(VERIFY, bearer, {"phoneNumber": phone}), 401, "UNAUTHENTICATED")


async def test_phone_number_verify_403_1_invalid_token_permissions(camara: Camara) -> None:
    """ "Access token does not have the required permissions": a network token for sharing the number
    only is 403 PERMISSION_DENIED on verify."""
    phone = await camara.subscriber("cmcc")
    token = await camara.network(phone, NV_SHARE)
    assert_error(await camara.post(VERIFY, token, {"phoneNumber": phone}), 403, "PERMISSION_DENIED")


@pytest.mark.parametrize("method", sorted(UNSUPPORTED_METHODS))
async def test_phone_number_verify_403_2_not_authenticated_using_network_or_sim_based_authentication(
    camara: Camara, method: str
) -> None:
    """ "Response error when the token has not been obtained by a supported authentication method":
    403 NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK."""
    phone = await camara.subscriber("cucc")
    token = await UNSUPPORTED_METHODS[method](camara, phone)
    assert_error(await camara.post(VERIFY, token, {"phoneNumber": phone}), 403, NOT_BY_NETWORK)


@pytest.mark.parametrize(
    "number", ["123", "+0861380013800", "8613800138000", "+86 138 0013 8000", "+1234", "+1234567890123456"]
)
async def test_phone_number_verify_c02_01_phone_number_not_schema_compliant(
    camara: Camara, number: str
) -> None:
    """ "Phone number value does not comply with the schema", with a token that identifies no single
    number (client credentials): 400 INVALID_ARGUMENT, the body judged before the token."""
    token = await camara.two_legged(NV_VERIFY)
    assert_error(await camara.post(VERIFY, token, {"phoneNumber": number}), 400, "INVALID_ARGUMENT")


# --- phoneNumberShare ----------------------------------------------------------------------------


async def test_phone_number_share_01_generic_success_scenario(camara: Camara) -> None:
    """ "Common validations for any success scenario": 200, JSON, x-correlator echoed, the body a
    NumberVerificationShareResponse."""
    phone = await camara.subscriber("ctcc")
    token = await camara.network(phone, NV_SHARE)
    assert_success(await camara.send("GET", SHARE, token), "NumberVerificationShareResponse")


@pytest.mark.parametrize("operator", ["cmcc", "cucc", "ctcc"])
async def test_phone_number_share_02_success_scenario(camara: Camara, operator: str) -> None:
    """ "Validate success scenario": devicePhoneNumber is the number the token was obtained on."""
    phone = await camara.subscriber(operator)
    token = await camara.network(phone, NV_SHARE)
    body = assert_success(await camara.send("GET", SHARE, token), "NumberVerificationShareResponse")
    assert body == {"devicePhoneNumber": phone}


@pytest.mark.parametrize("failure", AUTH_FAILURES)
async def test_phone_number_share_401(camara: Camara, failure: str) -> None:
    """ "No Authorization header", "Expired access token", "Invalid access token" (the share feature
    tags them phone_number_verify_401.1 to 401.3): 401 UNAUTHENTICATED."""
    phone = await camara.subscriber("cmcc")
    bearer = await camara.failing_authorization(failure, await camara.network(phone, NV_SHARE))
    assert_error(await camara.send("GET", SHARE, bearer), 401, "UNAUTHENTICATED")


async def test_phone_number_share_403_1_invalid_token_permissions(camara: Camara) -> None:
    """ "Access token does not have the required permissions": a network token for verify only is
    403 PERMISSION_DENIED on device-phone-number."""
    phone = await camara.subscriber("ctcc")
    token = await camara.network(phone, NV_VERIFY)
    assert_error(await camara.send("GET", SHARE, token), 403, "PERMISSION_DENIED")


@pytest.mark.parametrize("method", sorted(UNSUPPORTED_METHODS))
async def test_phone_number_share_403_2_not_authenticated_using_network_or_sim_based_authentication(
    camara: Camara, method: str
) -> None:
    """ "Response error when the token has not been obtained by a supported authentication method":
    403 NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK."""
    phone = await camara.subscriber("cmcc")
    token = await UNSUPPORTED_METHODS[method](camara, phone)
    assert_error(await camara.send("GET", SHARE, token), 403, NOT_BY_NETWORK)
