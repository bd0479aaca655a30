"""Privacy helpers: redact personnummer before storing, hash addresses before logging.

`redact` is the one place personnummer are found. People write them in many ways:
19811218-9876, 811218-9876, 811218–9876 (a dash from a phone keyboard), 811218 9876,
1981-12-18-9876, 1981.12.18-9876, 20100101+1236 (the "+" of someone over 100) and
8112189876; samordningsnummer add 60 to the day. Policy: any of these with a plausible
date is redacted whether or not its check digit is right (a mistyped number is still
somebody's number, and a false alarm only hides digits). The single exception is ten digits
in a row starting with 0: that is also how Swedish phone numbers are written, so there the
check digit must be right. Dates alone, ages, short numbers and phone numbers in their usual
forms (0586-480 00, 070-123 45 67, 112) never look like this and stay.
"""

from __future__ import annotations

import hashlib
import hmac
import re

REDACTED = "[personnummer borttaget]"

# Dashes people type (hyphen, the phone keyboard's en dash, em dash, minus sign...).
_DASH = "\\-\u2010\u2011\u2012\u2013\u2014\u2212"
# Between the date and the last four: a dash or "+", optionally spaced, a space or a dot.
_SEP = rf"(?:\s*[{_DASH}+]\s*|[ \t\u00a0\u202f.])"
# YYYYMMDD or YYMMDD in a row, an optional separator, four digits.
_COMPACT = rf"(?P<c_year>(?:19|20)?\d\d)(?P<c_month>\d\d)(?P<c_day>\d\d)(?P<c_sep>{_SEP})?"
# YYYY-MM-DD or YY-MM-DD written with separators, then a dash or "+" or the same separator
# again: "2010-01-01-1236", "2010 01 01 1236"; not "2010-01-01 1400" (a date and a time).
_GROUPED = (
    rf"(?P<g_year>(?:19|20)?\d\d)(?P<g_sep>[{_DASH}./ ])(?P<g_month>\d\d)(?P=g_sep)"
    rf"(?P<g_day>\d\d)(?:\s*[{_DASH}+]\s*|(?P=g_sep))"
)
# Not inside a longer number, nor the start of a date range ("2024-01-01 – 2024-12-31").
_PNR = re.compile(
    rf"(?<![\d{_DASH}])(?:{_COMPACT}|{_GROUPED})(?P<last>\d{{4}})(?!\d|[{_DASH}/]\d)"
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _plausible_date(month: str, day: str) -> bool:
    day_number = int(day) - 60 if int(day) > 60 else int(day)  # samordningsnummer
    return 1 <= int(month) <= 12 and 1 <= day_number <= 31


def _looks_like_pnr(m: re.Match[str]) -> bool:
    if m["g_year"] is not None:
        return _plausible_date(m["g_month"], m["g_day"])
    year, month, day = m["c_year"], m["c_month"], m["c_day"]
    if not _plausible_date(month, day):
        return False
    if m["c_sep"] is None and len(year) == 2 and year.startswith("0"):
        # 0701234567 is as likely a mobile number: only a right check digit says otherwise.
        return _luhn_ok(year + month + day + m["last"])
    return True


def redact(text: str) -> str:
    """Replace anything shaped like a Swedish personnummer or samordningsnummer."""
    return _PNR.sub(lambda m: REDACTED if _looks_like_pnr(m) else m.group(0), text)


def ref_hash(ref: str, *, salt: str) -> str:
    """A short keyed hash of a phone number or chat id: stable in logs, not reversible."""
    return hmac.new(salt.encode(), ref.encode(), hashlib.sha256).hexdigest()[:12]
