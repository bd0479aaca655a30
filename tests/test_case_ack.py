"""A parent who writes while their case is open is told the lots will see it, once a round.

Through the web chat API on the whole app (SQLite and PostgreSQL), with the FakeClock: one
acknowledgement for several messages in a row, again after the lots answers or ten quiet
minutes; outside office hours it says when the office opens. The stored history (what the
web chat page renders, GET /api/chat/{id}) holds it as the bot's message.
"""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import FastAPI
from httpx import AsyncClient

from bot.cases import cases
from bot.clock import FakeClock
from tests.conftest import STOCKHOLM
from tests.factories import chat

QUESTION = "Min son är 12 år och vill inte gå till skolan, han har ont i magen varje morgon"
DANGER = ("Är någon i fara", "Is someone in danger", "If someone is in danger")
SEEN = "Tack, lotsen ser ditt meddelande och svarar dig här."


async def open_case(client: AsyncClient, question: str = QUESTION) -> str:
    cid = (await chat(client, question, municipality="Degerfors"))["conversation_id"]
    await chat(client, "Prata med en person", cid, action="handoff")
    opened = await chat(client, "Ja", cid, action="yes")
    assert re.search(r"svarar dig här senast|will answer you here by", texts(opened)[-1])
    return cid


def texts(answer: dict) -> list[str]:
    """The replies, without the emergency line triage may put first (not this test's subject:
    an open case's messages are triaged like any other)."""
    return [m["text"] for m in answer["messages"] if not m["text"].startswith(DANGER)]


async def lots_replies(app: FastAPI, cid: str, text: str) -> None:
    async with app.state.ctx.sessions() as session:
        [case] = await cases.cases_of(session=session, conversation_id=cid)
        await app.state.ctx.handoff.reply(session=session, case=case, text=text, author_id=None)


async def test_one_acknowledgement_per_round_in_office_hours(
    app: FastAPI, client: AsyncClient, clock: FakeClock
) -> None:
    cid = await open_case(client)
    first = await chat(client, "Han har ont i magen i dag också", cid)
    assert texts(first) == [SEEN]
    clock.advance(minutes=2)
    assert texts(await chat(client, "Och han sover dåligt", cid)) == []
    # The lots answers: the parent's next message starts a new round.
    await lots_replies(app, cid, "Hej! Jag ringer dig i eftermiddag.")
    assert texts(await chat(client, "Tack, jag är hemma efter tre", cid)) == [SEEN]
    clock.advance(minutes=9)
    assert texts(await chat(client, "Ring helst på mobilen", cid)) == []
    # Ten quiet minutes since the last acknowledgement: say it again.
    clock.advance(minutes=1)
    assert texts(await chat(client, "Hallå?", cid)) == [SEEN]
    # The web chat page shows what is stored: the acknowledgements are the bot's messages.
    history = (await client.get(f"/api/chat/{cid}")).json()["messages"]
    shown = [(m["author"], m["text"]) for m in history]
    assert shown.count(("bot", SEEN)) == 3
    assert shown[-2:] == [("parent", "Hallå?"), ("bot", SEEN)]


async def test_outside_office_hours_it_says_when_the_lots_reads_it(
    client: AsyncClient, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 11, 27, 18, 0, tzinfo=STOCKHOLM)  # a Friday evening
    cid = await open_case(client)
    [seen] = texts(await chat(client, "Jag glömde säga att han går i sexan", cid))
    assert seen.startswith(SEEN)
    assert "öppnar måndag 30 november kl. 08:00" in seen and "ring 112" in seen


async def test_english_mode_and_the_rating_gets_no_acknowledgement(
    app: FastAPI, client: AsyncClient
) -> None:
    cid = await open_case(client, "My son is 12 and refuses to go to school, what can we do?")
    [seen] = texts(await chat(client, "He stayed home from school today too", cid))
    assert seen == "Thank you, the guide will see your message and answer you here."
    async with app.state.ctx.sessions() as session:
        [case] = await cases.cases_of(session=session, conversation_id=cid)
        await app.state.ctx.handoff.close(session=session, case=case)
    # The answer to the 1-5 question is thanked by the handoff, not acknowledged as a message.
    assert texts(await chat(client, "5", cid)) == []
    history = (await client.get(f"/api/chat/{cid}")).json()["messages"]
    assert history[-1]["text"].startswith("Thank you for your answer")


async def test_a_closed_case_reopened_by_the_parent_is_acknowledged_again(
    app: FastAPI, client: AsyncClient
) -> None:
    cid = await open_case(client)
    assert texts(await chat(client, "En sak till", cid)) == [SEEN]
    async with app.state.ctx.sessions() as session:
        [case] = await cases.cases_of(session=session, conversation_id=cid)
        await app.state.ctx.handoff.close(session=session, case=case, ask_satisfaction=False)
    assert texts(await chat(client, "Nu har det hänt något nytt", cid)) == [SEEN]
