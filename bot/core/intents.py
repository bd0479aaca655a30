"""What a parent's message asks for: a command, a follow-up, or a new question.

Only short messages are taken as commands or follow-ups, so "min son vill inte prata med
någon" stays a question while "kan jag få ringa någon?" asks for a person.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import overload

from directory.facts import detect_language, extract_age


class Intent(StrEnum):
    empty = "empty"
    greet = "greet"
    help = "help"
    thanks = "thanks"
    more = "more"
    detail = "detail"
    cost = "cost"
    handoff = "handoff"
    yes = "yes"
    no = "no"
    delete = "delete"
    delete_confirmed = "delete_confirmed"
    municipality = "municipality"
    age = "age"  # only the child's age ("12 år", "hon är 7"): refines the last answer
    question = "question"


@dataclass(frozen=True)
class Parsed:
    intent: Intent
    number: int | None = None  # detail:N
    argument: str = ""  # "kommun Norrköping" -> "Norrköping"
    language: str | None = None  # "en" when the wording itself is English
    also_person: bool = False  # a question that also asks for a person: answer, then offer


_ACTIONS = {
    "more": Intent.more,
    "handoff": Intent.handoff,
    "yes": Intent.yes,
    "no": Intent.no,
    "help": Intent.help,
    "delete": Intent.delete,
    "delete_yes": Intent.delete_confirmed,
    "municipality": Intent.municipality,
}

# Whole messages that are commands, "|"-separated; the language when the wording is English.
_PHRASES: list[tuple[str, Intent, str | None]] = [
    (
        "hej|hejsan|hallå|halla|tjena|tja|hej hej|/start|start|god morgon|god dag",
        Intent.greet,
        None,
    ),
    ("hi|hello|hey|good morning", Intent.greet, "en"),
    ("hjälp|hjalp|/hjalp|/hjälp|?|info|meny", Intent.help, None),
    ("help|/help", Intent.help, "en"),
    ("fler|mer|visa fler|fler förslag|flera|fler tack", Intent.more, None),
    ("more|show more|more please", Intent.more, "en"),
    ("ja|japp|jo|ja tack|gärna|ok|okej|javisst|absolut", Intent.yes, None),
    ("yes|yes please|sure|yep", Intent.yes, "en"),
    ("nej|nä|nej tack|nope|inte nu", Intent.no, None),
    ("no|no thanks", Intent.no, "en"),
    ("radera|/radera|radera mig|radera allt|radera mina uppgifter", Intent.delete, None),
    ("ta bort mina uppgifter|ta bort allt", Intent.delete, None),
    ("delete|/delete|delete my data", Intent.delete, "en"),
    ("radera ja|ja radera|ja, radera", Intent.delete_confirmed, None),
]
_EXACT: dict[str, tuple[Intent, str | None]] = {
    phrase: (intent, lang) for group, intent, lang in _PHRASES for phrase in group.split("|")
}

_THANKS = re.compile(r"^(tack|tusen tack|stort tack|tackar|thanks|thank you|thx)\b")
_DETAIL = re.compile(r"^(?:nr|nummer|number|no|#)?\s*(\d{1,2})$")
_COST = re.compile(r"\b(kostar|kosta|kostnad|avgift|gratis|pris|betala|cost|costs|free|price)\b")
_HANDOFF = re.compile(
    r"\b(prata|tala|snacka|ringa|träffa|talk|speak|call)\b.*"
    r"\b(någon|nån|person|människa|lots|lotsen|handläggare|samordnare|someone|person|human)\b"
)
# "han vill inte prata med någon" is about the child, not a wish to talk to a person.
_NEGATION = re.compile(r"\b(inte|ej|aldrig|vägrar|not|never|won't|refuses?|doesn't)\b")
_ASKING = re.compile(r"\b(kan|får|kunde) (jag|vi|man|ni) inte\b")  # "kan jag inte få ..."


def _negated(norm: str) -> bool:
    return bool(_NEGATION.search(norm)) and not _ASKING.search(norm)


_MUNICIPALITY = re.compile(r"^/?(?:byt(?:a)? )?kommun\b\s*(.*)$")
_SUBJECT = r"(?:hon|han|hen|barnet|dottern|sonen|min \w+|he|she|my \w+)"
_AGE_ONLY = (
    re.compile(
        rf"^(?:{_SUBJECT}\s+)?(?:är|is|blir|turns)?\s*(\d{{1,2}})\s*-?\s*"
        r"(år|years?|mån|månader|months)(?:\s*(?:gammal|gamla|old))?$"
    ),
    re.compile(rf"^{_SUBJECT}\s+(?:är|is)\s+(\d{{1,2}})()$"),
)
_EN_WORDS = re.compile(r"\b(what|does|is|it|how|much|to|a|i|want|talk|please)\b")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@overload
def clean(text: str) -> str: ...
@overload
def clean(text: None) -> None: ...
def clean(text: str | None) -> str | None:
    """Drop control characters (PostgreSQL refuses NUL) and unpaired surrogates from JSON."""
    if text is None:
        return None
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", text)


def normalise(text: str) -> str:
    """Lower-case, NFC, trimmed, inner whitespace collapsed, trailing punctuation dropped."""
    text = unicodedata.normalize("NFC", text).strip().lower()
    text = re.sub(r"\s+", " ", text)
    return text.rstrip(" .!?,;:)(").strip() or text.strip()


def has_words(text: str) -> bool:
    """False for empty, whitespace-only or emoji/punctuation-only messages."""
    return any(ch.isalnum() for ch in text)


def classify(text: str, action: str | None = None) -> Parsed:
    """Decide what the parent wants; a button's action wins over the text."""
    if action:
        parsed = _from_action(action)
        if parsed is not None:
            return parsed
    if not has_words(text):
        return Parsed(Intent.empty)
    norm = normalise(text)
    if norm in _EXACT:
        intent, lang = _EXACT[norm]
        return Parsed(intent, language=lang)
    return _from_patterns(norm)


@cache
def _answers() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """yes/no -> (the phrase's words, its language), longest first; from data/answers.json."""
    raw = json.loads(resources.files("bot.core").joinpath("data/answers.json").read_text("utf-8"))
    out: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for polarity in ("yes", "no"):
        phrases = [(tuple(p.split()), lang) for lang, ps in raw[polarity].items() for p in ps]
        out[polarity] = sorted(phrases, key=lambda pl: -len(pl[0]))
    out["but_not"] = [(tuple(p.split()), "") for p in raw["but_not"]]
    return out


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


def read_answer(text: str) -> Parsed | None:
    """A reply to a pending yes/no question, in the parent's own words ("jaa kör", "yes
    please, go ahead", "nej tack, inte nu"): yes, no, or None when it is neither or both."""
    words = re.findall(r"[\w']+", normalise(text))
    answers = _answers()
    for polarity, intent in (("no", Intent.no), ("yes", Intent.yes)):
        for phrase, lang in answers[polarity]:
            if tuple(words[: len(phrase)]) == phrase:
                rest = words[len(phrase) :]
                if intent is Intent.yes and any(_contains(rest, p) for p, _ in answers["but_not"]):
                    return None  # "ja men inte nu": ask again
                return Parsed(intent, language="en" if lang == "en" else None)
    return None


SHORT_TURN_WORDS = 16  # longer messages stay questions unless they ask for a person or deletion
_FOLLOW_UPS = {"detail_named", "detail_number", "opening_hours", "contact", "location"}
_PLAIN = {
    "greeting": Intent.greet,
    "help": Intent.help,
    "thanks_goodbye": Intent.thanks,
    "more": Intent.more,
    "cost": Intent.cost,
}


def answer_from_label(label: str) -> Parsed | None:
    """The learned head's reading of a reply to a pending yes/no question ("jag samtycker")."""
    return {"consent_yes": Parsed(Intent.yes), "consent_no": Parsed(Intent.no)}.get(label)


def from_label(label: str, text: str) -> Parsed | None:
    """The learned head's reading of a message the rules left as a question (see
    bot.core.intent_model), as a Parsed; None keeps it a question."""
    norm = normalise(text)
    words = len(norm.split())
    english = "en" if words >= 3 and detect_language(text) == "en" else None
    if label == "person":
        if _negated(norm) and not _HANDOFF_NEGATED_OK.search(norm):
            return None  # "han vill inte prata med någon" is about the child
        if words <= SHORT_TURN_WORDS:
            return Parsed(Intent.handoff, language=english)
        return Parsed(Intent.question, language=english, also_person=True)
    if label == "delete":
        return Parsed(Intent.delete, language=english)
    if label == "change_municipality":
        return Parsed(Intent.municipality, argument=text, language=english)
    if words > SHORT_TURN_WORDS:
        return None
    if label in _PLAIN:
        return Parsed(_PLAIN[label], language=english)
    if label in _FOLLOW_UPS:
        return Parsed(Intent.detail, language=english)  # which service: see Answers.which
    if label == "age" and (age := extract_age(text)) is not None:
        return Parsed(Intent.age, number=age, language=english)
    return None


# "inte dator", "not a bot": a negation that still asks for a person.
_HANDOFF_NEGATED_OK = re.compile(
    r"\b(inte (en )?(dator|bot|robot)|not (a )?(bot|robot|computer))\b"
)


def _from_action(action: str) -> Parsed | None:
    if action.startswith("detail:") and action[7:].isdigit():
        return Parsed(Intent.detail, number=int(action[7:]))
    intent = _ACTIONS.get(action)
    return Parsed(intent) if intent else None


def _from_patterns(norm: str) -> Parsed:
    words = len(norm.split())
    english = "en" if _EN_WORDS.search(norm) and not re.search(r"[åäö]", norm) else None
    if m := _DETAIL.match(norm):
        return Parsed(Intent.detail, number=int(m.group(1)))
    for pattern in _AGE_ONLY:
        if m := pattern.match(norm):
            months = m.group(2).startswith(("mån", "month"))
            age = int(m.group(1)) // 12 if months else int(m.group(1))
            english = re.search(r"\b(years?|months|he|she|is|my|old|turns)\b", norm)
            return Parsed(Intent.age, number=age, language="en" if english else None)
    if m := _MUNICIPALITY.match(norm):
        return Parsed(Intent.municipality, argument=m.group(1).strip())
    if words <= 6 and _THANKS.match(norm):
        return Parsed(Intent.thanks, language="en" if norm.startswith("th") else None)
    if words <= 8 and _HANDOFF.search(norm) and not _negated(norm):
        return Parsed(Intent.handoff, language=english)
    if words > 8 and any(
        len(s.split()) <= 10 and _HANDOFF.search(s) and not _negated(s)
        for s in re.split(r"[.!?\n]+", norm)
    ):  # "... vet inte vart vi ska vända oss. Kan jag få prata med en person?"
        return Parsed(Intent.question, language=english, also_person=True)
    if words <= 6 and _COST.search(norm):
        return Parsed(Intent.cost, language=english)
    return Parsed(Intent.question)
