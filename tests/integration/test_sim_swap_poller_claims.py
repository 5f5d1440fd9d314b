"""The SIM swap poller claims at most one batch per round on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.camara.subscriptions.poller import SwapPoller
from tests.integration.test_sim_swap_subscriptions_delivery import INTERVAL, Env, env  # noqa: F401

pytestmark = pytest.mark.integration


async def test_a_poll_round_claims_at_most_its_batch(env: Env) -> None:  # noqa: F811
    """Seven due subscriptions and pollers with a batch of three: 3, 3 and 1 claimed, each once."""
    now = env.harness.clock.now()
    bank = await env.bank()
    for _ in range(7):
        await env.subscribe(bank, env.line(now - timedelta(days=3)))
    env.harness.clock.advance(31)

    def poller(name: str) -> SwapPoller:
        return SwapPoller(
            env.harness.sessions,
            service=env.service,
            operators={"cmcc": env.operator},
            clock=env.harness.clock,
            interval=INTERVAL,
            batch=3,
            name=name,
        )

    rounds = [await poller(f"p{i}").poll_once() for i in range(4)]
    assert rounds == [3, 3, 1, 0]
