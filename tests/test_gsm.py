"""SMS segment counting: Swedish letters stay GSM-7; one emoji makes it UCS-2."""

import pytest

from bot.sms.gsm import is_gsm7, segments, trim_to_segments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("åäöÅÄÖé" * 22 + "åäöÅÄ", 1),  # 159 Swedish letters: still one GSM-7 segment
        ("ö" * 160, 1),
        ("ö" * 161, 2),
        ("€" * 80, 1),  # extension characters cost two septets
        ("€" * 81, 2),
        ("a" * 70 + "😀", 2),  # emoji: UCS-2, and it is two UTF-16 units
        ("ü" * 70 + "ł", 2),  # ł is not GSM-7
        ("ł" * 70, 1),
        ("ł" * 71, 2),
        ("ł" * 134, 2),
        ("ł" * 135, 3),
    ],
)
def test_segment_counts(text: str, expected: int) -> None:
    assert segments(text) == expected


def test_swedish_is_gsm7_and_curly_quotes_are_not() -> None:
    assert is_gsm7("Hej! Välkommen till Familjeguiden. Svara ÄNDRA för en annan tid.")
    assert not is_gsm7("”Hej”")


def test_an_escape_pair_is_not_split_across_segments() -> None:
    # 152 septets then a two-septet € would straddle the 153-septet boundary.
    assert segments("a" * 152 + "€" + "a" * 152) == 3  # 306 septets, yet 3 segments


def test_trim_keeps_words_and_the_pointer() -> None:
    text = " ".join(["ordet"] * 200)
    trimmed = trim_to_segments(text, max_segments=3, suffix=" Läs mer: https://x.se")
    assert segments(trimmed) <= 3 and trimmed.endswith("... Läs mer: https://x.se")
    assert "orde..." not in trimmed
