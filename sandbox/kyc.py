"""Customer records (KYC): the attributes the sandbox accepts and the value formats operators use.

Records are seeded under the CAMARA KYC Match 0.4 attribute names; each operator renames them on
the wire (``docs/operator-dialects.md``, "Common line-information rules").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Final

__all__ = ["DATE_ATTRIBUTES", "GENDERS", "check_record", "compact_date", "rename"]

DATE_ATTRIBUTES: Final = frozenset({"birthdate", "idDocumentExpiryDate"})
GENDERS: Final = frozenset({"MALE", "FEMALE", "OTHER"})


def check_record(record: Mapping[str, str]) -> Mapping[str, str]:
    """``record`` itself if its dates are ``YYYY-MM-DD`` and its ``gender`` a KYC Match value.

    :raises ValueError: naming the first attribute that is not.
    """
    for name in sorted(DATE_ATTRIBUTES & record.keys()):
        try:
            date.fromisoformat(record[name])
        except ValueError:
            raise ValueError(f"kyc.{name} must be a date YYYY-MM-DD") from None
        if len(record[name]) != len("YYYY-MM-DD"):
            raise ValueError(f"kyc.{name} must be a date YYYY-MM-DD")
    if "gender" in record and record["gender"] not in GENDERS:
        raise ValueError("kyc.gender must be one of MALE, FEMALE, OTHER")
    return record


def compact_date(iso: str) -> str:
    """``1990-01-31`` -> ``19900131``."""
    return iso.replace("-", "")


def rename(
    record: Mapping[str, str],
    names: Mapping[str, str],
    *,
    dates: bool = False,
    genders: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The attributes of ``record`` an operator holds, under its ``names``.

    ``dates`` writes dates as ``yyyyMMdd``; ``genders`` maps KYC Match genders to the operator's codes.
    """
    renamed: dict[str, str] = {}
    for attribute, value in record.items():
        name = names.get(attribute)
        if name is None:
            continue
        if dates and attribute in DATE_ATTRIBUTES:
            value = compact_date(value)
        elif genders is not None and attribute == "gender":
            value = genders[value]
        renamed[name] = value
    return renamed
