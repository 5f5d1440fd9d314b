"""CAMARA KYC Match (kyc-match 0.4.0, KnowYourCustomerMatch r1.2): attributes against the operator's record.

Flow: a body with nothing but ``phoneNumber`` is 400 KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION;
the line comes from :mod:`gateway.camara.identifiers` with the ``CONFIRM`` rule (KYC's
exception: a 3-legged token may send its own number, another number is 403
INVALID_TOKEN_CONTEXT); the operator's :class:`~carrier_adapters.CustomerRecord` is fetched
(unknown number or no customer account 404 IDENTIFIER_NOT_FOUND, line not eligible 422
SERVICE_NOT_APPLICABLE, failures 502/503/504); then every attribute sent is matched.

Matching (the choices kyc-match 0.4.0 leaves to the operator):

- Normalisation, applied to both sides: Unicode NFKC (full-width Latin, digits and punctuation
  become half-width, half-width katakana full-width), case folding, whitespace collapsed to
  single spaces and trimmed, the middle dots of transliterated names (``·``, ``・``, ``‧``,
  ``•``) unified. Chinese, Japanese and Korean text is compared as written: no
  transliteration, and a space between two CJK characters is dropped (``王 小明`` is
  ``王小明``), since such names are written without spaces.
- ``<attr>Match``: ``"not_available"`` when the record lacks the attribute, ``"true"`` when
  the normalised values are equal, else ``"false"``.
- ``name`` also matches the record's ``givenName familyName`` and ``familyName givenName``
  (Chinese order: family name first, so ``王小明`` matches given ``小明``, family ``王``).
- ``<attr>MatchScore`` only with ``"false"`` and only for the scorable attributes
  (:data:`~gateway.camara.schemas.KYC_SCORED`): Jaro-Winkler similarity of the normalised
  values (jellyfish), times 100, rounded down, at most 99; for ``name`` the best of its forms.
  Jaro-Winkler compares characters, so it works on Chinese as written.
- ``idDocument`` is compared exactly after normalisation (no score), like any other attribute:
  a mismatch is ``idDocumentMatch: "false"`` beside the other verdicts. kyc-match 0.4.0 makes
  the 403 KNOW_YOUR_CUSTOMER.ID_DOCUMENT_REQUIRED and ID_DOCUMENT_MISMATCH answers an operator's
  option ("second level validation"); no operator this gateway serves requires the document, so
  neither is answered.

Each answered match is a billed usage row (``camara_kyc_match``). The record never leaves
:meth:`KycMatchService.match` and never reaches a log.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import jellyfish
import structlog

from carrier_adapters import CarrierError
from gateway.camara.identifiers import IdentifierRule, LineDirectory
from gateway.camara.schemas import KYC_SCORED
from gateway.camara.usage import UsageRecorder
from gateway.errors import KycInvalidParamCombination, from_line_error
from gateway.oauth.tokens import Principal

__all__ = ["AttributeMatch", "KycMatchService", "match_attributes", "normalise"]

MatchResult = Literal["true", "false", "not_available"]
log = structlog.get_logger(__name__)

_CJK = (
    r"\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff"
    r"\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
_CJK_GAP = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")
_MIDDLE_DOTS = re.compile("[\u00b7\u2022\u2027\u2219\u22c5\u30fb]")


def normalise(value: str) -> str:
    """The form attributes are compared in (see the module docstring)."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    text = " ".join(_MIDDLE_DOTS.sub("\u00b7", text).split())
    return _CJK_GAP.sub("", text)


@dataclass(frozen=True, slots=True)
class AttributeMatch:
    """The verdict on one attribute; ``score`` (0-99) only on ``"false"`` of a scorable attribute."""

    result: MatchResult
    score: int | None = None


def _forms(attribute: str, record: Mapping[str, str]) -> list[str]:
    forms = [record[attribute]] if attribute in record else []
    if attribute == "name" and "givenName" in record and "familyName" in record:
        given, family = record["givenName"], record["familyName"]
        forms += [f"{given} {family}", f"{family} {given}"]
    return [normalise(form) for form in forms]


def _score(sent: str, forms: list[str]) -> int:
    best = max(jellyfish.jaro_winkler_similarity(sent, form) for form in forms)
    return max(0, min(99, int(best * 100)))


def match_attributes(sent: Mapping[str, str], record: Mapping[str, str]) -> dict[str, AttributeMatch]:
    """Match every attribute of ``sent`` against ``record`` (both by kyc-match attribute name)."""
    verdicts: dict[str, AttributeMatch] = {}
    for attribute, value in sent.items():
        forms = _forms(attribute, record)
        wanted = normalise(value)
        if not forms:
            verdicts[attribute] = AttributeMatch("not_available")
        elif wanted in forms:
            verdicts[attribute] = AttributeMatch("true")
        elif attribute in KYC_SCORED:
            verdicts[attribute] = AttributeMatch("false", _score(wanted, forms))
        else:
            verdicts[attribute] = AttributeMatch("false")
    return verdicts


class KycMatchService:
    """See the module docstring."""

    def __init__(self, *, lines: LineDirectory, recorder: UsageRecorder) -> None:
        self._lines = lines
        self._recorder = recorder

    async def match(
        self, who: Principal, *, phone_number: str | None, attributes: Mapping[str, str]
    ) -> dict[str, AttributeMatch]:
        """The verdict on every attribute in ``attributes`` (kyc-match attribute names).

        :raises KycInvalidParamCombination, InvalidTokenContext, MissingIdentifier,
            IdentifierNotFound, ServiceNotApplicable, BadGateway, Unavailable, GatewayTimeout:
        """
        if not attributes:
            raise KycInvalidParamCombination()
        line = self._lines.resolve(who, phone_number, IdentifierRule.CONFIRM)
        try:
            record = await line.insight.customer_record(line.phone_number)
        except CarrierError as exc:
            log.warning(
                "operator_call_failed",
                operator=exc.operator,
                action="kyc_match",
                error=type(exc).__name__,
                result_code=exc.code,
            )
            raise from_line_error(exc) from exc
        verdicts = match_attributes(attributes, record.attributes)
        await self._recorder.record(
            tenant_id=who.tenant_id,
            capability="camara_kyc_match",
            operator=line.operator,
            result="OK",
            phone_number=line.phone_number,
        )
        return verdicts
