"""The coordinator web inbox: login, municipality scope, reply to the parent, audit, polling."""

from __future__ import annotations

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
from bot.settings import Settings
from bot.staff.models import AuditEntry
from tests.inbox_support import CSRF_INPUT, add_coordinator, login, open_parent_case


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
