"""Settings precedence: defaults < GATEWAY_* environment < flags; mode defaults only fill gaps."""

from __future__ import annotations

import argparse

import pytest

from gateway.settings import Settings, add_setting_flags, load_settings


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_setting_flags(parser)
    return parser.parse_args(list(argv))


def test_flags_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flag overrides the environment variable of the same setting."""
    monkeypatch.setenv("GATEWAY_PORT", "9000")
    assert load_settings(_args()).port == 9000
    assert load_settings(_args("--port", "9100")).port == 9100


def test_mode_overrides_fill_only_unset_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """`up` defaults do not replace what the operator configured."""
    monkeypatch.setenv("GATEWAY_ADMIN_TOKEN", "from-env")
    settings = load_settings(_args(), admin_token="generated", allow_private_webhooks=True)
    assert settings.admin_token is not None and settings.admin_token.get_secret_value() == "from-env"
    assert settings.allow_private_webhooks is True


def test_defaults_match_the_contract() -> None:
    """Contract §0 defaults: SQLite under var/, 127.0.0.1:8080, sandbox on 8090, issuer from host and port."""
    settings = Settings()
    assert settings.database_url == "sqlite:///var/gateway.db"
    assert (settings.host, settings.port, settings.sandbox_port) == ("127.0.0.1", 8080, 8090)
    assert settings.issuer == "http://127.0.0.1:8080"
    assert settings.allow_private_webhooks is False


def test_operator_configs_need_url_id_and_key() -> None:
    """Only fully configured operators are built."""
    settings = Settings(
        cmcc_url="http://x/cmcc/", cmcc_app_id="a", cmcc_app_key="k", cucc_url="http://x/cucc"
    )
    [config] = settings.operator_configs()
    assert config.operator == "cmcc" and config.base_url == "http://x/cmcc"
