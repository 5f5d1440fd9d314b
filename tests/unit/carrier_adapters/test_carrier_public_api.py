"""The package's curated public API."""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

import carrier_adapters

PUBLIC_MODULES = [
    "carrier_adapters.base",
    "carrier_adapters.errors",
    "carrier_adapters.registry",
    "carrier_adapters.numbers",
    "carrier_adapters.transport",
    "carrier_adapters.cmcc",
    "carrier_adapters.cucc",
    "carrier_adapters.ctcc",
]


def test_all_equals_the_public_names() -> None:
    """__all__ lists exactly the package's public, non-module attributes."""
    public = {
        name
        for name, value in vars(carrier_adapters).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }

    assert sorted(carrier_adapters.__all__) == sorted(public)


def test_all_re_exports_every_public_module() -> None:
    """__all__ is the union of the public modules' __all__."""
    exported: set[str] = set()
    for name in PUBLIC_MODULES:
        exported |= set(importlib.import_module(name).__all__)

    assert set(carrier_adapters.__all__) == exported


def test_test_doubles_stay_out_of_the_public_api() -> None:
    """The fakes of carrier_adapters.testing are importable from there only."""
    fakes = set(importlib.import_module("carrier_adapters.testing").__all__)

    assert fakes
    assert not fakes & set(carrier_adapters.__all__)


@pytest.mark.parametrize("forbidden", ["gateway", "sandbox", "aiohttp", "httpx", "respx"])
def test_package_imports_no_gateway_sandbox_or_http_library(forbidden: str) -> None:
    """No module of carrier_adapters imports the gateway, the sandbox or an HTTP library."""
    root = Path(carrier_adapters.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n == forbidden or n.startswith(forbidden + ".") for n in names), path


def test_operator_config_repr_hides_app_key() -> None:
    """An OperatorConfig can be logged: its repr leaves the shared app key out."""
    config = carrier_adapters.OperatorConfig(
        operator="cmcc", base_url="u", app_id="a", app_key="s3cr3t-app-key"
    )

    assert "s3cr3t-app-key" not in repr(config)
