"""The notifications of sim-swap-subscriptions 0.3.0: CloudEvents 1.0 in structured JSON mode.

Body: ``id`` (the delivery id, also the ``webhook-id`` header), ``source`` (the gateway's issuer
URL + ``/sim-swap-subscriptions/v0.3``), ``type``, ``specversion`` ``"1.0"``, ``time`` (RFC 3339,
UTC, ``Z``: the SIM change for ``swapped``, the end for ``subscription-ended``),
``datacontenttype`` ``application/json`` and ``data``:

- ``swapped``: ``subscriptionId``, and ``phoneNumber`` only for a subscription created with a
  2-legged token (a 3-legged client never learns the number);
- ``subscription-ended``: ``subscriptionId``, ``terminationReason``, ``terminationDescription``, and
  ``phoneNumber`` under the same rule (the YAML's ``SUBSCRIPTION_ENDS`` example carries it and the
  r3.3 test definition ``sim_swap_subscription_delete_05`` expects it).

Sent as ``Content-Type: application/cloudevents+json``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from gateway.camara.subscriptions.lifecycle import Termination

__all__ = [
    "API_PATH",
    "CONTENT_TYPE",
    "SUBSCRIPTION_ENDED",
    "SWAPPED",
    "cloud_event",
    "ended_data",
    "rfc3339",
    "swapped_data",
]

API_PATH = "/sim-swap-subscriptions/v0.3"
SWAPPED = "org.camaraproject.sim-swap-subscriptions.v0.swapped"
SUBSCRIPTION_ENDED = "org.camaraproject.sim-swap-subscriptions.v0.subscription-ended"
CONTENT_TYPE = "application/cloudevents+json"

_DESCRIPTIONS = {
    Termination.MAX_EVENTS_REACHED: "The maximum number of events of the subscription was reached.",
    Termination.SUBSCRIPTION_EXPIRED: "The subscription expire time was reached.",
    Termination.ACCESS_TOKEN_EXPIRED: "The sink credential's access token expired.",
    Termination.SUBSCRIPTION_DELETED: "The subscription was deleted by the API consumer.",
}


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC with a ``Z`` and no more than millisecond precision."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace(".000+00:00", "Z").replace("+00:00", "Z")


def swapped_data(subscription_id: str, phone_number: str | None) -> dict[str, Any]:
    """``data`` of a ``swapped`` event (``phone_number`` None for 3-legged subscriptions)."""
    data: dict[str, Any] = {"subscriptionId": subscription_id}
    if phone_number is not None:
        data["phoneNumber"] = phone_number
    return data


def ended_data(subscription_id: str, reason: Termination, phone_number: str | None = None) -> dict[str, Any]:
    """``data`` of a ``subscription-ended`` event (``phone_number`` None for 3-legged subscriptions)."""
    data: dict[str, Any] = {
        "subscriptionId": subscription_id,
        "terminationReason": reason.value,
        "terminationDescription": _DESCRIPTIONS.get(reason, "The subscription ended."),
    }
    if phone_number is not None:
        data["phoneNumber"] = phone_number
    return data


def cloud_event(
    *, event_id: str, source: str, event_type: str, time: datetime, data: dict[str, Any]
) -> bytes:
    """The exact bytes of one notification."""
    body = {
        "id": event_id,
        "source": source,
        "type": event_type,
        "specversion": "1.0",
        "time": rfc3339(time),
        "datacontenttype": "application/json",
        "data": data,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
