"""A fake of Twilio's Messages REST endpoint on 127.0.0.1, for the real twilio client.

It answers `POST /2010-04-01/Accounts/{sid}/Messages.json` the way api.twilio.com does
(201 with the message resource JSON), records every accepted message, and can be told to
fail the next N requests with a 5xx/429 or a Twilio error body, or to accept the next N
messages but hold the answer back (the client times out; Twilio has the message all the same).
`GET` on the same path lists the accepted messages newest first, filtered by To and From.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web

from bot.sms.gsm import segments


@dataclass
class SentSms:
    sid: str
    to: str
    body: str
    from_: str | None
    messaging_service_sid: str | None
    status_callback: str | None
    created: datetime = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    status: str = "queued"  # what a lookup (GET) reports; a test may set "failed"


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "test-auth-token"
    sent: list[SentSms] = field(default_factory=list)
    requests: int = 0
    _failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    url: str = ""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # Twilio's clock for date_created (a test's FakeClock); a fixed instant when unset.
    clock: Callable[[], datetime] | None = None
    lookups: int = 0  # GET requests (message lists)
    _late: int = 0
    _answer: asyncio.Event = field(default_factory=asyncio.Event)

    def fail_next(self, n: int, *, status: int = 500, code: int | None = None) -> None:
        """The next n requests fail with this HTTP status (and Twilio error code)."""
        body = {"code": code or 20500, "message": "fake failure", "status": status}
        self._failures += [(status, body)] * n

    def answer_late(self, n: int) -> None:
        """Accept the next n messages at once but answer only after `release()`."""
        self._late += n
        self._answer.clear()

    def release(self) -> None:
        """Send the held-back answers (to a client that has long given up)."""
        self._answer.set()

    async def wait_for(self, count: int, *, timeout: float = 10) -> None:
        """Until `count` messages were accepted (an event, not a sleep loop)."""
        async with asyncio.timeout(timeout):
            while len(self.sent) < count:
                self._arrived.clear()
                await self._arrived.wait()

    def bodies_to(self, to: str) -> list[str]:
        return [m.body for m in self.sent if m.to == to]

    def duplicates(self) -> int:
        """Messages with the same (to, body) sent more than once."""
        counts = Counter((m.to, m.body) for m in self.sent)
        return sum(c - 1 for c in counts.values() if c > 1)

    async def start(self) -> FakeTwilio:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        app.router.add_get("/2010-04-01/Accounts/{sid}/Messages.json", self._list)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()

    def _authorised(self, request: web.Request) -> bool:
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        header = request.headers.get("Authorization", "")
        return header == "Basic " + base64.b64encode(expected).decode()

    async def _create(self, request: web.Request) -> web.Response:
        self.requests += 1
        if not self._authorised(request) or request.match_info["sid"] != self.account_sid:
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        if self._failures:
            status, body = self._failures.pop(0)
            return web.json_response(body, status=status)
        form = await request.post()
        if "To" not in form or "Body" not in form:
            error = {"code": 21604, "message": "A 'To' phone number is required.", "status": 400}
            return web.json_response(error, status=400)
        if "From" not in form and "MessagingServiceSid" not in form:
            error = {"code": 21603, "message": "A 'From' phone number is required.", "status": 400}
            return web.json_response(error, status=400)
        resource = self._resource(self._record(form))
        if self._late:
            self._late -= 1
            await self._answer.wait()  # accepted; the answer comes after the client's timeout
        return web.json_response(resource, status=201)

    async def _list(self, request: web.Request) -> web.Response:
        """Messages newest first, as api.twilio.com lists them (To and From filters)."""
        self.requests += 1
        self.lookups += 1
        if not self._authorised(request) or request.match_info["sid"] != self.account_sid:
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        to, from_ = request.query.get("To"), request.query.get("From")
        size = int(request.query.get("PageSize", "50"))
        found = [
            self._resource(m)
            for m in reversed(self.sent)
            if (to is None or m.to == to) and (from_ is None or m.from_ == from_)
        ][:size]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return web.json_response(
            {"messages": found, "first_page_uri": uri, "next_page_uri": None, "page": 0,
             "page_size": size, "previous_page_uri": None, "start": 0, "uri": uri}
        )  # fmt: skip

    def _record(self, form: Any) -> SentSms:
        sms = SentSms(
            sid="SM" + uuid.uuid4().hex,
            to=str(form["To"]),
            body=str(form["Body"]),
            from_=form.get("From"),
            messaging_service_sid=form.get("MessagingServiceSid"),
            status_callback=form.get("StatusCallback"),
        )
        if self.clock is not None:
            sms.created = self.clock().astimezone(UTC)
        self.sent.append(sms)
        self._arrived.set()
        return sms

    def _resource(self, sms: SentSms) -> dict[str, Any]:
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sms.sid}.json"
        created = format_datetime(sms.created, usegmt=True)
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": sms.body,
            "date_created": created,
            "date_sent": None,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sms.from_,
            "messaging_service_sid": sms.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(segments(sms.body)),
            "price": None,
            "price_unit": "USD",
            "sid": sms.sid,
            "status": sms.status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": sms.to,
            "uri": uri,
        }


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    """A fake Twilio REST server for one test (registered in tests/conftest.py)."""
    server = await FakeTwilio().start()
    yield server
    await server.stop()
