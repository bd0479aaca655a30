"""Odd input gives a clear result and never an exception (bundled directory)."""

from __future__ import annotations

import pytest

from directory.matcher import Matcher
from directory.matching import Query
from directory.municipalities import MunicipalityResolver
from directory.seed import load_bundled_directory
from directory.synonyms import load_bundled_synonyms
from directory.triage import Triage
from directory.urgency import UrgencyRules
from tests.factories import card


@pytest.fixture(scope="module")
def bundled() -> Matcher:
    """The bundled services as cards, without a database (the store is tested elsewhere)."""
    cards = [card(e.service.name, **_fields(e.service)) for e in load_bundled_directory().services]
    return Matcher.build(
        cards,
        synonyms=load_bundled_synonyms(),
        resolver=MunicipalityResolver.load(),
        triage=Triage(UrgencyRules.load()),
        default_municipality="Degerfors",
    )


def _fields(s) -> dict:  # type: ignore[no-untyped-def]
    return {
        "keywords": tuple(s.keywords),
        "description": s.description,
        "summary": s.summary,
        "scope": str(s.scope),
        "municipalities": tuple(s.municipalities),
        "min_age": s.min_age,
        "max_age": s.max_age,
        "categories": tuple(s.categories),
        "alternate_name": s.alternate_name,
    }


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😂😂🙏🏽", "1234567890", "???!!!", "a", "\x00\n\t", "ÅÄÖ åäö", "𝕳𝖊𝖏"],
)
def test_empty_or_meaningless_input_offers_the_coordinator(bundled: Matcher, text: str) -> None:
    result = bundled.match(Query(text))
    assert result.confident is False
    assert result.urgent is False
    assert result.hits[0].service.name == "Familjeguiden"
    assert len(result.hits) >= 3


def test_ten_thousand_characters_are_handled(bundled: Matcher) -> None:
    text = ("Min son vill inte gå till skolan och sitter hemma hela dagarna. " * 200)[:10_000]
    result = bundled.match(Query(text, age=14))
    names = [h.service.name for h in result.hits]
    assert "Elevhälsan" in names[:3]
    assert result.urgent is False


def test_one_very_long_word_is_handled(bundled: Matcher) -> None:
    result = bundled.match(Query("x" * 10_000))
    assert result.confident is False


def test_english_text_finds_services_and_english_reasons(bundled: Matcher) -> None:
    result = bundled.match(
        Query("Our son has Down syndrome and needs a wheelchair. We live in Kristianstad.", age=6)
    )
    assert result.hits[0].service.name == "Barn- och ungdomshabiliteringen"
    assert result.hits[0].reason.startswith("matches: ")


def test_unknown_municipality_still_gets_national_services(bundled: Matcher) -> None:
    result = bundled.match(Query("min dotter 15 äter ingenting", municipality="Ingenstans"))
    scopes = {h.service.scope for h in result.hits}
    assert scopes <= {"national"}
    assert result.hits


def test_negative_or_huge_age_does_not_crash(bundled: Matcher) -> None:
    assert bundled.match(Query("skolan", age=-3)).hits == []
    assert bundled.match(Query("skolan", age=99)).hits == []
