"""A real headless chromium loads the web chat, asks a question and sees services listed.

The app runs under uvicorn on a free 127.0.0.1 port in a background thread, on a temporary
SQLite file with the bundled directory. The screenshot is kept as a CI artefact.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Page as AsyncPage
from playwright.async_api import async_playwright
from playwright.async_api import expect as expect_async
from playwright.sync_api import expect, sync_playwright

from bot.app import build
from bot.cases import cases
from bot.clock import FakeClock, system_clock
from bot.core import conversations
from bot.core.models import Author
from bot.db import SessionFactory, create_all, make_engine, make_session_factory
from bot.settings import Settings
from tests.conftest import ARTIFACTS, CHROMIUM_ARGS
from tests.factories import served as served_on_loopback


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
            # The first request waits for start-up, which seeds the directory and encodes
            # every service with e5: tens of seconds on a busy machine.
            page.goto(f"{live_url.url}/?kommun=Degerfors", timeout=180_000)
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


# --- The page against the app in the test's own event loop ---------------------------------
# As in tests/test_inbox_browser.py: uvicorn serves the app next to the test, on its database
# and FakeClock, so the test stores coordinator replies and closes cases directly. The database
# is a SQLite file (an in-memory one is a single shared connection, on which the test's reads
# and the app's writes would share one transaction). Rules-only triage (ENCODER=none) keeps
# start-up quick; these tests are about the page.

SCHOOL = "Min son på 14 vill inte gå till skolan längre och sitter hemma hela dagarna"
WELCOME = "Hej! Skriv vad du undrar över"


@dataclass
class Served:
    app: FastAPI
    url: str
    clock: FakeClock

    @property
    def sessions(self) -> SessionFactory:
        return self.app.state.ctx.sessions


@pytest.fixture
async def served(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Served]:
    db_url = f"sqlite:///{tmp_path / 'chat.db'}"
    engine = make_engine(db_url)
    await create_all(engine)
    settings = Settings(
        database_url=db_url, encoder="none", telegram_bot_token=None, twilio_account_sid=None
    )
    app = build(settings, clock=clock, engine=engine, run_migrations=False)
    try:
        async with served_on_loopback(app) as url:
            yield Served(app, url, clock)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def phone_page(chromium_path: str) -> AsyncIterator[AsyncPage]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield await browser.new_page(viewport={"width": 390, "height": 844})
        finally:
            await browser.close()


async def ask(page: AsyncPage, text: str) -> None:
    field = page.get_by_label("Din fråga")
    await field.fill(text)
    await field.press("Enter")


async def start_chat(page: AsyncPage, served: Served, question: str = SCHOOL) -> str:
    """Open the page, ask one question, wait for the services; the conversation id."""
    await page.goto(f"{served.url}/?kommun=Degerfors")
    await ask(page, question)
    await expect_async(page.get_by_role("log")).to_contain_text("1. ", timeout=20_000)
    cid = await page.evaluate("localStorage.getItem('familjeguiden.conversation')")
    assert cid
    return cid


async def coordinator_says(served: Served, cid: str, *texts: str) -> None:
    """Coordinator messages stored in one commit, so a single poll brings all of them."""
    async with served.sessions() as session:
        conv = await conversations.get_conversation(session=session, conversation_id=cid)
        assert conv is not None
        for text in texts:
            await conversations.add_message(
                session=session,
                conversation=conv,
                author=Author.coordinator,
                text=text,
                at=served.clock(),
            )
        await session.commit()


# What the page shows, message by message: (author, text), the page's own welcome left out.
SHOWN_JS = """els => els.map(e => [
  (e.className.match(/msg--(parent|bot|coordinator|system)/) || [null, '?'])[1],
  (e.querySelector('.msg__text') || e.children[1]).textContent,
])"""


async def shown(page: AsyncPage) -> list[tuple[str, str]]:
    rows = await page.eval_on_selector_all("#log .msg", SHOWN_JS)
    return [(a, t) for a, t in rows if not t.startswith(WELCOME)]


async def stored(served: Served, cid: str) -> list[tuple[str, str]]:
    async with served.sessions() as session:
        found = await conversations.list_messages(session=session, conversation_id=cid)
    return [(str(m.author), m.text) for m in found]


async def shows_exactly_the_conversation(page: AsyncPage, served: Served, cid: str) -> None:
    """Every stored message on the page, in order, exactly once (polls may still run)."""
    await expect_async(page.locator("#send")).to_be_enabled(timeout=15_000)  # sent and answered
    expected = await stored(served, cid)
    deadline = asyncio.get_running_loop().time() + 15
    while await shown(page) != expected and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
    assert await shown(page) == expected


@pytest.mark.browser
async def test_one_poll_with_two_replies_and_a_reload_show_every_message(
    served: Served, chromium_path: str
) -> None:
    async with phone_page(chromium_path) as page:
        cid = await start_chat(page, served)
        first = "Hej! Jag heter Sara och är lots i Degerfors."
        second = "Passar det att jag ringer dig i eftermiddag?"
        await coordinator_says(served, cid, first, second)
        replies = page.locator("#log .msg--coordinator")
        await expect_async(replies).to_have_count(2, timeout=15_000)
        await expect_async(replies.nth(0)).to_contain_text(first)
        await expect_async(replies.nth(1)).to_contain_text(second)
        await shows_exactly_the_conversation(page, served, cid)
        # A returning parent: the reloaded page shows the whole conversation, replies too.
        await page.reload()
        await expect_async(replies).to_have_count(2, timeout=15_000)
        await shows_exactly_the_conversation(page, served, cid)
        assert (await shown(page))[0] == ("parent", SCHOOL)
        await page.screenshot(path=str(ARTIFACTS / "web_chat_reloaded.png"))


@pytest.mark.browser
async def test_messages_around_a_case_appear_the_thanks_for_a_rating_too(
    served: Served, chromium_path: str
) -> None:
    handoff = served.app.state.ctx.handoff
    async with phone_page(chromium_path) as page:
        cid = await start_chat(page, served)
        log = page.get_by_role("log")
        await log.get_by_role("button", name="Prata med en person").last.click()
        await log.get_by_role("button", name="Ja", exact=True).last.click()
        await expect_async(log).to_contain_text("svarar dig här senast", timeout=15_000)
        # While the case is open: whatever the bot answers or stores is on the page, the
        # acknowledgement that the lots will see the message too.
        await ask(page, "Han har inte ätit på två dagar heller")
        seen = log.locator(".msg--bot").filter(has_text="lotsen ser ditt meddelande")
        await expect_async(seen).to_have_count(1, timeout=15_000)
        await shows_exactly_the_conversation(page, served, cid)
        async with served.sessions() as session:
            [case] = await cases.cases_of(session=session, conversation_id=cid)
            await handoff.reply(
                session=session, case=case, text="Hej! Jag ringer.", author_id=None
            )
            await handoff.close(session=session, case=case)
        await expect_async(log).to_contain_text("1 (inte alls) till 5", timeout=15_000)
        await ask(page, "5")
        await expect_async(log).to_contain_text("Tack för ditt svar!", timeout=15_000)
        await shows_exactly_the_conversation(page, served, cid)


TEL_TEXT = (
    "Ring 112 om det är akut, Mind 90101, BRIS 116 111, Kvinnofridslinjen 020-50 50 50, "
    "socialtjänsten 0586-123 45 eller +46 586 480 00, polisen 114 14 och 1177 (1177.se). "
    "Din son är 14 år; vi hörs 2026-11-24 kl. 10:00, nummer 3 i listan. "
    '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> https://1177.se/x'
)
TEL_LINKS = [
    ("112", "tel:112"),
    ("90101", "tel:90101"),
    ("116 111", "tel:116111"),
    ("020-50 50 50", "tel:020505050"),
    ("0586-123 45", "tel:058612345"),
    ("+46 586 480 00", "tel:+4658648000"),
    ("114 14", "tel:11414"),
    ("1177", "tel:1177"),
]


@pytest.mark.browser
async def test_phone_numbers_are_tel_links_and_text_is_never_html(
    served: Served, chromium_path: str
) -> None:
    async with phone_page(chromium_path) as page:
        cid = await start_chat(page, served)
        await coordinator_says(served, cid, TEL_TEXT)
        reply = page.locator("#log .msg--coordinator")
        await expect_async(reply).to_have_count(1, timeout=15_000)
        links = await reply.locator("a[href^='tel:']").evaluate_all(
            "els => els.map(e => [e.textContent, e.getAttribute('href')])"
        )
        assert [tuple(link) for link in links] == TEL_LINKS
        web = reply.locator("a[href^='https:']")
        await expect_async(web).to_have_attribute("href", "https://1177.se/x")
        await expect_async(reply).to_contain_text('<img src=x onerror="window.__xss=1">')
        assert await page.evaluate("window.__xss") is None
        assert await reply.locator("img, script").count() == 0
        # The emergency guidance's numbers can be tapped too.
        await ask(page, "min dotter har tagit en massa tabletter och svarar knappt")
        urgent = page.locator("#log .msg--urgent").last
        await expect_async(urgent.locator("a[href='tel:112']").first).to_be_visible(timeout=15_000)


@pytest.mark.browser
async def test_radera_takes_the_conversation_off_the_screen_and_out_of_storage(
    served: Served, chromium_path: str
) -> None:
    async with phone_page(chromium_path) as page:
        cid = await start_chat(page, served)
        await coordinator_says(served, cid, "Hej! Jag heter Sara och är lots.")
        log = page.get_by_role("log")
        await expect_async(log).to_contain_text("Jag heter Sara", timeout=15_000)
        await ask(page, "radera")
        await log.get_by_role("button", name="Ja, radera").click()
        await expect_async(log).to_contain_text("Allt du skrivit här och våra svar är raderade")
        await expect_async(log).not_to_contain_text("sitter hemma hela dagarna")
        await expect_async(log).not_to_contain_text("Jag heter Sara")
        await expect_async(log).not_to_contain_text("Elevhälsan")
        storage = await page.evaluate(
            "JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
        )
        assert cid not in storage and "sitter hemma" not in storage
        assert await stored(served, cid) == []
        await page.reload()  # nothing comes back
        await expect_async(log).to_contain_text(WELCOME)
        await expect_async(log).not_to_contain_text("sitter hemma hela dagarna")


@pytest.mark.browser
async def test_the_conversation_gets_most_of_a_phone_screen(
    served: Served, chromium_path: str
) -> None:
    async with phone_page(chromium_path) as page:
        await start_chat(page, served)
        box = await page.get_by_role("log").bounding_box()
        assert box is not None
        await page.screenshot(path=str(ARTIFACTS / "web_chat_phone.png"))
        assert box["height"] >= 0.6 * 844, box
        # Compact, not gone: the emergency line and the field's label are still there.
        await expect_async(page.get_by_text("Ring 112")).to_be_visible()
        await expect_async(page.get_by_label("Din fråga")).to_be_visible()
