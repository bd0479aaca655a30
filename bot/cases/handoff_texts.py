"""What the parent reads around a handoff: consent, acknowledgement, satisfaction question.

Swedish first; English when the parent writes English. Dates are spelled out by hand so
the output does not depend on the server's locale.
"""

from __future__ import annotations

from datetime import datetime

WEEKDAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
MONTHS_SV = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)


def _english(language: str) -> bool:
    return language.lower().startswith("en")


def when(at: datetime, *, now: datetime, language: str = "sv") -> str:
    """'i dag kl. 14:00', 'i morgon kl. 08:00', 'måndag 30 november kl. 08:00'."""
    local_now = now.astimezone(at.tzinfo)
    clock = at.strftime("%H:%M")
    days = (at.date() - local_now.date()).days
    if _english(language):
        if days in (0, 1):
            return f"{('today', 'tomorrow')[days]} at {clock}"
        return f"{at.strftime('%A %-d %B')} at {clock}"
    if days in (0, 1):
        return f"{('i dag', 'i morgon')[days]} kl. {clock}"
    return f"{WEEKDAYS_SV[at.weekday()]} {at.day} {MONTHS_SV[at.month - 1]} kl. {clock}"


def consent(*, municipality: str, language: str = "sv") -> str:
    if _english(language):
        return (
            f"I can pass your question to a lots (a guide) in {municipality}. The guide will see "
            "what you have written here so far and the services I suggested, and will "
            "answer you here."
        )
    return (
        f"Jag kan skicka din fråga till en lots i {municipality}. Lotsen får då "
        "läsa det du har skrivit här hittills och vilka stöd jag har föreslagit, och svarar "
        "dig här."
    )


def acknowledgement(
    *,
    municipality: str,
    answer_by: datetime,
    opens_at: datetime | None,
    now: datetime,
    language: str = "sv",
) -> str:
    """Thanks + when to expect an answer; outside office hours also emergency guidance."""
    answer = when(answer_by, now=now, language=language)
    if _english(language):
        text = f"Thank you! A guide in {municipality} will answer you here by {answer}."
        if opens_at is not None:
            text += (
                f" We are closed right now and open {when(opens_at, now=now, language=language)}."
                " If it is an emergency, call 112. Familjeguiden is not an emergency service."
            )
        return text
    text = f"Tack! En lots i {municipality} svarar dig här senast {answer}."
    if opens_at is not None:
        text += (
            f" Vi har stängt just nu och öppnar {when(opens_at, now=now)}."
            " Om det är akut, ring 112. Familjeguiden är ingen akuttjänst."
        )
    return text


def message_seen(*, opens_at: datetime | None, now: datetime, language: str = "sv") -> str:
    """A message written while a case is open: the lots will read it; when closed, when."""
    if _english(language):
        text = "Thank you, the guide will see your message and answer you here."
        if opens_at is not None:
            text += (
                f" We are closed right now and open {when(opens_at, now=now, language=language)}."
                " If it is an emergency, call 112."
            )
        return text
    text = "Tack, lotsen ser ditt meddelande och svarar dig här."
    if opens_at is not None:
        text += (
            f" Vi har stängt just nu och öppnar {when(opens_at, now=now)}."
            " Om det är akut, ring 112."
        )
    return text


def satisfaction_question(*, language: str = "sv") -> str:
    if _english(language):
        return (
            "Your case is now closed. How satisfied are you with the help? Answer with a "
            "number from 1 (not at all) to 5 (very). Your answer is anonymous."
        )
    return (
        "Ditt ärende är nu avslutat. Hur nöjd är du med hjälpen? Svara med en siffra från "
        "1 (inte alls) till 5 (mycket). Svaret är anonymt. Du kan alltid skriva igen."
    )


def satisfaction_thanks(*, language: str = "sv") -> str:
    if _english(language):
        return "Thank you for your answer! You are always welcome to write again."
    return "Tack för ditt svar! Du är alltid välkommen att skriva igen."
