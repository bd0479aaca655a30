"""The load of bench/scale.py: concurrent web chats through POST /api/chat, bounded in count
and time, every answer recorded (status, latency, conversation, text) for the checks after.

Each parent is a conversation the client names itself (a fresh uuid4), so even a message
that got no answer can be looked up in the database, and a client address of its own
(X-Forwarded-For, believed because nginx is a trusted proxy), as parents behind one nginx
would be. Three kinds of chat:
- questions: every message a new question, worded anew (the encoder's cache hides nothing);
- light: turns that need no encoding (buttons, numbers, "fler", commands) in conversations
  that asked one question before the clock started;
- dialogues: a question and its follow-ups, each text once per conversation, then a new
  conversation (the fault run: a stored text identifies the message it came from).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

QUESTIONS = [
    "Min son på 14 vill inte gå till skolan och sitter hemma hela dagarna",
    "Vart vänder jag mig om min dotter på 8 har svårt med kompisar och utbrott?",
    "Jag oroar mig för att min tonåring dricker alkohol på helgerna",
    "Finns det någon öppen verksamhet för föräldrar med små barn?",
]
# (text, button action): answered from the conversation's state, no sentence encoding.
LIGHT = [("fler", None), ("1", "detail:1"), ("2", None), ("3", None), ("hjälp", None)]
CAP_MESSAGES = 20_000  # no load sends more


def client(url: str, users: int) -> httpx.AsyncClient:
    """One connection per user, kept alive."""
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    return httpx.AsyncClient(base_url=url, timeout=60, limits=limits)


def question(user: int, turn: int) -> str:
    base = QUESTIONS[(user + turn) % len(QUESTIONS)]
    return f"{base} Barnet är {5 + turn % 12} år. (fråga {user}-{turn})"


@dataclass(frozen=True)
class Sent:
    kind: str  # "question" or "light"
    conversation: str
    text: str
    started: float  # perf_counter when sent
    seconds: float
    status: int | None  # None: no HTTP answer at all


@dataclass
class Load:
    """One client, a shared budget of messages and a deadline; every message recorded."""

    client: httpx.AsyncClient
    budget: int
    deadline: float  # perf_counter
    sent: list[Sent] = field(default_factory=list)
    record: bool = True

    def more(self) -> bool:
        if self.budget <= 0 or time.perf_counter() >= self.deadline:
            return False
        self.budget -= 1
        return True

    async def post(self, kind: str, chat: Chat, text: str, action: str | None = None) -> Sent:
        body = {"conversation_id": chat.id, "text": text, "action": action}
        started = time.perf_counter()
        try:
            answer = await self.client.post("/api/chat", json=body, headers=chat.headers)
            status: int | None = answer.status_code
        except httpx.TransportError:
            status = None
        sent = Sent(kind, chat.id, text, started, time.perf_counter() - started, status)
        if self.record:
            self.sent.append(sent)
        return sent


@dataclass(frozen=True)
class Chat:
    """One parent: a conversation id and a client address of its own."""

    id: str
    headers: dict[str, str]

    @classmethod
    def new(cls, user: int, number: int) -> Chat:
        address = f"10.{user % 250}.{number // 250 % 250}.{number % 250 + 1}"
        return cls(str(uuid.uuid4()), {"X-Forwarded-For": address})


async def questions(load: Load, user: int) -> None:
    turn = 0
    chat = Chat.new(user, 0)
    while load.more():
        if turn % 20 == 19:  # a parent asks a few questions, not hundreds
            chat = Chat.new(user, turn)
        await load.post("question", chat, question(user, turn))
        turn += 1


async def open_chats(load: Load, user: int, count: int) -> list[Chat]:
    """`count` conversations that asked their question (before the clock starts)."""
    chats = [Chat.new(user, n) for n in range(count)]
    for n, chat in enumerate(chats):
        await load.post("question", chat, question(user, n))
    return chats


async def light(load: Load, chats: list[Chat]) -> None:
    turn = 0
    while load.more():
        text, action = LIGHT[turn // len(chats) % len(LIGHT)]
        await load.post("light", chats[turn % len(chats)], text, action)
        turn += 1


async def dialogues(load: Load, user: int) -> None:
    number = 0
    while True:
        chat = Chat.new(user, number)
        script = [(question(user, number), None), *LIGHT]
        for step, (text, action) in enumerate(script):
            if not load.more():
                return
            sent = await load.post("light" if step else "question", chat, text, action)
            if step == 0 and sent.status != 200:
                break  # no question, nothing to follow up: a new parent
        number += 1


async def run_users(users: int, user: Callable[[int], Awaitable[None]]) -> float:
    """Run `users` concurrent users to the end; the seconds it took."""
    started = time.perf_counter()
    await asyncio.gather(*(user(u) for u in range(users)))
    return time.perf_counter() - started
