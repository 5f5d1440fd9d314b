"""Wire models of the webhook API: the PUT body and the JSON shapes of endpoints and deliveries."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.webhooks.addresses import MAX_URL_LENGTH
from gateway.webhooks.events import EVENT_TYPES
from gateway.webhooks.service import Delivery, Endpoint, RegisteredEndpoint

__all__ = ["WebhookPut", "delivery_json", "endpoint_json", "registered_json"]


class WebhookPut(BaseModel):
    """``PUT /push/v1/webhook``: where to deliver and which events (contract §7 names)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH)
    events: list[str] = Field(min_length=1, max_length=4 * len(EVENT_TYPES))

    @field_validator("events")
    @classmethod
    def _known(cls, events: list[str]) -> list[str]:
        if not set(events) <= set(EVENT_TYPES):
            raise ValueError("each event must be one of " + ", ".join(EVENT_TYPES))
        return events


def _at(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def registered_json(endpoint: RegisteredEndpoint) -> dict[str, object]:
    """The PUT answer (the only place the secret appears)."""
    return {"url": endpoint.url, "events": endpoint.events, "secret": endpoint.secret}


def endpoint_json(endpoint: Endpoint) -> dict[str, object]:
    """The GET answer: no secret; ``disabledReason`` says why deliveries stopped."""
    return {
        "url": endpoint.url,
        "events": endpoint.events,
        "status": endpoint.status,
        "disabledReason": endpoint.disabled_reason,
        "disabledAt": _at(endpoint.disabled_at),
    }


def delivery_json(delivery: Delivery) -> dict[str, object]:
    """A delivery and its attempts (``statusCode`` when an answer came, else ``error``)."""
    return {
        "id": delivery.id,
        "type": delivery.event_type,
        "status": delivery.status,
        "createdAt": _at(delivery.created_at),
        "nextAttemptAt": _at(delivery.next_attempt_at),
        "lastError": delivery.last_error,
        "attempts": [
            {"at": _at(a.at), "statusCode": a.status_code, "error": a.error, "durationMs": a.duration_ms}
            for a in delivery.attempts
        ],
    }
