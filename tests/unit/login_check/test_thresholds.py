"""ThresholdStore: defaults, replacement, and how long another process may read a stale policy."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gateway.db import create_engine, migrate, session_factory
from gateway.login_check.policy import Thresholds
from gateway.login_check.thresholds import ThresholdStore
from gateway.tenants.service import TenantService
from tests.clocks import ManualClock

DEFAULTS = Thresholds(72, 72, 10, 10, 50, 900)


async def test_a_put_is_seen_at_once_here_and_within_the_cache_time_elsewhere(tmp_path: Path) -> None:
    """The writing process reads its new policy immediately; a second process (its own store on the
    same database) keeps its remembered copy for at most ``cache_seconds``, then reads the new one."""
    engine = create_engine(f"sqlite:///{tmp_path}/t.db")
    await migrate(engine)
    sessions = session_factory(engine)
    clock = ManualClock()
    tenant = (
        await TenantService(sessions, clock).create(name="bank", scopes=["login-check"], redirect_uris=[])
    ).tenant_id
    here = ThresholdStore(sessions, defaults=DEFAULTS, clock=clock, cache_seconds=5)
    elsewhere = ThresholdStore(sessions, defaults=DEFAULTS, clock=clock, cache_seconds=5)
    try:
        assert await here.get(tenant) == DEFAULTS
        assert await elsewhere.get(tenant) == DEFAULTS
        stricter = dataclasses.replace(DEFAULTS, attempts_per_number=3)
        await here.put(tenant, stricter)
        assert await here.get(tenant) == stricter
        assert await elsewhere.get(tenant) == DEFAULTS
        clock.advance(5.1)
        assert await elsewhere.get(tenant) == stricter
    finally:
        await engine.dispose()
