"""Gateway settings: environment variables ``GATEWAY_*`` with a CLI flag of the same meaning.

Precedence is defaults < environment < flags, merged once in :func:`load_settings` and passed
down; nothing reads the environment at import time. Mode-specific defaults (``up`` vs ``serve``)
are applied by the CLI, not here.
"""

from __future__ import annotations

import argparse
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from carrier_adapters import OperatorConfig

__all__ = ["OPERATORS", "Settings", "add_setting_flags", "load_settings"]

OPERATORS: tuple[str, ...] = ("cmcc", "cucc", "ctcc")


class Settings(BaseSettings):
    """Every setting of the gateway and the sandbox; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", frozen=True, extra="ignore")

    database_url: str = "sqlite:///var/gateway.db"
    host: str = "127.0.0.1"
    port: int = 8080
    sandbox_port: int = 8090
    public_url: str | None = None
    admin_token: SecretStr | None = None
    allow_private_webhooks: bool = False
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    data_keys: SecretStr | None = None
    index_keys: SecretStr | None = None
    access_token_ttl: int = 900
    max_body_bytes: int = 64 * 1024
    shutdown_timeout: float = 10.0
    workers: int = Field(default=1, ge=1, le=64, description="gateway processes for `serve` (SO_REUSEPORT)")
    redis_url: str | None = Field(
        default=None, description="shared single-use markers and rate limits; required with workers > 1"
    )
    operator_timeout: float = 3.0
    operator_connect_timeout: float = 1.0
    cmcc_url: str | None = None
    cmcc_app_id: str | None = None
    cmcc_app_key: SecretStr | None = None
    cucc_url: str | None = None
    cucc_app_id: str | None = None
    cucc_app_key: SecretStr | None = None
    ctcc_url: str | None = None
    ctcc_app_id: str | None = None
    ctcc_app_key: SecretStr | None = None

    @field_validator("public_url", "cmcc_url", "cucc_url", "ctcc_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def issuer(self) -> str:
        """The public base URL; also the OAuth issuer and the audience of access tokens."""
        return self.public_url or f"http://{self.host}:{self.port}"

    def operator_configs(self) -> list[OperatorConfig]:
        """Operators with a URL, app id and app key configured, in contract order."""
        configs = []
        for op in OPERATORS:
            url, app_id = getattr(self, f"{op}_url"), getattr(self, f"{op}_app_id")
            key: SecretStr | None = getattr(self, f"{op}_app_key")
            if url and app_id and key:
                configs.append(
                    OperatorConfig(
                        operator=op,
                        base_url=url,
                        app_id=app_id,
                        app_key=key.get_secret_value(),
                        timeout=self.operator_timeout,
                        connect_timeout=self.operator_connect_timeout,
                    )
                )
        return configs


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """Add one ``--flag`` per setting; unset flags leave the environment's value in force."""
    group = parser.add_argument_group("settings (each also GATEWAY_<NAME>)")
    for name, field in Settings.model_fields.items():
        group.add_argument(
            _flag(name),
            dest=f"setting_{name}",
            default=argparse.SUPPRESS,
            metavar="VALUE",
            help=field.description,
        )


def load_settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    """Merge environment, parsed flags and mode ``overrides`` (which only fill unset values)."""
    flags = {k.removeprefix("setting_"): v for k, v in vars(args).items() if k.startswith("setting_")}
    base = Settings(**flags)
    fill = {k: v for k, v in overrides.items() if k not in base.model_fields_set}
    return base.model_copy(update=_coerce(fill)) if fill else base


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    return dict(Settings.model_validate({**values}).model_dump(include=set(values)))
