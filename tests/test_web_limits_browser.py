"""In a real headless chromium: the page reads a long conversation page by page, says kindly
when the parent writes too fast (429), runs under the CSP without one violation, and can be
framed by a listed municipality site only; the inbox by nobody.

The app runs under uvicorn in the test's own loop, on a SQLite file and a FakeClock; the
framing sites are pages Playwright answers itself (no server behind them).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.async_api import Page, Route, async_playwright, expect

from bot.app import build
from bot.clock import FakeClock
from bot.core import conversations
from bot.core.models import Author
from bot.db import create_all, make_engine
from bot.settings import Settings
from tests.conftest import CHROMIUM_ARGS
from tests.factories import served

KOMMUN = "http://kommun.test"  # listed in CHAT_EMBED_ORIGINS
OTHER = "http://annan.test"  # not listed
# Chromium refuses a loopback address (the app here) inside a public site's page whatever
# the CSP says (local network access checks); in production both are public.
ARGS = [*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"]


@dataclass
class Live:
    app: FastAPI
    url: str
    clock: FakeClock


@dataclass
class Browser:
    page: Page
    console: list[str] = field(default_factory=list)

    @property
    def csp_violations(self) -> list[str]:
        return [line for line in self.console if "Content Security Policy" in line]


@contextlib.asynccontextmanager
async def live_app(tmp_path: Path, clock: FakeClock, **settings: Any) -> AsyncIterator[Live]:
    db_url = f"sqlite:///{tmp_path / 'chat.db'}"
    engine = make_engine(db_url)
    await create_all(engine)
    base = {
        "database_url": db_url,
        "encoder": "none",
        "telegram_bot_token": None,
        "chat_embed_origins": KOMMUN,
    }
    app = build(Settings(**{**base, **settings}), clock=clock, engine=engine, run_migrations=False)
    try:
        async with served(app) as url:
            yield Live(app, url, clock)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def chromium(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            seen = Browser(page)
            page.on("console", lambda message: seen.console.append(message.text))
            yield seen
        finally:
            await browser.close()


async def ask(page: Page, text: str) -> None:
    field = page.get_by_label("Din fråga")
    await field.fill(text)
    await field.press("Enter")


@pytest.mark.browser
async def test_a_reload_pages_through_the_whole_conversation(
    tmp_path: Path, clock: FakeClock, chromium_path: str
) -> None:
    async with (
        live_app(tmp_path, clock, chat_history_page=10) as live,
        chromium(chromium_path) as browser,
    ):
        page = browser.page
        await page.goto(f"{live.url}/")
        await ask(page, "hej")
        await expect(page.locator("#send")).to_be_enabled(timeout=15_000)
        cid = await page.evaluate("localStorage.getItem('familjeguiden.conversation')")
        async with live.app.state.ctx.sessions() as session:
            conversation = await conversations.get_conversation(
                session=session, conversation_id=cid
            )
            assert conversation is not None
            for n in range(1, 24):
                await conversations.add_message(
                    session=session,
                    conversation=conversation,
                    author=Author.coordinator,
                    text=f"Lotsens svar nummer {n}.",
                    at=clock(),
                )
            await session.commit()
        await page.reload()
        replies = page.locator("#log .msg--coordinator")
        await expect(replies).to_have_count(23, timeout=15_000)  # three pages of ten
        texts = await replies.all_text_contents()
        assert [t.split("nummer ")[1] for t in texts] == [f"{n}." for n in range(1, 24)]
        seqs = await page.eval_on_selector_all(
            "#log .msg[data-seq]", "e => e.map(x => +x.dataset.seq)"
        )
        assert seqs == list(range(1, 26))
        assert browser.csp_violations == []


@pytest.mark.browser
async def test_writing_too_fast_gets_a_kind_line(
    tmp_path: Path, clock: FakeClock, chromium_path: str
) -> None:
    async with (
        live_app(tmp_path, clock, chat_rate_per_client="2/minute") as live,
        chromium(chromium_path) as browser,
    ):
        page = browser.page
        await page.goto(f"{live.url}/")
        for text in ("hej", "hjälp"):
            await ask(page, text)
            await expect(page.locator("#send")).to_be_enabled(timeout=15_000)
        await ask(page, "fler")
        status = page.get_by_role("status")
        await expect(status).to_contain_text("Vänta en liten stund (ungefär 60 sekunder)")
        await expect(status).to_contain_text("ring 112")
        await expect(page.locator("#log .msg--failed")).to_contain_text("fler")
        live.clock.advance(seconds=61)
        await ask(page, "fler")
        await expect(status).to_have_text("", timeout=15_000)


async def _framing(page: Page, site: str, target: str) -> bool:
    """Open `site` (answered by Playwright) holding an iframe of `target`: did it load?"""

    async def host(route: Route) -> None:
        html = f'<!doctype html><iframe id="f" src="{target}" width="390" height="600"></iframe>'
        await route.fulfill(status=200, content_type="text/html", body=html)

    await page.route(f"{site}/**", host)
    await page.goto(f"{site}/")
    await page.wait_for_load_state("load")
    frame = page.frame_locator("#f")
    with contextlib.suppress(AssertionError):
        await expect(frame.locator("body")).to_contain_text("Familjeguiden", timeout=5_000)
        return True
    return False


@pytest.mark.browser
async def test_only_listed_sites_frame_the_chat_and_nobody_frames_the_inbox(
    tmp_path: Path, clock: FakeClock, chromium_path: str
) -> None:
    async with live_app(tmp_path, clock) as live, chromium(chromium_path) as browser:
        page = browser.page
        assert await _framing(page, KOMMUN, f"{live.url}/?kommun=Degerfors")
        assert not await _framing(page, OTHER, f"{live.url}/?kommun=Degerfors")
        assert not await _framing(page, KOMMUN, f"{live.url}/inbox/login")
        await page.goto(f"{live.url}/inbox/login")
        await expect(page.get_by_role("button", name="Logga in")).to_be_visible()
        assert [v for v in browser.csp_violations if "frame-ancestors" not in v] == []
