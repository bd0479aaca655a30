"""The coordinators' Telegram group: a new case gets a topic, replies travel both ways.

The whole app runs (lifespan included) with Telegram pointed at the fake Bot API server;
the parent and the coordinators are fed through the app's real dispatcher.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram.types import Update
from fastapi import FastAPI
from pydantic import SecretStr
from sqlmodel import select

from bot.cases.case_models import CaseStatus, SupportCase
from bot.core.conversations import list_messages
from bot.core.models import Author
from bot.settings import Settings
from bot.staff.models import Role
from handlers.inbox_auth import create_login
from tests.fake_telegram import BotApiError, FakeTelegram, TelegramUser, message_update

GROUP = -1001234567
PARENT = 5550001
ANNA_TG = 777001  # a Degerfors coordinator's Telegram account
NILS_TG = 777002  # a Norrköping coordinator's
QUESTION = "Min son är 12 år och vill inte gå till skolan, han har ont i magen varje morgon"


class PlainGroupTelegram(FakeTelegram):
    """The coordinators' group is an ordinary supergroup, not a forum."""

    async def _create_forum_topic(self, params: dict[str, Any]) -> dict[str, Any]:
        raise BotApiError(400, "Bad Request: the chat is not a forum")


@dataclass
class Group:
    app: FastAPI
    fake: FakeTelegram

    @property
    def sessions(self):
        return self.app.state.ctx.sessions

    def parent(self) -> TelegramUser:
        runtime = self.app.state.telegram
        return TelegramUser(self.fake, runtime.bot, runtime.dispatcher, chat_id=PARENT)

    def posts(self) -> list[dict[str, Any]]:
        return self.fake.sent_messages(chat_id=GROUP)

    async def coordinator_says(
        self,
        text: str,
        *,
        from_id: int,
        thread_id: int | None = None,
        reply_to: dict | None = None,
    ) -> None:
        runtime = self.app.state.telegram
        update = message_update(
            chat_id=GROUP,
            text=text,
            message_id=9000 + len(self.fake.calls),
            from_id=from_id,
            thread_id=thread_id,
            reply_to=reply_to,
            is_forum=thread_id is not None,
        )
        raw = {"update_id": self.fake.next_update_id(), **update}
        await runtime.dispatcher.feed_update(
            runtime.bot, Update.model_validate(raw, context={"bot": runtime.bot})
        )


async def run_group(engine, clock, fake: FakeTelegram) -> AsyncIterator[Group]:
    settings = Settings(
        database_url="sqlite://",
        telegram_bot_token=SecretStr(fake.token),
        telegram_api_base=fake.url,
        telegram_coordinator_chat_id=GROUP,
    )
    app = build_app(settings, clock, engine)
    async with app.router.lifespan_context(app):
        async with app.state.ctx.sessions() as session:
            for username, place, tg in (
                ("anna", "Degerfors", ANNA_TG),
                ("nils", "Norrköping", NILS_TG),
            ):
                user = await create_login(
                    session=session,
                    username=username,
                    password="ett-långt-lösenord",
                    name=username.title(),
                    role=Role.coordinator,
                    municipalities=[place],
                    now=clock(),
                )
                user.telegram_user_id = tg
            await session.commit()
        yield Group(app, fake)


def build_app(settings: Settings, clock, engine) -> FastAPI:
    from bot.app import build

    return build(settings, clock=clock, engine=engine, run_migrations=False)


@pytest.fixture
async def group(sqlite_engine, clock, fake_telegram) -> AsyncIterator[Group]:
    async for env in run_group(sqlite_engine, clock, fake_telegram):
        yield env


@pytest.fixture
async def plain_group(sqlite_engine, clock) -> AsyncIterator[Group]:
    async with PlainGroupTelegram.running() as fake:
        async for env in run_group(sqlite_engine, clock, fake):
            yield env


async def consent(parent: TelegramUser) -> None:
    await parent.says("/start degerfors")
    await parent.says(QUESTION)
    await parent.presses("handoff")
    await parent.presses("yes")


async def the_case(group: Group) -> SupportCase:
    async with group.sessions() as session:
        [case] = (await session.exec(select(SupportCase))).all()
        return case


async def test_a_case_gets_a_forum_topic_and_replies_travel_both_ways(group: Group) -> None:
    parent = group.parent()
    await consent(parent)
    [topic] = group.fake.calls_to("createForumTopic")
    assert topic.params["chat_id"] == GROUP and "Degerfors" in topic.params["name"]
    thread = topic.result["message_thread_id"]
    case = await the_case(group)
    assert case.telegram_thread_id == thread
    [summary] = group.posts()
    assert summary["message_thread_id"] == thread
    assert "Nytt ärende i Degerfors" in summary["text"] and "ont i magen" in summary["text"]

    # A Degerfors coordinator answers in the topic: the parent gets it on Telegram.
    await group.coordinator_says(
        "Hej, jag är Anna. Jag ringer i morgon.", from_id=ANNA_TG, thread_id=thread
    )
    assert group.fake.sent_texts(chat_id=PARENT)[-1] == "Hej, jag är Anna. Jag ringer i morgon."
    assert (await the_case(group)).status == CaseStatus.waiting_for_parent

    # The parent's next message is posted in the same topic, and is in the web inbox's case.
    await parent.says("Tack, efter tre passar bra.")
    last = group.posts()[-1]
    assert last["message_thread_id"] == thread
    assert last["text"] == "Förälder: Tack, efter tre passar bra."
    async with group.sessions() as session:
        stored = await list_messages(session=session, conversation_id=case.conversation_id)
    assert [m.author for m in stored[-3:]] == [Author.coordinator, Author.parent, Author.bot]
    # The parent is told the lots will see it (in office hours: no opening time).
    ack = "Tack, lotsen ser ditt meddelande och svarar dig här."
    assert stored[-1].text == ack and group.fake.sent_texts(chat_id=PARENT)[-1] == ack


async def test_a_coordinator_of_another_municipality_is_not_relayed(group: Group) -> None:
    await consent(group.parent())
    case = await the_case(group)
    before = len(group.fake.sent_texts(chat_id=PARENT))
    await group.coordinator_says("Hej!", from_id=NILS_TG, thread_id=case.telegram_thread_id)
    await group.coordinator_says("Hej!", from_id=999, thread_id=case.telegram_thread_id)
    assert len(group.fake.sent_texts(chat_id=PARENT)) == before
    refusals = [p for p in group.posts() if "inte kopplat" in p["text"]]
    assert len(refusals) == 2
    assert (await the_case(group)).status == CaseStatus.new


async def test_in_a_plain_group_a_reply_to_the_case_post_is_relayed(plain_group: Group) -> None:
    await consent(plain_group.parent())
    [summary] = plain_group.posts()
    assert "message_thread_id" not in summary
    posted = plain_group.fake.sent_results(chat_id=GROUP)[0]
    await plain_group.coordinator_says("Hej från Anna!", from_id=ANNA_TG, reply_to=posted)
    assert plain_group.fake.sent_texts(chat_id=PARENT)[-1] == "Hej från Anna!"
    # Ordinary talk in the group (no reply, no topic) goes nowhere.
    await plain_group.coordinator_says("Fika kl 15?", from_id=ANNA_TG)
    assert plain_group.fake.sent_texts(chat_id=PARENT)[-1] == "Hej från Anna!"


async def test_answers_from_the_inbox_show_in_the_topic_but_group_answers_are_not_echoed(
    group: Group,
) -> None:
    from bot.cases.case_actions import run_action

    await consent(group.parent())
    case = await the_case(group)
    await group.coordinator_says(
        "Från gruppen", from_id=ANNA_TG, thread_id=case.telegram_thread_id
    )
    assert not any("Från gruppen" in p["text"] for p in group.posts())
    ctx = group.app.state.ctx
    async with ctx.sessions() as session:
        fresh = await session.get(SupportCase, case.id)
        await run_action(
            "reply", session=session, ctx=ctx, case=fresh, actor_id=None, text="Från inkorgen"
        )
    last = group.posts()[-1]
    assert last["text"] == "Lots (inkorgen): Från inkorgen"
    assert last["message_thread_id"] == case.telegram_thread_id
    assert group.fake.sent_texts(chat_id=PARENT)[-1] == "Från inkorgen"


class DeletingTelegram(FakeTelegram):
    """A fake that also deletes topics and messages (Bot API deleteForumTopic/deleteMessage)."""

    def _methods(self):
        return {**super()._methods(), "deleteforumtopic": _ok, "deletemessage": _ok}


async def _ok(_params: dict[str, Any]) -> bool:
    return True


@pytest.fixture
async def deleting_group(sqlite_engine, clock) -> AsyncIterator[Group]:
    async with DeletingTelegram.running() as fake:
        async for env in run_group(sqlite_engine, clock, fake):
            yield env


async def test_radera_removes_the_case_topic_from_the_group(deleting_group: Group) -> None:
    parent = deleting_group.parent()
    await consent(parent)
    case = await the_case(deleting_group)
    await parent.says("/radera")
    await parent.presses("delete_yes")
    [deleted] = deleting_group.fake.calls_to("deleteForumTopic")
    assert deleted.ok and deleted.params["message_thread_id"] == case.telegram_thread_id
    async with deleting_group.sessions() as session:
        assert (await session.exec(select(SupportCase))).all() == []


async def test_when_telegram_refuses_the_group_is_asked_to_remove_it(group: Group) -> None:
    parent = group.parent()
    await consent(parent)
    await parent.says("/radera")
    await parent.presses("delete_yes")
    assert "har raderat sina uppgifter" in group.posts()[-1]["text"]
