"""SMS templates of the push feature (contract §6).

For sending: ``runtime.templates.get_approved(tenant_id, template_id)`` then
``render(template, params, link)`` -> :class:`RenderedSms` (text, segments, encoding).
"""

from __future__ import annotations

from carrier_adapters.segments import Encoding, SegmentCount, count_segments
from gateway.templates.rendering import OPT_OUT_LINE, RenderedSms, check_spec, render
from gateway.templates.service import TemplateService
from gateway.templates.spec import (
    Category,
    Flow,
    ParamSpec,
    ParamType,
    QuickApp,
    Status,
    Template,
    TemplateSpec,
)

__all__ = [
    "OPT_OUT_LINE",
    "Category",
    "Encoding",
    "Flow",
    "ParamSpec",
    "ParamType",
    "QuickApp",
    "RenderedSms",
    "SegmentCount",
    "Status",
    "Template",
    "TemplateService",
    "TemplateSpec",
    "check_spec",
    "count_segments",
    "render",
]
