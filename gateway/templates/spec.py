"""SMS template value objects: what a tenant declares (`TemplateSpec`) and what is stored (`Template`)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Category", "Flow", "ParamSpec", "ParamType", "QuickApp", "Status", "Template", "TemplateSpec"]


class Category(enum.StrEnum):
    """Operator template classes; marketing texts carry the opt-out line and respect quiet hours.

    Verification texts carry a one-time ``{{code}}`` and no link, flow or quick app.
    """

    TRANSACTION = "transaction"
    NOTIFICATION = "notification"
    MARKETING = "marketing"
    VERIFICATION = "verification"

    @property
    def has_link(self) -> bool:
        """Whether its SMS carry the message's short link (every category but verification)."""
        return self is not Category.VERIFICATION


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
    """A template as declared by its tenant; checked by :func:`gateway.templates.rendering.check_spec`.

    ``flow`` and ``quick_app`` are set exactly when the category has a link (not for verification).
    """

    name: str
    category: Category
    signature: str
    text: str
    flow: Flow | None
    quick_app: QuickApp | None
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
