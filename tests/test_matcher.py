"""The matcher on small directories built in the test, and on the bundled one."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.clock import FakeClock
from bot.db import SessionFactory
from directory.index import DirectoryIndex
from directory.matcher import Matcher
from directory.matching import MunicipalitySource, Query
from directory.models import Service
from directory.seed import seed_bundled_directory
from tests import factories

CARDS = factories.SMALL_DIRECTORY
card = factories.card


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return factories.small_matcher()


def names(matcher: Matcher, text: str, **kw) -> list[str]:
    return [h.service.name for h in matcher.match(Query(text, **kw)).hits]


def test_diacritics_compounds_and_inflections_find_the_service(matcher: Matcher) -> None:
    for text in (
        "skolfranvaro",
        "hon har stor frånvaro från skolan",
        "kan man prata med kuratorn",
    ):
        assert names(matcher, text)[0] == "Elevhälsan", text


def test_typo_still_finds_the_service(matcher: Matcher) -> None:
    assert names(matcher, "min dotter har tvangstankr")[0] == "Barn- och ungdomspsykiatrin (BUP)"


def test_compound_in_question_matches_split_keyword(matcher: Matcher) -> None:
    assert names(matcher, "pappa har missbruksproblem, finns det stödgrupper?")[0] == (
        "Stödgrupp Degerfors"
    )


def test_short_acronym_name_is_found_when_written_as_acronym(matcher: Matcher) -> None:
    assert names(matcher, "Vad är SIG för något?", age=15)[0] == "Sociala insatsgrupper (SIG)"
    # lower-case "sig" is the Swedish pronoun, not the service
    result = matcher.match(Query("hon skäms och vill gömma sig", age=15))
    assert "Sociala insatsgrupper (SIG)" not in [h.service.name for h in result.hits[:1]]


def test_english_question_finds_the_same_service_as_swedish(matcher: Matcher) -> None:
    sv = names(matcher, "Min dotter har ätstörning och äter nästan ingenting", age=15)
    en = names(matcher, "My daughter has an eating disorder and is not eating", age=15)
    assert sv[0] == en[0] == "Barn- och ungdomspsykiatrin (BUP)"


def test_service_of_another_municipality_is_never_shown(matcher: Matcher) -> None:
    for kw in ({"municipality": "Kristianstad"}, {}):
        assert "Fritidsgården Osby" not in names(matcher, "fritid med kompisar", **kw)
    assert names(matcher, "fritid med kompisar", municipality="Osby")[0] == "Fritidsgården Osby"


def test_degerfors_service_is_never_shown_in_kristianstad(matcher: Matcher) -> None:
    for text in ("Elevhälsan", "skolfrånvaro kurator", "vi bor i Kristianstad, skolfrånvaro", ""):
        for kw in ({"municipality": "Kristianstad"}, {}):
            if not kw and "Kristianstad" not in text:
                continue
            assert "Elevhälsan" not in names(matcher, text, **kw), (text, kw)


def test_municipality_named_in_text_wins_over_the_given_one(matcher: Matcher) -> None:
    result = matcher.match(Query("vi bor i Osby, fritid för kompisar?", municipality="Degerfors"))
    assert result.municipality == "Osby"
    assert result.municipality_source == MunicipalitySource.text
    assert result.hits[0].service.name == "Fritidsgården Osby"


def test_default_municipality_applies_when_nothing_is_said(matcher: Matcher) -> None:
    result = matcher.match(Query("skolfrånvaro"))
    assert (result.municipality, result.municipality_source) == ("Degerfors", "default")


def test_age_outside_the_range_is_filtered(matcher: Matcher) -> None:
    assert "Barn- och ungdomspsykiatrin (BUP)" not in names(matcher, "depression", age=18)
    assert names(matcher, "depression", age=16)[0] == "Barn- och ungdomspsykiatrin (BUP)"
    assert "Barn- och ungdomspsykiatrin (BUP)" not in names(
        matcher, "min son 18 år har depression"
    )


def test_hits_have_scores_and_reasons(matcher: Matcher) -> None:
    hit = matcher.match(Query("skolfrånvaro och kurator")).hits[0]
    assert 0 < hit.score <= 100
    assert hit.reason.startswith("matchar: ")
    assert "kurator" in hit.reason


def test_at_least_three_results_when_three_fit(matcher: Matcher) -> None:
    assert len(matcher.match(Query("kurator")).hits) >= 3


def test_nonsense_is_not_confident_and_offers_the_coordinator(matcher: Matcher) -> None:
    result = matcher.match(Query("qwxz blorp flimflam"))
    assert result.confident is False
    assert result.hits[0].service.name == "Familjeguiden"


def test_clear_question_is_confident(matcher: Matcher) -> None:
    assert matcher.match(Query("skolfrånvaro, kurator och skolsköterska")).confident is True


def test_urgent_message_leads_with_112(matcher: Matcher) -> None:
    result = matcher.match(
        Query("Min sambo slår mig just nu och barnen gömmer sig, han står utanför dörren")
    )
    assert result.urgent is True
    assert result.hits[0].service.name == "SOS Alarm 112"
    assert result.hits[0].score == 100.0


def test_idiom_is_not_urgent(matcher: Matcher) -> None:
    result = matcher.match(Query("jag dör av skratt, hon är så rolig"))
    assert result.urgent is False


# --- DirectoryIndex: the matcher follows the database -----------------------------------


async def _add_keyword(sessions: SessionFactory, clock: FakeClock, name: str, word: str) -> None:
    async with sessions() as session:
        service = (await session.exec(select(Service).where(Service.name == name))).one()
        service.keywords = [*service.keywords, word]
        service.version += 1
        service.updated_at = clock()
        session.add(service)
        await session.commit()


def _top(m: Matcher, text: str) -> str:
    return m.match(Query(text)).hits[0].service.name


async def test_index_rebuilds_after_an_edit_within_the_check_interval(
    sessions: SessionFactory, clock: FakeClock
) -> None:
    async with sessions() as session:
        await seed_bundled_directory(session=session, clock=clock)
    index = DirectoryIndex(sessions, default_municipality="Degerfors", clock=clock)
    first = await index.get()
    assert _top(first, "ponnyridning") == "Familjeguiden"  # nothing matches yet

    await _add_keyword(sessions, clock, "Steget", "ponnyridning")
    assert await index.get() is first  # checked less than 2 s ago: no database round trip
    clock.advance(seconds=2)
    second = await index.get()
    assert second is not first
    assert _top(second, "ponnyridning") == "Steget"

    clock.advance(seconds=5)
    assert await index.get() is second  # revision unchanged: no rebuild


async def test_invalidate_rebuilds_at_once(sessions: SessionFactory, clock: FakeClock) -> None:
    async with sessions() as session:
        await seed_bundled_directory(session=session, clock=clock)
    index = DirectoryIndex(sessions, default_municipality="Degerfors", clock=clock)
    first = await index.get()
    await _add_keyword(sessions, clock, "Elevhälsan", "klätterkurs")
    index.invalidate()
    assert _top(await index.get(), "klätterkurs") == "Elevhälsan"
    assert await index.get() is not first
