"""Outbound SMS through the real twilio client (REST API, async HTTP client).

`TwilioSms.send_text` makes one attempt and classifies failures as retryable or not, and as
possibly sent (Twilio may have accepted it without our hearing); `find_sent` asks Twilio whether
such a message exists. The durable retry with backoff lives in the queue (bot.meetings.reminders),
so a restart loses nothing.
`render_sms` turns a Reply's buttons into numbered choices, since SMS has no buttons.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.clock import Clock
from bot.core.dto import Button, Reply
from bot.db import SessionFactory
from bot.sms.gsm import fits, to_gsm7, trim_to_segments
from bot.sms.phone import to_e164
from bot.sms.sms_models import OutboundKind
from bot.sms.sms_queue import enqueue, is_opted_out

log = logging.getLogger(__name__)

MAX_SEGMENTS = 3
# Twilio error codes that will not succeed on retry (invalid/unreachable/unsubscribed number).
# https://www.twilio.com/docs/api/errors
PERMANENT_ERRORS = frozenset({21211, 21214, 21408, 21610, 21612, 21614})
# Failures before the request reached Twilio: nothing can have been sent.
NOT_CONNECTED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
# Twilio statuses of a message that will never reach the phone: it does not count as sent.
NOT_DELIVERING = frozenset({"failed", "undelivered", "canceled"})
LOOKUP_LIMIT = 100  # newest messages to one number read by find_sent


class SmsOptedOut(Exception):
    """The number wrote STOPP: nothing may be sent until it writes START."""


class SmsSendError(Exception):
    """One attempt failed. `maybe_sent`: the request may have reached Twilio, which may have
    accepted the message (a timeout, a dropped connection, a 5xx), so before sending it
    again the queue asks Twilio whether it exists (TwilioSms.find_sent)."""

    def __init__(
        self, reason: str, *, retryable: bool, code: int | None = None, maybe_sent: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason, self.retryable, self.code = reason, retryable, code
        self.maybe_sent = maybe_sent


def number_choices(numbers: list[int]) -> str:
    """'Svara 1, 2 eller 3.' in plain Swedish."""
    words = [str(n) for n in numbers]
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " eller " + words[-1]
    return f"Svara {listed}."


def choices(reply: Reply) -> list[tuple[int, Button]]:
    """SMS numbers for a reply's buttons.

    A button labelled with a number ("2": more about service 2 in the text) keeps it; the
    others are numbered after the highest such label, so "2" always means the same thing.
    """
    numbered = {int(b.label): b for b in reply.buttons if b.label.isdigit()}
    following = max(numbered, default=0)
    others = [b for b in reply.buttons if not b.label.isdigit()]
    numbered |= {following + i: b for i, b in enumerate(others, start=1)}
    return sorted(numbered.items(), key=lambda item: item[0])


_ITEM = re.compile(r"^\d{1,2}\. ")
_REACH = re.compile(r"\d{2,}[\d -]{4,}|https?://|www\.")


def _compact(text: str, *, keep_contact: bool) -> str:
    """Numbered items (services) cut to their name line, plus one phone or web line."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        lines = paragraph.split("\n")
        if _ITEM.match(lines[0]):
            reach = [line for line in lines[1:] if _REACH.search(line)][:1]
            lines = lines[:1] + (reach if keep_contact else [])
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def render_sms(reply: Reply, *, web_url: str | None = None) -> str:
    """The reply as one GSM-7 SMS of at most three segments, buttons as numbered choices.

    A long answer first loses the descriptions of listed services (name and one phone or
    web line stay), then is cut at a word with a pointer to the web chat. The choices stay.
    """
    listed = choices(reply)
    lines = [f"{n}. {b.label}" for n, b in listed if not b.label.isdigit()]
    tail = "\n".join([*lines, number_choices([n for n, _ in listed])]) if listed else ""
    suffix = to_gsm7("\n" + tail if tail else "")
    text = to_gsm7(reply.text.strip())
    for candidate in (text, _compact(text, keep_contact=True), _compact(text, keep_contact=False)):
        if fits(candidate + suffix, MAX_SEGMENTS):
            return candidate + suffix
    marker = f"... Läs allt i webbchatten: {web_url}" if web_url else "..."
    return trim_to_segments(candidate, max_segments=MAX_SEGMENTS, suffix=suffix, cut_marker=marker)


def button_action(reply: Reply | None, answer: str) -> str | None:
    """Map a digit answer ('2') back to the action of the choice numbered 2."""
    digit = answer.strip().rstrip(".")
    # ASCII and short: "²" is a digit to isdigit() but not to int(), and no list is that long.
    if reply is None or not (digit.isascii() and digit.isdigit() and len(digit) <= 3):
        return None
    return dict(choices(reply)).get(int(digit), Button("", "")).action or None


class QueuedSmsSender:
    """TextSender for coordinators' and other out-of-webhook messages: durable, retried.

    The message goes into the SMS queue (retried with backoff, a final failure visible to
    coordinators); `wake` nudges the worker so it goes out at once. A number that wrote
    STOPP raises SmsOptedOut at once, so the coordinator is told it was not sent.
    """

    def __init__(self, *, sessions: SessionFactory, clock: Clock, wake: Callable[[], None]):
        self._sessions, self._clock, self._wake = sessions, clock, wake

    async def send(self, to: str, reply: Reply) -> None:
        phone, now = to_e164(to), self._clock()
        async with self._sessions() as session:
            if await is_opted_out(session=session, phone=phone):
                raise SmsOptedOut("the number wrote STOPP")
            enqueue(session=session, kind=OutboundKind.message, to_phone=phone,
                    body=render_sms(reply), due_at=now, now=now)  # fmt: skip
            await session.commit()
        self.wake()

    def wake(self) -> None:
        self._wake()


def _rest_error(exc: TwilioRestException, *, doing: str) -> SmsSendError:
    retryable = exc.status >= 500 or exc.status == 429
    retryable = retryable and exc.code not in PERMANENT_ERRORS
    return SmsSendError(
        f"{doing} {exc.status}/{exc.code}",
        retryable=retryable,
        code=exc.code,
        maybe_sent=exc.status >= 500,  # Twilio's side failed: perhaps after accepting it
    )


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
            raise _rest_error(exc, doing="twilio") from None
        except NOT_CONNECTED as exc:  # the request never left: nothing can have been sent
            raise SmsSendError(type(exc).__name__, retryable=True) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise SmsSendError(type(exc).__name__, retryable=True, maybe_sent=True) from None
        return str(message.sid)

    async def find_sent(self, to: str, body: str, *, since: datetime) -> list[str]:
        """SIDs of messages Twilio holds to `to` with exactly this body, created at or after
        `since` and not failed, newest first: did an unanswered attempt get through?

        Twilio's Messages API has no idempotency key, so this is how a resend after a timeout
        avoids a second SMS. The newest LOOKUP_LIMIT messages to the number are read, queued
        ones included (a date filter on the API would leave out those not yet sent).
        """
        options: dict[str, str] = {}
        if self._config.from_number and not self._config.messaging_service_sid:
            options["from_"] = self._config.from_number
        try:
            found = await self._client.messages.list_async(to=to, limit=LOOKUP_LIMIT, **options)
        except TwilioRestException as exc:
            raise _rest_error(exc, doing="twilio lookup") from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise SmsSendError(f"lookup {type(exc).__name__}", retryable=True) from None
        return [
            str(message.sid)
            for message in found
            if message.body == body
            and message.direction == "outbound-api"
            and message.status not in NOT_DELIVERING
            and message.date_created is not None
            and message.date_created >= since
        ]

    async def close(self) -> None:
        close = getattr(self._http, "close", None)
        if close is not None:
            await close()
