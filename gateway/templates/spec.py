"""SMS template value objects: what a tenant declares (`TemplateSpec`) and what is stored (`Template`)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Category", "Flow", "ParamSpec", "ParamType", "QuickApp", "Status", "Template", "TemplateSpec"]


class Category(enum.StrEnum):
    """Operator template classes; marketing texts carry the opt-out line and respect quiet hours."""

    TRANSACTION = "transaction"
    NOTIFICATION = "notification"
    MARKETING = "marketing"


class Flow(enum.StrEnum):
    """The quick-app flow the SMS link opens."""

    CLAIM_LOCATION = "claim_location"
    BRANCH_QUEUE = "branch_queue"


class ParamType(enum.StrEnum):
    """How a parameter value is checked and written into the text (see :mod:`gateway.templates.rendering`)."""

    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    PHONE = "phone"


class Status(enum.StrEnum):
    """Review state; only approved templates may be sent."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """A declared parameter."""

    type: ParamType
    required: bool = True


@dataclass(frozen=True, slots=True)
class QuickApp:
    """The quick app the landing page opens: ``hap://app/{package}/{page}``."""

    package: str
    page: str


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """A template as declared by its tenant; checked by :func:`gateway.templates.rendering.check_spec`."""

    name: str
    category: Category
    signature: str
    text: str
    flow: Flow
    quick_app: QuickApp
    params: Mapping[str, ParamSpec]


@dataclass(frozen=True, slots=True)
class Template:
    """A stored template of one tenant; ``builtin`` names the built-in definition it was installed from."""

    id: str
    tenant_id: str
    spec: TemplateSpec
    status: Status
    created_at: datetime
    reason: str | None = None
    builtin: str | None = None
    decided_at: datetime | None = None
