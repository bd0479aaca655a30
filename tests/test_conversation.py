"""The conversation core's dialogue, on SQLite and PostgreSQL, with a small directory double."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import select

from bot.clock import FakeClock
from bot.core.conversation import ConversationCore
from bot.core.dto import Channel, Inbound, Reply
from bot.core.models import Author, Conversation, ConversationMessage
from bot.db import SessionFactory
from tests.conversation_doubles import FakeDirectory, RecordingHandoff

_ids = itertools.count()


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def handoff() -> RecordingHandoff:
    return RecordingHandoff()


def make_core(
    sessions: SessionFactory, clock: FakeClock, directory: FakeDirectory, handoff=None
) -> ConversationCore:
    return ConversationCore(
        sessions=sessions,
        directory=directory,
        clock=clock,
        default_municipality="Degerfors",
        handoff=handoff,
    )


@pytest.fixture
def core(sessions, clock, directory, handoff) -> ConversationCore:
    return make_core(sessions, clock, directory, handoff)


def msg(text: str, *, sender: str = "chat-1", **extra) -> Inbound:
    return Inbound(
        channel=Channel.telegram,
        sender_ref=sender,
        text=text,
        received_at=extra.pop("at", None) or _now(),
        **extra,
    )


def _now():
    from datetime import UTC, datetime

    return datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def stored(sessions: SessionFactory) -> list[ConversationMessage]:
    async with sessions() as s:
        stmt = select(ConversationMessage).order_by(ConversationMessage.seq)
        return list((await s.exec(stmt)).all())


async def conversation(sessions: SessionFactory) -> Conversation | None:
    async with sessions() as s:
        return (await s.exec(select(Conversation))).first()


async def test_welcome_and_help_explain_service_emergency_and_data(core) -> None:
    [welcome] = await core.handle(msg("/start"))
    assert "Familjeguiden" in welcome.text and "112" in welcome.text
    [helptext] = await core.handle(msg("hjälp"))
    for phrase in ("INTE en larmtjänst", "112", "lots", "radera", "sparar"):
        assert phrase in helptext.text


async def test_question_lists_three_services_with_buttons_and_default_municipality(
    core, sessions
) -> None:
    [reply] = await core.handle(msg("skola, sömn och oro 070101-1234"))
    # Familjeguiden ranks first, and in its own chat it is the offer of a person (a lots):
    # not a numbered service to contact.
    assert [s.name for s in reply.services] == ["BUP", "Elevhälsan", "Familjecentralen"]
    assert "Familjeguiden: 0586-000 01" not in reply.text and ". Familjeguiden" not in reply.text
    assert (
        reply.text.startswith("Jag är inte säker") or "Vill du prata med en person?" in reply.text
    )
    assert "1. BUP" in reply.text
    assert 'Svaren gäller Degerfors. Skriv "kommun" för att byta.' in reply.text
    assert "kontrollerades senast" not in reply.text  # kept for the details, lists stay short
    actions = [b.action for b in reply.buttons]
    assert actions == ["detail:1", "detail:2", "detail:3", "more", "handoff"]
    messages = await stored(sessions)
    assert [m.author for m in messages] == [Author.parent, Author.bot]
    assert "070101-1234" not in messages[0].text, "personnummer must be redacted"
    assert messages[1].meta["services"][0]["name"] == "BUP"


async def test_follow_ups_more_detail_cost_thanks(core) -> None:
    await core.handle(msg("skola sömn oro"))
    [more] = await core.handle(msg("fler"))
    assert more.text.startswith("Här är fler förslag")
    assert "4. " in more.text and more.buttons[0].action == "detail:4"
    # The last page (Familjeguiden is offered as a person, not listed).
    assert [b.action for b in more.buttons] == ["detail:4", "handoff"]
    [detail] = await core.handle(msg("2"))
    assert detail.services[0].name == "Elevhälsan"
    assert "E-post: eh@x.test" in detail.text and "vardagar 8-16" in detail.text
    assert "Via skolan" in detail.text
    [first] = await core.handle(msg("1"))
    assert "Uppgifterna kontrollerades senast 2026-03-01." in first.text
    await core.handle(msg("2"))
    [cost] = await core.handle(msg("vad kostar det?"))
    assert cost.text == "Elevhälsan: Gratis"
    [thanks] = await core.handle(msg("tack!"))
    assert thanks.text.startswith("Varsågod")


async def test_more_runs_out_and_offers_a_person(core) -> None:
    [only] = await core.handle(msg("alkohol"))  # one hit only: no "Fler" button
    assert [b.action for b in only.buttons] == ["detail:1", "handoff"]
    [reply] = await core.handle(msg("fler"))
    assert "inga fler" in reply.text and reply.buttons[0].action == "handoff"


async def test_button_actions_work_like_typed_words(core) -> None:
    await core.handle(msg("skola sömn oro"))
    [detail] = await core.handle(msg("Elevhälsan", action="detail:2"))
    assert detail.services[0].name == "Elevhälsan"
    [missing] = await core.handle(msg("9"))
    assert "nummer 9" in missing.text


async def test_urgent_guidance_comes_first_in_its_own_reply(core) -> None:
    replies = await core.handle(msg("han har tagit tabletter och svarar knappt"))
    assert replies[0].urgent and "Ring 112" in replies[0].text and "90101" in replies[0].text
    assert len(replies) == 2 and not replies[1].urgent


async def test_not_confident_says_so_and_offers_a_person(core) -> None:
    [reply] = await core.handle(msg("undrar över något helt annat kring skola idag ju"))
    assert "inte säker" in reply.text and any(b.action == "handoff" for b in reply.buttons)
    [none] = await core.handle(msg("xyzzy plugh"))
    assert "hittade tyvärr inget" in none.text


async def test_handoff_consent_yes_opens_case_then_messages_are_relayed(
    core, handoff, sessions
) -> None:
    await core.handle(msg("skola oro"))
    [consent] = await core.handle(msg("kan jag få ringa någon?"))
    assert "får läsa samtalet" in consent.text and [b.action for b in consent.buttons] == [
        "yes",
        "no",
    ]
    [ack] = await core.handle(msg("ja"))
    assert ack.text == "Tack! En lots hör av sig." and len(handoff.opened) == 1
    assert handoff.opened[0][1] == "En lots i din kommun får läsa samtalet."
    [seen] = await core.handle(msg("han vill inte gå till skolan i morgon"))
    assert seen.text == "Lotsen ser ditt meddelande."
    assert handoff.relayed == ["han vill inte gå till skolan i morgon"]
    urgent = await core.handle(msg("nu har han tagit tabletter"))  # acknowledged once already
    assert len(urgent) == 1 and urgent[0].urgent
    assert (await conversation(sessions)).state == "with_coordinator"


async def test_handoff_declined_opens_nothing(core, handoff) -> None:
    await core.handle(msg("I want to talk to a person", action="handoff"))
    [reply] = await core.handle(msg("nej"))
    assert "skickar inget" in reply.text and handoff.opened == []


async def test_without_handoff_the_coordinator_contacts_are_given(
    sessions, clock, directory
) -> None:
    core = make_core(sessions, clock, directory, handoff=None)
    [reply] = await core.handle(msg("prata med någon"))
    assert "0586-000 01" in reply.text and "https://x.test/fg" in reply.text


async def test_radera_asks_then_deletes_everything(core, handoff, sessions) -> None:
    await core.handle(msg("skola oro"))
    [ask] = await core.handle(msg("/radera"))
    assert "radera ja" in ask.text and (await conversation(sessions)) is not None
    [done] = await core.handle(msg("ja"))
    assert "raderade" in done.text
    assert await conversation(sessions) is None and await stored(sessions) == []
    assert len(handoff.forgotten) == 1


async def test_radera_can_be_cancelled_and_confirmed_in_one_message(core, sessions) -> None:
    await core.handle(msg("radera"))
    [kept] = await core.handle(msg("nej"))
    assert "inget raderades" in kept.text and await conversation(sessions) is not None
    await core.handle(msg("radera ja"))
    assert await conversation(sessions) is None


async def test_redelivered_message_is_answered_once_and_stored_once(core, sessions) -> None:
    first = await core.handle(msg("skola oro", external_id="upd-1"))
    again = await core.handle(msg("skola oro", external_id="upd-1"))
    assert again == first
    assert len(await stored(sessions)) == 2


async def test_state_survives_a_restart(sessions, clock, directory) -> None:
    await make_core(sessions, clock, directory).handle(msg("skola sömn oro"))
    [more] = await make_core(sessions, clock, FakeDirectory()).handle(msg("fler"))
    assert "4. " in more.text


async def test_municipality_named_in_text_or_via_kommun_is_remembered(core, sessions) -> None:
    [reply] = await core.handle(msg("skola i Norrköping"))
    assert "Svaren gäller" not in reply.text
    assert (await conversation(sessions)).municipality == "Norrköping"
    [ask] = await core.handle(msg("kommun"))
    assert "Vilken kommun" in ask.text
    [ok] = await core.handle(msg("Degerfors"))
    assert "Degerfors" in ok.text
    assert (await conversation(sessions)).municipality == "Degerfors"


async def test_channel_hint_presets_municipality(core, directory, sessions) -> None:
    [welcome] = await core.handle(msg("/start", municipality_hint="Norrköping"))
    assert "Svaren gäller Norrköping" in welcome.text
    await core.handle(msg("skola"))
    assert directory.matcher.queries[-1].municipality == "Norrköping"


async def test_english_question_gets_english_answer(core) -> None:
    [reply] = await core.handle(msg("my son does not want to go to skola, what can I do"))
    assert reply.text.startswith("Here are") or reply.text.startswith("I am not sure")
    [cost] = await core.handle(msg("what does it cost?"))
    assert "I do not know what" in cost.text and "Gratis" in cost.text


@pytest.mark.parametrize("text", ["", "   ", "😂😂😂", "?!", "a" * 12_000])
async def test_bad_input_gets_a_friendly_answer(core, text: str) -> None:
    replies = await core.handle(msg(text))
    assert replies and all(isinstance(r, Reply) and r.text for r in replies)


async def test_very_long_message_is_stored_cut_and_parent_told(core, sessions) -> None:
    replies = await core.handle(msg("skola " * 3000))
    assert "väldigt långt" in replies[-1].text
    assert len((await stored(sessions))[0].text) == 10_000


async def test_broken_matcher_gives_a_kind_error_and_keeps_the_message(
    core, directory, sessions
) -> None:
    directory.matcher.fail = True
    [reply] = await core.handle(msg("skola"))
    assert "något gick fel" in reply.text and "112" in reply.text
    assert [m.author for m in await stored(sessions)] == [Author.parent, Author.bot]


async def test_history_lists_messages_in_order(core, sessions) -> None:
    await core.handle(msg("hej", sender="s1"))
    await core.handle(msg("skola", sender="s1"))
    conv = await conversation(sessions)
    history = await core.history(conv.id)
    assert [m["author"] for m in history] == ["parent", "bot", "parent", "bot"]
    assert history[-1]["buttons"][0]["action"] == "detail:1"
    assert await core.history("no-such-id") is None


async def test_cancelled_radera_returns_to_the_coordinator(core, handoff, sessions) -> None:
    await core.handle(msg("prata med någon"))
    await core.handle(msg("ja"))
    await core.handle(msg("radera"))
    [kept] = await core.handle(msg("nej"))
    assert "inget raderades" in kept.text
    assert (await conversation(sessions)).state == "with_coordinator"
    [seen] = await core.handle(msg("hör ni av er snart"))
    assert seen.text == "Lotsen ser ditt meddelande." and handoff.relayed == ["hör ni av er snart"]


async def test_a_lone_yes_without_a_question_is_answered_kindly(core) -> None:
    [reply] = await core.handle(msg("ja"))
    assert "Skriv först vad du undrar" in reply.text


async def test_unknown_municipality_is_not_stored(core, sessions) -> None:
    [reply] = await core.handle(msg("kommun Blaha"))
    assert "kände inte igen" in reply.text
    assert (await conversation(sessions)).municipality is None


async def test_without_handoff_or_coordinator_card_the_municipality_is_named(
    sessions, clock, directory
) -> None:
    core = make_core(sessions, clock, directory, handoff=None)
    await core.handle(msg("kommun Norrköping"))
    directory.matcher.cards = [c for c in directory.matcher.cards if c.name != "Familjeguiden"]
    [reply] = await core.handle(msg("prata med någon"))
    assert "socialtjänst i Norrköping" in reply.text


async def test_age_is_asked_when_it_changes_the_answer_and_refines_it(core, sessions) -> None:
    [reply] = await core.handle(msg("bråk hemma"))
    assert "Hur gammalt är barnet?" in reply.text
    assert {s.name for s in reply.services} == {"Familjecentralen", "Ungdomsgruppen"}
    [refined] = await core.handle(msg("hon är 15"))
    assert refined.text.startswith("Här är förslag för ett barn som är 15 år:")
    assert [s.name for s in refined.services] == ["Ungdomsgruppen"]
    assert "Hur gammalt" not in refined.text
    assert (await conversation(sessions)).age == 15
    [detail] = await core.handle(msg("1"))
    assert detail.services[0].name == "Ungdomsgruppen"


async def test_age_not_asked_when_services_serve_all_ages(core) -> None:
    [reply] = await core.handle(msg("skola sömn oro"))
    assert "Hur gammalt" not in reply.text
    [noted] = await core.handle(msg("12 år", sender="other"))
    assert "12 år" in noted.text and "Skriv din fråga" in noted.text


def test_every_text_exists_in_swedish_and_english_with_the_same_placeholders() -> None:
    import string

    from bot.core.texts import TEXTS

    assert TEXTS["sv"].keys() == TEXTS["en"].keys()
    for key, swedish in TEXTS["sv"].items():
        fields = {f for _, f, _, _ in string.Formatter().parse(swedish) if f}
        english = {f for _, f, _, _ in string.Formatter().parse(TEXTS["en"][key]) if f}
        assert fields == english, key


def test_the_core_imports_no_channel_or_web_framework() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, bot.core.conversation; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'fastapi', 'starlette', 'aiogram', 'twilio'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("kan jag få ringa någon?", "handoff"),
        ("Prata med någon", "handoff"),
        ("kan jag inte få prata med en människa?", "handoff"),
        ("I want to talk to a person", "handoff"),
        ("han vill inte prata med någon", "question"),
        ("min son vägrar prata med någon om skolan", "question"),
        ("vad kostar det?", "cost"),
        ("Tack så mycket!", "thanks"),
        ("FLER", "more"),
        ("2", "detail"),
        ("/radera", "delete"),
        ("radera ja", "delete_confirmed"),
        ("/kommun Örebro", "municipality"),
        ("hon är 15", "age"),
        ("/start", "greet"),
        ("hjälp", "help"),
        ("🙈", "empty"),
    ],
)
def test_messages_are_read_the_way_people_write_them(text: str, intent: str) -> None:
    from bot.core.intents import classify

    assert classify(text).intent == intent


async def test_an_unknown_channel_hint_is_ignored(core, sessions) -> None:
    [reply] = await core.handle(msg("skola oro", municipality_hint="Atlantis"))
    assert "Svaren gäller Degerfors" in reply.text
    assert (await conversation(sessions)).municipality is None


@pytest.mark.parametrize(
    "answer", ["jaa kör", "Ja, det går bra att ni kontaktar oss.", "yes please"]
)
async def test_consent_in_the_parents_own_words_opens_a_case(core, handoff, answer) -> None:
    await core.handle(msg("skola oro"))
    await core.handle(msg("kan jag få ringa någon?"))
    [ack] = await core.handle(msg(answer))
    assert len(handoff.opened) == 1 and "lots" in ack.text.lower()


async def test_an_unclear_answer_to_the_consent_question_asks_again(core, handoff, sessions):
    await core.handle(msg("skola oro"))
    await core.handle(msg("kan jag få ringa någon?"))
    [again] = await core.handle(msg("ja men inte nu"))
    assert "Svara ja" in again.text and handoff.opened == []
    assert (await conversation(sessions)).state == "awaiting_consent"
    [declined] = await core.handle(msg("nej tack, inte just nu"))
    assert "skickar inget" in declined.text and handoff.opened == []


async def test_a_new_question_at_the_consent_step_is_answered(core, handoff, sessions) -> None:
    await core.handle(msg("skola oro"))
    await core.handle(msg("kan jag få ringa någon?"))
    [answer] = await core.handle(msg("vad finns det för stöd för en bebis som inte sover?"))
    assert answer.services and handoff.opened == []
    assert (await conversation(sessions)).state == "idle"


async def test_deleting_is_confirmed_in_the_parents_own_words(core, sessions) -> None:
    await core.handle(msg("skola oro"))
    await core.handle(msg("radera"))
    [done] = await core.handle(msg("ja ta bort allt"))
    assert "raderade" in done.text and await conversation(sessions) is None
