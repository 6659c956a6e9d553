"""Settings: the one configuration object, read from GROUNDSWELL_* environment variables."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.core.presets import SENSITIVITIES

log = logging.getLogger(__name__)

ENV_PREFIX = "GROUNDSWELL_"
# Read by the test suite and the CI scripts, not by the service: not "unknown".
HARNESS_PREFIXES = ("GROUNDSWELL_TEST_", "GROUNDSWELL_CI_")
SLACK_DEFAULT_API_URL = "https://slack.com/api/"
BLUESKY_DEFAULT_API_URL = "https://bsky.social"
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

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

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
    playbook_dir: Path | None = Field(
        default=None,
        description="Directory of the organisation's own playbooks (*.toml): same id "
        "replaces a shipped one, a new id adds; unset = the shipped playbooks only.",
    )
    default_sensitivity: str = "medium"
    migrate_on_start: bool = True
    log_level: str = "INFO"
    strict_settings: bool = Field(
        default=False,
        description="Refuse to start when a GROUNDSWELL_* variable is not a setting.",
    )
    mastodon_token: SecretStr | None = Field(
        default=None,
        description="Optional Mastodon access token (instances that disable public timelines).",
    )
    mastodon_token_host: str | None = Field(
        default=None,
        validate_default=True,
        description="The instance host the Mastodon token is for; it is sent to no other.",
    )
    bluesky_handle: str | None = Field(
        default=None, description="Bluesky account for bluesky:search (an app password login)."
    )
    bluesky_app_password: SecretStr | None = Field(
        default=None, description="An app password of that account (Settings → App passwords)."
    )
    bluesky_api_url: str = Field(
        default=BLUESKY_DEFAULT_API_URL, description="The account's PDS, which serves the search."
    )

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

    @field_validator("playbook_dir")
    @classmethod
    def _playbook_dir_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"playbook_dir {str(value)!r} is not an existing directory")
        return value

    @field_validator("file_channel_dir", "model_dir", "playbook_dir", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("file_channel_dir")
    @classmethod
    def _existing_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"file_channel_dir {str(value)!r} is not an existing directory")
        return value

    @field_validator("mastodon_token_host")
    @classmethod
    def _token_has_a_host(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = value.strip().lower() if value and value.strip() else None
        if value is not None and "/" in value:
            raise ValueError("mastodon_token_host is a host[:port] (mastodon.social), not a URL")
        if info.data.get("mastodon_token") is not None and value is None:
            raise ValueError(
                "set GROUNDSWELL_MASTODON_TOKEN_HOST to the instance the token is for "
                "(it is sent to no other)"
            )
        return value

    @field_validator("bluesky_api_url")
    @classmethod
    def _bluesky_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("bluesky_api_url must be an http(s) URL")
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


@dataclass(frozen=True, slots=True)
class UnknownVariable:
    """A GROUNDSWELL_* environment variable that is no setting, and the closest one."""

    name: str
    closest: str | None

    @property
    def reason(self) -> str:
        hint = f"did you mean {self.closest}?" if self.closest else "no setting is close"
        return f"not a setting ({hint})"


def setting_variables() -> list[str]:
    return [ENV_PREFIX + name.upper() for name in Settings.model_fields]


def unknown_variables(environ: Mapping[str, str]) -> list[UnknownVariable]:
    """Each GROUNDSWELL_* variable in `environ` that no setting reads (names compare
    case-insensitively, as pydantic-settings reads them), with the closest setting
    by difflib's ratio on the part after the prefix."""
    known = {name[len(ENV_PREFIX) :]: name for name in setting_variables()}
    out: list[UnknownVariable] = []
    for raw in sorted(environ):
        name = raw.upper()
        if not name.startswith(ENV_PREFIX) or name.startswith(HARNESS_PREFIXES):
            continue
        rest = name[len(ENV_PREFIX) :]
        if rest in known:
            continue
        close = difflib.get_close_matches(rest, list(known), n=1, cutoff=0.6)
        out.append(UnknownVariable(raw, known[close[0]] if close else None))
    return out


def check_environment(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> list[UnknownVariable]:
    """At start: log a WARNING for each unknown GROUNDSWELL_* variable (names only,
    never values), or, with strict_settings, refuse to start (ConfigError: exit 2)."""
    unknown = unknown_variables(os.environ if environ is None else environ)
    if unknown and settings.strict_settings:
        first, *rest = unknown
        also = "".join(f"; also {u.name}: {u.reason}" for u in rest)
        raise ConfigError(
            first.name,
            f"{first.reason}{also}; GROUNDSWELL_STRICT_SETTINGS=true refuses unknown variables",
        )
    for u in unknown:
        log.warning("environment variable %s: %s; ignored", u.name, u.reason)
    return unknown
