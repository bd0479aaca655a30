"""A real headless chromium loads the web chat, asks a question and sees services listed.

The app runs under uvicorn on a free 127.0.0.1 port in a background thread, on a temporary
SQLite file with the bundled directory. The screenshot is kept as a CI artefact.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect, sync_playwright

from bot.app import build
from bot.clock import system_clock
from bot.core import conversations
from bot.core.models import Author
from bot.db import create_all, make_engine, make_session_factory
from bot.settings import Settings
from tests.conftest import ARTIFACTS, CHROMIUM_ARGS


def _serve(server: uvicorn.Server, sock: socket.socket, url: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        await create_all(engine)
        await engine.dispose()
        await server.serve(sockets=[sock])

    asyncio.run(run())


@dataclass(frozen=True)
class Live:
    url: str
    db: str


@pytest.fixture
def live_url(tmp_path: Path) -> Iterator[Live]:
    """The whole app on a loopback port; the socket listens before the thread starts, so
    the browser's first request simply queues until uvicorn accepts it (no polling)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    db_url = f"sqlite:///{tmp_path / 'chat.db'}"
    settings = Settings(database_url=db_url, telegram_bot_token=None, twilio_account_sid=None)
    app = build(settings, run_migrations=False)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=_serve, args=(server, sock, db_url), daemon=True)
    thread.start()
    try:
        yield Live(url=f"http://127.0.0.1:{sock.getsockname()[1]}", db=db_url)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


async def coordinator_writes(db_url: str, conversation_id: str, text: str) -> None:
    engine = make_engine(db_url)
    async with make_session_factory(engine)() as session:
        conv = await conversations.get_conversation(
            session=session, conversation_id=conversation_id
        )
        assert conv is not None
        await conversations.add_message(
            session=session,
            conversation=conv,
            author=Author.coordinator,
            text=text,
            at=system_clock(),
        )
        await session.commit()
    await engine.dispose()


@pytest.mark.browser
def test_browser_asks_a_question_and_sees_services(live_url: Live, chromium_path: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto(f"{live_url.url}/?kommun=Degerfors")
            field = page.get_by_label("Din fråga")
            field.fill("Var kan jag träffa andra föräldrar med bebis? Jag känner mig ensam.")
            field.press("Enter")
            log = page.get_by_role("log")
            expect(log).to_contain_text("1. ", timeout=20_000)
            expect(log.get_by_role("button", name="Fler")).to_be_visible()
            expect(log).to_contain_text("Familjecentralen")
            page.screenshot(path=str(ARTIFACTS / "web_chat.png"))
            log.get_by_role("button", name="Mer om Familjecentralen").click()
            expect(log.locator(".msg--bot").last).to_contain_text("Så får du kontakt")
            page.screenshot(path=str(ARTIFACTS / "web_chat_detail.png"))
            # A coordinator answers in the inbox; the page's polling shows it.
            cid = page.evaluate("localStorage.getItem('familjeguiden.conversation')")
            text = "Hej! Jag heter Sara och är lots."
            with ThreadPoolExecutor(1) as pool:  # playwright's sync API owns this thread's loop
                pool.submit(
                    lambda: asyncio.run(coordinator_writes(live_url.db, cid, text))
                ).result()
            expect(log.locator(".msg--coordinator")).to_contain_text(
                "Jag heter Sara", timeout=15_000
            )
        finally:
            browser.close()
