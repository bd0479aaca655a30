"""What a parent's message asks for: a command, a follow-up, or a new question.

Only short messages are taken as commands or follow-ups, so "min son vill inte prata med
någon" stays a question while "kan jag få ringa någon?" asks for a person.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import overload

from directory.facts import age_only, detect_language, extract_age, fold


class Aspect(StrEnum):
    """The one thing a follow-up asks about a listed service (answered from its fields)."""

    opening_hours = "opening_hours"
    cost = "cost"
    contact = "contact"
    location = "location"
    audience = "audience"  # who it is for: ages, how one gets there


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
    aspect: Aspect | None = None  # a follow-up asking one thing: "har dom öppet på helger?"


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

_THANKS = re.compile(
    r"^(?:(?:ok|okej|okay|oki|bra|toppen|perfekt|super|great|perfect|nice|jaha|aha)[,.!]*\s+)?"
    r"(tack|tusen tack|stort tack|tackar|thanks|thank you|thx|cheers)\b"
)
_DETAIL = re.compile(r"^(?:nr|nummer|number|no|#)?\s*(\d{1,2})$")
_COST = re.compile(r"\b(kostar|kosta|kostnad|avgift|gratis|pris|betala|cost|costs|free|price)\b")
_HANDOFF = re.compile(
    r"\b(prata|tala|snacka|ringa|träffa|talk|speak|call)\b.*"
    r"\b(någon|nån|person|människa|lots|lotsen|handläggare|samordnare|someone|person|human)\b"
)
# "kan ni höra av er?", "kan nån ringa mig", "can someone call me", "kan jag bli uppringd"
_CALL_ME = re.compile(
    r"\b(?:kan|kunde|skulle|får|could|can|would)\b.*"
    r"\b(?:nån|någon|ngn|ni|du|en person|en lots|en människa|someone|somebody|you)\b.*"
    r"\b(?:höra av (?:sig|er|dig)|kontakta (?:mig|oss|henne|honom|mamma|pappa)|"
    r"ringa (?:mig|oss|upp|henne|honom|mamma|pappa|min \w+|vår \w+)|"
    r"kontakta (?:min|vår) \w+|call (?:me|us|my \w+|our \w+)|contact (?:me|us|my \w+)|"
    r"get in touch)\b"
    r"|\bbli (?:uppringd|uppringda|kontaktad|kontaktade)\b"
)
# Inside a longer message a person is asked for as a wish of the writer's own ("vi skulle
# gärna få tala med en person"), not reported ("hon pratar med en person på nätet").
_WISH = re.compile(
    r"\b(kan|kunde|får|vill|ville|skulle|önskar|gärna|behöver|vore|can|could|may|would|want|"
    r"wish|need|like)\b"
)
_ME = re.compile(r"\b(jag|vi|mig|oss|i|we|me|us)\b")
LONG_SENTENCE_WORDS = 25  # a request for a person is one sentence of at most this many words
# "han vill inte prata med någon" is about the child, not a wish to talk to a person.
_NEGATION = re.compile(r"\b(inte|ej|aldrig|vägrar|not|never|won't|refuses?|doesn't)\b")
# "kan jag inte få ...", "kan inte ni höra av er?": a negation that asks.
_ASKING = re.compile(
    r"\b(?:kan|kunde|får|skulle|could|can)\s+(?:(?:inte|int)\s+(?:jag|vi|man|ni|du|nån|någon|ngn)"
    r"|(?:jag|vi|man|ni|du|nån|någon|ngn)\s+(?:inte|int))\b"
)
_PERSON_WORD = re.compile(
    r"\b(någon|nån|ngn|ni|person|människa|lots|lotsen|handläggare|samordnare|someone|somebody|"
    r"human|you)\b"
)


# Deleting asked for in ordinary words: "radera allt om mig", "kan du sudda allt vi skrivit",
# "please delete everything I wrote here" (the core asks before anything is deleted).
_ERASE = r"(?:radera|ta bort|sudda(?: ut)?|rensa|tömma|töm|delete|erase|remove|wipe|clear)"
_DELETE = re.compile(
    rf"(?:^|\b(?:kan|kunde|vill|snälla|please|can|could|want to|like to)\b.*?)\b{_ERASE}\b.*"
    r"\b(?:allt|hela|chatten|chatt|samtalet|konversationen|historiken|meddelandena|"
    r"uppgifter|mina|min|det här|det vi|everything|all|my|this chat|the chat|conversation|"
    r"what i wrote|messages|history)\b"
)
_DELETE_NOT = re.compile(rf"\b(?:inte|ej|not|don't)\s+{_ERASE}\b|\b{_ERASE}\s+(?:inte|ej|not)\b")
DELETE_WORDS = 20  # longer messages are questions ("skolan vill ta bort allt stöd ...")


def _negated(norm: str) -> bool:
    return bool(_NEGATION.search(norm)) and not _ASKING.search(norm)


def _sentences(norm: str) -> list[str]:
    return [s.strip() for s in re.split(r"[.!?\n]+", norm) if s.strip()]


def _asks_for_person(sentence: str) -> bool:
    """One sentence of a longer message that asks for a person for the writer."""
    if len(sentence.split()) > LONG_SENTENCE_WORDS or _negated(sentence):
        return False
    wish = bool(_HANDOFF.search(sentence) and _WISH.search(sentence) and _ME.search(sentence))
    return wish or bool(_CALL_ME.search(sentence))


def _person_negated(norm: str) -> bool:
    """The sentences that name a person are all negated ("han vill inte prata med någon");
    a negation elsewhere ("jag är inte van med datorer. Kan jag få prata med en människa?")
    does not count."""
    about = [s for s in _sentences(norm) if _PERSON_WORD.search(s)] or [norm]
    return all(_negated(s) for s in about) and not _HANDOFF_NEGATED_OK.search(norm)


_MUNICIPALITY = re.compile(r"^/?(?:byt(?:a)? )?kommun\b\s*(.*)$")
_AGE_EN = re.compile(r"\b(years?|months?|he|she|he's|she's|is|my|old|turns|born)\b")
_EN_WORDS = re.compile(
    r"\b(what|does|is|it|how|much|to|a|i|want|talk|please|can|someone|me|you|my)\b"
)


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


def classify(text: str, action: str | None = None, *, today: date | None = None) -> Parsed:
    """Decide what the parent wants; a button's action wins over the text. `today` (the
    caller's clock) reads a year of birth as an age."""
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
    return _from_patterns(norm, today)


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


def from_label(label: str, text: str, *, today: date | None = None) -> Parsed | None:
    """The learned head's reading of a message the rules left as a question (see
    bot.core.intent_model), as a Parsed; None keeps it a question."""
    norm = normalise(text)
    words = len(norm.split())
    english = "en" if words >= 3 and detect_language(text) == "en" else None
    if label == "person":
        if _person_negated(norm):
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
    if label == "cost":
        return Parsed(Intent.cost, language=english, aspect=Aspect.cost)
    if label in _PLAIN:
        return Parsed(_PLAIN[label], language=english)
    if label in _FOLLOW_UPS:  # which service: see Answers.which
        aspect = aspect_asked(text) or _LABEL_ASPECTS.get(label)
        return Parsed(Intent.detail, language=english, aspect=aspect)
    if label == "age" and (age := extract_age(text, today=today)) is not None:
        return Parsed(Intent.age, number=age, language=english)
    return None


_LABEL_ASPECTS = {
    "opening_hours": Aspect.opening_hours,
    "contact": Aspect.contact,
    "location": Aspect.location,
}


@cache
def _aspect_words() -> tuple[tuple[Aspect, re.Pattern[str]], ...]:
    """What a follow-up asks, in order, from data/aspects.json (editors' words, folded)."""
    raw = json.loads(resources.files("bot.core").joinpath("data/aspects.json").read_text("utf-8"))
    found = []
    for entry in raw["aspects"]:
        words = [_word_pattern(word) for word in entry["words"]]
        either = "|".join([*words, *entry["patterns"]])
        found.append((Aspect(entry["aspect"]), re.compile(rf"\b(?:{either})\b")))
    return tuple(found)


def _word_pattern(word: str) -> str:
    """A folded word or phrase, whole; "helg*" also matches helgen, helgerna."""
    stem, wild = (word[:-1], r"\w*") if word.endswith("*") else (word, "")
    return r"\s+".join(re.escape(part) for part in fold(stem).split()) + wild


_NUMBER = r"(?:\d{1,2}|ett|en|tva|tre|fyra|fem|one|two|three|four|five)"
# Words that look like an aspect but name a thing: "nummer 2" is a listed service, "öppna
# förskolan" a kind of service, a "mejladress" a way to write.
_NOT_ASPECT = re.compile(
    rf"\b(?:nummer|nr|number)\s*{_NUMBER}\b|\b\d{{1,2}}(?::an|:a|an)\b|"
    r"\b(?:oppna|oppen) (?:forskola\w*|verksamhet\w*)"
)
_EMAIL_ADDRESS = re.compile(r"\b(mejl|mail|e-post|epost|email|e-mail)\s?adress\w*")
# A short follow-up pointing back at what was listed ("har dom öppet?", "where is it?").
_BACK = re.compile(
    r"\b(de|dom|dem|den|det|dit|dar|denna|dessa|them|they|it|there|this|that|those)\b"
)
FOLLOW_UP_WORDS = 10  # longer messages are new questions unless the head reads a follow-up


def aspect_asked(text: str) -> Aspect | None:
    """The one thing a follow-up asks about a service (opening hours, cost ...), or None."""
    folded = _EMAIL_ADDRESS.sub(r"\1", _NOT_ASPECT.sub(" ", fold(text)))
    return next((aspect for aspect, words in _aspect_words() if words.search(folded)), None)


# "vad är pinocchio för nåt?", "berätta om steget", "what is BRIS?": about one service.
_ABOUT = re.compile(
    r"\b(vad (ar|e|gor)|va (ar|e|gor)|beratta|mer om|info\w* om|vad innebar|what (is|does)|"
    r"what's|whats|tell me|more about)\b"
)


def asks_about(text: str) -> bool:
    return bool(_ABOUT.search(fold(text)))


def points_back(text: str) -> bool:
    """True when a short message refers to something already shown ("det", "them")."""
    return bool(_BACK.search(fold(text)))


# "inte dator", "not a bot": a negation that still asks for a person.
_HANDOFF_NEGATED_OK = re.compile(
    r"\b(inte (en )?(dator|bot|robot)|not (a )?(bot|robot|computer))\b"
)


def _from_action(action: str) -> Parsed | None:
    if action.startswith("detail:") and action[7:].isdigit():
        return Parsed(Intent.detail, number=int(action[7:]))
    intent = _ACTIONS.get(action)
    return Parsed(intent) if intent else None


def _from_patterns(norm: str, today: date | None) -> Parsed:
    words = len(norm.split())
    english = "en" if _EN_WORDS.search(norm) and not re.search(r"[åäö]", norm) else None
    if m := _DETAIL.match(norm):
        return Parsed(Intent.detail, number=int(m.group(1)))
    if (age := age_only(norm, today=today)) is not None:  # "hon är 7", "han fyller åtta i mars"
        language = "en" if _AGE_EN.search(norm) and not re.search(r"[åäö]", norm) else None
        return Parsed(Intent.age, number=age, language=language)
    if m := _MUNICIPALITY.match(norm):
        return Parsed(Intent.municipality, argument=m.group(1).strip())
    if words <= 6 and (thanks := _THANKS.match(norm)):
        in_english = thanks.group(1).startswith(("th", "cheers"))
        return Parsed(Intent.thanks, language="en" if in_english else None)
    if words <= 8 and (_HANDOFF.search(norm) or _CALL_ME.search(norm)) and not _negated(norm):
        return Parsed(Intent.handoff, language=english)
    if words <= DELETE_WORDS and _DELETE.search(norm) and not _DELETE_NOT.search(norm):
        return Parsed(Intent.delete, language="en" if detect_language(norm) == "en" else None)
    if words > 8 and any(_asks_for_person(s) for s in _sentences(norm)):
        # "... vet inte vart vi ska vända oss. Kan jag få prata med en person?"
        return Parsed(Intent.question, language=english, also_person=True)
    if words <= 6 and _COST.search(norm):
        return Parsed(Intent.cost, language=english, aspect=Aspect.cost)
    return Parsed(Intent.question)
