"""Settings: one object, read from the environment and `.env`, validated before anything starts.

A wrong value must stop the program with one line naming the variable, never a traceback deep in
start-up, so `load_settings` turns pydantic's errors into `ConfigError` with that line.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GRAPH_API_VERSION = "v23.0"
SANDBOX_BUSINESS_ACCOUNT_ID = "sandbox-waba"


class ConfigError(Exception):
    """A configuration value is wrong; the message is one line for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = "sqlite+aiosqlite:///./var/switchboard.db"
    redis_url: str | None = None
    secret_key: str | None = Field(default=None, min_length=16)
    var_dir: Path = Path("./var")

    whatsapp_phone_number_id: str = Field(default="sandbox", min_length=1)
    whatsapp_access_token: str = Field(default="sandbox-token", min_length=1)
    whatsapp_app_secret: str = Field(default="sandbox-secret", min_length=1)
    whatsapp_verify_token: str = Field(default="sandbox-verify", min_length=1)
    whatsapp_api_base_url: str | None = None
    whatsapp_business_account_id: str | None = Field(default=None, max_length=64)
    # The team the default channel's new conversations wait in, and the one `create-agent`
    # without `--team` joins: both must name the same queue, or a first run sees no chat.
    whatsapp_default_team: str = Field(default="General", min_length=1, max_length=120)
    sandbox_enabled: bool | None = None
    sandbox_template_review_seconds: float = Field(default=5.0, ge=0, le=3600)
    template_sync_minutes: int = Field(default=15, ge=1, le=60)

    public_base_url: str = "http://127.0.0.1:8000"
    environment: Literal["development", "production", "test"] = "development"
    log_format: Literal["console", "json"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    send_rate_per_second: int = Field(default=80, ge=1, le=1000)
    send_max_attempts: int = Field(default=8, ge=1, le=50)
    send_retry_base_seconds: float = Field(default=15.0, gt=0)
    send_retry_cap_seconds: float = Field(default=900.0, gt=0)
    send_lease_seconds: float = Field(default=60.0, gt=0)
    send_reconcile_grace_seconds: float = Field(default=30.0, ge=0)
    agent_capacity: int = Field(default=5, ge=1, le=100)
    login_attempts_per_minute: int = Field(default=5, ge=1)  # per account and source
    login_attempts_per_source_per_minute: int = Field(default=30, ge=1)
    # Roles that must have a second factor: until they set one up they may only do that.
    two_factor_required_roles: list[Literal["agent", "lead", "admin"]] = Field(default_factory=list)
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    allowed_origins: list[str] = Field(default_factory=list)
    websocket_compression: bool = False
    survey_delay_seconds: float = Field(default=60.0, ge=0)
    event_retention_days: int = Field(default=30, ge=1, le=3650)
    # Customer data older than this loses its text and media (unset: kept); see docs/security.md.
    retention_days: int | None = Field(default=None, ge=1, le=36500)
    consent_stop_words: list[str] = Field(
        default_factory=lambda: ["stop", "unsubscribe", "stopp", "baja"]
    )
    consent_start_words: list[str] = Field(default_factory=lambda: ["start", "subscribe", "alta"])
    # When set, /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` (Prometheus'
    # `authorization` / `bearer_token` setting); unset, it is open: keep it on an internal network.
    metrics_token: str | None = Field(default=None, min_length=16)
    # Address allowlists (CIDRs, JSON lists; empty: everyone) and the proxies whose
    # X-Forwarded-For is believed.
    webhook_allowed_cidrs: list[str] = Field(default_factory=list)
    admin_allowed_cidrs: list[str] = Field(default_factory=list)
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    # Fernet keys for secrets at rest, comma-separated: the first encrypts, all decrypt.
    # Unset: one generated once into var/secrets_keys.
    secrets_keys: str | None = None
    api_key_rate_per_minute: int = Field(default=600, ge=1, le=100_000)
    outgoing_webhooks_allow_private_networks: bool = False
    outgoing_webhook_retry_base_seconds: float = Field(default=30.0, gt=0)
    outgoing_webhook_retry_window_seconds: float = Field(default=72 * 3600.0, gt=0)

    media_storage_url: str = "file://./var/media"
    s3_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_region: str | None = None
    media_download_max_attempts: int = Field(default=12, ge=1, le=50)
    media_retry_base_seconds: float = Field(default=30.0, gt=0)
    media_retry_cap_seconds: float = Field(default=3600.0, gt=0)
    # One try may stream a 100 MB video from a slow CDN: far longer than the 60 s other jobs get.
    media_download_timeout_seconds: int = Field(default=900, ge=1, le=86400)

    @field_validator("whatsapp_default_team")
    @classmethod
    def _team_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a team")
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith(("sqlite://", "sqlite:///")) and "+aiosqlite" not in value:
            raise ValueError("use an async driver: sqlite+aiosqlite:///path")
        if value.startswith(("postgres://", "postgresql://")):
            raise ValueError("use an async driver: postgresql+asyncpg://user@host/db")
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("media_storage_url")
    @classmethod
    def _storage_scheme(cls, value: str) -> str:
        if not value.startswith(("file://", "s3://")) or value in ("file://", "s3://"):
            raise ValueError("must be file://path or s3://bucket/prefix")
        return value

    @field_validator("whatsapp_api_base_url", "public_base_url", "s3_endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("webhook_allowed_cidrs", "admin_allowed_cidrs", "trusted_proxies")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not an address or CIDR network") from None
        return value

    @property
    def sandbox_is_enabled(self) -> bool:
        """Unset: on in development while no real Graph API is configured, off in production
        (an unauthenticated stand-in for WhatsApp has no place on a live desk unless asked for)."""
        if self.sandbox_enabled is None:
            return self.whatsapp_api_base_url is None and self.environment != "production"
        return self.sandbox_enabled

    @property
    def default_business_account_id(self) -> str | None:
        """The default channel's WhatsApp Business Account: where its templates live."""
        if self.whatsapp_business_account_id:
            return self.whatsapp_business_account_id
        return SANDBOX_BUSINESS_ACCOUNT_ID if self.sandbox_is_enabled else None

    @property
    def graph_api_base_url(self) -> str:
        """Where Cloud API calls go: Meta's Graph API, or the sandbox on this very server."""
        if self.whatsapp_api_base_url:
            return self.whatsapp_api_base_url
        return f"{self.public_base_url}/sandbox/graph/{GRAPH_API_VERSION}"

    @property
    def effective_log_format(self) -> str:
        if self.log_format:
            return self.log_format
        return "json" if self.environment == "production" else "console"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def previous_signing_keys(self) -> list[str]:
        """SECRET_KEY=new,old: sessions signed with an old key stay valid until they expire;
        new ones are signed with the first."""
        if not self.secret_key:
            return []
        return [k.strip() for k in self.secret_key.split(",")[1:] if k.strip()]

    def signing_key(self) -> str:
        """SECRET_KEY (its first key), or one generated once into var/ so that sessions survive
        restarts."""
        if self.secret_key:
            return self.secret_key.split(",")[0].strip()
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    variable = str(first["loc"][0]).upper() if first["loc"] else "configuration"
    message = str(first["msg"]).removeprefix("Value error, ")
    value = first.get("input")
    shown = (
        "" if "secret" in variable.lower() or "token" in variable.lower() else f" (got {value!r})"
    )
    return f"{variable}: {message}{shown}"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(_one_line(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
