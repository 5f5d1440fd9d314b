"""Wire models of the campaign API and the JSON of a campaign and of a chunk's report."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from gateway.campaigns.service import CampaignSummary, CampaignView, ChunkReport, NewCampaign
from gateway.push.service import timestamp

__all__ = [
    "DEFAULT_RATE",
    "MAX_RATE",
    "CampaignCreate",
    "CampaignCreated",
    "CampaignList",
    "CampaignOut",
    "CampaignPage",
    "ChunkReportOut",
    "campaign_json",
    "report_json",
    "summary_json",
]

DEFAULT_RATE = 50
"""Messages per second when ``rate`` is not given."""
MAX_RATE = 1000
"""The largest ``rate`` (messages per second) a campaign may ask for."""
MAX_PAGE = 100
_STRICT = ConfigDict(extra="forbid", frozen=True)
_Absent = SkipJsonSchema[None]
_STATUS = Literal["draft", "scheduled", "running", "paused", "completed", "cancelled"]


class ChannelStep(BaseModel):
    """One step of the channel ladder: ``5g``, ``card`` or ``sms``; ``timeout`` (seconds, 10 to
    86,400) is how long a step waits before the next, so the last step (``sms``) takes none."""

    model_config = _STRICT

    type: Literal["5g", "card", "sms"]
    timeout: int | None = Field(default=None, ge=10, le=86_400, strict=True)


class CampaignCreate(BaseModel):
    """``POST /push/v1/campaigns``: the template, an optional name, ``rate`` in messages per second
    (1 to :data:`MAX_RATE`, default :data:`DEFAULT_RATE`), an optional ``scheduledAt`` (RFC 3339
    with an offset) before which a started campaign does not send, and an optional channel ladder
    (stored; today every message goes as a text SMS)."""

    model_config = _STRICT

    templateId: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    rate: int = Field(default=DEFAULT_RATE, ge=1, le=MAX_RATE, strict=True)
    scheduledAt: AwareDatetime | None = None
    channels: list[ChannelStep] | None = Field(default=None, min_length=1, max_length=3)

    @field_validator("channels")
    @classmethod
    def _sms_last(cls, steps: list[ChannelStep] | None) -> list[ChannelStep] | None:
        if steps is None:
            return None
        if len({step.type for step in steps}) != len(steps):
            raise ValueError("each channel type at most once")
        if steps[-1].type != "sms":
            raise ValueError("the last channel must be sms")
        if steps[-1].timeout is not None:
            raise ValueError("the last channel (sms) takes no timeout")
        return steps

    def to_domain(self) -> NewCampaign:
        """The service's request."""
        return NewCampaign(
            template_id=self.templateId,
            name=self.name,
            rate=self.rate,
            scheduled_at=self.scheduledAt,
            channels=[step.model_dump(exclude_none=True) for step in self.channels]
            if self.channels
            else None,
        )


class CampaignList(BaseModel):
    """The query of ``GET /push/v1/campaigns``: a page size and the ``nextBefore`` of the previous page."""

    model_config = _STRICT

    limit: int = Field(default=20, ge=1, le=MAX_PAGE)
    before: str | None = Field(default=None, min_length=1, max_length=200)


def summary_json(summary: CampaignSummary) -> dict[str, Any]:
    """A campaign as lists show it."""
    body: dict[str, Any] = {"id": summary.id}
    if summary.name is not None:
        body["name"] = summary.name
    body.update(
        {
            "templateId": summary.template_id,
            "status": summary.status.value,
            "rate": summary.rate,
            "recipients": summary.recipients,
            "createdAt": timestamp(summary.created_at),
        }
    )
    if summary.scheduled_at is not None:
        body["scheduledAt"] = timestamp(summary.scheduled_at)
    return body


def campaign_json(view: CampaignView) -> dict[str, Any]:
    """``GET /push/v1/campaigns/{id}``: the campaign, recipients per state, their messages per
    status, refusals per reason and, while it runs or waits for ``scheduledAt``, its estimated finish."""
    body = summary_json(view.summary)
    if view.channels is not None:
        body["channels"] = view.channels
    if view.started_at is not None:
        body["startedAt"] = timestamp(view.started_at)
    if view.ended_at is not None:
        body["endedAt"] = timestamp(view.ended_at)
    body["counts"] = {
        "recipients": view.recipients,
        "messages": view.messages,
        "refused": view.refusals,
    }
    if view.estimated_finish is not None:
        body["estimatedFinishAt"] = timestamp(view.estimated_finish)
    return body


def report_json(report: ChunkReport) -> dict[str, Any]:
    """The ``202`` of ``POST …/recipients``."""
    return {
        "lines": report.total,
        "accepted": report.accepted,
        "invalid": [{"line": i.line, "reason": i.reason, "detail": i.detail} for i in report.invalid],
        "duplicates": {"count": len(report.duplicates), "lines": report.duplicates},
    }


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CampaignCreated(_Out):
    """``201`` of ``POST /push/v1/campaigns``."""

    id: str
    status: Literal["draft"]


class CampaignSummaryOut(_Out):
    """A campaign in a list."""

    id: str
    name: str | _Absent = None
    templateId: str
    status: _STATUS
    rate: int
    recipients: int = Field(description="Recipients accepted in all chunks.")
    createdAt: datetime
    scheduledAt: datetime | _Absent = None


class CampaignCountsOut(_Out):
    """Progress: recipients per state (``pending``, ``sending``, ``sent``, ``refused``,
    ``cancelled``), the messages of the sent ones per push message status, refusals per error code."""

    recipients: dict[str, int]
    messages: dict[str, int]
    refused: dict[str, int]


class CampaignOut(CampaignSummaryOut):
    """``GET /push/v1/campaigns/{id}`` and the answers of the lifecycle actions."""

    channels: list[ChannelStep] | _Absent = None
    startedAt: datetime | _Absent = None
    endedAt: datetime | _Absent = None
    counts: CampaignCountsOut
    estimatedFinishAt: datetime | _Absent = Field(
        default=None, description="While running or scheduled: when the last recipient is due at the rate."
    )


class CampaignPage(_Out):
    """``GET /push/v1/campaigns``: newest first; ``nextBefore`` reads the next page."""

    campaigns: list[CampaignSummaryOut]
    nextBefore: str | None


class InvalidLineOut(_Out):
    """A refused line: its number in the body, the error code a single message would answer, and
    what is wrong (never the value)."""

    line: int
    reason: str
    detail: str


class DuplicatesOut(_Out):
    """Lines whose number is already in the chunk (earlier) or in the campaign."""

    count: int
    lines: list[int]


class ChunkReportOut(_Out):
    """``202`` of ``POST …/recipients``: lines read (blank ones not counted), accepted, refused,
    duplicates."""

    lines: int
    accepted: int
    invalid: list[InvalidLineOut]
    duplicates: DuplicatesOut
