"""Privacy helpers: redact personnummer before storing, hash addresses before logging."""

from __future__ import annotations

import hashlib
import hmac
import re

# YYMMDD or YYYYMMDD, optional -/+ separator, four digits. Samordningsnummer add 60 to the day.
_PNR = re.compile(r"(?<!\d)(?:19|20)?(\d{2})(\d{2})(\d{2})([-+ ]?)(\d{4})(?!\d)")
REDACTED = "[personnummer borttaget]"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _looks_like_pnr(m: re.Match[str]) -> bool:
    _yy, mm, dd, sep, last4 = m.groups()
    day = int(dd) - 60 if int(dd) > 60 else int(dd)
    if not (1 <= int(mm) <= 12 and 1 <= day <= 31):
        return False
    # With a separator the shape alone is telling; without one, phone numbers look alike,
    # so also require the personnummer check digit.
    return bool(sep.strip()) or _luhn_ok(_yy + mm + dd + last4)


def redact(text: str) -> str:
    """Replace anything shaped like a Swedish personnummer or samordningsnummer."""
    return _PNR.sub(lambda m: REDACTED if _looks_like_pnr(m) else m.group(0), text)


def ref_hash(ref: str, *, salt: str) -> str:
    """A short keyed hash of a phone number or chat id: stable in logs, not reversible."""
    return hmac.new(salt.encode(), ref.encode(), hashlib.sha256).hexdigest()[:12]
