"""The coordinator web inbox: login, municipality scope, reply to the parent, audit, polling."""

from __future__ import annotations

import functools
import html
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from bot.app import build
from bot.cases.case_models import CaseStatus, SupportCase
from bot.clock import FakeClock
from bot.core import conversations
from bot.core.dto import Channel
from bot.core.models import Author, Conversation
from bot.settings import Settings
from bot.staff.models import AuditEntry
from handlers.inbox_auth import CSRF_COOKIE, SESSION_COOKIE
from tests import factories
from tests.inbox_support import CSRF_INPUT, PASSWORD, add_coordinator, login, open_parent_case


@dataclass
class Env:
    app: FastAPI
    client: httpx.AsyncClient
    clock: FakeClock

    @property
    def sessions(self):
        return self.app.state.ctx.sessions


@pytest.fixture
async def env(engine, clock) -> AsyncIterator[Env]:
    app = build(
        Settings(database_url="sqlite://"), clock=clock, engine=engine, run_migrations=False
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Env(app=app, client=client, clock=clock)


async def degerfors_case(env: Env, ref: str | None = None):
    async with env.sessions() as session:
        return await open_parent_case(
            session,
            env.app.state.ctx.handoff,
            env.clock,
            municipality="Degerfors",
            sender_ref=ref or str(uuid.uuid4()),
        )


async def chat_history(env: Env, conversation_id: str) -> list[dict]:
    """What the parent's web chat shows (GET /api/chat/{id})."""
    response = await env.client.get(f"/api/chat/{conversation_id}")
    assert response.status_code == 200, response.text
    return response.json()["messages"]


async def test_pages_need_a_login(env: Env) -> None:
    response = await env.client.get("/inbox")
    assert response.status_code == 303 and response.headers["location"] == "/inbox/login"


async def test_wrong_password_and_missing_csrf_are_refused(env: Env) -> None:
    await add_coordinator(env.sessions, env.clock, username="anna", municipality="Degerfors")
    page = await env.client.get("/inbox/login")
    token = CSRF_INPUT.search(page.text).group(1)
    wrong = {"username": "anna", "password": "fel-lösenord-12", "csrf_token": token}
    assert (await env.client.post("/inbox/login", data=wrong)).status_code == 401
    no_csrf = {"username": "anna", "password": "rätt-lösenord-1"}
    assert (await env.client.post("/inbox/login", data=no_csrf)).status_code == 403


async def test_coordinator_sees_and_answers_a_case_of_their_municipality(env: Env) -> None:
    await add_coordinator(env.sessions, env.clock, username="anna", municipality="Degerfors")
    opened = await degerfors_case(env)
    token = await login(env.client, "anna")
    listing = await env.client.get("/inbox", params={"filter": "new"})
    assert f"/inbox/cases/{opened.case.id}" in listing.text
    page = await env.client.get(f"/inbox/cases/{opened.case.id}")
    assert page.status_code == 200 and "Min son mår dåligt" in page.text
    env.clock.advance(minutes=30)
    reply = {"text": "Hej! Jag heter Anna och ringer dig i eftermiddag.", "csrf_token": token}
    answered = await env.client.post(f"/inbox/cases/{opened.case.id}/reply", data=reply)
    assert answered.status_code == 303 and "notice=saved" in answered.headers["location"]
    # The web chat reads the reply from the conversation (GET /api/chat/{id}).
    chat = await chat_history(env, opened.conversation.id)
    assert chat[-1]["author"] == "coordinator"
    assert chat[-1]["text"].startswith("Hej! Jag heter Anna")
    async with env.sessions() as session:
        case = await session.get(SupportCase, opened.case.id)
        assert case.status == CaseStatus.waiting_for_parent and case.first_reply_at is not None


async def test_a_reply_without_the_csrf_token_is_refused(env: Env) -> None:
    await add_coordinator(env.sessions, env.clock, username="anna", municipality="Degerfors")
    opened = await degerfors_case(env)
    token = await login(env.client, "anna")
    forged = await env.client.post(f"/inbox/cases/{opened.case.id}/reply", data={"text": "x"})
    assert forged.status_code == 403
    unknown = await env.client.post(
        f"/inbox/cases/{opened.case.id}/delete", data={"csrf_token": token}
    )
    assert unknown.status_code == 404


async def test_norrkoping_coordinator_cannot_see_a_degerfors_case(env: Env) -> None:
    await add_coordinator(env.sessions, env.clock, username="nils", municipality="Norrköping")
    opened = await degerfors_case(env)
    token = await login(env.client, "nils")
    assert opened.case.id not in (await env.client.get("/inbox")).text
    refused = await env.client.get(f"/inbox/cases/{opened.case.id}")
    assert refused.status_code == 403 and "annan kommun" in refused.text
    assert "vem kan jag prata med" not in refused.text
    poll = await env.client.get(f"/inbox/cases/{opened.case.id}/messages.json")
    assert poll.status_code == 403
    sneaky = {"text": "hej", "csrf_token": token}
    assert (
        await env.client.post(f"/inbox/cases/{opened.case.id}/reply", data=sneaky)
    ).status_code == 403


async def test_views_and_changes_are_audited(env: Env) -> None:
    user = await add_coordinator(
        env.sessions, env.clock, username="anna", municipality="Degerfors"
    )
    opened = await degerfors_case(env)
    token = await login(env.client, "anna")
    await env.client.get(f"/inbox/cases/{opened.case.id}")
    form = {"text": "Ring mamman på fredag", "csrf_token": token}
    await env.client.post(f"/inbox/cases/{opened.case.id}/note", data=form)
    await env.client.post(f"/inbox/cases/{opened.case.id}/assign", data={"csrf_token": token})
    async with env.sessions() as session:
        entries = (await session.exec(select(AuditEntry))).all()
    actions = [(e.action, e.actor_id, e.resource_id) for e in entries]
    for action in ("view", "note", "assign"):
        assert (action, user.id, opened.case.id) in actions
    assert all("Ring mamman" not in str(e.after) for e in entries)  # no texts in the log


async def test_new_parent_messages_can_be_polled(env: Env) -> None:
    await add_coordinator(env.sessions, env.clock, username="anna", municipality="Degerfors")
    opened = await degerfors_case(env)
    await login(env.client, "anna")
    first = (await env.client.get(f"/inbox/cases/{opened.case.id}/messages.json")).json()
    last_seq = first["messages"][-1]["seq"]
    async with env.sessions() as session:
        from bot.core import conversations
        from bot.core.models import Author, Conversation

        conversation = await session.get(Conversation, opened.conversation.id)
        message = await conversations.add_message(
            session=session,
            conversation=conversation,
            author=Author.parent,
            text="Tack!",
            at=env.clock(),
        )
        await env.app.state.ctx.handoff.parent_wrote(
            session=session, conversation=conversation, message=message
        )
        await session.commit()
    polled = await env.client.get(
        f"/inbox/cases/{opened.case.id}/messages.json", params={"after": last_seq}
    )
    assert [m["text"] for m in polled.json()["messages"]] == ["Tack!"]


async def test_closing_asks_the_parent_and_stats_count_it(env: Env) -> None:
    await add_coordinator(env.sessions, env.clock, username="anna", municipality="Degerfors")
    opened = await degerfors_case(env)
    token = await login(env.client, "anna")
    env.clock.advance(hours=2)
    await env.client.post(
        f"/inbox/cases/{opened.case.id}/reply", data={"text": "Hej!", "csrf_token": token}
    )
    await env.client.post(f"/inbox/cases/{opened.case.id}/close", data={"csrf_token": token})
    chat = await chat_history(env, opened.conversation.id)
    assert "1 (inte alls) till 5" in chat[-1]["text"]
    stats = await env.client.get("/inbox/stats")
    assert "Degerfors" in stats.text and "2026-11" in stats.text and "2.0 h" in stats.text


async def test_repeated_wrong_passwords_are_slowed_down(env: Env) -> None:
    await add_coordinator(env.sessions, env.clock, username="anna", municipality="Degerfors")
    page = await env.client.get("/inbox/login")
    token = CSRF_INPUT.search(page.text).group(1)
    wrong = {"username": "anna", "password": "fel-lösenord-12", "csrf_token": token}
    codes = [(await env.client.post("/inbox/login", data=wrong)).status_code for _ in range(11)]
    assert codes == [401] * 10 + [429]
    right = {**wrong, "password": "rätt-lösenord-1"}
    assert (await env.client.post("/inbox/login", data=right)).status_code == 429
    env.clock.advance(minutes=2)
    assert (await env.client.post("/inbox/login", data=right)).status_code == 303


async def test_parent_text_is_shown_as_text_not_html(env: Env) -> None:
    await add_coordinator(env.sessions, env.clock, username="anna", municipality="Degerfors")
    async with env.sessions() as session:
        opened = await open_parent_case(
            session,
            env.app.state.ctx.handoff,
            env.clock,
            municipality="Degerfors",
            sender_ref=str(uuid.uuid4()),
            question="<script>alert(1)</script> hjälp",
        )
    await login(env.client, "anna")
    page = await env.client.get(f"/inbox/cases/{opened.case.id}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; hjälp" in page.text


async def case_with_history(
    env: Env,
    *,
    question: str,
    services: tuple[str, ...] = (),
    urgent: bool = False,
    municipality: str = "Degerfors",
):
    """A web conversation: the question, the bot's suggestions (stored as the core stores
    them, names in the message meta), the consent, and the case opened on it."""
    async with env.sessions() as session:
        ref = str(uuid.uuid4())
        conversation = factories.conversation(
            env.clock(), channel=Channel.web, sender_ref=ref, municipality=municipality
        )
        conversation.id = ref
        conversation.context = {"urgent": True} if urgent else {}
        session.add(conversation)
        say = functools.partial(conversations.add_message, session=session, at=env.clock())
        await say(conversation=conversation, author=Author.parent, text="hej")
        await say(conversation=conversation, author=Author.bot, text="Hej! Skriv din fråga.")
        await say(conversation=conversation, author=Author.parent, text=question)
        refs = [{"id": name.lower(), "name": name} for name in services]
        meta = {"buttons": [], "services": refs, "urgent": False}
        await say(conversation=conversation, author=Author.bot, text="Förslag", meta=meta)
        env.clock.advance(minutes=3)
        await say(conversation=conversation, author=Author.parent, text="Ja")
        handoff = env.app.state.ctx.handoff
        opened = await handoff.open_case(
            session=session,
            conversation=conversation,
            consent_text=handoff.consent_text(conversation=conversation),
            at=env.clock(),
        )
        await session.commit()
        return opened.case_id


LONG_QUESTION = (
    "Min dotter 20120315-1234 vill inte äta och har ont i magen varje morgon innan skolan "
    "börjar, vad kan vi göra?"
)


async def test_each_case_row_says_what_the_case_is_about(env: Env) -> None:
    await add_coordinator(env.sessions, env.clock, username="anna", municipality="Degerfors")
    await add_coordinator(env.sessions, env.clock, username="nils", municipality="Norrköping")
    urgent = await case_with_history(
        env,
        question=LONG_QUESTION,
        services=("Elevhälsan", "BUP", "Ungdomsmottagningen", "Familjecentralen"),
        urgent=True,
    )
    env.clock.advance(minutes=20)
    calm = await case_with_history(env, question="Hur hittar jag en stödgrupp för syskon?")
    env.clock.advance(hours=2, minutes=5)
    token = await login(env.client, "anna")
    rows = row_texts((await env.client.get("/inbox")).text)
    # The first words of the question, as stored (personnummer removed), cut near 80 chars.
    assert rows[urgent].startswith(
        "Akut Min dotter [personnummer borttaget] vill inte äta och har ont i magen varje…"
    )
    assert "20120315" not in rows[urgent]
    assert "Elevhälsan, BUP, Ungdomsmottagningen (+1)" in rows[urgent]
    assert "väntat 2 h 28 min" in rows[urgent]  # since the consent, not the bot's answers
    assert rows[calm].startswith("Hur hittar jag en stödgrupp för syskon?")
    assert "Akut" not in rows[calm] and "väntat 2 h 5 min" in rows[calm]
    # Answered: nobody waits; the parent writes again: the wait starts from that message.
    reply = {"text": "Hej! Jag ringer dig i eftermiddag.", "csrf_token": token}
    await env.client.post(f"/inbox/cases/{calm}/reply", data=reply)
    assert "väntat" not in row_texts((await env.client.get("/inbox")).text)[calm]
    env.clock.advance(minutes=10)
    await parent_writes(env, calm, "Tack, jag är hemma efter tre.")
    env.clock.advance(minutes=7)
    assert "väntat 7 min" in row_texts((await env.client.get("/inbox")).text)[calm]
    # A coordinator of another municipality sees none of it.
    await env.client.post("/inbox/logout", data={"csrf_token": token})
    await login(env.client, "nils")
    listing = (await env.client.get("/inbox")).text
    assert urgent not in listing and "Min dotter" not in listing and "Elevhälsan" not in listing


async def test_case_rows_are_text_not_html(env: Env) -> None:
    await add_coordinator(env.sessions, env.clock, username="anna", municipality="Degerfors")
    await case_with_history(env, question="<script>alert(1)</script> hjälp mig nu", services=())
    await login(env.client, "anna")
    listing = (await env.client.get("/inbox")).text
    assert "<script>alert(1)" not in listing
    assert "&lt;script&gt;alert(1)&lt;/script&gt; hjälp mig nu" in listing


async def test_a_closed_case_has_no_reply_form_and_takes_no_reply(env: Env) -> None:
    await add_coordinator(env.sessions, env.clock, username="anna", municipality="Degerfors")
    opened = await degerfors_case(env)
    token = await login(env.client, "anna")
    url = f"/inbox/cases/{opened.case.id}"
    assert 'id="reply-text"' in (await env.client.get(url)).text
    await env.client.post(f"{url}/close", data={"csrf_token": token})
    page = await env.client.get(url)
    assert 'id="reply-text"' not in page.text and "Skicka svar" not in page.text
    assert "Ärendet är avslutat" in page.text
    before = await chat_history(env, opened.conversation.id)
    late = await env.client.post(f"{url}/reply", data={"text": "Hej!", "csrf_token": token})
    assert late.status_code == 303 and late.headers["location"].endswith("?notice=closed")
    assert "svaret skickades inte" in (await env.client.get(late.headers["location"])).text
    assert await chat_history(env, opened.conversation.id) == before  # nothing reached them
    async with env.sessions() as session:
        case = await session.get(SupportCase, opened.case.id)
        assert case.status == CaseStatus.closed


ROW = re.compile(r'<tr class="[^"]*">(.*?)</tr>', re.S)
CASE_LINK = re.compile(r'href="/inbox/cases/([^"]+)"')


def row_texts(page: str) -> dict[str, str]:
    """Each case row of the list as plain text, by case id."""
    rows = {}
    for row in ROW.findall(page):
        link = CASE_LINK.search(row)
        if link:
            text = html.unescape(re.sub(r"<[^>]+>", " ", row))
            rows[link.group(1)] = " ".join(text.split())
    return rows


async def parent_writes(env: Env, case_id: str, text: str) -> None:
    async with env.sessions() as session:
        case = await session.get(SupportCase, case_id)
        conversation = await session.get(Conversation, case.conversation_id)
        message = await conversations.add_message(
            session=session,
            conversation=conversation,
            author=Author.parent,
            text=text,
            at=env.clock(),
        )
        await env.app.state.ctx.handoff.parent_wrote(
            session=session, conversation=conversation, message=message
        )
        await session.commit()


async def test_odd_tokens_cookies_and_positions_get_a_4xx(env: Env) -> None:
    """A forged CSRF token or session cookie with non-ASCII characters and a poll position
    past the seq column's range are refused, never answered with a server error."""
    await add_coordinator(env.sessions, env.clock, username="anna", municipality="Degerfors")
    opened = await degerfors_case(env)

    def cookie(name: str, value: str) -> dict[str, bytes]:  # raw UTF-8, as a forger sends
        return {"cookie": f"{name}={value}".encode()}

    form = {"username": "anna", "password": PASSWORD, "csrf_token": "åäö-token"}
    for sent in ("åäö-token", "ascii-token"):
        login_page = await env.client.post(
            "/inbox/login", data=form, headers=cookie(CSRF_COOKIE, sent)
        )
        assert login_page.status_code in (303, 403), login_page.status_code
    forged = await env.client.get("/inbox", headers=cookie(SESSION_COOKIE, "föfalskad.kaka"))
    assert forged.status_code in (303, 401)  # sent to the login page, not a 500
    await login(env.client, "anna")
    for after in (2**31, 2**63, -1):
        poll = await env.client.get(
            f"/inbox/cases/{opened.case.id}/messages.json", params={"after": after}
        )
        assert poll.status_code == 422 and "after" in poll.text
