"""``gateway serve|worker --workers N``: N processes on one port under one supervising process.

The supervisor prepares what the workers share exactly once (migrations and the first signing
key, by opening and closing a runtime), then spawns N workers. Each worker is a whole gateway
(own event loop, database pool, usage ledger, token-verification cache), or for ``worker`` a
whole background-worker process (:mod:`gateway.worker`), bound with ``SO_REUSEPORT`` (``PORT``
or ``WORKER_PORT``), so the kernel spreads connections across them. Single-use markers must be
seen by every API process, hence ``serve`` with N > 1 requires ``GATEWAY_REDIS_URL``. Workers
write their metrics into a directory the supervisor creates (``PROMETHEUS_MULTIPROC_DIR``), so
any worker's ``/metrics`` reports all of them.

On SIGTERM or SIGINT the supervisor forwards SIGTERM to every worker (each drains as
:mod:`gateway.serving` describes: readiness fails first, in-flight requests finish, background
work stops and releases its leases) and waits ``SHUTDOWN_GRACE_SECONDS + 2 * SHUTDOWN_TIMEOUT +
5`` seconds before killing stragglers; it exits 0 only when no worker had to be killed or failed. A
worker that exits on its own is restarted, after a pause that doubles (1 s up to 30 s) while
workers keep dying within 10 s of their start. A worker whose supervisor is gone (killed with
SIGKILL) drains and exits by itself within a second or two.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Literal

import structlog
from prometheus_client import multiprocess

from gateway.app import create_app
from gateway.logs import configure_logging
from gateway.loop import run as run_loop
from gateway.runtime import open_runtime
from gateway.serving import run_sites
from gateway.settings import Settings
from gateway.worker import create_worker_app

__all__ = ["Role", "supervise"]

log = structlog.get_logger(__name__)
_GRACE_SECONDS = 5.0
_QUICK_DEATH_SECONDS = 10.0
_MAX_PAUSE_SECONDS = 30.0
_ORPHAN_POLL_SECONDS = 1.0
_CLEAN_EXITS = (0, -signal.SIGTERM)
"""A drained worker exits 0; one still starting dies of the SIGTERM (it had nothing in flight)."""

Role = Literal["serve", "worker"]
"""What each supervised process is: a gateway (``serve``) or a background worker (``worker``)."""


def _worker(settings: Settings, slot: int, role: Role) -> None:
    configure_logging(settings.log_level, settings.log_format, sys.stderr)
    structlog.contextvars.bind_contextvars(worker=slot)
    _drain_when_orphaned(os.getppid())
    if role == "serve":
        site = (create_app(settings), settings.host, settings.port)
    else:
        site = (create_worker_app(settings), settings.host, settings.worker_port)
    run_loop(run_sites([site], settings, reuse_port=True), settings.event_loop)


def _drain_when_orphaned(supervisor: int) -> None:
    """Send this worker SIGTERM (a drain) once ``supervisor`` is gone: a supervisor killed with
    SIGKILL must not leave workers serving its port unsupervised."""

    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(_ORPHAN_POLL_SECONDS)
        log.warning("supervisor_gone", supervisor=supervisor)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


async def _prepare(settings: Settings) -> None:
    idle = {"push_dispatch_worker": False, "webhook_delivery_worker": False, "sim_swap_poll_worker": False}
    async with open_runtime(settings.model_copy(update=idle)):
        pass


@dataclass
class _Slot:
    number: int
    process: BaseProcess
    started: float


class _Supervisor:
    def __init__(self, settings: Settings, role: Role) -> None:
        self._settings = settings
        self._role = role
        self._context = multiprocessing.get_context("spawn")
        self._stopping = False
        self._pause = 1.0

    def _start(self, number: int) -> _Slot:
        process = self._context.Process(
            target=_worker, args=(self._settings, number, self._role), name=f"gateway-{self._role}-{number}"
        )
        process.start()
        log.info("worker_started", worker=number, pid=process.pid)
        return _Slot(number, process, time.monotonic())

    def _stop(self, signum: int, _: FrameType | None) -> None:
        self._stopping = True

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        with tempfile.TemporaryDirectory(prefix="gateway-metrics-") as metrics_dir:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
            return self._supervise()

    def _supervise(self) -> int:
        slots = [self._start(n) for n in range(self._settings.workers)]
        while not self._stopping:
            wait([slot.process.sentinel for slot in slots], timeout=0.5)
            for index, slot in enumerate(slots):
                if self._stopping or slot.process.is_alive():
                    continue
                log.error("worker_exited", worker=slot.number, exitcode=slot.process.exitcode)
                if slot.process.pid is not None:
                    multiprocess.mark_process_dead(slot.process.pid)  # type: ignore[no-untyped-call]
                quick = time.monotonic() - slot.started < _QUICK_DEATH_SECONDS
                self._pause = min(self._pause * 2, _MAX_PAUSE_SECONDS) if quick else 1.0
                deadline = time.monotonic() + self._pause
                while not self._stopping and time.monotonic() < deadline:
                    time.sleep(0.1)
                if not self._stopping:
                    slots[index] = self._start(slot.number)
        return self._drain(slots)

    def _drain(self, slots: list[_Slot]) -> int:
        for slot in slots:
            if slot.process.is_alive() and slot.process.pid is not None:
                slot.process.terminate()
        drain = self._settings.shutdown_grace_seconds + 2 * self._settings.shutdown_timeout
        deadline = time.monotonic() + drain + _GRACE_SECONDS
        clean = True
        for slot in slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                log.error("worker_killed", worker=slot.number, pid=slot.process.pid)
                slot.process.kill()
                slot.process.join()
            clean = clean and slot.process.exitcode in _CLEAN_EXITS
        log.info("workers_stopped", workers=len(slots), clean=clean)
        return 0 if clean else 1


def supervise(settings: Settings, role: Role = "serve") -> int:
    """Run ``settings.workers`` processes of ``role`` until SIGTERM/SIGINT; the exit status.

    :raises SystemExit: if several ``serve`` workers are asked for without ``GATEWAY_REDIS_URL``.
    """
    if role == "serve" and settings.workers > 1 and not settings.redis_url:
        raise SystemExit(
            "gateway serve --workers > 1 needs GATEWAY_REDIS_URL: single-use tokens and assertion ids "
            "must be claimed in one store shared by every worker"
        )
    run_loop(_prepare(settings), settings.event_loop)
    return _Supervisor(settings, role).run()
