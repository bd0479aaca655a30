"""Age and language read from a parent's text."""

from __future__ import annotations

from datetime import date

import pytest

from directory.facts import age_only, detect_language, extract_age, fold, language_evidence

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("min kille 15 har slutat gå till skolan", 15),
        ("sonen 16 har fått en ny kompis", 16),
        ("vår 4-åring vägrar sova", 4),
        ("vår treåring biter på förskolan", 3),
        ("min tvååring", 2),
        ("Föräldraledig med min dotter som är 7 mån.", 0),
        ("ska gå på 18 månaderskontroll med sonen", 1),
        ("my 12 year old niece is being bullied", 12),
        ("Min dotter på 14 mår dåligt", 14),
        ("Kalle (13) vill inte gå till skolan", 13),
        ("Hon går i åttan på Stora Vallaskolan", 14),
        ("han har börjat sjuan", 13),
        ("han e 16 o har massa cash", 16),
        ("En 17-årig kille", 17),
        ("my son is 17", 17),
        ("Barnen (5 och 9) är hos honom", 5),
        ("Min son 8 år har en syster som är 3 år", 8),
    ],
)
def test_extract_age(text: str, expected: int) -> None:
    assert extract_age(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "hon har 39,8 i feber",
        "det tar 20 min att åka dit",
        "skolan har ringt tre gånger",
        "jag har ringt 10 gånger",
        "vi har väntat i 3 år på en utredning",
        "det hände för 2 år sedan",
        "",
        "😀",
        "0701234567",
    ],
)
def test_numbers_that_are_not_ages(text: str) -> None:
    assert extract_age(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hon är tre och ett halvt", 3),
        ("han fyller åtta i mars", 8),
        ("nej hon är femton inte fem", 15),
        ("nej inte 5 utan 15", 15),
        ("Vår tjej är precis fyllda 10", 10),
        ("sorry, wrong age, she's 13", 13),
        ("min son är tre år gammal", 3),
        ("he is twelve", 12),
        ("she turns eight in March", 8),
        ("ÅLDER 14", 14),
        ("född 2017", 9),
        ("Han är född i mars 2015", 11),
        ("född -17", 9),
        ("born in 2019", 7),
    ],
)
def test_ages_in_words_corrections_and_years_of_birth(text: str, expected: int) -> None:
    assert extract_age(text, today=TODAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "vi är fyra i familjen",
        "det är två saker jag undrar över",
        "hon är en glad tjej",
        "vi har bott här i tre år",
        "det var tre år sedan",
        "han har varit ledsen i två veckor",
        "född 1980",  # a parent's year: not a child's age
    ],
)
def test_words_that_are_not_ages(text: str) -> None:
    assert extract_age(text, today=TODAY) is None


def test_a_year_of_birth_needs_the_callers_clock() -> None:
    assert extract_age("född 2017") is None
    assert extract_age("född 2017", today=date(2030, 1, 1)) == 13


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hon är 7", 7),
        ("hon är tre och ett halvt", 3),
        ("nej fel av mig hon är 15!! inte 5. skrev för fort", 15),
        ("Han är född 2017", 9),
        ("min son 15", 15),
        ("12 år", 12),
        ("hon är 3 år och biter andra barn", None),  # a question with an age in it
        ("han är 15 och mår dåligt", None),
        ("vad kostar det", None),
    ],
)
def test_age_only(text: str, expected: int | None) -> None:
    assert age_only(text, today=TODAY) == expected


def test_language_evidence_is_none_on_a_tie() -> None:
    assert language_evidence("any more options?") is None
    assert language_evidence("what does it cost") == "en"
    assert language_evidence("vad kostar det") == "sv"


def test_long_input_is_fine() -> None:
    assert extract_age("a" * 10_000) is None
    assert extract_age("min son är 9 " + "x " * 5_000) == 9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hej, min son är 12 och vi bor i Osby", "sv"),
        ("hej jag undrar var bvc ligger", "sv"),
        ("Hello, my nephew is 17 and lives in Degerfors", "en"),
        ("where can I get help for my daughter?", "en"),
        ("", "sv"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_fold() -> None:
    assert fold("Hässleholm ÖSTRA Göinge") == "hassleholm ostra goinge"
