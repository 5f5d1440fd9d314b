"""The walk-throughs as a user pastes them: every ``sh walkthrough`` block of a page, in order, run
by bash and by zsh against `gateway up` with the `export` lines its banner printed. The Chinese
README runs the same commands as the English one."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_cli import ROOT, _clean_env, _gateway_up

pytestmark = pytest.mark.e2e
STRICT = {"bash": "set -euo pipefail\n", "zsh": "set -eu\nsetopt pipefail\n"}
EXPECTED = {
    "README.md": (
        ("out", '"phoneNumber":"+8613800138000"'),
        ("err", '"code":"ONE_TAP.TOKEN_INVALID"'),
        ("out", '"result":"PASS"'),
        ("out", '"devicePhoneNumberVerified":true'),
        ("out", '"swapped":false'),
        ("out", '"decision":"challenge","reasons":["NEW_DEVICE"]'),
        ("err", '"code":"UNAVAILABLE"'),
    ),
    "docs/flows.md": (
        ("err", '"code":"LINK_NOT_FOR_THIS_DEVICE"'),
        ("out", '"status":"shared"'),
        ("out", '"ticket":"A001","position":1'),
        ("out", '"ticket":"A001","counter":"3"'),
    ),
}
"""What each page's walk-through must print (on stdout, or on stderr for the errors it shows)."""


def _walkthrough(page: str) -> str:
    blocks = re.findall(r"```sh walkthrough\n(.*?)```", (ROOT / page).read_text(), re.S)
    assert blocks, f"{page} has no walk-through block"
    return "".join(blocks)


def test_the_chinese_readme_walks_through_the_same_commands() -> None:
    """README.zh-CN.md's blocks are README.md's."""
    assert _walkthrough("README.zh-CN.md") == _walkthrough("README.md")


@pytest.mark.parametrize("page", sorted(EXPECTED))
def test_no_line_carries_a_comment(page: str) -> None:
    """An interactive zsh (its default) runs `#` as a command instead of ignoring it."""
    assert not [line for line in _walkthrough(page).splitlines() if re.search(r"(^|\s)#", line)]


@pytest.mark.parametrize("page", sorted(EXPECTED))
def test_the_walkthrough_runs_in_bash_and_zsh(page: str, tmp_path: Path) -> None:
    """Pasted into bash and into zsh (strict mode: any unexpected failure stops it), the page's
    walk-through prints what the page says, errors included."""
    with _gateway_up(tmp_path) as up:
        for shell, strict in STRICT.items():
            path = shutil.which(shell)
            if path is None:
                pytest.fail(f"{shell} is required for the walk-through tests: apt-get install {shell}")
            done = subprocess.run(
                [path, "-c", up["EXPORTS"] + strict + _walkthrough(page)],
                capture_output=True,
                text=True,
                timeout=60,
                env=_clean_env(),
            )
            assert done.returncode == 0, f"{shell}: {done.stderr}{done.stdout}"
            printed = {"out": done.stdout.replace(" ", ""), "err": done.stderr.replace(" ", "")}
            for stream, fragment in EXPECTED[page]:
                assert fragment in printed[stream], (shell, fragment)
