"""Operators' customer records translated to CAMARA KYC Match attribute names and value formats.

``docs/operator-dialects.md``, "Common line-information rules": each operator names the attributes
its own way and may write dates as ``yyyyMMdd`` and genders as codes; the gateway sees KYC Match
names, ``YYYY-MM-DD`` dates and ``MALE``/``FEMALE``/``OTHER``. Names an operator added that this
table does not know are ignored; empty values are absent attributes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from carrier_adapters.errors import CarrierProtocolError

__all__ = ["DATE_ATTRIBUTES", "camara_record"]

DATE_ATTRIBUTES: Final = frozenset({"birthdate", "idDocumentExpiryDate"})
_ISO_DATE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_COMPACT_DATE: Final = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")


def camara_record(
    operator: str,
    raw: Mapping[str, object],
    names: Mapping[str, str],
    *,
    compact_dates: bool,
    genders: Mapping[str, str],
) -> dict[str, str]:
    """The attributes of ``raw`` under KYC Match names.

    ``names`` maps the operator's field names to KYC Match names; ``compact_dates`` says dates
    come as ``yyyyMMdd`` (else ``yyyy-MM-dd``); ``genders`` maps the operator's gender codes.

    :raises CarrierProtocolError: a known attribute that is not a string, a malformed date or an
        unknown gender code (the message names the attribute, never its value).
    """
    record: dict[str, str] = {}
    for field, value in raw.items():
        attribute = names.get(field)
        if attribute is None or value == "":
            continue
        if not isinstance(value, str):
            raise _malformed(operator, attribute)
        if attribute in DATE_ATTRIBUTES:
            match = (_COMPACT_DATE if compact_dates else _ISO_DATE).fullmatch(value)
            if match is None:
                raise _malformed(operator, attribute)
            value = "-".join(match.groups())
        elif attribute == "gender":
            gender = genders.get(value)
            if gender is None:
                raise _malformed(operator, attribute)
            value = gender
        record[attribute] = value
    return record


def _malformed(operator: str, attribute: str) -> CarrierProtocolError:
    return CarrierProtocolError(operator, f"{operator} answered a malformed customer record ({attribute})")
