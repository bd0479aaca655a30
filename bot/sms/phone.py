"""Phone numbers: one normaliser to E.164, accepting Swedish forms like 070-123 45 67."""

from __future__ import annotations

import phonenumbers


def to_e164(raw: str, *, region: str = "SE") -> str:
    """Return the E.164 form, or raise ValueError with a reason a person can act on."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_short_code(raw: str) -> bool:
    """Emergency and helpline short numbers (112, 1177, 90101, 116 111) are not E.164."""
    digits = raw.replace(" ", "").replace("-", "")
    return digits.isdigit() and len(digits) <= 6
