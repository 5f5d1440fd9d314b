"""Wire models of the template API (contract §6) and of the built-in definitions in ``templates/sms/``.

Shapes and types are checked here; the rules on signature, text and parameter names are the
domain's (:func:`gateway.templates.rendering.check_spec`), so built-ins pass the same checks.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.templates.spec import Category, Flow, ParamSpec, ParamType, QuickApp, TemplateSpec

__all__ = ["Approval", "BuiltinInstall", "ParamBody", "QuickAppBody", "Rejection", "TemplateCreate"]

_PACKAGE = r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$"
_PAGE = r"^/?([A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*)?$"


class QuickAppBody(BaseModel):
    """``quickApp``: the package and page the landing page opens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    package: str = Field(max_length=128, pattern=_PACKAGE)
    page: str = Field(max_length=128, pattern=_PAGE)

    def to_domain(self) -> QuickApp:
        """The domain value."""
        return QuickApp(self.package, self.page)


class ParamBody(BaseModel):
    """One entry of ``params``; ``required`` defaults to true."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["string", "number", "date", "phone"]
    required: bool = True


class TemplateCreate(BaseModel):
    """``POST /push/v1/templates`` body; ``flow`` and ``quickApp`` are required for every category but
    ``verification``, which refuses them (both rules are the domain's, see ``check_spec``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    category: Literal["transaction", "notification", "marketing", "verification"]
    signature: str = Field(max_length=64)
    text: str = Field(max_length=2000)
    flow: Literal["claim_location", "branch_queue"] | None = None
    quickApp: QuickAppBody | None = None
    params: dict[str, ParamBody] = Field(default_factory=dict, max_length=64)

    def to_spec(self) -> TemplateSpec:
        """The domain spec (not yet checked: see :func:`~gateway.templates.rendering.check_spec`)."""
        return TemplateSpec(
            name=self.name,
            category=Category(self.category),
            signature=self.signature,
            text=self.text,
            flow=Flow(self.flow) if self.flow is not None else None,
            quick_app=self.quickApp.to_domain() if self.quickApp is not None else None,
            params={name: ParamSpec(ParamType(p.type), p.required) for name, p in self.params.items()},
        )


class BuiltinInstall(BaseModel):
    """``POST /push/v1/templates/builtin/{name}`` body: the tenant's signature, optionally its quick app
    (refused for a verification built-in)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    signature: str = Field(max_length=64)
    quickApp: QuickAppBody | None = None


class Rejection(BaseModel):
    """``POST /admin/templates/{id}/reject`` body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]+$")


class Approval(BaseModel):
    """``POST /admin/templates/{id}/approve`` body, if any: an empty object."""

    model_config = ConfigDict(extra="forbid", frozen=True)
