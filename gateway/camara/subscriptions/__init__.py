"""CAMARA SIM Swap Subscriptions 0.3.0 (SimSwap r3.3) at ``/sim-swap-subscriptions/v0.3``.

A bank subscribes a sink URL to ``org.camaraproject.sim-swap-subscriptions.v0.swapped`` events of
one line and receives a CloudEvent when that line's SIM changes.

**How the gateway learns of swaps: polling.** Real operators push SIM-change events from their
networks; the operators behind this gateway (and the sandbox) expose a SIM *history* instead. So
every process runs a :class:`~gateway.camara.subscriptions.poller.SwapPoller` that asks the line's
operator (``LineInsight.sim_history``) for each live subscription every ``SIM_SWAP_POLL_SECONDS``
(default 30) and remembers the latest change it has seen; a change later than that (the baseline
is read once when the subscription is created) is a swap event. This is what an aggregator can
honestly do against a history API, independently of any one sandbox. What it costs: one operator
call per subscribed number per interval (subscriptions of the same number claimed in one round
share a call), and an event reaches the bank up to one interval (plus the delivery) after the
swap; two swaps inside one interval are one event, and two changes inside the operator's
timestamp precision cannot be told apart. Several processes may poll: each subscription is
claimed under a lease, and its outcome is written only while the lease holds, so one process
polls a subscription at a time and every event is queued exactly once.

**Notifications** are sink deliveries of the webhook outbox (:mod:`gateway.webhooks`): durable,
retried with its backoff for 24 h, behind its SSRF guard, signed with Standard Webhooks headers
(``webhook-id`` = the CloudEvent ``id``) under a per-subscription secret returned once at
creation (``signingSecret``), POSTed to the subscription's ``sink`` as
``application/cloudevents+json`` with ``Authorization: Bearer <sinkCredential.accessToken>`` when
one was given. Bodies: :mod:`~gateway.camara.subscriptions.events`. A subscription ends with a
``subscription-ended`` event at ``subscriptionExpireTime`` (SUBSCRIPTION_EXPIRED), at the sink
token's expiry (ACCESS_TOKEN_EXPIRED), after ``subscriptionMaxEvents`` events (MAX_EVENTS_REACHED)
or on DELETE (SUBSCRIPTION_DELETED); a sink answering 410 ends it silently
(:mod:`~gateway.camara.subscriptions.lifecycle`).

Modules: ``schemas`` (request body), ``service`` (create/list/get/delete, the sink source),
``lifecycle`` (state machine), ``events`` (CloudEvents), ``poller``, ``feature`` (wiring),
``views`` (HTTP), ``models`` (table).
"""

from __future__ import annotations

from gateway.camara.subscriptions.feature import SimSwapSubscriptions, open_sim_swap_subscriptions

__all__ = ["SimSwapSubscriptions", "open_sim_swap_subscriptions"]
