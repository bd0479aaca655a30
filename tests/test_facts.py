"""Age and language read from a parent's text."""

from __future__ import annotations

import pytest

from directory.facts import detect_language, extract_age, fold


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
