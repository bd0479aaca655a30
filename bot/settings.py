"""One settings object, read from the environment (and an optional .env file)."""

from __future__ import annotations

import secrets
from functools import lru_cache

from pydantic import Field, SecretStr, computed_field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def normalise_database_url(url: str) -> str:
    """Map the URL forms people paste to the async drivers we ship (aiosqlite, psycopg)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url


def sync_database_url(url: str) -> str:
    """The same database through a sync driver (Alembic runs sync)."""
    return url.replace("sqlite+aiosqlite://", "sqlite://")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./familjeguiden.db"
    default_municipality: str = "Degerfors"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    # Public address of the app; Twilio signatures and Telegram webhooks are computed on it.
    public_base_url: str | None = None
    # Salt for the hashes we log instead of phone numbers and chat ids.
    log_hash_salt: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_hex(16)))
    # Signs coordinator login cookies; a random one means logins do not survive a restart.
    session_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_hex(32)))
    retention_days: int = 180
    # Sentence encoder for triage and ranking: "e5" (bundled multilingual-e5-small), "none"
    # (rules and word ranking only), or "module:factory" returning a directory.encoder.Encoder
    # (needs triage and ranking models trained on it).
    encoder: str = "e5"

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base: str | None = None  # a local Bot API server (tests, self-hosted)
    telegram_coordinator_chat_id: int | None = None

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base: str | None = None  # a local fake of api.twilio.com (tests)
    # Meeting reminders, hours before the meeting (whole days keep the wall-clock time).
    reminder_offsets_hours: list[float] = Field(default_factory=lambda: [48.0, 2.0])
    sms_worker_enabled: bool = True  # the SMS queue worker runs inside `serve`

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def telegram_webhook_enabled(self) -> bool:
        return (
            self.telegram_enabled
            and self.public_base_url is not None
            and self.telegram_webhook_secret is not None
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sms_enabled(self) -> bool:
        sender = self.twilio_from_number or self.twilio_messaging_service_sid
        return bool(self.twilio_account_sid and self.twilio_auth_token and sender)


@lru_cache
def get_settings() -> Settings:
    """FastAPI dependency; tests override it."""
    return Settings()
