"""The browser tests' chromium: ``CHROMIUM_PATH`` first, else Debian's, and a missing one fails."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from tests.chromium import DEFAULT_CHROMIUM, chromium_path


def test_chromium_path_prefers_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An executable named by CHROMIUM_PATH is the one launched."""
    executable = tmp_path / "chrome"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("CHROMIUM_PATH", str(executable))
    assert chromium_path() == str(executable)


def test_chromium_path_defaults_to_debians(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without CHROMIUM_PATH (or with it empty) the browser is /usr/bin/chromium."""
    monkeypatch.setenv("CHROMIUM_PATH", "")
    if Path(DEFAULT_CHROMIUM).is_file():
        assert chromium_path() == DEFAULT_CHROMIUM
    else:
        with pytest.raises(pytest.fail.Exception, match=DEFAULT_CHROMIUM):
            chromium_path()


@pytest.mark.parametrize("mode", [None, 0o644])
def test_a_missing_or_non_executable_chromium_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int | None
) -> None:
    """A CHROMIUM_PATH that is absent or not executable fails the test, naming the path."""
    path = tmp_path / "chromium"
    if mode is not None:
        path.write_text("")
        path.chmod(mode)
    monkeypatch.setenv("CHROMIUM_PATH", str(path))
    with pytest.raises(pytest.fail.Exception, match=f"{re.escape(str(path))} is not an executable file"):
        chromium_path()
