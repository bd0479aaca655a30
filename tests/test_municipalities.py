"""The municipality resolver: all 290 names, typos, ordinary-word names, several places."""

from __future__ import annotations

import pytest

from directory.municipalities import MunicipalityResolver


@pytest.fixture(scope="module")
def resolver() -> MunicipalityResolver:
    return MunicipalityResolver.load()


def test_exactly_290_unique_municipalities(resolver: MunicipalityResolver) -> None:
    names = resolver.all()
    assert len(names) == 290
    assert len(set(names)) == 290
    assert {"Degerfors", "Östra Göinge", "Upplands-Bro", "Malung-Sälen", "Gotland"} <= set(names)


def test_every_name_resolves_to_itself(resolver: MunicipalityResolver) -> None:
    for name in resolver.all():
        assert resolver.canonical(name) == name
        assert resolver.find_in_text(f"Vi bor i {name} sedan två år.") == name
        assert resolver.county(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vi bor i Kristianstad", "Kristianstad"),
        ("här i Hässleholm finns det inget", "Hässleholm"),
        ("Norrköping här.", "Norrköping"),
        ("Bor i Karlskoga.", "Karlskoga"),
        ("we live in Osby", "Osby"),
        ("vi bor i kristiansatd", "Kristianstad"),
        ("hassleholm", "Hässleholm"),
        ("finns det nåt i degerfors", "Degerfors"),
        ("vi bor i Östra Göinge", "Östra Göinge"),
        ("i ostra goinge", "Östra Göinge"),
        ("Göteborg", "Göteborg"),
        ("Vad har Kristianstads kommun för stöd?", "Kristianstad"),
        ("bor i stockhlom", "Stockholm"),
        ("vi bor i Vara", "Vara"),
        ("vi bor i lund", "Lund"),
        ("Vi är nya i Boden.", "Boden"),
        ("bor i Upplands-Bro", "Upplands-Bro"),
    ],
)
def test_find_in_text(resolver: MunicipalityResolver, text: str, expected: str) -> None:
    assert resolver.find_in_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "det kan vara bra att veta",
        "han ramlade på marken",
        "Min son Mark har slutat äta",
        "I am kinda worried about my son",
        "we are in Mark's room",
        "cyklarna står i boden",
        "hon har en ny leksak",
        "ta med en hammare",
        "han kommer inte att vara här imorgon",
        "",
        "😀😀",
        "1234567",
    ],
)
def test_no_false_hits(resolver: MunicipalityResolver, text: str) -> None:
    assert resolver.find_in_text(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Vi har precis flyttat till Degerfors från Göteborg", "Degerfors"),
        ("Vi flyttade från Göteborg till Degerfors i våras", "Degerfors"),
        ("Hon bodde i Malmö men bor nu i Lund", "Lund"),
        ("Jag kommer från Umeå men vi bor i Osby", "Osby"),
    ],
)
def test_prefers_where_they_live_now(
    resolver: MunicipalityResolver, text: str, expected: str
) -> None:
    assert resolver.find_in_text(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/kommun kristianstad", "Kristianstad"),
        ("Hassleholms kommun", "Hässleholm"),
        ("goteborg", "Göteborg"),
        ("Gothenburg", "Göteborg"),
        ("upplands bro", "Upplands-Bro"),
        ("Kristiansatd", "Kristianstad"),
        ("Atlantis", None),
        ("", None),
        ("kommun", None),
    ],
)
def test_canonical(resolver: MunicipalityResolver, raw: str, expected: str | None) -> None:
    assert resolver.canonical(raw) == expected


def test_regions(resolver: MunicipalityResolver) -> None:
    members = resolver.region_members("skane nordost")
    assert members == [
        "Kristianstad",
        "Hässleholm",
        "Bromölla",
        "Osby",
        "Perstorp",
        "Östra Göinge",
    ]
    assert all(m in resolver.all() for m in members)
    assert resolver.regions_of("Osby") == ["Skåne nordost"]
    assert resolver.regions_of("Degerfors") == []
    assert resolver.region_members("Atlantis") == []
