"""bench.servers: the shared options, and that every server of a run gets the same event loop."""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import bench.servers as servers
from bench._harness import HarnessError, Server, results_name, stop


def _options(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    servers.add_run_arguments(parser)
    servers.add_scaling_argument(parser)
    return parser.parse_args(argv)


def test_loop_defaults_to_uvloop_and_accepts_only_known_kinds() -> None:
    """``--loop`` is uvloop unless asked otherwise; an unknown loop is a usage error."""
    assert _options([]).loop == "uvloop"
    assert _options(["--loop", "asyncio"]).loop == "asyncio"
    with pytest.raises(SystemExit):
        _options(["--loop", "trio"])


def test_workers_list_parses_distinct_positive_counts() -> None:
    """``--workers-list 1,2,4`` gives the counts in order; it is absent by default; zero, repeated or
    non-numeric counts are usage errors."""
    assert _options(["--workers-list", "1,2,4"]).workers_list == [1, 2, 4]
    assert _options([]).workers_list is None
    for bad in ("0,1", "2,2", "1,x", ""):
        with pytest.raises(SystemExit):
            _options(["--workers-list", bad])


def test_results_file_names_keep_databases_apart() -> None:
    """A SQLite run writes the benchmark's own file, any other database a suffixed one."""
    assert results_name("push", "sqlite") == "push"
    assert results_name("push", "postgresql") == "push-postgresql"


async def test_every_server_runs_on_the_requested_loop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Sandboxes (with or without callbacks) and the gateway get ``GATEWAY_EVENT_LOOP``, the baseline
    ``--loop``: the same kind for every process of a run."""
    launched: list[tuple[list[str], Mapping[str, str]]] = []

    @contextlib.asynccontextmanager
    async def fake_running(name: str, argv: Sequence[str], **kwargs: Any) -> AsyncIterator[Any]:
        launched.append((list(argv), kwargs["env"]))
        yield Server(name, "http://127.0.0.1:1", None, tmp_path / "log")  # type: ignore[arg-type]

    monkeypatch.setattr(servers, "running", fake_running)
    monkeypatch.setattr(servers, "check_loop", lambda server, loop: None)
    monkeypatch.setattr(servers, "gateway_executable", lambda: "gateway")
    args = _options(["--loop", "asyncio"])
    creds = servers.Credentials.generate()
    async with contextlib.AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(servers.start_sandbox(creds, args, tmp_path))
        await stack.enter_async_context(
            servers.start_gateway(creds, sandbox, "sqlite:///x.db", args, tmp_path)
        )
        await stack.enter_async_context(servers.start_baseline(creds, sandbox, "cmcc", args, tmp_path))
        callbacks = servers.start_sandbox(creds, args, tmp_path, callback_base_url="http://127.0.0.1:2")
        await stack.enter_async_context(callbacks)
    (sandbox_argv, sandbox_env), (_, gateway_env), (baseline_argv, _), (callback_argv, callback_env) = (
        launched
    )
    assert sandbox_argv[1:] == ["sandbox"] and sandbox_env["GATEWAY_EVENT_LOOP"] == "asyncio"
    assert "GATEWAY_SANDBOX_CALLBACK_URL" not in sandbox_env
    assert gateway_env["GATEWAY_EVENT_LOOP"] == "asyncio"
    assert baseline_argv[baseline_argv.index("--loop") + 1] == "asyncio"
    assert callback_argv[1:] == ["sandbox"] and callback_env["GATEWAY_EVENT_LOOP"] == "asyncio"
    assert callback_env["GATEWAY_SANDBOX_CALLBACK_URL"] == "http://127.0.0.1:2"


@pytest.mark.parametrize("imports_uvloop", [False, True])
def test_loop_check_tells_uvloop_processes_apart(imports_uvloop: bool, tmp_path: Path) -> None:
    """A server process that imported uvloop passes only for ``uvloop``, one that did not only for
    ``asyncio``; the other answer fails the set-up."""
    code = (
        "import uvloop; " if imports_uvloop else ""
    ) + "print('ready', flush=True); import time; time.sleep(30)"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert process.stdout is not None and process.stdout.readline() == b"ready\n"
        server = Server("probe", "http://127.0.0.1:1", process, tmp_path / "log")
        right, wrong = ("uvloop", "asyncio") if imports_uvloop else ("asyncio", "uvloop")
        servers.check_loop(server, right)
        with pytest.raises(HarnessError, match=f"not on --loop {wrong}"):
            servers.check_loop(server, wrong)
    finally:
        stop(process, grace=1.0)
        if process.stdout is not None:
            process.stdout.close()
