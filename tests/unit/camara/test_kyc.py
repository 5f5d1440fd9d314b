"""KYC Match: normalisation, tri-state results, Jaro-Winkler scores (Chinese, Latin), idDocument."""

from __future__ import annotations

import jellyfish
import pytest

from carrier_adapters import CarrierUnavailable
from carrier_adapters.testing import FakeExchanger
from gateway.camara.identifiers import LineDirectory
from gateway.camara.kyc import AttributeMatch, KycMatchService, match_attributes, normalise
from gateway.errors import (
    IdentifierNotFound,
    InvalidTokenContext,
    KycInvalidParamCombination,
    MissingIdentifier,
    ServiceNotApplicable,
    Unavailable,
)
from tests.unit.camara.fakes import ListRecorder, three_legged, two_legged

PHONE = "+8613800138000"


def _wide(text: str) -> str:
    """``text`` in full-width forms (ASCII letters, digits, punctuation; ideographic space)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


RECORD = {
    "name": "王小明",
    "givenName": "小明",
    "familyName": "王",
    "idDocument": "11010519491231002X",
    "birthdate": "1990-05-17",
    "address": "北京市朝阳区建国路88号",
    "postalCode": "100022",
    "country": "CN",
    "gender": "MALE",
    "email": "xiaoming.wang@example.cn",
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  John   SMITH ", "john smith"),
        (_wide("Wang Xiaoming"), "wang xiaoming"),
        ("王 小明", "王小明"),
        ("王　小　明", "王小明"),
        (_wide("ABC123"), "abc123"),
        ("Straße", "strasse"),
        ("阿卜杜拉・艾买提", "阿卜杜拉·艾买提"),
        ("ﾀﾛｳ", "タロウ"),
    ],
)
def test_normalisation(raw: str, expected: str) -> None:
    """NFKC, case folding, collapsed whitespace, no spaces between CJK characters, one middle dot."""
    assert normalise(raw) == expected


def test_only_sent_attributes_are_answered() -> None:
    """The answer has exactly the attributes that were sent."""
    verdicts = match_attributes({"birthdate": "1990-05-17", "country": "cn"}, RECORD)
    assert verdicts == {"birthdate": AttributeMatch("true"), "country": AttributeMatch("true")}


def test_attribute_missing_from_the_record_is_not_available() -> None:
    """An attribute the operator does not hold is "not_available", without a score."""
    assert match_attributes({"cityOfBirth": "Beijing"}, RECORD) == {
        "cityOfBirth": AttributeMatch("not_available")
    }


@pytest.mark.parametrize(
    "name",
    ["王小明", "王 小明", "王\u3000小明", "小明王"],
    ids=["as written", "with a space", "with an ideographic space", "given name first"],
)
def test_chinese_name_matches_as_written_and_in_both_orders(name: str) -> None:
    """A Chinese name matches as written, with or without a space, and given-first."""
    assert match_attributes({"name": name}, RECORD)["name"] == AttributeMatch("true")


def test_chinese_name_from_parts_when_the_record_has_no_full_name() -> None:
    """Without a full name on record, name matches "familyName givenName" built from the parts."""
    record = {"givenName": "小明", "familyName": "王"}
    assert match_attributes({"name": "王小明"}, record)["name"] == AttributeMatch("true")


def test_chinese_name_mismatch_scores_jaro_winkler_of_the_best_form() -> None:
    """王晓明 against 王小明: false, scored by Jaro-Winkler on the characters as written."""
    verdict = match_attributes({"name": "王晓明"}, RECORD)["name"]
    assert verdict.result == "false"
    assert verdict.score == int(jellyfish.jaro_winkler_similarity("王晓明", "王小明") * 100)
    assert verdict.score is not None and 0 < verdict.score < 100


@pytest.mark.parametrize("name", ["John Smith", "Smith John", "JOHN  smith", _wide("John Smith")])
def test_latin_name_matches_in_both_orders_ignoring_case_and_width(name: str) -> None:
    """A Latin name matches given-first and family-first, whatever the case or width."""
    record = {"givenName": "John", "familyName": "Smith"}
    assert match_attributes({"name": name}, record)["name"] == AttributeMatch("true")


def test_latin_name_mismatch_is_scored() -> None:
    """Jon Smith against John Smith: false with the Jaro-Winkler score of the closest form."""
    record = {"name": "John Smith", "givenName": "John", "familyName": "Smith"}
    verdict = match_attributes({"name": "Jon Smith"}, record)["name"]
    expected = int(jellyfish.jaro_winkler_similarity("jon smith", "john smith") * 100)
    assert verdict == AttributeMatch("false", expected)
    assert 90 <= expected <= 99


def test_score_never_reaches_100_on_false() -> None:
    """A near-identical but different value scores at most 99."""
    record = {"address": "a" * 200}
    verdict = match_attributes({"address": "a" * 199 + "b"}, record)["address"]
    assert verdict.result == "false" and verdict.score == 99


@pytest.mark.parametrize(
    ("attribute", "sent"),
    [("postalCode", "100023"), ("birthdate", "1990-05-18"), ("gender", "FEMALE"), ("country", "HK")],
)
def test_unscored_attributes_have_no_score_on_false(attribute: str, sent: str) -> None:
    """postalCode, birthdate, gender, country...: "false" carries no score."""
    assert match_attributes({attribute: sent}, RECORD)[attribute] == AttributeMatch("false")


def test_scored_attribute_match_has_no_score() -> None:
    """A "true" never carries a score."""
    assert match_attributes({"email": "XIAOMING.WANG@example.cn"}, RECORD)["email"] == AttributeMatch("true")


def test_id_document_compared_exactly_after_normalisation() -> None:
    """idDocument matches across case and width (11010519491231002x, full-width digits)."""
    assert match_attributes({"idDocument": "11010519491231002x"}, RECORD)["idDocument"] == AttributeMatch(
        "true"
    )
    assert (
        match_attributes({"idDocument": _wide("11010519491231002X")}, RECORD)["idDocument"].result == "true"
    )


def test_id_document_mismatch_is_false_beside_the_other_verdicts() -> None:
    """No operator requires the document (kyc-match 0.4.0's second level validation), so a different
    idDocument is "false" without a score and the other attributes are still matched."""
    verdicts = match_attributes({"name": "王小明", "idDocument": "110105194912310021"}, RECORD)
    assert verdicts == {"name": AttributeMatch("true"), "idDocument": AttributeMatch("false")}


def test_id_document_not_on_record_is_not_available() -> None:
    """No idDocument on record: not_available, not a mismatch."""
    assert match_attributes({"idDocument": "X1"}, {"name": "a"})["idDocument"] == AttributeMatch(
        "not_available"
    )


class Harness:
    """A KYC service over one fake operator (cmcc) holding RECORD for PHONE."""

    def __init__(self) -> None:
        self.lines = FakeExchanger("cmcc")
        self.lines.set_record(PHONE, RECORD)
        self.recorder = ListRecorder()
        self.service = KycMatchService(lines=LineDirectory({"cmcc": self.lines}), recorder=self.recorder)


async def test_two_legged_match_reads_the_record_and_records_usage() -> None:
    """A 2-legged match with phoneNumber answers per attribute and leaves one billed row."""
    harness = Harness()
    verdicts = await harness.service.match(two_legged(), phone_number=PHONE, attributes={"name": "王小明"})
    assert verdicts == {"name": AttributeMatch("true")}
    [row] = harness.recorder.rows
    assert (row.capability, row.operator, row.phone_number) == ("camara_kyc_match", "cmcc", PHONE)


async def test_only_phone_number_is_invalid_param_combination() -> None:
    """Nothing but phoneNumber is 400 KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION, no operator call."""
    harness = Harness()
    with pytest.raises(KycInvalidParamCombination) as caught:
        await harness.service.match(two_legged(), phone_number=PHONE, attributes={})
    assert caught.value.status == 400 and caught.value.code == "KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION"
    assert harness.lines.calls == []


async def test_three_legged_with_its_own_number_is_accepted() -> None:
    """KYC's exception: a 3-legged token may send its own number."""
    harness = Harness()
    verdicts = await harness.service.match(
        three_legged(PHONE), phone_number=PHONE, attributes={"gender": "MALE"}
    )
    assert verdicts["gender"].result == "true"


async def test_three_legged_with_another_number_is_invalid_token_context() -> None:
    """A 3-legged token and another number is 403 INVALID_TOKEN_CONTEXT."""
    harness = Harness()
    with pytest.raises(InvalidTokenContext):
        await harness.service.match(
            three_legged(PHONE), phone_number="+8613800138001", attributes={"gender": "MALE"}
        )


async def test_two_legged_without_number_is_missing_identifier() -> None:
    """A 2-legged token without phoneNumber is 422 MISSING_IDENTIFIER."""
    with pytest.raises(MissingIdentifier):
        await Harness().service.match(two_legged(), phone_number=None, attributes={"gender": "MALE"})


async def test_operator_answers_map_to_camara_errors() -> None:
    """Unknown number or line without customer record: 404 IDENTIFIER_NOT_FOUND; ineligible 422; down 503."""
    harness = Harness()
    with pytest.raises(IdentifierNotFound):
        await harness.service.match(
            two_legged(), phone_number="+8613900139000", attributes={"gender": "MALE"}
        )
    harness.lines.set_history("+8613900139000", sim=None)
    with pytest.raises(IdentifierNotFound):
        await harness.service.match(
            two_legged(), phone_number="+8613900139000", attributes={"gender": "MALE"}
        )
    harness.lines.set_record("+8613900139000", RECORD)
    harness.lines.set_ineligible("+8613900139000")
    with pytest.raises(ServiceNotApplicable):
        await harness.service.match(
            two_legged(), phone_number="+8613900139000", attributes={"gender": "MALE"}
        )
    harness.lines.fail_next(CarrierUnavailable("cmcc", "down"))
    with pytest.raises(Unavailable):
        await harness.service.match(two_legged(), phone_number=PHONE, attributes={"gender": "MALE"})
    assert harness.recorder.rows == []
