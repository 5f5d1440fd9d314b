"""The identity-call figures as CSV, for reconciling with the operators' invoices.

UTF-8 with a byte-order mark (Excel reads a CSV without one in the machine's legacy code page and
garbles the Chinese), CRLF line ends (RFC 4180), a header row in Chinese and English, then one row
per day, operator and capability in the order :meth:`DashboardService.identity_calls
<gateway.dashboard.service.DashboardService.identity_calls>` returns them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from gateway.dashboard.service import IdentityRow

__all__ = ["CSV_MEDIA_TYPE", "HEADER", "OPERATOR_NAMES", "identity_csv"]

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
OPERATOR_NAMES = {"cmcc": "中国移动", "cucc": "中国联通", "ctcc": "中国电信"}
HEADER = (
    "日期 day",
    "运营商 operator",
    "运营商名称 operator name",
    "类别 family",
    "能力 capability",
    "调用次数 calls",
    "计费次数 billed",
)


def identity_csv(rows: Sequence[IdentityRow]) -> bytes:
    """The CSV document of ``rows`` (see the module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            (
                row.day.isoformat(),
                row.operator,
                OPERATOR_NAMES.get(row.operator, ""),
                row.family,
                row.capability,
                row.calls,
                row.billed,
            )
        )
    return ("\ufeff" + out.getvalue()).encode()
