"""SMS segment arithmetic: GSM-7 (160/153 septets) versus UCS-2 (70/67 UTF-16 units).

Swedish å ä ö Å Ä Ö é are in the GSM 03.38 basic alphabet, so ordinary Swedish text stays
GSM-7. One character outside the alphabet (an emoji, a curly quote) turns the whole
message into UCS-2 and cuts each segment to 70 characters, so texts we write avoid them.
Reference: 3GPP TS 23.038 section 6.2.1 and Twilio's "What the heck is a segment?".
"""

from __future__ import annotations

import math

# The 127 printable characters of the basic table (the escape 0x1B is not a character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (escape + character).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153  # multipart messages lose 7 septets to the UDH
UCS2_SINGLE, UCS2_MULTI = 70, 67


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _units(text: str) -> list[int]:
    """Cost of each character: septets for GSM-7, UTF-16 code units for UCS-2."""
    if is_gsm7(text):
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [len(ch.encode("utf-16-le")) // 2 for ch in text]


def segments(text: str) -> int:
    """How many SMS segments the text is billed and sent as (0 for the empty text)."""
    units = _units(text)
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if is_gsm7(text) else (UCS2_SINGLE, UCS2_MULTI)
    total = sum(units)
    if total <= single:
        return 1 if total else 0
    # An escape pair or a surrogate pair is never split across segments.
    count, used = 1, 0
    for cost in units:
        if used + cost > multi:
            count, used = count + 1, 0
        used += cost
    return max(count, math.ceil(total / multi))


def fits(text: str, max_segments: int) -> bool:
    return segments(text) <= max_segments


# Typographic characters that would silently switch a message to UCS-2, and their
# GSM-7 look-alikes. Anything else outside the alphabet (a name in Arabic script) is kept.
_LOOKALIKES = str.maketrans(
    {
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u201c": '"', "\u201d": '"',
        "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u2018": "'", "\u2019": "'",
        "\u2022": "*", "\u00b7": "*", "\u00a0": " ", "\u202f": " ", "\u2009": " ",
        "\u2026": "...", "\u00e1": "a", "\u00ea": "e", "\u00eb": "e", "\u00c8": "E",
    }
)  # fmt: skip


def to_gsm7(text: str) -> str:
    """Replace typographic look-alikes so Swedish text stays GSM-7 (160 per segment)."""
    return text.translate(_LOOKALIKES)


def trim_to_segments(
    text: str, *, max_segments: int, suffix: str = "", cut_marker: str = "..."
) -> str:
    """text + suffix if it fits in max_segments, else text cut at a word + cut_marker + suffix."""
    if fits(text + suffix, max_segments):
        return text + suffix
    words = text.split(" ")
    while words:
        words.pop()
        candidate = " ".join(words).rstrip(" ,.;:\n") + cut_marker + suffix
        if fits(candidate, max_segments):
            return candidate
    tail = cut_marker.strip() + suffix
    return tail if fits(tail, max_segments) else tail[: GSM7_MULTI * max_segments]
