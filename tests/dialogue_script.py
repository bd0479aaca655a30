"""Scripted multi-turn conversations (tests/data/dialogues/d*.jsonl) through POST /api/chat.

The conversations were written by three independent writers from the README and the
directory spec, never from the code; they have been read while fixing what they found, so
they are a regression set (bench/dialogues.py prints the figures, tests/test_dialogues.py
requires every check). Each turn is posted to the whole app (the bundled directory, e5);
its checks: top3_any (one of the names among the first three services of this reply),
urgent, language of the reply, offers_person, case_open (a case exists for the
conversation), deleted (GET /api/chat/{id} answers 404).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import select

from bot.app import build
from bot.cases.case_models import SupportCase
from bot.clock import FakeClock
from bot.db import create_all, make_engine
from bot.settings import Settings

DIALOGUES = Path(__file__).resolve().parent / "data" / "dialogues"
_SWEDISH = re.compile(r"\b(och|är|jag|du|för|att|det|här|som|inte|kan|om|med|vill)\b")
_ENGLISH = re.compile(r"\b(and|is|the|you|for|to|it|here|who|not|can|if|with|want)\b")
_PERSON = re.compile(r"\b(lots|person|människa|someone|guide|coordinator)\b", re.IGNORECASE)


def language(text: str) -> str:
    low = text.lower()
    return "en" if len(_ENGLISH.findall(low)) > len(_SWEDISH.findall(low)) else "sv"


def dialogues() -> Iterator[dict[str, Any]]:
    for path in sorted(DIALOGUES.glob("d*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)


@dataclass
class Tally:
    checks: Counter[str] = field(default_factory=Counter)
    held: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    whole: int = 0
    passed: int = 0


@asynccontextmanager
async def chat_app() -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The whole app on in-memory SQLite at a Monday 09:00 (office hours), no limits."""
    engine = make_engine("sqlite://")
    await create_all(engine)
    clock = FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    settings = Settings(
        database_url="sqlite://",
        telegram_bot_token=None,
        twilio_account_sid=None,
        chat_rate_per_client="off",  # 66 dialogues from one address within one fake minute
        chat_rate_per_conversation="off",
    )
    app = build(settings, engine=engine, clock=clock, run_migrations=False)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield app, client
    finally:
        await engine.dispose()


async def run_all() -> Tally:
    tally = Tally()
    async with chat_app() as (app, client):
        for dialogue in dialogues():
            tally.whole += 1
            tally.passed += await run_dialogue(client, app, dialogue, tally)
    return tally


async def run_dialogue(
    client: httpx.AsyncClient, app: FastAPI, dialogue: dict[str, Any], tally: Tally
) -> bool:
    cid = None
    ok = True
    for number, turn in enumerate(dialogue["turns"], 1):
        place = dialogue["municipality"]
        body = {"conversation_id": cid, "text": turn["say"], "municipality": place}
        response = await client.post("/api/chat", json=body)
        if response.status_code != 200:
            tally.failures.append(f"{dialogue['id']} turn {number}: HTTP {response.status_code}")
            return False
        out = response.json()
        cid = out["conversation_id"]
        text = "\n".join(m["text"] for m in out["messages"])
        names = [s["name"] for s in out["services"]][:3]
        for key, want in turn.get("expect", {}).items():
            if key == "top3_any":
                got: object = bool(set(want) & set(names))
                want_value: object = True
            elif key == "urgent":
                got, want_value = out["urgent"], want
            elif key == "language":
                got, want_value = (language(text) if text else want), want
            elif key == "offers_person":
                got, want_value = bool(_PERSON.search(text)), want
            elif key == "case_open":
                got, want_value = await _has_case(app, cid), want
            elif key == "deleted":
                gone = (await client.get(f"/api/chat/{cid}")).status_code == 404
                got, want_value = gone, want
            else:
                continue
            tally.checks[key] += 1
            if got == want_value:
                tally.held[key] += 1
            else:
                ok = False
                tally.failures.append(
                    f"{dialogue['id']} turn {number} {key}: want {want!r}, got "
                    f"{names if key == 'top3_any' else got!r}  | {turn['say'][:70]!r}"
                )
    return ok


async def _has_case(app: FastAPI, cid: str) -> bool:
    async with app.state.ctx.sessions() as session:
        statement = select(SupportCase).where(SupportCase.conversation_id == cid)
        return (await session.exec(statement)).first() is not None
