"""Outbound SMS through the real twilio client (REST API, async HTTP client).

`TwilioSms.send_text` makes one attempt and classifies failures as retryable or not; the
durable retry with backoff lives in the queue (bot.reminders), so a restart loses nothing.
`render_sms` turns a Reply's buttons into numbered choices, since SMS has no buttons.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.dto import Reply
from bot.gsm import trim_to_segments

log = logging.getLogger(__name__)

MAX_SEGMENTS = 3
# Twilio error codes that will not succeed on retry (invalid/unreachable/unsubscribed number).
# https://www.twilio.com/docs/api/errors
PERMANENT_ERRORS = frozenset({21211, 21214, 21408, 21610, 21612, 21614})


class SmsSendError(Exception):
    def __init__(self, reason: str, *, retryable: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.retryable, self.code = reason, retryable, code


def number_choices(count: int) -> str:
    """'Svara 1, 2 eller 3' in plain Swedish."""
    numbers = [str(i) for i in range(1, count + 1)]
    listed = numbers[0] if count == 1 else ", ".join(numbers[:-1]) + " eller " + numbers[-1]
    return f"Svara {listed}."


def render_sms(reply: Reply, *, web_url: str | None = None) -> str:
    """The reply as one SMS text of at most three segments, buttons as numbered lines."""
    lines = [reply.text.strip()]
    if reply.buttons:
        lines += [f"{i}. {b.label}" for i, b in enumerate(reply.buttons, start=1)]
        lines.append(number_choices(len(reply.buttons)))
    text = "\n".join(lines)
    more = f" Läs mer i webbchatten: {web_url}" if web_url else ""
    return trim_to_segments(text, max_segments=MAX_SEGMENTS, suffix=more if more else "")


def button_action(reply: Reply | None, answer: str) -> str | None:
    """Map a digit answer ('2') back to the action of the second button offered."""
    digit = answer.strip().rstrip(".")
    if reply is None or not digit.isdigit():
        return None
    index = int(digit) - 1
    return reply.buttons[index].action if 0 <= index < len(reply.buttons) else None


class AiohttpClient(AsyncHttpClient):
    """twilio's async transport over one pooled aiohttp session.

    twilio's own AsyncTwilioHttpClient builds its session at construction (outside a loop)
    and uses aiohttp's deprecated BasicAuth, so we send the Authorization header ourselves.
    The session is created on first use, inside the running loop, and closed by close().
    """

    def __init__(self, *, timeout: float = 10, max_connections: int = 20) -> None:
        super().__init__(log, is_async=True, timeout=timeout)
        self._limit = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._limit)
            self._session = aiohttp.ClientSession(connector=connector)
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = aiohttp.encode_basic_auth(*auth)
        async with self._session.request(
            method.upper(),
            url,
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as response:
            return Response(response.status, await response.text(), response.headers)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


@dataclass
class TwilioConfig:
    account_sid: str
    auth_token: str
    from_number: str | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None  # PUBLIC_BASE_URL + /sms/twilio/status
    api_base: str | None = None  # a fake of https://api.twilio.com in tests


class TwilioSms:
    """One attempt per call; returns Twilio's message SID."""

    def __init__(self, config: TwilioConfig, *, http_client: AsyncHttpClient | None = None):
        self._config = config
        self._http = http_client or AiohttpClient()
        self._client = Client(config.account_sid, config.auth_token, http_client=self._http)
        if config.api_base:
            self._client.api.base_url = config.api_base  # plain attribute; edge/region unset

    async def send_text(self, to: str, body: str) -> str:
        options: dict[str, str] = {}
        if self._config.messaging_service_sid:
            options["messaging_service_sid"] = self._config.messaging_service_sid
        if self._config.from_number:
            options["from_"] = self._config.from_number
        if self._config.status_callback:
            options["status_callback"] = self._config.status_callback
        try:
            message = await self._client.messages.create_async(to=to, body=body, **options)
        except TwilioRestException as exc:
            retryable = exc.status >= 500 or exc.status == 429
            retryable = retryable and exc.code not in PERMANENT_ERRORS
            raise SmsSendError(
                f"twilio {exc.status}/{exc.code}", retryable=retryable, code=exc.code
            ) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise SmsSendError(type(exc).__name__, retryable=True) from None
        return str(message.sid)

    async def close(self) -> None:
        close = getattr(self._http, "close", None)
        if close is not None:
            await close()
