"""Campaign and recipient states, and which actions move a campaign where.

::

    draft ──start──▶ running ─────────────▶ completed (every recipient turned into a message or refused)
      │        └──▶ scheduled ──(scheduledAt)──▶ running
      │                  │  ▲                     │  ▲
      │                pause└─resume──┐        pause└─resume
      │                  ▼            │           ▼  │
      │                paused ────────┴──────── paused
      └──cancel (from draft, scheduled, running or paused)──▶ cancelled

``resume`` goes to ``scheduled`` while ``scheduledAt`` is still ahead, else to ``running``. Any
other action answers ``409 CAMPAIGN_STATE_CONFLICT``. Recipients may be added while a campaign is
``draft``, ``scheduled`` or ``paused`` (not while it runs, so the runner's view of "nothing left"
is final, nor once it has ended).
"""

from __future__ import annotations

import enum

__all__ = ["ACCEPTS_RECIPIENTS", "TAKEN_BY_RUNNER", "Action", "CampaignStatus", "RecipientState", "allowed"]


class CampaignStatus(enum.StrEnum):
    """``status`` of a campaign."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class RecipientState(enum.StrEnum):
    """A recipient's state; ``sending`` is taken by the runner, its message being accepted."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    REFUSED = "refused"
    CANCELLED = "cancelled"


class Action(enum.StrEnum):
    """The lifecycle actions of the API (``POST /push/v1/campaigns/{id}/<action>``)."""

    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


_FROM: dict[Action, frozenset[CampaignStatus]] = {
    Action.START: frozenset({CampaignStatus.DRAFT}),
    Action.PAUSE: frozenset({CampaignStatus.SCHEDULED, CampaignStatus.RUNNING}),
    Action.RESUME: frozenset({CampaignStatus.PAUSED}),
    Action.CANCEL: frozenset(
        {CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED}
    ),
}

ACCEPTS_RECIPIENTS = frozenset({CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED})
TAKEN_BY_RUNNER = frozenset({CampaignStatus.SCHEDULED, CampaignStatus.RUNNING})


def allowed(action: Action) -> frozenset[CampaignStatus]:
    """The states ``action`` may be taken from."""
    return _FROM[action]
