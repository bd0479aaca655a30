"""Scripted multi-turn conversations through the web chat API: how many hold, check by check.

The conversations (tests/data/dialogues/d*.jsonl) were written by three independent writers
from the README and the directory spec, never from the code. Each turn is posted to
POST /api/chat of the whole app (in-memory SQLite, the bundled directory, e5); its checks:
top3_any (one of the names among the first three services of this reply), urgent, language
of the reply, offers_person, case_open (a case exists for the conversation), deleted (the
conversation is gone: GET /api/chat/{id} answers 404).

  .venv/bin/python bench/dialogues.py [--show-failures]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlmodel import select

from bot.app import build
from bot.cases.case_models import SupportCase
from bot.clock import FakeClock
from bot.db import create_all, make_engine
from bot.settings import Settings

DIALOGUES = Path(__file__).resolve().parents[1] / "tests" / "data" / "dialogues"
_SWEDISH = re.compile(r"\b(och|är|jag|du|för|att|det|här|som|inte|kan|om|med|vill)\b")
_ENGLISH = re.compile(r"\b(and|is|the|you|for|to|it|here|who|not|can|if|with|want)\b")
_PERSON = re.compile(r"\b(lots|person|människa|someone|guide|coordinator)\b", re.IGNORECASE)


def language(text: str) -> str:
    low = text.lower()
    return "en" if len(_ENGLISH.findall(low)) > len(_SWEDISH.findall(low)) else "sv"


async def run(show: bool) -> int:
    engine = make_engine("sqlite://")
    await create_all(engine)
    clock = FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # a Monday, office hours
    settings = Settings(
        database_url="sqlite://",
        telegram_bot_token=None,
        twilio_account_sid=None,
        chat_rate_per_client="off",  # 66 dialogues from one address within one fake minute
        chat_rate_per_conversation="off",
    )
    app = build(settings, engine=engine, clock=clock, run_migrations=False)
    checks: Counter[str] = Counter()
    held: Counter[str] = Counter()
    failures: list[str] = []
    whole = passed = 0
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for path in sorted(DIALOGUES.glob("d*.jsonl")):
                for line in path.read_text(encoding="utf-8").splitlines():
                    dialogue = json.loads(line)
                    ok = await _dialogue(client, app, dialogue, checks, held, failures)
                    whole += 1
                    passed += ok
    await engine.dispose()
    print(f"{passed} of {whole} conversations pass; {sum(held.values())} of "
          f"{sum(checks.values())} checks hold")  # fmt: skip
    for key in sorted(checks):
        print(f"  {key:14} {held[key]:4} of {checks[key]:4}")
    if show:
        print("\n".join(failures))
    return 0


async def _dialogue(client, app, dialogue, checks, held, failures) -> bool:  # type: ignore[no-untyped-def]
    cid = None
    ok = True
    for number, turn in enumerate(dialogue["turns"], 1):
        body = {
            "conversation_id": cid,
            "text": turn["say"],
            "municipality": dialogue["municipality"],
        }
        response = await client.post("/api/chat", json=body)
        if response.status_code != 200:
            failures.append(f"{dialogue['id']} turn {number}: HTTP {response.status_code}")
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
            checks[key] += 1
            if got == want_value:
                held[key] += 1
            else:
                ok = False
                failures.append(
                    f"{dialogue['id']} turn {number} {key}: want {want!r}, got "
                    f"{names if key == 'top3_any' else got!r}  | {turn['say'][:70]!r}"
                )
    return ok


async def _has_case(app, cid: str) -> bool:  # type: ignore[no-untyped-def]
    async with app.state.ctx.sessions() as session:
        statement = select(SupportCase).where(SupportCase.conversation_id == cid)
        return (await session.exec(statement)).first() is not None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.show_failures))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
