"""Settings: the one configuration object, read from GROUNDSWELL_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.core.presets import SENSITIVITIES

SLACK_DEFAULT_API_URL = "https://slack.com/api/"
PLACEHOLDER_WORDS = ("change-me", "changeme", "placeholder")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_BACKENDS = ("sqlite", "postgresql")
DAY_SECONDS = 86400.0
URL_EXAMPLE = "sqlite:///path/to/file.db or postgresql://user:password@host:5432/name"


class ConfigError(Exception):
    """A setting that cannot be used at start: one line naming its variable (exit 2)."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable}: {reason}")
        self.variable = variable
        self.reason = reason


class Settings(BaseSettings):
    """Everything the service can be told. Built once in `cli` and passed down."""

    model_config = SettingsConfigDict(env_prefix="GROUNDSWELL_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///groundswell.db",
        description="SQLAlchemy URL; default a SQLite file in the working directory.",
    )
    bootstrap_api_key: SecretStr | None = Field(
        default=None, description="Accepted as a Bearer key; stored hashed at start."
    )
    slack_bot_token: SecretStr | None = None
    slack_api_url: str = SLACK_DEFAULT_API_URL
    slack_signing_secret: SecretStr | None = None
    slack_default_channel: str | None = None
    allow_private_targets: bool = False
    model_dir: Path | None = Field(
        default=None, description="Model version dir or models root; default the bundled models/."
    )
    scheduler_enabled: bool = True
    detect_interval_seconds: float = Field(
        default=30.0, ge=1.0, le=DAY_SECONDS, allow_inf_nan=False
    )
    poll_interval_seconds: float = Field(default=60.0, ge=5.0, le=DAY_SECONDS, allow_inf_nan=False)
    file_channel_dir: Path | None = Field(
        default=None,
        description="The only directory `file:` channels may read; unset = file channels off.",
    )
    default_sensitivity: str = "medium"
    migrate_on_start: bool = True
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _normalise_db_url(cls, value: str) -> str:
        value = value.strip()
        if value.startswith("postgres://"):
            value = "postgresql+psycopg://" + value[len("postgres://") :]
        elif value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        if not value:
            raise ValueError(f"must not be empty (e.g. {URL_EXAMPLE})")
        try:
            url = make_url(value)
            url.port  # noqa: B018 - parses the port, raising on a bad one
        except (ArgumentError, ValueError):
            raise ValueError(f"not a database URL (e.g. {URL_EXAMPLE})") from None
        if url.get_backend_name() not in DATABASE_BACKENDS:
            raise ValueError(
                f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql"
            )
        if url.port is not None and not 1 <= url.port <= 65535:
            raise ValueError(f"port {url.port} is not 1-65535")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("slack_api_url")
    @classmethod
    def _slash_terminated(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("slack_api_url must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("file_channel_dir", "model_dir", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("file_channel_dir")
    @classmethod
    def _existing_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"file_channel_dir {str(value)!r} is not an existing directory")
        return value

    @field_validator("default_sensitivity")
    @classmethod
    def _known_sensitivity(cls, value: str) -> str:
        if value not in SENSITIVITIES:
            raise ValueError(f"sensitivity must be one of {', '.join(SENSITIVITIES)}")
        return value

    @field_validator("bootstrap_api_key")
    @classmethod
    def _strong_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        secret = value.get_secret_value()
        if secret != secret.strip():
            raise ValueError("bootstrap_api_key must not start or end with whitespace")
        if len(secret) < 16:
            raise ValueError("bootstrap_api_key must be at least 16 characters")
        if any(word in secret.lower() for word in PLACEHOLDER_WORDS):
            raise ValueError("bootstrap_api_key is a placeholder; set a real secret")
        return value


def load_settings(**overrides: object) -> Settings:
    """Read the environment (and explicit overrides, which win)."""
    return Settings(**overrides)  # type: ignore[arg-type]
