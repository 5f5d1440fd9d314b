"""docs/configuration.md and docs/errors.md are what ``make docs`` generates from the code, and the
generator refuses settings and errors it could only document with a hole."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings

from gateway.errors import ApiError
from tools import docs


@pytest.mark.parametrize("name", sorted(docs.GENERATED))
def test_the_generated_page_matches_the_code(name: str) -> None:
    """The committed page is byte for byte what the generator renders now; run `make docs` after
    changing a setting or an error."""
    path, render = docs.GENERATED[name]
    assert path.read_text() == render(), f"{path.name} is out of date: run `make docs`"


def test_every_setting_and_error_is_on_its_page() -> None:
    """Each setting's environment variable and each error code has its row."""
    from gateway import errors
    from gateway.settings import Settings

    configuration = docs.GENERATED["configuration"][1]()
    for name in Settings.model_fields:
        assert f"| `GATEWAY_{name.upper()}` | `--{name.replace('_', '-')}` |" in configuration
    errors_page = docs.GENERATED["errors"][1]()
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, ApiError):
            assert f"| {value.status} | `{value.code}` |" in errors_page


def test_check_mode_reports_a_stale_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--check`` writes nothing and exits 1 when a page differs; the default mode rewrites it."""
    stale = tmp_path / "errors.md"
    stale.write_text("# Errors\n")
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    monkeypatch.setitem(docs.GENERATED, "errors", (stale, docs.GENERATED["errors"][1]))
    assert docs.main(["--check", "errors"]) == 1
    assert stale.read_text() == "# Errors\n"
    assert docs.main(["errors"]) == 0
    assert docs.main(["--check", "errors"]) == 0


def test_a_setting_without_a_description_is_refused() -> None:
    """A new setting must say what it is for before the page can be generated."""

    class Partial(BaseSettings):
        documented: int = Field(default=1, description="has one")
        bare: int = 2

    with pytest.raises(ValueError, match="bare"):
        docs.configuration_page(Partial, env_prefix="X_")


def test_an_error_without_its_own_remedy_is_refused() -> None:
    """A new error class must say what the caller should do; inheriting the base's does not count."""

    class Vague(ApiError):
        status, code, default_message = 418, "VAGUE", "Something."

    class Clear(ApiError):
        status, code, default_message = 418, "CLEAR", "Something."
        remedy: ClassVar[str] = "Do this."

    with pytest.raises(ValueError, match="Vague"):
        docs.errors_page([Vague, Clear])
    assert "| 418 | `CLEAR` | Something. | Do this. |" in docs.errors_page([Clear])
