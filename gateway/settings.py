"""Gateway settings: environment variables ``GATEWAY_*`` with a CLI flag of the same meaning.

Precedence is defaults < environment < flags, merged once in :func:`load_settings` and passed
down; nothing reads the environment at import time. Mode-specific defaults (``up`` vs ``serve``)
are applied by the CLI, not here.
"""

from __future__ import annotations

import argparse
import ipaddress
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from carrier_adapters import OperatorConfig
from gateway.db.engine import DEFAULT_POOL_SIZE

__all__ = ["OPERATORS", "Settings", "add_setting_flags", "load_settings"]

OPERATORS: tuple[str, ...] = ("cmcc", "cucc", "ctcc")


class Settings(BaseSettings):
    """Every setting of the gateway and the sandbox; each field's description (its ``Field`` description or
    its docstring) is its ``--help`` text and its line in docs/configuration.md (``make docs``)."""

    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", frozen=True, extra="ignore", use_attribute_docstrings=True
    )

    database_url: str = "sqlite:///var/gateway.db"
    """`sqlite:///<file>` (the embedded default) or `postgresql://…` (production)"""
    db_pool_size: int = Field(
        default=DEFAULT_POOL_SIZE,
        ge=1,
        le=100,
        description="database connections per process (a fixed pool): every process of every host, "
        "times this, must fit the server's max_connections (docs/deploy.md)",
    )
    host: str = "127.0.0.1"
    """listen address of `up`, `serve`, `worker` and `sandbox`"""
    port: int = 8080
    """gateway listen port"""
    sandbox_port: int = 8090
    """sandbox operators' port (`up`, `sandbox`)"""
    sandbox_cmpp_port: int = Field(
        default=7890, ge=0, le=65535, description="sandbox CMPP ISMG port (0: free)"
    )
    sandbox_sgip_port: int = Field(
        default=8801, ge=0, le=65535, description="sandbox SGIP SMG port (0: free)"
    )
    sandbox_smpp_port: int = Field(
        default=2775, ge=0, le=65535, description="sandbox SMPP SMSC port (0: free)"
    )
    sandbox_smgp_port: int = Field(
        default=8890, ge=0, le=65535, description="sandbox SMGP SMGW port (0: free)"
    )
    sandbox_callback_url: str | None = Field(
        default=None, description="`sandbox`: gateway base URL for SMS callbacks (unset: none sent)"
    )
    public_url: str | None = None
    """the gateway's external base URL, also the OAuth issuer (unset: `http://HOST:PORT`)"""
    admin_token: SecretStr | None = None
    """bootstrap admin bearer for `/admin/*` and `/metrics` (`up` generates one; unset: refused)"""
    allow_private_webhooks: bool = False
    """allow http and private addresses as webhook and subscription sinks (true under `up`)"""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """lowest level logged"""
    log_format: Literal["json", "console"] = "json"
    """`json` lines, or `console` for people (the default under `up`)"""
    event_loop: Literal["auto", "uvloop", "asyncio"] = Field(
        default="auto", description="asyncio loop of every process (auto: uvloop where installed)"
    )
    data_keys: SecretStr | None = None
    """AES-256-GCM keyring of personal data, `v2:<base64url 32 bytes>,v1:…`, current first (`up` keeps one
    in var/keys.json)"""
    index_keys: SecretStr | None = None
    """HMAC keyring of the blind indexes, same format as DATA_KEYS"""
    access_token_ttl: int = 900
    """access token lifetime (s)"""
    max_body_bytes: int = 64 * 1024
    """largest request body accepted (bytes); larger is 413"""
    shutdown_timeout: float = 10.0
    """after SIGTERM: seconds in-flight requests get once the listener closes, then background sends get as
    long again"""
    shutdown_grace_seconds: float = Field(
        default=2.0, ge=0, le=300, description="on SIGTERM, seconds /readyz fails before the listener closes"
    )
    worker_port: int = Field(default=8081, description="`worker`: port of /healthz, /readyz, /metrics")
    workers: int = Field(default=1, ge=1, le=64, description="processes of `serve`/`worker`")
    redis_url: str | None = Field(
        default=None, description="shared single-use markers and rate limits; required with workers > 1"
    )
    operator_timeout: float = 3.0
    """deadline of one operator call (s)"""
    operator_connect_timeout: float = 1.0
    """connect deadline of one operator call (s)"""
    operator_circuit_threshold: int = Field(
        default=5, ge=1, le=1000, description="consecutive failed calls that open an operator's circuit"
    )
    operator_circuit_failure_ratio: float = Field(
        default=0.5, gt=0, le=1, description="failed share of >= 20 calls in the window that opens it"
    )
    operator_circuit_window_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="window of the failure ratio (s)"
    )
    operator_circuit_cooldown_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="seconds an open circuit refuses calls before a probe"
    )
    cmcc_url: str | None = None
    """China Mobile API base URL (`up`: the sandbox's)"""
    cmcc_app_id: str | None = None
    """app id registered with China Mobile (`up`: generated)"""
    cmcc_app_key: SecretStr | None = None
    """app key registered with China Mobile, signs the calls (`up`: generated)"""
    cucc_url: str | None = None
    """China Unicom API base URL (`up`: the sandbox's)"""
    cucc_app_id: str | None = None
    """app id registered with China Unicom (`up`: generated)"""
    cucc_app_key: SecretStr | None = None
    """app key registered with China Unicom, signs the calls (`up`: generated)"""
    ctcc_url: str | None = None
    """China Telecom API base URL (`up`: the sandbox's)"""
    ctcc_app_id: str | None = None
    """app id registered with China Telecom (`up`: generated)"""
    ctcc_app_key: SecretStr | None = None
    """app key registered with China Telecom, signs the calls (`up`: generated)"""
    cmcc_sms_url: SecretStr | None = None
    """China Mobile's ISMG, `cmpp://<sp_id>:<secret>@host:port?src_id=…` (`up`: the sandbox's)"""
    cucc_sms_url: SecretStr | None = None
    """China Unicom's SMG, `sgip://<login>:<password>@host:port?node_id=…&listen=host:port&…`"""
    ctcc_sms_url: SecretStr | None = None
    """China Telecom's SMGW, `smgp://<client_id>:<secret>@host:port?src_id=…` (`up`: the sandbox's)"""
    intl_sms_url: SecretStr | None = None
    """an SMPP 3.4 route for numbers outside +86, `smpp://<system_id>:<password>@host:port?source_addr=…`"""
    login_check_sim_swap_max_age_hours: int = Field(default=72, ge=1, le=2400)
    """default SIM swap threshold of a tenant's login-check policy (h)"""
    login_check_device_swap_max_age_hours: int = Field(default=72, ge=1, le=2400)
    """default device swap threshold of a tenant's login-check policy (h)"""
    login_check_attempts_per_number: int = Field(default=10, ge=1, le=100_000)
    """default login checks per number and window"""
    login_check_attempts_per_device: int = Field(default=10, ge=1, le=100_000)
    """default login checks per deviceId and window"""
    login_check_attempts_per_ip: int = Field(default=50, ge=1, le=100_000)
    """default login checks per client ip and window"""
    login_check_window_seconds: int = Field(default=900, ge=1, le=86_400)
    """default login-check attempt window (s)"""
    login_check_max_devices: int = Field(default=20, ge=1, le=1000, description="bound devices per number")

    # authorization server: telco finder and CIBA (docs/oauth.md)
    trusted_proxies: str = Field(
        default="127.0.0.1/32,::1/128", description="CIDRs whose X-Forwarded-For is believed"
    )
    cmcc_cidrs: str = Field(default="10.64.0.0/16", description="cmcc cellular source ranges (CIDR list)")
    cucc_cidrs: str = Field(default="10.65.0.0/16", description="cucc cellular source ranges (CIDR list)")
    ctcc_cidrs: str = Field(default="10.66.0.0/16", description="ctcc cellular source ranges (CIDR list)")
    ciba_interval: int = Field(default=5, ge=1, le=60, description="CIBA minimum polling interval (s)")
    ciba_expires_in: int = Field(default=120, ge=10, le=3600, description="CIBA auth_req_id lifetime (s)")
    require_signed_request_object: bool = Field(
        default=False,
        description="every client must send /oauth2/authorize and CIBA requests as signed request objects",
    )

    # webhooks (docs/webhooks.md); allow_private_webhooks is above
    webhook_delivery_worker: bool = Field(
        default=True, description="run the webhook delivery worker in this process (false: another one does)"
    )
    webhook_timeout: float = Field(default=10.0, gt=0, le=60, description="seconds per webhook attempt")
    webhook_poll_interval: float = Field(
        default=1.0, gt=0, le=60, description="seconds between webhook outbox polls"
    )
    webhook_concurrency: int = Field(default=16, ge=1, le=512, description="webhook attempts in flight")
    webhook_secret_grace: int = Field(
        default=86_400, ge=0, le=30 * 86_400, description="seconds a replaced webhook secret still signs"
    )

    # push messages (docs/push.md)
    push_dispatch_worker: bool = Field(
        default=True, description="run the SMS dispatch worker in this process (false: another one does)"
    )
    push_dispatch_poll_seconds: float = Field(default=1.0, gt=0, le=60, description="seconds between polls")
    verify_sweep_seconds: float = Field(
        default=1.0, gt=0, le=60, description="seconds between sweeps for verification steps whose time is up"
    )
    verify_pumping_min_codes: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="codes to a prefix in an hour before the pumping guard judges",
    )
    verify_pumping_min_verified_ratio: float = Field(
        default=0.2, ge=0, le=1, description="verified share of those codes below which the prefix is blocked"
    )
    push_dispatch_batch: int = Field(default=50, ge=1, le=1000, description="messages claimed per round")
    push_dispatch_concurrency: int = Field(
        default=32,
        ge=1,
        le=256,
        description="submissions in flight per process (the default send rate, 50/s to each of three "
        "operators, at 200 ms per operator call needs 30)",
    )
    push_lease_seconds: float = Field(
        default=60.0, ge=5, le=3600, description="a claimed message returns to others after this (s)"
    )
    push_retry_base_seconds: float = Field(default=2.0, gt=0, le=3600, description="first retry delay (s)")
    push_retry_max_seconds: float = Field(default=600.0, gt=0, le=86_400, description="longest retry (s)")
    push_send_rate: float = Field(
        default=50.0, gt=0, le=10_000, description="SMS per second per operator, per process"
    )
    push_send_rates: str = Field(default="", description="per-operator overrides, e.g. 'cmcc:20,ctcc:5'")
    push_default_ttl_seconds: int = Field(default=86_400, ge=60, le=604_800, description="default ttlSeconds")
    push_report_timeout: int = Field(
        default=259_200,
        ge=60,
        le=30 * 86_400,
        description="seconds a submitted message waits for its delivery report before it ends 'unknown'",
    )
    push_fallback_operator: Literal["cmcc", "cucc", "ctcc", "intl"] | None = Field(
        default=None, description="operator for numbers outside the mainland ranges (unset: refused)"
    )

    # CAMARA SIM swap subscriptions (docs/sim-swap-subscriptions.md)
    sim_swap_poll_worker: bool = Field(
        default=True, description="run the SIM swap subscription poller in this process (false: another does)"
    )
    sim_swap_poll_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="seconds between SIM history polls of a subscribed line"
    )
    sim_swap_poll_batch: int = Field(default=100, ge=1, le=10_000, description="subscriptions per poll round")
    sim_swap_poll_concurrency: int = Field(
        default=8, ge=1, le=256, description="SIM history calls in flight per process"
    )

    # links and flows (docs/flows.md)
    cmcc_h5_url: str | None = Field(
        default=None, description="cmcc H5 SDK token URL (default {CMCC_URL}/h5/token)"
    )
    cucc_h5_url: str | None = Field(
        default=None, description="cucc H5 SDK token URL (default {CUCC_URL}/h5/token)"
    )
    ctcc_h5_url: str | None = Field(
        default=None, description="ctcc H5 SDK token URL (default {CTCC_URL}/h5/token)"
    )
    # rich-message channels (docs/channels.md)
    cmcc_maap_url: str | None = Field(
        default=None, description="cmcc MaaP chatbot platform root (default {CMCC_URL}/maap)"
    )
    cucc_maap_url: str | None = Field(
        default=None, description="cucc MaaP chatbot platform root (default {CUCC_URL}/maap)"
    )
    ctcc_maap_url: str | None = Field(
        default=None, description="ctcc MaaP chatbot platform root (default {CTCC_URL}/maap)"
    )
    cards_url: str | None = Field(
        default=None,
        description="card-SMS platforms' root, a vendor's at {CARDS_URL}/{vendor} (`up`: the sandbox's)",
    )
    flow_session_ttl: int = Field(default=900, ge=60, le=86_400, description="flow session lifetime (s)")
    flow_redeem_attempts: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="failed redemptions per device per FLOW_REDEEM_WINDOW_SECONDS",
    )
    flow_redeem_window_seconds: int = Field(default=600, ge=1, le=86_400, description="redemption window (s)")
    queue_minutes_per_customer: float = Field(
        default=5.0, gt=0, le=240, description="service time assumed before a branch has call history"
    )
    queue_ticket_ttl_seconds: int = Field(
        default=43_200, ge=600, le=604_800, description="lifetime of ticket and call SMS links (s)"
    )

    # staff console (docs/console.md)
    console_idle_timeout_seconds: int = Field(
        default=900,
        ge=10,
        le=86_400,
        description="a console session ends after this long without activity (s)",
    )
    console_session_lifetime_seconds: int = Field(
        default=43_200, ge=60, le=604_800, description="a console session ends this long after sign-in (s)"
    )
    console_idle_warning_seconds: int = Field(
        default=120, ge=5, le=3600, description="the console warns this long before the idle end (s)"
    )

    @field_validator("cmcc_h5_url", "cucc_h5_url", "ctcc_h5_url")
    @classmethod
    def _h5_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("H5 token URLs must be absolute http(s) URLs")
        return value

    def h5_token_url(self, operator: str) -> str | None:
        """The operator's H5 SDK token endpoint: ``<OP>_H5_URL``, else ``{<OP>_URL}/h5/token``."""
        configured: str | None = getattr(self, f"{operator}_h5_url", None)
        base: str | None = getattr(self, f"{operator}_url", None)
        return configured or (f"{base}/h5/token" if base else None)

    @field_validator("cmcc_maap_url", "cucc_maap_url", "ctcc_maap_url", "cards_url")
    @classmethod
    def _platform_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("platform URLs must be absolute http(s) URLs")
        return value.rstrip("/") if value else value

    def maap_url(self, operator: str) -> str | None:
        """The operator's MaaP platform root: ``<OP>_MAAP_URL``, else ``{<OP>_URL}/maap``."""
        configured: str | None = getattr(self, f"{operator}_maap_url", None)
        base: str | None = getattr(self, f"{operator}_url", None)
        return configured or (f"{base}/maap" if base else None)

    @field_validator("trusted_proxies", "cmcc_cidrs", "cucc_cidrs", "ctcc_cidrs")
    @classmethod
    def _cidr_list(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part)
        return value

    @field_validator("public_url", "cmcc_url", "cucc_url", "ctcc_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("push_send_rates")
    @classmethod
    def _rate_overrides(cls, value: str) -> str:
        _parse_rates(value)
        return value

    def push_send_rate_overrides(self) -> dict[str, float]:
        """``PUSH_SEND_RATES`` as operator -> SMS per second."""
        return _parse_rates(self.push_send_rates)

    @property
    def issuer(self) -> str:
        """The public base URL; also the OAuth issuer and the audience of access tokens."""
        return self.public_url or f"http://{self.host}:{self.port}"

    def sms_urls(self) -> dict[str, str]:
        """Operator (``cmcc``, ``cucc``, ``ctcc``, ``intl``) -> its binary-protocol SMS gateway URL."""
        urls = {}
        for op in (*OPERATORS, "intl"):
            url: SecretStr | None = getattr(self, f"{op}_sms_url")
            if url is not None and url.get_secret_value():
                urls[op] = url.get_secret_value()
        return urls

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


def _parse_rates(value: str) -> dict[str, float]:
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        operator, sep, rate = part.partition(":")
        if not sep or operator not in OPERATORS or not 0 < float(rate) <= 10_000:
            raise ValueError("push_send_rates must look like 'cmcc:20,ctcc:5' (0 < rate <= 10000)")
        rates[operator] = float(rate)
    return rates


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
