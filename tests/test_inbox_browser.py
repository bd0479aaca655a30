"""End to end in a real headless chromium: a coordinator logs in, opens a case and replies.

The whole app (lifespan included) runs under uvicorn in the test's own event loop, next to
the fake Bot API server, so a parent on Telegram (real aiogram, real dispatcher) and a
coordinator in the browser meet in the same database. The browser's waits are Playwright
expectations on the page, not sleeps.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Page, async_playwright, expect
from pydantic import SecretStr
from sqlmodel import select

from bot.app import build
from bot.cases.case_models import CaseStatus, SupportCase
from bot.clock import FakeClock
from bot.core.dto import Channel
from bot.settings import Settings
from tests.conftest import ARTIFACTS, CHROMIUM_ARGS
from tests.factories import served
from tests.fake_telegram import FakeTelegram, TelegramUser
from tests.inbox_support import PASSWORD, add_coordinator, open_parent_case

PARENT = 424242
QUESTION = "Min son är 12 år och vill inte gå till skolan, han har ont i magen varje morgon"
REPLY = "Hej! Jag heter Anna och är lots i Degerfors. Passar det att jag ringer i morgon?"


@dataclass
class Live:
    app: FastAPI
    url: str
    clock: FakeClock
    fake: FakeTelegram

    @property
    def sessions(self):
        return self.app.state.ctx.sessions

    def parent(self) -> TelegramUser:
        runtime = self.app.state.telegram
        return TelegramUser(self.fake, runtime.bot, runtime.dispatcher, chat_id=PARENT)


@pytest.fixture
async def live(sqlite_engine, clock, fake_telegram: FakeTelegram) -> AsyncIterator[Live]:
    """The app with Telegram pointed at the fake, served on a loopback port in this loop."""
    settings = Settings(
        database_url="sqlite://",
        telegram_bot_token=SecretStr(fake_telegram.token),
        telegram_api_base=fake_telegram.url,
    )
    app = build(settings, clock=clock, engine=sqlite_engine, run_migrations=False)
    async with served(app) as url:
        yield Live(app, url, clock, fake_telegram)


@contextlib.asynccontextmanager
async def browser_page(chromium_path: str) -> AsyncIterator[Page]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def log_in(page: Page, live: Live, username: str) -> None:
    await page.goto(f"{live.url}/inbox")  # not logged in: redirected to the login form
    await page.get_by_label("Användarnamn").fill(username)
    await page.get_by_label("Lösenord").fill(PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    await expect(page.get_by_role("heading", name="Ärenden")).to_be_visible()


async def reply_in_browser(page: Page, case_id: str, text: str) -> None:
    await page.locator(f'a[href="/inbox/cases/{case_id}"]').click()
    await expect(page.locator("#messages")).to_contain_text("vill inte gå till skolan")
    await page.get_by_label("Svar till föräldern").fill(text)
    await page.get_by_role("button", name="Skicka svar").click()
    await expect(page.get_by_role("status")).to_have_text("Sparat.")
    await expect(page.locator("#messages")).to_contain_text(text)


async def only_case(live: Live) -> SupportCase:
    async with live.sessions() as session:
        [case] = (await session.exec(select(SupportCase))).all()
        return case


@pytest.mark.browser
async def test_coordinator_replies_in_the_browser_to_a_web_chat_parent(
    live: Live, chromium_path: str
) -> None:
    await add_coordinator(live.sessions, live.clock, username="anna", municipality="Degerfors")
    async with live.sessions() as session:
        opened = await open_parent_case(
            session,
            live.app.state.ctx.handoff,
            live.clock,
            municipality="Degerfors",
            sender_ref=str(uuid.uuid4()),
            question=QUESTION,
        )
    async with browser_page(chromium_path) as page:
        await log_in(page, live, "anna")
        # The row says what the case is about and how long the parent has waited.
        live.clock.advance(minutes=42)
        await page.reload()
        row = page.locator("table.cases tbody tr")
        await expect(row).to_contain_text(QUESTION[:40])
        await expect(row).to_contain_text("väntat 42 min")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "inbox-list.png"), full_page=True)
        await reply_in_browser(page, opened.case.id, REPLY)
        await page.screenshot(path=str(ARTIFACTS / "inbox-case.png"), full_page=True)
        async with httpx.AsyncClient(base_url=live.url) as chat:
            history = (await chat.get(f"/api/chat/{opened.conversation.id}")).json()
        assert history["messages"][-1]["text"] == REPLY
        assert (await only_case(live)).status == CaseStatus.waiting_for_parent
        # Closed: no reply form any more.
        await page.get_by_role("button", name="Avsluta ärendet").click()
        await expect(
            page.get_by_text("Ärendet är avslutat, så det går inte att svara")
        ).to_be_visible()
        await expect(page.get_by_label("Svar till föräldern")).to_have_count(0)


@pytest.mark.browser
async def test_telegram_parent_and_browser_coordinator_end_to_end(
    live: Live, chromium_path: str
) -> None:
    await add_coordinator(live.sessions, live.clock, username="anna", municipality="Degerfors")
    parent = live.parent()
    await parent.says("/start degerfors")
    await parent.says(QUESTION)
    [consent] = await parent.presses("handoff")
    assert "lots i Degerfors" in consent["text"] and "föreslagit" in consent["text"]
    [ack] = await parent.presses("yes")
    assert "svarar dig här senast i morgon kl. 10:00" in ack["text"]  # Monday 10:00 + 8.5 h
    case = await only_case(live)
    assert case.municipality == "Degerfors" and case.services  # suggested services kept

    async with browser_page(chromium_path) as page:
        await log_in(page, live, "anna")
        await reply_in_browser(page, case.id, REPLY)
        # The reply reached the parent on Telegram, through the Bot API.
        assert live.fake.sent_texts(chat_id=PARENT)[-1] == REPLY
        # The parent answers; the open case page shows it without a reload (polling).
        await parent.says("Ja, ring gärna efter klockan tre.")
        await expect(page.locator("#messages")).to_contain_text(
            "ring gärna efter klockan tre", timeout=15_000
        )
    assert (await only_case(live)).status == CaseStatus.assigned


async def test_a_telegram_parent_who_declines_creates_no_case(live: Live) -> None:
    parent = live.parent()
    await parent.says("/start degerfors")
    await parent.says(QUESTION)
    await parent.presses("handoff")
    await parent.presses("no")
    async with live.sessions() as session:
        assert (await session.exec(select(SupportCase))).all() == []
    assert Channel.telegram in live.app.state.ctx.senders
