"""The READMEs' walk-through as a user pastes it: every ``sh walkthrough`` block, in order, run by
bash and by zsh against `gateway up` with the `export` lines its banner printed; the Chinese
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


def _walkthrough(readme: str) -> str:
    blocks = re.findall(r"```sh walkthrough\n(.*?)```", (ROOT / readme).read_text(), re.S)
    assert blocks, f"{readme} has no walk-through block"
    return "".join(blocks)


def test_both_readmes_walk_through_the_same_commands() -> None:
    """README.zh-CN.md's blocks are README.md's, and no line carries a comment: an interactive zsh
    (the default there) runs `#` as a command instead of ignoring it."""
    english = _walkthrough("README.md")
    assert _walkthrough("README.zh-CN.md") == english
    assert not [line for line in english.splitlines() if re.search(r"(^|\s)#", line)]


@pytest.mark.parametrize("shell", sorted(STRICT))
def test_the_walkthrough_runs_in_bash_and_zsh(shell: str, tmp_path: Path) -> None:
    """Pasted into bash or zsh (strict mode: any unexpected failure stops it), the walk-through logs
    in with one-tap, sees the reused token refused with its error body, checks the number, verifies
    it through the phone's browser, checks for a SIM swap, gets a login decision, and sees an
    operator outage answered 503 until the fault is cleared."""
    path = shutil.which(shell)
    if path is None:
        pytest.fail(f"{shell} is required for the README tests: apt-get install {shell}")
    with _gateway_up(tmp_path) as up:
        done = subprocess.run(
            [path, "-c", up["EXPORTS"] + STRICT[shell] + _walkthrough("README.md")],
            capture_output=True,
            text=True,
            timeout=60,
            env=_clean_env(),
        )
    assert done.returncode == 0, done.stderr + done.stdout
    out, err = done.stdout.replace(" ", ""), done.stderr.replace(" ", "")
    assert '"phoneNumber":"+8613800138000"' in out
    assert '"code":"ONE_TAP.TOKEN_INVALID"' in err
    assert '"result":"PASS"' in out
    assert '"devicePhoneNumberVerified":true' in out
    assert '"swapped":false' in out
    assert '"decision":"challenge"' in out and "NEW_DEVICE" in out
    assert '"code":"UNAVAILABLE"' in err
    assert out.count("refused,asexpected") == 2
