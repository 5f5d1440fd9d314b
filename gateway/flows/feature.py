"""The links-and-flows feature assembled for one process (see :mod:`gateway.flows`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.crypto import BlindIndex, FieldCipher
from gateway.failure_backoff import FailureBackoff
from gateway.flows.attempts import Attempts
from gateway.flows.branches import Branches, MessageSender, TemplateStore
from gateway.flows.claim_location import ClaimLocation
from gateway.flows.redemption import NumberVerifier, Redemption
from gateway.flows.sessions import FlowSessions
from gateway.settings import OPERATORS, Settings
from gateway.webhooks import Publisher

__all__ = ["Flows", "build_flows"]


@dataclass(frozen=True)
class Flows:
    """The feature's services."""

    sessions: FlowSessions
    redemption: Redemption
    claim_location: ClaimLocation
    branches: Branches


def build_flows(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession],
    templates: TemplateStore,
    sender: MessageSender,
    verifier: NumberVerifier,
    events: Publisher,
    failures: FailureBackoff,
    cipher: FieldCipher,
    index: BlindIndex,
    clock: Clock,
) -> Flows:
    """Wire the feature from settings (H5 token URLs and app ids of the configured operators);
    ``failures`` is the process's shared failure store (:mod:`gateway.flows.attempts`)."""
    flow_sessions = FlowSessions(sessions, clock, ttl_seconds=settings.flow_session_ttl)
    h5_urls = {op: url for op in OPERATORS if (url := settings.h5_token_url(op))}
    app_ids = {op: app_id for op in OPERATORS if (app_id := getattr(settings, f"{op}_app_id"))}
    return Flows(
        sessions=flow_sessions,
        redemption=Redemption(
            sessions=sessions,
            flow_sessions=flow_sessions,
            templates=templates,
            verifier=verifier,
            events=events,
            attempts=Attempts(
                failures,
                attempts=settings.flow_redeem_attempts,
                window_seconds=settings.flow_redeem_window_seconds,
            ),
            cipher=cipher,
            index=index,
            clock=clock,
            h5_urls=h5_urls,
            app_ids=app_ids,
        ),
        claim_location=ClaimLocation(
            sessions=sessions, templates=templates, events=events, cipher=cipher, clock=clock
        ),
        branches=Branches(
            sessions=sessions,
            templates=templates,
            sender=sender,
            events=events,
            cipher=cipher,
            index=index,
            clock=clock,
            ticket_ttl_seconds=settings.queue_ticket_ttl_seconds,
            default_minutes_per_customer=settings.queue_minutes_per_customer,
        ),
    )
