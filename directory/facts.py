"""Small facts read from a parent's free text: folded words, the child's age, the language.

Everything here is pure and cheap (regular expressions and word lists), so the matcher, the
urgency detector and the conversation core can call it on every message.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_WORD = re.compile(r"[\w'’]+")


def fold(text: str) -> str:
    """Lower-case and strip diacritics, so "Hässleholm", "hassleholm" and "HÄSSLEHOLM" agree."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Folded words, in order (apostrophes kept inside words: "mark's" is not "mark")."""
    return _WORD.findall(fold(text))


# --- age -------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "ett": 1, "en": 1, "one": 1, "tva": 2, "two": 2, "tre": 3, "three": 3, "fyra": 4,
    "four": 4, "fem": 5, "five": 5, "sex": 6, "six": 6, "sju": 7, "seven": 7, "atta": 8,
    "eight": 8, "nio": 9, "nine": 9, "tio": 10, "ten": 10, "elva": 11, "eleven": 11,
    "tolv": 12, "twelve": 12, "tretton": 13, "thirteen": 13, "fjorton": 14, "fourteen": 14,
    "femton": 15, "fifteen": 15, "sexton": 16, "sixteen": 16, "sjutton": 17,
    "seventeen": 17, "arton": 18, "eighteen": 18, "nitton": 19, "nineteen": 19,
}  # fmt: skip
# Compound "-åring" stems: "treåring", "fyraåring", "sjuttonåring", "ettåring".
_ARING_STEMS = {**_NUMBER_WORDS, "ett": 1, "tva": 2, "fyra": 4, "sju": 7, "atta": 8}
# School grades said as nouns ("hon går i åttan"): grade N is usually age N + 6.
_GRADES = {"ettan": 7, "tvaan": 8, "trean": 9, "fyran": 10, "femman": 11, "sexan": 12,
           "sjuan": 13, "attan": 14, "nian": 15}  # fmt: skip

_N = r"(\d{1,2})"
_NW = r"([a-z]+)"
_CHILD = (
    r"(?:son|sonen|sonson|dotter|dottern|dotterdotter|barn|barnet|barnen|kille|killen|tjej|"
    r"tjejen|pojke|pojken|flicka|flickan|grabb|grabben|unge|ungen|bebis|bebisen|"
    r"barnbarn|syster|systern|bror|brodern|brorsan|lillebror|lillasyster|storebror|"
    r"storasyster|systerson|systerdotter|brorson|brorsdotter|bonusson|bonusdotter|"
    r"fosterbarn|fosterson|fosterdotter|child|son|daughter|kid|boy|girl|baby|niece|nephew|"
    r"grandson|granddaughter|stepson|stepdaughter|toddler|teen|teenager)"
)
_CHILD_WORDS = frozenset(re.findall(r"[a-z]+", _CHILD))
# A number said in words after "är", "fyller" ...: "en" and "ett" are articles there.
_SAID = r"(" + "|".join(w for w in _NUMBER_WORDS if w not in ("en", "ett", "one")) + r")\b"
_ADVERBS = (
    r"(?:(?:bara|precis|nyss|redan|snart|typ|ca|cirka|nastan|just|only|almost|about|around|"
    r"fyllda|fyllt)\s+)*"
)
# Before an age in digits: "är 7", "fyller 16", "is 17", "she's 13", "är precis fyllda 10".
_COPULA = (
    rf"(?:\b(?:ar|e|blir|fyller|fyllde|fyllt|fyllda|is|turns|turned|turning)|(?<=\w)'s)\s+"
    rf"{_ADVERBS}"
)
_SUBJECT_IS = (
    rf"(?:\b(?:hon|han|hen|she|he|som|who|{_CHILD})\s+(?:ar|e|is|blir)|\b(?:she|he)'s|"
    rf"\b(?:fyller|fyllde|fyllt|fyllda|turns|turned|turning))\s+{_ADVERBS}"
)
# "född 2017", "född i mars 2017", "born in 2017", "född -17": the age is this year's minus it.
_BORN = re.compile(
    r"\b(?:fodd|fodde|fott|born)(?:\s+(?:i|in|ar|pa|on))?(?:\s+[a-z]+)?(?:\s+\d{1,2})?"
    r"\s+(?:ar\s+)?(?:((?:19|20)\d\d)|[-'’](\d\d))\b"
)
# Units after a number that show it is not an age ("20 min", "39,8 grader", "3 gånger").
_NOT_AGE = (
    r"(?!\s*(?:min|minuter|minutes|timmar|timme|hours?|ganger|times|grader|degrees|kr|%|mg|"
    r"dagar|days|veckor|weeks|man|manader|months|st|kg|cm|[.,:]\d))"
)
_NOT_DURATION = r"(?<!\bi )(?<!for )(?<!pa )(?<!sedan )(?<!efter )(?<!in )"
_AGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # "7 mån", "7 månader", "8 months", "18 månaderskontroll" (months -> whole years)
    (re.compile(rf"\b{_N}\s*-?\s*(?:man|manader|manaders\w*|months?)\b"), "months"),
    # "4-åring", "4 åring", "4åringen", "15-årig"
    (re.compile(rf"\b{_N}\s*-?\s*ari(?:ng|g)\w*"), "years"),
    # "treåring", "sjuttonåringen"
    (re.compile(rf"\b{_NW}ari(?:ng|g)\w*"), "word_years"),
    # "12 year old", "12-year-old", "12 yo", "aged 12"
    (re.compile(rf"\b{_N}\s*-?\s*(?:years?|yrs?)\s*-?\s*old\b|\b{_N}\s*yo\b"), "years"),
    (re.compile(rf"\baged\s+{_N}\b"), "years"),
    # "är 7 år", "som är 13", "fyller 16", "is 17", "turns 16", "she's 13", "är precis fyllda 10"
    (re.compile(rf"{_COPULA}{_N}\b{_NOT_AGE}"), "years"),
    # "hon är tre och ett halvt", "fyller åtta i mars", "he is twelve" (a child is the
    # subject: "vi är fyra i familjen" and "det är två saker" are no ages)
    (re.compile(rf"{_SUBJECT_IS}{_SAID}(?!\s*(?:ganger|times|dagar|days|veckor|weeks|man|manader|"
                r"months|timmar|hours|minuter|minutes))"), "word"),
    # "tre år gammal", "ett år", but not "i tre år" or "tre år sedan"
    (re.compile(rf"{_NOT_DURATION}\b{_NW}\s+(?:ar|years?)\b(?!\s*(?:sedan|sen|tillbaka|ago))"),
     "word"),
    # "ålder 14", "age 16", "alltså 8", "båda 6", "snart 13"
    (re.compile(rf"\b(?:alder|age|aged|alltsa|bada|both|snart)\s*:?\s+{_N}\b{_NOT_AGE}"),
     "years"),
    # "nej inte 5 utan 15": the corrected age, which comes second
    (re.compile(rf"\binte\s+{_N}\s+(?:ar\s+)?(?:utan|men)\s+(?:\w+\s+(?:ar|e)\s+)?{_N}\b"),
     "second"),
    # "15 år gammal", but not "i 3 år" or "2 år sedan"
    (re.compile(rf"{_NOT_DURATION}\b{_N}\s*(?:ar|years?)\b(?!\s*(?:sedan|sen|tillbaka|ago))"),
     "years"),
    # "min kille 15", "sonen 16", "Min dotter på 14", "dottern, 12,"
    (re.compile(rf"\b{_CHILD}\s*(?:pa|som|of|,|:)?\s*{_N}\b{_NOT_AGE}"), "years"),
    # "(13)", "(13 år)", and the first of "(5 och 8)", "(2, 7 och 13 år)"
    (re.compile(rf"\(\s*{_N}\s*(?:ar\s*)?(?:\)|,|och\b|and\b|&)"), "years"),
    # "går i åttan", "in sjuan": the school grade
    (re.compile(rf"\b(?:i|in|gar|pa|borjat|borjar|borjade)\s+({'|'.join(_GRADES)})\b"), "grade"),
)  # fmt: skip


def _to_age(groups: tuple[str | None, ...], kind: str) -> int | None:
    if kind == "second":
        groups = groups[1:]
    raw = next((g for g in groups if g), None)
    if raw is None:
        return None
    if kind == "grade":
        return _GRADES.get(raw)
    if kind == "word_years":
        return _ARING_STEMS.get(raw)
    if kind == "word":
        return _NUMBER_WORDS.get(raw)
    value = int(raw)
    if kind == "months":
        return value // 12
    return value if value <= 25 else None


def _born(match: re.Match[str], today: date) -> int | None:
    four, two = match.groups()
    year = int(four) if four else 2000 + int(two)
    if year > today.year:  # "född -98"
        year -= 100
    age = today.year - year
    return age if 0 <= age <= 25 else None


def extract_age(text: str, *, today: date | None = None) -> int | None:
    """The child's age in whole years, or None.

    Digits or words ("hon är tre och ett halvt", "fyller åtta i mars"), months, school
    grades, and, given `today` (the caller's clock), a year of birth ("född 2017").
    Several children: the first-mentioned age wins (a parent usually opens with the child
    the question is about); a correction "inte 5 utan 15" gives the second. Numbers followed
    by a unit that is not an age ("39,8 i feber", "20 min", "10 gånger") and durations
    ("i 3 år", "2 år sedan") are skipped.
    """
    folded = fold(text)
    found: list[tuple[int, int]] = []
    for pattern, kind in _AGE_PATTERNS:
        for match in pattern.finditer(folded):
            age = _to_age(match.groups(), kind)
            if age is not None:
                # A correction outranks whatever it corrects, wherever that stood.
                found.append((-1 if kind == "second" else match.start(), age))
    if today is not None:
        for match in _BORN.finditer(folded):
            if (age := _born(match, today)) is not None:
                found.append((match.start(), age))
    return min(found)[1] if found else None


# Words that say nothing but an age ("nej fel av mig, hon är 15 inte 5"): a message made of
# these and an age is the age alone, a correction or an answer, not a new question.
_AGE_TALK = frozenset({
    "nej", "ja", "jo", "jag", "oj", "oops", "sorry", "forlat", "fel", "av", "mig", "skrev",
    "menade", "mente", "for", "fort", "forut", "alder", "age", "wrong", "i", "mean", "meant",
    "hon", "han", "hen", "barnet", "sonen", "dottern", "min", "mitt", "mina", "var", "vart",
    "he", "she", "is", "s", "she's", "he's", "my", "our", "son", "daughter", "child", "kid",
    "ar", "e", "blir", "fyller", "fyllde", "fyllt", "fyllda", "turns", "turned", "turning",
    "fodd", "fodde", "born", "in", "on", "och", "and", "a", "an", "ett", "en", "halvt", "halv",
    "half", "years", "year", "old", "gammal", "gammalt", "gamla", "manader", "man", "months",
    "month", "inte", "not", "utan", "but", "men", "bara", "precis", "nyss", "snart", "typ", "ca",
    "cirka", "just", "only", "almost", "redan", "alltsa", "bada", "both", "tvillingarna",
    "tvillingar", "twins", "gar", "gick", "actually", "faktiskt", "egentligen", "sa", "ju", "va",
    "nu", "okej", "ok", "the", "of", "yes", "no", "den", "det", "januari", "februari", "mars",
    "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december",
    "january", "february", "march", "may", "june", "july", "august", "october",
})  # fmt: skip


def age_only(text: str, *, today: date | None = None) -> int | None:
    """The child's age when that is all the message says ("hon är 7", "han fyller åtta i
    mars", "född 2017", "nej hon är femton inte fem"), else None: a correction or an answer
    to "how old?", never a new question that happens to mention an age."""
    age = extract_age(text, today=today)
    if age is None:
        return None
    rest = [
        w
        for w in words(text)
        if w not in _AGE_TALK
        and w not in _NUMBER_WORDS
        and not w.isdigit()
        and not re.fullmatch(r"\d+(?:an|:an|ar|aring\w*|arig\w*)", w)
        and not re.fullmatch(r"\w+ari(?:ng|g)\w*", w)
        and w not in _CHILD_WORDS
    ]
    return age if not rest else None


# --- language --------------------------------------------------------------------------


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SWEDISH = _wordset(
    "och att det som jag vi han hon min mitt mina vara ar inte har kan ska vill med for "
    "pa till om hur var vad nar eller men sa mycket barn son dotter skolan kommun hjalp "
    "tack hej mig dig oss honom henne finns nagon nagot bor"
)
_ENGLISH = _wordset(
    "the and is are my our we he she it to of in for with what how where when can do does "
    "not have has help please thanks hello hi son daughter school child kid live you there "
    "this that who would should"
)


def _language_counts(text: str) -> tuple[int, int]:
    tokens = words(text)
    swedish = sum(t in _SWEDISH for t in tokens)
    english = sum(t in _ENGLISH for t in tokens)
    if any(ch in text.casefold() for ch in "åäö"):
        swedish += 2
    return swedish, english


def detect_language(text: str) -> str:
    """ "sv" or "en" by counting common words; Swedish wins ties (our default audience)."""
    swedish, english = _language_counts(text)
    return "en" if english > swedish else "sv"


def language_evidence(text: str) -> str | None:
    """ "sv" or "en" when the words say so, None on a tie ("any more options?", "BUP"): a
    conversation keeps its language then."""
    swedish, english = _language_counts(text)
    return None if swedish == english else "en" if english > swedish else "sv"
