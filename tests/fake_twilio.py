"""A fake of Twilio's Messages REST endpoint on 127.0.0.1, for the real twilio client.

It answers `POST /2010-04-01/Accounts/{sid}/Messages.json` the way api.twilio.com does
(201 with the message resource JSON), records every accepted message, and can be told to
fail the next N requests with a 5xx/429 or a Twilio error body.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
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

    def fail_next(self, n: int, *, status: int = 500, code: int | None = None) -> None:
        """The next n requests fail with this HTTP status (and Twilio error code)."""
        body = {"code": code or 20500, "message": "fake failure", "status": status}
        self._failures += [(status, body)] * n

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
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
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
        return web.json_response(self._record(form), status=201)

    def _record(self, form: Any) -> dict[str, Any]:
        sid = "SM" + uuid.uuid4().hex
        sms = SentSms(
            sid=sid,
            to=str(form["To"]),
            body=str(form["Body"]),
            from_=form.get("From"),
            messaging_service_sid=form.get("MessagingServiceSid"),
            status_callback=form.get("StatusCallback"),
        )
        self.sent.append(sms)
        self._arrived.set()
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": sms.body,
            "date_created": "Mon, 23 Nov 2026 10:00:00 +0000",
            "date_sent": None,
            "date_updated": "Mon, 23 Nov 2026 10:00:00 +0000",
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sms.from_,
            "messaging_service_sid": sms.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(segments(sms.body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
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
