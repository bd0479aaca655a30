"""Plain data passed between channel adapters and the conversation core.

The core never sees aiogram, twilio or FastAPI types: adapters map to and from these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    telegram = "telegram"
    sms = "sms"
    web = "web"


@dataclass(frozen=True)
class Inbound:
    """One message from a parent. sender_ref is the channel's address (chat id, E.164, web id)."""

    channel: Channel
    sender_ref: str
    text: str
    received_at: datetime
    # Municipality preset by the channel: a Telegram deep link, the embedding web page.
    municipality_hint: str | None = None
    # Set when the text came from a button press rather than typing (e.g. "more", "detail:2").
    action: str | None = None
    # The channel's own message id, for idempotency (Twilio MessageSid, Telegram update id).
    external_id: str | None = None


@dataclass(frozen=True)
class Button:
    """A quick reply. Channels render it as an inline button (Telegram, web) or a number (SMS)."""

    label: str
    action: str


@dataclass(frozen=True)
class ServiceRef:
    """A service named in a reply, so adapters can render or log it without re-matching."""

    id: str
    name: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: list[Button] = field(default_factory=list)
    services: list[ServiceRef] = field(default_factory=list)
    urgent: bool = False
