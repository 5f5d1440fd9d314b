"""Wire models of the push message API (contract §6) and the JSON of a message."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.push.guard import BUDGET_ZONE, DEFAULT_POLICY, SmsPolicy, UsageDay
from gateway.push.service import MessageView, SendRequest, timestamp
from gateway.wire import E164

__all__ = ["MessageCreate", "SmsPolicyBody", "message_json", "usage_json"]

MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 7 * 24 * 3600


class MessageCreate(BaseModel):
    """``POST /push/v1/messages`` body; ``ttlSeconds`` defaults to the gateway's setting (24 h), for a
    verification template to at most 10 minutes; such a template's ``params`` carry the ``code``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    templateId: str = Field(min_length=1, max_length=64)
    to: str = Field(pattern=E164)
    params: dict[str, Any] = Field(default_factory=dict, max_length=64)
    ttlSeconds: int | None = Field(default=None, ge=MIN_TTL_SECONDS, le=MAX_TTL_SECONDS, strict=True)

    def to_domain(self) -> SendRequest:
        """The service's request (``fingerprint`` is over the body exactly as sent)."""
        return SendRequest(
            template_id=self.templateId,
            to=self.to,
            params=self.params,
            ttl_seconds=self.ttlSeconds,
            canonical=self.model_dump(mode="json", exclude_unset=True),
        )


def message_json(view: MessageView) -> dict[str, Any]:
    """``GET /push/v1/messages/{id}``: the recipient masked (``+86138****8000``), never in full;
    ``link`` only for a message that has one (not for verification SMS)."""
    body: dict[str, Any] = {
        "id": view.id,
        "status": view.status.value,
        "to": view.to_masked,
        "segments": view.segments,
    }
    if view.link is not None:
        body["link"] = view.link
    body["createdAt"] = timestamp(view.created_at)
    if view.scheduled_at is not None:
        body["scheduledAt"] = timestamp(view.scheduled_at)
    body["expiresAt"] = timestamp(view.expires_at)
    if view.operator is not None:
        body["operator"] = view.operator
    if view.failure_reason is not None:
        body["failureReason"] = view.failure_reason
    body["events"] = [
        {"type": e.type, "at": timestamp(e.at), **({"detail": e.detail} if e.detail else {})}
        for e in view.events
    ]
    return body


class SmsPolicyBody(BaseModel):
    """``PUT /admin/tenants/{id}/sms-policy`` body: the whole policy; an omitted figure is the default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numberPer10Min: int = Field(default=DEFAULT_POLICY.number_per_10min, ge=1, le=10_000_000, strict=True)
    numberPerDay: int = Field(default=DEFAULT_POLICY.number_per_day, ge=1, le=10_000_000, strict=True)
    prefixPer10Min: int = Field(default=DEFAULT_POLICY.prefix_per_10min, ge=1, le=10_000_000, strict=True)
    prefixPerDay: int = Field(default=DEFAULT_POLICY.prefix_per_day, ge=1, le=10_000_000, strict=True)
    dailyBudget: int = Field(default=DEFAULT_POLICY.daily_budget, ge=1, le=1_000_000_000, strict=True)

    def to_domain(self) -> SmsPolicy:
        """The guard's policy."""
        return SmsPolicy(
            number_per_10min=self.numberPer10Min,
            number_per_day=self.numberPerDay,
            prefix_per_10min=self.prefixPer10Min,
            prefix_per_day=self.prefixPerDay,
            daily_budget=self.dailyBudget,
        )


def usage_json(usage: UsageDay) -> dict[str, Any]:
    """``GET /push/v1/usage``: the budget day's SMS against the tenant's policy."""
    return {
        "day": usage.day.isoformat(),
        "timeZone": BUDGET_ZONE.key,
        "messages": usage.messages,
        "segments": usage.segments,
        "remainingSegments": usage.remaining,
        "policy": usage.policy.as_json(),
    }
