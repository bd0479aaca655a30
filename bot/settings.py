"""One settings object, read from the environment (and an optional .env file)."""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, computed_field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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


_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d{1,9})\s*/\s*(second|minute|hour|day)s?\s*$")


@dataclass(frozen=True)
class Rate:
    """At most `limit` events per sliding `window`, e.g. "60/minute"."""

    limit: int
    window: timedelta

    def __str__(self) -> str:
        seconds = int(self.window.total_seconds())
        unit = next(u for u, s in sorted(_UNITS.items(), key=lambda i: -i[1]) if seconds % s == 0)
        count = seconds // _UNITS[unit]
        return f"{self.limit}/{unit}" if count == 1 else f"{self.limit}/{count} {unit}s"


def parse_rate(value: object) -> Rate | None:
    """ "60/minute" (second, minute, hour, day) -> Rate; "off" -> None (no limit)."""
    if value is None or isinstance(value, Rate):
        return value
    text = str(value).strip().lower()
    if text in ("off", "none", ""):
        return None
    found = _RATE.match(text)
    if found is None or int(found.group(1)) < 1:
        raise ValueError(f"a rate like '60/minute' (second, minute, hour, day) or 'off': {text!r}")
    return Rate(int(found.group(1)), timedelta(seconds=_UNITS[found.group(2)]))


def _listed(value: object) -> list[str]:
    """A list from the environment: JSON (["a", "b"]) or comma-separated (a, b)."""
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value or "").strip()
    if text.startswith("["):
        return _listed(json.loads(text))
    return [part.strip() for part in text.split(",") if part.strip()]


def _proxies(value: object) -> list[str]:
    """Addresses or networks (10.0.0.5, 10.0.0.0/8, ::1); anything else is refused."""
    found = []
    for item in _listed(value):
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"an IP address or network: {item!r}") from None
    return found


_ORIGIN_HOST = re.compile(
    r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$"
)


def _origins(value: object) -> list[str]:
    """Web origins (https://www.degerfors.se): scheme and host, optionally a port, no path.
    They go into a Content-Security-Policy header, so nothing else may pass."""
    found = []
    for item in _listed(value):
        parts = urlsplit(item.lower())
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError:
            port = -1
        bad = (
            parts.scheme not in ("https", "http")
            or not _ORIGIN_HOST.match(host)
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username
            or port == -1
        )
        if bad:
            raise ValueError(f"an origin such as https://www.degerfors.se: {item!r}")
        found.append(f"{parts.scheme}://{host}" + (f":{port}" if port else ""))
    return found


RateSetting = Annotated[Rate | None, NoDecode, BeforeValidator(parse_rate)]
ProxyList = Annotated[list[str], NoDecode, BeforeValidator(_proxies)]
OriginList = Annotated[list[str], NoDecode, BeforeValidator(_origins)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./familjeguiden.db"
    default_municipality: str = "Degerfors"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    # "text" for a person at one machine; "json": one JSON object a line for a log collector.
    log_format: Literal["text", "json"] = "text"
    # Bearer token for /metrics; unset, /metrics is open (set it in production).
    metrics_token: SecretStr | None = None
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
    # `serve` also runs the background work (SMS worker, reminders, upkeep, Telegram polling):
    # one machine, one command. At scale false, and `familjeguiden worker` processes run it.
    worker_in_serve: bool = True

    # Limits. Their state is in the database, so they hold across app instances.
    # Web chat messages (POST /api/chat) per client address and per conversation.
    chat_rate_per_client: RateSetting = Field(default="60/minute", validate_default=True)
    chat_rate_per_conversation: RateSetting = Field(default="20/minute", validate_default=True)
    # Stored messages in one web conversation; beyond it only "radera" is taken.
    chat_max_messages: int = Field(default=500, ge=10)
    # Messages per page of GET /api/chat/{id}.
    chat_history_page: int = Field(default=100, ge=10, le=1000)
    # Failed API keys and failed inbox logins per client address.
    auth_failure_rate: RateSetting = Field(default="10/minute", validate_default=True)
    # Request bodies: every endpoint, and the imports (/admin/api/v1/import/...).
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_import_bytes: int = Field(default=20_000_000, ge=1024)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks).
    trusted_proxies: ProxyList = Field(default_factory=list)
    # Sites that may show the web chat in an iframe (CSP frame-ancestors), e.g. the
    # municipalities' own: https://www.degerfors.se.
    chat_embed_origins: OriginList = Field(default_factory=list)

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
