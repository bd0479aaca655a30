"""A fake Telegram Bot API server on 127.0.0.1, for driving the real aiogram client in tests.

It speaks the Bot API's HTTP shape (`POST /bot{token}/{method}`, form or JSON parameters,
`{"ok": true, "result": ...}` answers), records every call for assertions, queues updates
for `getUpdates` long polling, and can answer 429 (flood control) or drop connections for
the next calls. Reused by the parent-chat tests and the coordinators' group tests.

    async with FakeTelegram.running() as fake:
        bot = fake.make_bot()
        ...
        assert fake.sent_texts(chat_id=42) == ["Hej!"]

The pytest fixture `fake_telegram` (registered in tests/conftest.py) does the same per test.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Update
from aiohttp import web

TOKEN = "123456:TEST-fake-token"
BOT_USERNAME = "familjeguiden_test_bot"
# Fields the Bot API takes as JSON-serialised objects inside form data.
JSON_FIELDS = frozenset(
    {"reply_markup", "allowed_updates", "entities", "link_preview_options", "reply_parameters"}
)
INT_FIELDS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "timeout", "message_thread_id", "from_chat_id"}
)
MAX_TEXT = 4096  # https://core.telegram.org/bots/api#sendmessage
MAX_CALLBACK_DATA = 64  # bytes, https://core.telegram.org/bots/api#inlinekeyboardbutton


@dataclass
class Call:
    """One request the client made: method name (as sent), decoded parameters, our answer."""

    method: str
    params: dict[str, Any]
    ok: bool = False
    result: Any = None


class BotApiError(Exception):
    """Answered as `{"ok": false, ...}` with the given HTTP status, like the real server."""

    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class _Fault:
    kind: str  # "flood" or "drop"
    remaining: int
    method: str | None
    retry_after: int = 0


@dataclass
class FakeTelegram:
    """The server's state: calls, queued updates, chats' message ids, injected faults."""

    token: str = TOKEN
    now: Callable[[], int] = field(default=lambda: int(time.time()))
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: dict[int, itertools.count[int]] = field(default_factory=dict)
    _thread_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _faults: list[_Fault] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _closing: bool = False
    blocked: set[int] = field(default_factory=set)  # chats whose user blocked the bot

    # --- running -----------------------------------------------------------------------

    @classmethod
    @asynccontextmanager
    async def running(cls, **kwargs: Any) -> AsyncIterator[FakeTelegram]:
        """Serve on 127.0.0.1 at a free port until the block ends."""
        fake = cls(**kwargs)
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", fake._handle)
        # No access log: request paths carry the bot token.
        runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        fake.url = f"http://127.0.0.1:{port}"
        try:
            yield fake
        finally:
            await fake._close()
            await runner.cleanup()

    def make_bot(self, token: str | None = None) -> Bot:
        """A real aiogram Bot talking to this server; close it with `bot.session.close()`."""
        session = AiohttpSession(api=TelegramAPIServer.from_base(self.url))
        return Bot(token or self.token, session=session)

    async def _close(self) -> None:
        async with self._changed:
            self._closing = True
            self._changed.notify_all()

    # --- what tests do -----------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; it gets the next update_id unless it has one."""
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._notify()
        return update["update_id"]

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def flood(self, calls: int, *, retry_after: int, method: str | None = None) -> None:
        """Answer the next `calls` requests (of `method`, if given) with 429 retry_after."""
        self._faults.append(_Fault("flood", calls, method, retry_after))

    def drop(self, calls: int, *, method: str | None = None) -> None:
        """Close the connection without an answer for the next `calls` requests."""
        self._faults.append(_Fault("drop", calls, method))

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def sent_messages(self, *, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Parameters of every successful sendMessage, optionally to one chat."""
        sent = [c.params for c in self.calls_to("sendMessage") if c.ok]
        return [p for p in sent if chat_id is None or p["chat_id"] == chat_id]

    def sent_results(self, *, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The Message objects we answered sendMessage with (what a button press refers to)."""
        sent = [c.result for c in self.calls_to("sendMessage") if c.ok]
        return [m for m in sent if chat_id is None or m["chat"]["id"] == chat_id]

    def sent_texts(self, *, chat_id: int | None = None) -> list[str]:
        return [p["text"] for p in self.sent_messages(chat_id=chat_id)]

    async def wait_for(self, method: str, *, count: int = 1, timeout: float = 10) -> list[Call]:
        """Wait (without sleeping) until `count` successful calls of `method` were recorded."""

        def done() -> bool:
            return len([c for c in self.calls_to(method) if c.ok]) >= count

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(done)
        return self.calls_to(method)

    def _notify(self) -> None:
        async def notify() -> None:
            async with self._changed:
                self._changed.notify_all()

        # Called from sync code on the loop: notify as soon as the loop gets to it.
        asyncio.get_running_loop().create_task(notify())

    # --- the HTTP side -----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await _read_params(request)
        call = Call(method, params)
        self.calls.append(call)
        try:
            self._check_token(request.match_info["token"])
            self._inject_faults(method, request)
            handler = self._methods().get(method.lower())
            if handler is None:
                raise BotApiError(404, "Not Found")
            result = await handler(params)
        except BotApiError as error:
            self._notify()
            return _error_response(error)
        call.ok, call.result = True, result
        self._notify()
        return web.json_response({"ok": True, "result": result})

    def _check_token(self, token: str) -> None:
        if token != self.token:
            raise BotApiError(401, "Unauthorized")

    def _inject_faults(self, method: str, request: web.Request) -> None:
        for fault in self._faults:
            if fault.remaining <= 0 or fault.method not in (None, method):
                continue
            fault.remaining -= 1
            if fault.kind == "drop" and request.transport is not None:
                request.transport.close()  # the client sees a disconnected server
            raise BotApiError(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                retry_after=fault.retry_after,
            )

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "answercallbackquery": _true,
            "editmessagereplymarkup": self._edit_reply_markup,
            "editmessagetext": self._edit_text,
            "setwebhook": _true,
            "deletewebhook": _true,
            "getupdates": self._get_updates,
            "sendchataction": _true,
            "createforumtopic": self._create_forum_topic,
            "copymessage": self._copy_message,
            "setmycommands": _true,
            "close": _true,
        }

    async def _get_me(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": int(self.token.split(":")[0]),
            "is_bot": True,
            "first_name": "Familjeguiden",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        if params["chat_id"] in self.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        text = params.get("text", "")
        if not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise BotApiError(400, "Bad Request: message is too long")
        _check_markup(params.get("reply_markup"))
        return self._message(params["chat_id"], params, text=text)

    async def _edit_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_markup(params.get("reply_markup"))
        return self._message(params["chat_id"], params, message_id=params["message_id"])

    async def _edit_text(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(
            params["chat_id"], params, text=params["text"], message_id=params["message_id"]
        )

    async def _copy_message(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"message_id": self._new_message_id(params["chat_id"])}

    async def _create_forum_topic(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("name"):
            raise BotApiError(400, "Bad Request: topic name is empty")
        return {
            "message_thread_id": next(self._thread_ids),
            "name": params["name"],
            "icon_color": 7322096,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset", 0)
        # A getUpdates with an offset confirms every earlier update (Bot API semantics).
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and params.get("timeout"):
            async with self._changed:
                try:
                    async with asyncio.timeout(params["timeout"]):
                        await self._changed.wait_for(lambda: bool(self._updates) or self._closing)
                except TimeoutError:
                    return []
        return self._updates[: params.get("limit", 100)]

    def _new_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _message(
        self, chat_id: int, params: dict[str, Any], *, text: str | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        message: dict[str, Any] = {
            "message_id": message_id or self._new_message_id(chat_id),
            "date": self.now(),
            "chat": chat(chat_id),
            "from": {"id": int(self.token.split(":")[0]), "is_bot": True,
                     "first_name": "Familjeguiden", "username": BOT_USERNAME},
        }  # fmt: skip
        if text is not None:
            message["text"] = text
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        if params.get("message_thread_id"):
            message["message_thread_id"] = params["message_thread_id"]
            message["is_topic_message"] = True
        return message


async def _true(_params: dict[str, Any]) -> bool:
    return True


def _check_markup(markup: dict[str, Any] | None) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _error_response(error: BotApiError) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.status,
        "description": error.description,
    }
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.status)


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Decode query, JSON, urlencoded or multipart parameters the way the Bot API does."""
    raw: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        raw.update(await request.json())
    elif request.can_read_body:
        raw.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    return {key: _decode(key, value) for key, value in raw.items()}


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in JSON_FIELDS:
        return json.loads(value)
    if key in INT_FIELDS and value.lstrip("-").isdigit():
        return int(value)
    return value


# --- building updates as Telegram would send them ----------------------------------------


def chat(chat_id: int, *, title: str = "Samordnare", is_forum: bool = False) -> dict[str, Any]:
    """A private chat for positive ids, a supergroup for negative ones (as Telegram does)."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Förälder"}
    return {"id": chat_id, "type": "supergroup", "title": title, "is_forum": is_forum}


def user(user_id: int, *, first_name: str = "Förälder") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "sv"}


def message_update(
    *,
    chat_id: int,
    text: str | None = None,
    message_id: int = 1,
    date: int = 1_795_000_000,
    from_id: int | None = None,
    thread_id: int | None = None,
    reply_to: dict[str, Any] | None = None,
    is_forum: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """An update carrying a message; pass extra fields (photo=[...], sticker={...}) as needed."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": date,
        "chat": chat(chat_id, is_forum=is_forum),
        "from": user(from_id or abs(chat_id)),
        **extra,
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if thread_id is not None:
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return {"message": message}


def callback_update(
    *, chat_id: int, data: str, message: dict[str, Any], query_id: str = "cb-1"
) -> dict[str, Any]:
    """A button press on `message` (a Message dict as returned by sendMessage)."""
    return {
        "callback_query": {
            "id": query_id,
            "from": user(abs(chat_id)),
            "chat_instance": f"ci-{chat_id}",
            "message": message,
            "data": data,
        }
    }


def membership_update(*, chat_id: int, status: str, old_status: str = "member") -> dict[str, Any]:
    """The bot's own membership changed: "kicked" when a user blocks it, "member" again after."""
    bot_user = {"id": int(TOKEN.split(":")[0]), "is_bot": True, "first_name": "Familjeguiden"}
    new: dict[str, Any] = {"status": status, "user": bot_user}
    if status == "kicked":
        new["until_date"] = 0
    old: dict[str, Any] = {"status": old_status, "user": bot_user}
    if old_status == "kicked":
        old["until_date"] = 0
    return {
        "my_chat_member": {
            "chat": chat(chat_id),
            "from": user(abs(chat_id)),
            "date": 1_795_000_000,
            "old_chat_member": old,
            "new_chat_member": new,
        }
    }


class TelegramUser:
    """Someone writing to the bot in one chat: feeds updates through a real Dispatcher and
    returns what the bot sent back (sendMessage parameters) for each step."""

    def __init__(
        self, fake: FakeTelegram, bot: Bot, dispatcher: Dispatcher, *, chat_id: int
    ) -> None:
        self.fake, self.bot, self.dispatcher, self.chat_id = fake, bot, dispatcher, chat_id
        self._message_ids = itertools.count(1)
        self._query_ids = itertools.count(1)

    async def says(self, text: str | None = None, **content: Any) -> list[dict[str, Any]]:
        """Send a message (text, or content such as photo=[...]); the bot's answers."""
        update = message_update(
            chat_id=self.chat_id, text=text, message_id=next(self._message_ids), **content
        )
        return await self.feed(update)

    async def presses(self, action: str) -> list[dict[str, Any]]:
        """Press the newest inline button with this callback data; the bot's answers."""
        message = self.message_with_button(action)
        query_id = f"q{self.chat_id}-{next(self._query_ids)}"
        return await self.feed(
            callback_update(chat_id=self.chat_id, data=action, message=message, query_id=query_id)
        )

    def message_with_button(self, action: str) -> dict[str, Any]:
        for message in reversed(self.fake.sent_results(chat_id=self.chat_id)):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                if any(b.get("callback_data") == action for b in row):
                    return message
        raise AssertionError(f"no button {action!r} was sent to chat {self.chat_id}")

    async def feed(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        before = len(self.fake.sent_messages(chat_id=self.chat_id))
        raw = {"update_id": self.fake.next_update_id(), **update}
        await self.dispatcher.feed_update(
            self.bot, Update.model_validate(raw, context={"bot": self.bot})
        )
        return self.fake.sent_messages(chat_id=self.chat_id)[before:]


def buttons(sent: dict[str, Any]) -> list[str]:
    """The callback data of a sent message's inline keyboard, in order."""
    rows = sent.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API server for one test."""
    async with FakeTelegram.running() as fake:
        yield fake


class RecordingSleep:
    """Stands in for asyncio.sleep: records the delays, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """A real aiogram Bot talking to the fake server; its HTTP session closed after."""
    bot = fake_telegram.make_bot()
    yield bot
    await bot.session.close()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()
