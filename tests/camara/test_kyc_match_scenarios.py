"""KnowYourCustomerMatch r1.2 (kyc-match 0.4.0) test definitions, as tests of our own:
``kyc-match.feature``.

The customer record is seeded in the sandbox operators (every kyc-match attribute a Chinese
operator keeps: no kana names). No operator this gateway serves requires ``idDocument``, so the
optional scenarios 12 and 13 (403 ID_DOCUMENT_REQUIRED / ID_DOCUMENT_MISMATCH) do not apply and
a different ``idDocument`` is ``"false"`` (docs/camara.md, "Test definitions").
"""

from __future__ import annotations

from typing import Any, Final

import pytest

from tests.camara.client import AUTH_FAILURES, NO_BODY, Camara
from tests.camara.oas import assert_error, assert_success

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

MATCH: Final = "/kyc-match/v0.4/match"
SCOPE: Final = "kyc-match:match"
RECORD: Final = {
    "idDocument": "11010519491231002X",
    "idDocumentType": "national_id_card",
    "idDocumentExpiryDate": "2031-08-15",
    "name": "王小明",
    "givenName": "小明",
    "familyName": "王",
    "middleNames": "建国",
    "familyNameAtBirth": "李",
    "address": "北京市朝阳区建国路88号",
    "streetName": "建国路",
    "streetNumber": "88号",
    "postalCode": "100022",
    "region": "北京市",
    "locality": "朝阳区",
    "country": "CN",
    "houseNumberExtension": "B座",
    "birthdate": "1990-05-17",
    "email": "wang.xiaoming@example.cn",
    "gender": "MALE",
    "cityOfBirth": "上海",
    "countryOfBirth": "CN",
    "nationality": "CN",
}
OTHER: Final = {
    "idDocument": "110105194912310021",
    "idDocumentType": "passport",
    "idDocumentExpiryDate": "2031-08-16",
    "name": "王晓明",
    "givenName": "晓明",
    "familyName": "汪",
    "middleNames": "建华",
    "familyNameAtBirth": "黎",
    "address": "北京市朝阳区建国路89号",
    "streetName": "建设路",
    "streetNumber": "89号",
    "postalCode": "100023",
    "region": "天津市",
    "locality": "海淀区",
    "country": "JP",
    "houseNumberExtension": "C座",
    "birthdate": "1990-05-18",
    "email": "wang.xm@example.cn",
    "gender": "FEMALE",
    "cityOfBirth": "上饶",
    "countryOfBirth": "HK",
    "nationality": "TW",
}
"""A valid value different from the record's, per attribute."""
KANA: Final = {"nameKanaHankaku": "ﾜﾝ ｼｬｵﾐﾝ", "nameKanaZenkaku": "ワン シャオミン"}
"""Kana names: valid, but no operator here keeps them."""
SCORED: Final = [
    "name",
    "givenName",
    "familyName",
    "middleNames",
    "familyNameAtBirth",
    "address",
    "streetName",
    "streetNumber",
    "region",
    "locality",
    "email",
    "cityOfBirth",
]
ALL_PROPERTIES: Final = [*RECORD.keys(), *KANA.keys()]
PERFECT: Final = [name for name in RECORD if name != "houseNumberExtension"]
"""Scenarios 4 and 5 list every property but houseNumberExtension."""


async def customer(
    camara: Camara, line: str, operator: str = "cucc", **seed: Any
) -> tuple[str, dict[str, str]]:
    """A token and the body part naming the line of a fresh customer with :data:`RECORD`."""
    phone = await camara.subscriber(operator, kyc=RECORD, **seed)
    if line == "2-legged":
        return await camara.two_legged(SCOPE), {"phoneNumber": phone}
    return await camara.ciba(phone, SCOPE), {}


async def match(
    camara: Camara, body: dict[str, Any], line: str = "2-legged", operator: str = "cucc"
) -> dict[str, Any]:
    """A successful match of ``body`` for a fresh customer: every generic success check passes."""
    token, named = await customer(camara, line, operator)
    return assert_success(await camara.post(MATCH, token, {**named, **body}), "KYC_MatchResponse")


@pytest.mark.parametrize("line", ["2-legged", "3-legged"])
async def test_kyc_match_1_success_request_response(camara: Camara, line: str) -> None:
    """ "Validate successful response": 200, x-correlator, JSON, a KYC_MatchResponse."""
    await match(camara, {"name": RECORD["name"], "birthdate": RECORD["birthdate"]}, line)


@pytest.mark.parametrize("prop", ALL_PROPERTIES)
async def test_kyc_match_2_success_specific_property(camara: Camara, prop: str) -> None:
    """ "Validate success response when providing specific property": the answer contains
    <property>Match (kana names: "not_available")."""
    value = {**RECORD, **KANA}[prop]
    answer = await match(camara, {"givenName": RECORD["givenName"], prop: value})
    assert f"{prop}Match" in answer
    if prop in KANA:
        assert answer[f"{prop}Match"] == "not_available"


@pytest.mark.parametrize("prop", SCORED)
async def test_kyc_match_3_success_specific_property_score(camara: Camara, prop: str) -> None:
    """ "Validate success response when providing specific property with false value": a valid value
    that does not match is "false" with a score between 0 and 99."""
    answer = await match(camara, {prop: OTHER[prop]})
    assert answer[f"{prop}Match"] == "false"
    score = answer[f"{prop}MatchScore"]
    assert isinstance(score, int) and 0 <= score <= 99


@pytest.mark.parametrize("prop", PERFECT)
@pytest.mark.parametrize("operator", ["cmcc", "cucc", "ctcc"])
async def test_kyc_match_4_perfect_match_no_scores_returned(camara: Camara, operator: str, prop: str) -> None:
    """ "Validate success response when provided property value is a perfect match": "true" and no
    score, through every operator's dialect."""
    answer = await match(camara, {prop: RECORD[prop]}, operator=operator)
    assert answer == {f"{prop}Match": "true"}


@pytest.mark.parametrize("prop", PERFECT)
async def test_kyc_match_5_success_specific_property_false(camara: Camara, prop: str) -> None:
    """ "Validate success response when providing specific property with false value and without the
    score properties": "false" (idDocument included: no operator here requires it)."""
    answer = await match(camara, {prop: OTHER[prop]})
    assert answer[f"{prop}Match"] == "false"
    assert set(answer) <= {f"{prop}Match", f"{prop}MatchScore"}


@pytest.mark.parametrize(
    "props",
    [
        ["idDocument", "name", "givenName", "address", "country", "birthdate", "email"],
        ["idDocument", "familyName", "postalCode", "gender"],
        ["name", "locality", "region", "streetName", "streetNumber", "nationality", "countryOfBirth"],
        ["givenName", "familyName", "idDocumentType", "idDocumentExpiryDate", "cityOfBirth"],
    ],
    ids=["identity", "document", "address", "document details"],
)
async def test_kyc_match_6_success_multiple_optional_parameter_combinations(
    camara: Camara, props: list[str]
) -> None:
    """ "Validate success response when providing different optional parameter combinations": one
    verdict per property sent; matching values are "true", mismatched ones "false"."""
    body = {prop: (RECORD if index % 2 == 0 else OTHER)[prop] for index, prop in enumerate(props)}
    answer = await match(camara, body)
    verdicts = {key: value for key, value in answer.items() if not key.endswith("Score")}
    assert verdicts == {
        f"{prop}Match": "true" if index % 2 == 0 else "false" for index, prop in enumerate(props)
    }


async def test_kyc_match_7_success_id_document_required(camara: Camara) -> None:
    """ "Validate success when idDocument is required to perform the match validation for any other
    property": the line's idDocument and other properties are 200, each matched."""
    body = {"idDocument": RECORD["idDocument"], "name": RECORD["name"], "birthdate": OTHER["birthdate"]}
    answer = await match(camara, body, operator="ctcc")
    assert answer == {"idDocumentMatch": "true", "nameMatch": "true", "birthdateMatch": "false"}


@pytest.mark.parametrize(
    "failure",
    ["expired_access_token", "invalid_access_token", "no_authorization_header"],
    ids=["401.1_expired_access_token", "401.2_invalid_access_token", "401.3_no_header_authorization"],
)
async def test_kyc_match_401(camara: Camara, failure: str) -> None:
    """ "Error response for expired access token", "... invalid access token", "... no header
    Authorization": 401 UNAUTHENTICATED."""
    assert failure in AUTH_FAILURES
    phone = await camara.subscriber("cmcc", kyc=RECORD)
    bearer = await camara.failing_authorization(failure, await camara.two_legged(SCOPE))
    assert_error(
        await camara.post(MATCH, bearer, {"phoneNumber": phone, "name": "王小明"}), 401, "UNAUTHENTICATED"
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(NO_BODY, id="400.1_no_request_body"),
        pytest.param({}, id="400.2_empty_request_body"),
        pytest.param({"name": 42}, id="400.3_invalid_argument-type"),
        pytest.param({"gender": "male"}, id="400.3_invalid_argument-enum"),
        pytest.param({"birthdate": "17/05/1990"}, id="400.3_invalid_argument-date"),
        pytest.param({"email": "not an email"}, id="400.3_invalid_argument-email"),
        pytest.param({"name": "x", "nickname": "x"}, id="400.3_invalid_argument-unknown-property"),
        pytest.param([{"name": "x"}], id="400.3_invalid_argument-array"),
    ],
)
async def test_kyc_match_400(camara: Camara, body: Any) -> None:
    """ "Missing request body", "Empty object as request body", "Invalid Argument. Generic Syntax
    Exception": 400 INVALID_ARGUMENT."""
    token = await camara.two_legged(SCOPE)
    assert_error(await camara.post(MATCH, token, body), 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("line", ["2-legged", "3-legged"])
async def test_kyc_match_10_invalid_param_combination(camara: Camara, line: str) -> None:
    """ "Error 400 when body does not contain any fields other than phone number": 400
    KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION (3-legged: the token's own number)."""
    phone = await camara.subscriber("cmcc", kyc=RECORD)
    token = await (camara.two_legged(SCOPE) if line == "2-legged" else camara.ciba(phone, SCOPE))
    resp = await camara.post(MATCH, token, {"phoneNumber": phone})
    assert_error(resp, 400, "KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION")


async def test_kyc_match_11_phone_number_provided_does_not_match_the_token(camara: Camara) -> None:
    """ "Error when the phone number provided in the request body does not match the phone number
    associated with the access token": 403 INVALID_TOKEN_CONTEXT."""
    phone = await camara.subscriber("ctcc", kyc=RECORD)
    other = await camara.subscriber("ctcc", kyc=RECORD)
    token = await camara.ciba(other, SCOPE)
    resp = await camara.post(MATCH, token, {"phoneNumber": phone, "name": RECORD["name"]})
    assert_error(resp, 403, "INVALID_TOKEN_CONTEXT")


@pytest.mark.parametrize(
    "number", ["123", "+0861380013800", "8613800138000", "+86 138 0013 8000", 8613800138000]
)
async def test_kyc_match_c02_01_phone_number_not_schema_compliant(camara: Camara, number: Any) -> None:
    """ "Phone number value does not comply with the schema": 400 INVALID_ARGUMENT."""
    token = await camara.two_legged(SCOPE)
    assert_error(
        await camara.post(MATCH, token, {"phoneNumber": number, "name": "王小明"}), 400, "INVALID_ARGUMENT"
    )


@pytest.mark.parametrize("kind", ["unregistered", "foreign", "no customer record"])
async def test_kyc_match_c02_02_phone_number_not_found(camara: Camara, kind: str) -> None:
    """ "Phone number not found": an unregistered number, a number outside every served operator,
    and a line without a customer record are 404 IDENTIFIER_NOT_FOUND."""
    token = await camara.two_legged(SCOPE)
    if kind == "unregistered":
        number = camara.unregistered("cmcc")
    elif kind == "foreign":
        number = "+447700900123"
    else:
        number = await camara.subscriber("cmcc")
    resp = await camara.post(MATCH, token, {"phoneNumber": number, "name": "王小明"})
    assert_error(resp, 404, "IDENTIFIER_NOT_FOUND")


async def test_kyc_match_c02_04_missing_phone_number(camara: Camara) -> None:
    """ "Phone number not included and cannot be deducted from the access token": 422
    MISSING_IDENTIFIER."""
    token = await camara.two_legged(SCOPE)
    assert_error(await camara.post(MATCH, token, {"name": "王小明"}), 422, "MISSING_IDENTIFIER")


@pytest.mark.parametrize("line", ["2-legged", "3-legged"])
async def test_kyc_match_c02_05_phone_number_not_supported(camara: Camara, line: str) -> None:
    """ "Service not available for the phone number": 422 SERVICE_NOT_APPLICABLE."""
    token, named = await customer(camara, line, "cucc", eligible=False)
    resp = await camara.post(MATCH, token, {**named, "name": RECORD["name"]})
    assert_error(resp, 422, "SERVICE_NOT_APPLICABLE")
