"""The subscription state machine: swaps, the baseline, max events, expiry, token expiry, deletion, 410."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.camara.subscriptions.lifecycle import (
    Notice,
    Standing,
    Status,
    Termination,
    delete,
    next_poll,
    observe,
    sink_gone,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACTIVE = Standing(Status.ACTIVE, last_seen=T0)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_newer_change_is_one_swapped_event_at_the_change_time() -> None:
    """A change later than the last seen one is a swapped notice dated at the change; the count grows."""
    outcome = observe(ACTIVE, _at(60), _at(30))
    assert outcome.notices == (Notice(ended=False, at=_at(30)),)
    assert outcome.standing.status is Status.ACTIVE
    assert outcome.standing.events_sent == 1 and outcome.standing.last_seen == _at(30)
    assert outcome.termination is None


def test_the_baseline_or_an_older_change_is_no_event() -> None:
    """The change seen at creation, an older one, no date, or no usable answer produce nothing."""
    for latest, known in ((T0, True), (_at(-10), True), (None, True), (_at(30), False)):
        outcome = observe(ACTIVE, _at(60), latest, known=known)
        assert outcome.notices == () and outcome.standing == ACTIVE


def test_a_change_after_an_unknown_baseline_is_an_event() -> None:
    """Without a baseline (history beyond retention at creation), any disclosed change is new."""
    outcome = observe(Standing(Status.ACTIVE), _at(60), _at(5))
    assert [n.ended for n in outcome.notices] == [False]


def test_max_events_reached_ends_after_the_last_swapped() -> None:
    """The event that reaches subscriptionMaxEvents is sent, then subscription-ended MAX_EVENTS_REACHED."""
    standing = Standing(Status.ACTIVE, events_sent=1, max_events=2, last_seen=T0)
    outcome = observe(standing, _at(60), _at(30))
    assert outcome.notices == (
        Notice(ended=False, at=_at(30)),
        Notice(ended=True, at=_at(60), reason=Termination.MAX_EVENTS_REACHED),
    )
    assert outcome.standing.status is Status.EXPIRED and outcome.standing.events_sent == 2
    assert outcome.termination is Termination.MAX_EVENTS_REACHED


def test_expiry_ends_with_subscription_expired_at_the_expire_time() -> None:
    """Once subscriptionExpireTime has passed, the subscription ends, dated at the expire time."""
    standing = Standing(Status.ACTIVE, expires_at=_at(100), last_seen=T0)
    assert observe(standing, _at(99), None).notices == ()
    outcome = observe(standing, _at(130), None)
    assert outcome.notices == (Notice(ended=True, at=_at(100), reason=Termination.SUBSCRIPTION_EXPIRED),)
    assert outcome.standing.status is Status.EXPIRED


def test_a_change_before_the_end_seen_after_it_is_still_reported() -> None:
    """A poll after the expiry reports a change from before it, then ends; a later change is dropped."""
    standing = Standing(Status.ACTIVE, expires_at=_at(100), last_seen=T0)
    before = observe(standing, _at(130), _at(90))
    assert [(n.ended, n.reason) for n in before.notices] == [
        (False, None),
        (True, Termination.SUBSCRIPTION_EXPIRED),
    ]
    after = observe(standing, _at(130), _at(110))
    assert [(n.ended, n.reason) for n in after.notices] == [(True, Termination.SUBSCRIPTION_EXPIRED)]


def test_the_sink_token_expiry_ends_when_it_comes_first() -> None:
    """The earlier of subscriptionExpireTime and accessTokenExpiresUtc decides the reason."""
    standing = Standing(Status.ACTIVE, expires_at=_at(200), token_expires_at=_at(100), last_seen=T0)
    outcome = observe(standing, _at(150), None)
    assert outcome.notices == (Notice(ended=True, at=_at(100), reason=Termination.ACCESS_TOKEN_EXPIRED),)
    later = Standing(Status.ACTIVE, expires_at=_at(50), token_expires_at=_at(100), last_seen=T0)
    assert observe(later, _at(150), None).termination is Termination.SUBSCRIPTION_EXPIRED


def test_deletion_of_an_active_subscription_notifies_once() -> None:
    """DELETE ends an ACTIVE subscription with SUBSCRIPTION_DELETED; an ended one changes nothing."""
    outcome = delete(ACTIVE, _at(10))
    assert outcome.standing.status is Status.DELETED
    assert outcome.notices == (Notice(ended=True, at=_at(10), reason=Termination.SUBSCRIPTION_DELETED),)
    assert delete(outcome.standing, _at(20)).notices == ()
    expired = Standing(Status.EXPIRED)
    assert delete(expired, _at(20)).standing == expired and delete(expired, _at(20)).termination is None


def test_sink_gone_ends_silently() -> None:
    """A 410 from the sink ends an ACTIVE subscription without any notification."""
    outcome = sink_gone(ACTIVE, _at(10))
    assert outcome.standing.status is Status.DELETED
    assert outcome.notices == () and outcome.termination is Termination.SINK_GONE
    assert sink_gone(Standing(Status.EXPIRED), _at(10)).termination is None


def test_an_ended_subscription_ignores_changes() -> None:
    """EXPIRED and DELETED subscriptions never produce notices again."""
    for status in (Status.EXPIRED, Status.DELETED):
        assert observe(Standing(status, last_seen=T0), _at(60), _at(30)).notices == ()


def test_next_poll_is_the_interval_or_the_end_if_sooner() -> None:
    """Polls come every interval, but one lands on the end so it is notified on time."""
    interval = timedelta(seconds=30)
    assert next_poll(ACTIVE, T0, interval) == _at(30)
    assert next_poll(Standing(Status.ACTIVE, expires_at=_at(10)), T0, interval) == _at(10)
    assert next_poll(Standing(Status.ACTIVE, token_expires_at=_at(-5)), T0, interval) == T0
