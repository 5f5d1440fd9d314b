"""CloudEvents 1.0 bodies of sim-swap-subscriptions 0.3.0."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from gateway.camara.subscriptions.events import (
    SUBSCRIPTION_ENDED,
    SWAPPED,
    cloud_event,
    ended_data,
    rfc3339,
    swapped_data,
)
from gateway.camara.subscriptions.lifecycle import Termination

SOURCE = "https://gw.example.com/sim-swap-subscriptions/v0.3"


def test_swapped_event_has_every_cloudevents_attribute() -> None:
    """A swapped event carries id, source, type, specversion 1.0, time in UTC, datacontenttype and data."""
    at = datetime(2026, 3, 1, 20, 0, 5, 123456, tzinfo=timezone(timedelta(hours=8)))
    body = json.loads(
        cloud_event(
            event_id="msg_abc",
            source=SOURCE,
            event_type=SWAPPED,
            time=at,
            data=swapped_data("sub-1", "+8613800138000"),
        )
    )
    assert body == {
        "id": "msg_abc",
        "source": SOURCE,
        "type": "org.camaraproject.sim-swap-subscriptions.v0.swapped",
        "specversion": "1.0",
        "time": "2026-03-01T12:00:05.123Z",
        "datacontenttype": "application/json",
        "data": {"subscriptionId": "sub-1", "phoneNumber": "+8613800138000"},
    }


def test_three_legged_swapped_data_has_no_phone_number() -> None:
    """Without a number (3-legged subscription) the data holds the subscription id only."""
    assert swapped_data("sub-1", None) == {"subscriptionId": "sub-1"}


def test_subscription_ended_data_names_the_reason() -> None:
    """subscription-ended data: subscriptionId, terminationReason and a description, per reason."""
    for reason in (
        Termination.MAX_EVENTS_REACHED,
        Termination.SUBSCRIPTION_EXPIRED,
        Termination.ACCESS_TOKEN_EXPIRED,
        Termination.SUBSCRIPTION_DELETED,
    ):
        data = ended_data("sub-2", reason)
        assert data["subscriptionId"] == "sub-2" and data["terminationReason"] == reason.value
        assert isinstance(data["terminationDescription"], str) and data["terminationDescription"]
    body = json.loads(
        cloud_event(
            event_id="e",
            source=SOURCE,
            event_type=SUBSCRIPTION_ENDED,
            time=datetime(2026, 1, 1, tzinfo=UTC),
            data=ended_data("sub-2", Termination.SUBSCRIPTION_DELETED),
        )
    )
    assert body["type"] == "org.camaraproject.sim-swap-subscriptions.v0.subscription-ended"
    assert body["time"] == "2026-01-01T00:00:00Z"


def test_body_is_compact_utf8_json() -> None:
    """The bytes are compact JSON (no spaces), so the signed content is exactly what is sent."""
    raw = cloud_event(event_id="e", source=SOURCE, event_type=SWAPPED, time=datetime.now(UTC), data={})
    assert b" " not in raw and raw.startswith(b'{"id":"e"')


def test_rfc3339_keeps_milliseconds_only_when_present() -> None:
    """Whole seconds read ``...:05Z``; fractions keep milliseconds."""
    assert rfc3339(datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)) == "2026-01-01T00:00:05Z"
    assert rfc3339(datetime(2026, 1, 1, 0, 0, 5, 250000, tzinfo=UTC)) == "2026-01-01T00:00:05.250Z"
