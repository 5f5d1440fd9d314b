"""The operator -> adapter table, building exchangers from configuration, and token-shape routing."""

from __future__ import annotations

import pytest

from carrier_adapters import (
    ADAPTER_CLASSES,
    CmccAdapter,
    CtccAdapter,
    CuccAdapter,
    LineInsight,
    NetworkAuthenticator,
    OneTapExchanger,
    Operator,
    OperatorConfig,
    build_exchangers,
    operator_for_token,
)
from carrier_adapters.testing import FakeExchanger, FakeTransport


def _config(operator: str) -> OperatorConfig:
    return OperatorConfig(
        operator=operator, base_url=f"http://operator.test/{operator}", app_id="a", app_key="K" * 32
    )


def test_adapter_classes_cover_the_three_operators() -> None:
    """cmcc, cucc and ctcc map to their adapter classes."""
    assert dict(ADAPTER_CLASSES) == {"cmcc": CmccAdapter, "cucc": CuccAdapter, "ctcc": CtccAdapter}


async def test_build_exchangers_one_per_config(transport: FakeTransport) -> None:
    """Each configured operator gets its adapter, which satisfies the OneTapExchanger protocol."""
    exchangers = build_exchangers([_config("cmcc"), _config("ctcc")], transport)

    assert set(exchangers) == {"cmcc", "ctcc"}
    assert isinstance(exchangers["cmcc"], CmccAdapter)
    assert isinstance(exchangers["ctcc"], CtccAdapter)
    assert all(isinstance(exchanger, OneTapExchanger) for exchanger in exchangers.values())
    assert all(name == exchanger.operator for name, exchanger in exchangers.items())


async def test_built_adapters_are_whole_operators(transport: FakeTransport) -> None:
    """Every built adapter is an Operator: one-tap exchanger, line insight and network authenticator."""
    operators = build_exchangers([_config(name) for name in ("cmcc", "cucc", "ctcc")], transport)

    for adapter in operators.values():
        assert isinstance(adapter, Operator)
        assert isinstance(adapter, LineInsight)
        assert isinstance(adapter, NetworkAuthenticator)
    assert {name: adapter.history_window_hours for name, adapter in operators.items()} == {
        "cmcc": 2400,
        "cucc": 720,
        "ctcc": 1440,
    }


async def test_build_exchangers_rejects_unknown_operator(transport: FakeTransport) -> None:
    """An operator without an adapter is a configuration error."""
    with pytest.raises(ValueError, match="cbn"):
        build_exchangers([_config("cbn")], transport)


async def test_build_exchangers_rejects_duplicates(transport: FakeTransport) -> None:
    """Configuring one operator twice is a configuration error."""
    with pytest.raises(ValueError, match="twice"):
        build_exchangers([_config("cucc"), _config("cucc")], transport)


@pytest.mark.parametrize(
    ("token", "operator"),
    [
        ("STsid" + "0" * 32, "cmcc"),
        ("H5HTTPS" + "f" * 32, "cmcc"),
        ("CUAT" + "_" * 40, "cucc"),
        ("CTA0" + "9" * 40, "ctcc"),
        ("garbage", None),
        ("", None),
    ],
)
async def test_operator_for_token_by_shape(
    transport: FakeTransport, token: str, operator: str | None
) -> None:
    """A token is routed to the configured operator whose token shape it has, else None."""
    exchangers = build_exchangers([_config(name) for name in ("cmcc", "cucc", "ctcc")], transport)

    assert operator_for_token(token, exchangers) == operator


def test_operator_for_token_only_among_configured() -> None:
    """A token of an operator that is not configured is not routed anywhere."""
    exchangers: dict[str, OneTapExchanger] = {"cucc": FakeExchanger("cucc")}

    assert operator_for_token("STsid" + "0" * 32, exchangers) is None
