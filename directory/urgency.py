"""Is a child (or a parent with children) in acute danger now? Situations, not keywords.

The lexicon, situations and blockers all live in `data/urgency.json`, so data editors can
change them; this module only combines them:

1. fold the text (case, diacritics), fix small typos against a vocabulary and blank idioms;
2. find every concept match and keep the live ones: not negated, not in a clause about the
   past (unless that clause also says "now"), a hypothetical, a habit ("när hon inte får som
   hon vill") or a question about emergency numbers, and not in a sentence that jokes or is
   about a game, film or dream;
3. a situation is urgent when each of its concepts has a live match within its window
   (one sentence, two adjacent sentences or the whole message) and none of its "none"
   concepts has one (a missing child who "kom hem igen"); the first one wins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from directory.facts import fold

_SENTENCE_SPLIT = re.compile(r"[.!?\n]+")
# "och/and" + a new subject starts a new clause: "unless he pays" must not reach "and he's...".
_CLAUSE_SPLIT = re.compile(
    r"[,;:()]+|\s(?:men|but|fast|utom)\s"
    r"|\s(?:och|o|and)\s(?=(?:han|hon|hen|jag|vi|de|dom|he|she|i|we|they)(?:'s|'m|'re)?\s)"
)
_TOKEN = re.compile(r"\w+")
_WORD = re.compile(r"[\w']+")
_SPACES = re.compile(r"[ \t\r\f\v]+")
# No real word is this long; cutting keeps compound-word patterns (\w*tablett\w*) linear.
_LONG_WORD = re.compile(r"(\w{40})\w+")
_WINDOWS = {"sentence": 0, "adjacent": 1, "message": None}


@dataclass(frozen=True)
class Urgency:
    urgent: bool
    kind: str | None
    reason: str
    services: tuple[str, ...]  # directory service names, most important first
    # Not urgent, but a strong danger word is live (not negated, past or hypothetical), or
    # the triage model is unsure: the reply then leads with the 112 line.
    caution: bool = False
    score: float | None = None  # the triage model's P(acute), when it read the message

    @property
    def level(self) -> str:
        """urgent, caution or none: the three outcomes of triage."""
        return "urgent" if self.urgent else "caution" if self.caution else "none"


NOT_URGENT = Urgency(urgent=False, kind=None, reason="", services=())


@dataclass(frozen=True)
class Situation:
    kind: str
    concepts: tuple[str, ...]
    absent: tuple[str, ...]  # concepts that must have no live match ("kom hem igen")
    window: int | None  # sentences either side of the first concept; None: whole message
    reason: str


@dataclass(frozen=True)
class UrgencyRules:
    """The compiled contents of `urgency.json`."""

    services: dict[str, tuple[str, ...]]
    caution_services: tuple[str, ...]  # listed first when triage says caution
    lexicon: dict[str, re.Pattern[str]]
    situations: tuple[Situation, ...]
    caution: tuple[str, ...]  # concepts that alone put the 112 line first
    neutralise: re.Pattern[str]  # idioms, blanked before matching
    negations: frozenset[str]
    context: frozenset[str]  # times, places, menace: no negation, hypothetical or habit applies
    not_negating: frozenset[str]
    words_before: int
    words_after: int
    past: re.Pattern[str]
    now: re.Pattern[str]
    hypothetical: re.Pattern[str]
    habitual: re.Pattern[str]
    emergency_question: re.Pattern[str]
    sentence_blocker: re.Pattern[str]  # jokes, games, films, dreams
    vocabulary: tuple[str, ...]
    typo_min_length: int

    @classmethod
    def load(cls, path: Path | None = None) -> UrgencyRules:
        """Read the bundled `urgency.json` (or another file of the same shape)."""
        if path is None:
            raw = resources.files("directory").joinpath("data/urgency.json").read_text()
        else:
            raw = path.read_text(encoding="utf-8")
        return cls.from_dict(json.loads(raw))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UrgencyRules:
        blockers, negation = data["clause_blockers"], data["negation"]
        return cls(
            services={k: tuple(v) for k, v in data["services"].items()},
            caution_services=tuple(data.get("caution_services", [])),
            lexicon={k: _compile(v) for k, v in data["lexicon"].items()},
            situations=tuple(_situation(s) for s in data["situations"]),
            caution=tuple(data.get("caution_concepts", [])),
            neutralise=_compile(_flatten(data.get("neutralise", {}))),
            negations=frozenset(negation["words"]),
            not_negating=frozenset(negation.get("not_negating", [])),
            context=frozenset(negation.get("context_concepts", [])),
            words_before=negation.get("words_before", 3),
            words_after=negation.get("words_after", 1),
            past=_compile(blockers["past"]),
            now=_compile(blockers["now"]),
            hypothetical=_compile(blockers["hypothetical"]),
            habitual=_compile(blockers.get("habitual", [])),
            emergency_question=_compile(blockers["emergency_question"]),
            sentence_blocker=_compile(_flatten(data.get("sentence_blockers", {}))),
            vocabulary=tuple(data.get("typo_vocabulary", [])),
            typo_min_length=data.get("typo_min_length", 6),
        )


def _flatten(groups: dict[str, Any]) -> list[str]:
    return [p for key, patterns in groups.items() if not key.startswith("_") for p in patterns]


def _compile(patterns: list[str]) -> re.Pattern[str]:
    # An empty list must match nothing, not everything.
    return re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!x)x")


def _situation(raw: dict[str, Any]) -> Situation:
    return Situation(
        kind=raw["kind"],
        concepts=tuple(raw["all"]),
        absent=tuple(raw.get("none", [])),
        window=_WINDOWS[raw.get("window", "sentence")],
        reason=raw.get("reason", raw["kind"]),
    )


# --- text preparation ------------------------------------------------------------------


def _correct_typos(text: str, rules: UrgencyRules) -> str:
    """Replace words one or two edits away from a lexicon word ("tabeltter" -> "tabletter")."""
    vocabulary = set(rules.vocabulary)
    cache: dict[str, str] = {}

    def fix(match: re.Match[str]) -> str:
        word = match.group()
        if len(word) < rules.typo_min_length or word in vocabulary:
            return word
        if word not in cache:
            budget = 1 if len(word) < 12 else 2
            best = process.extractOne(
                word, rules.vocabulary, scorer=OSA.distance, score_cutoff=budget
            )
            # Same stem, other ending ("hittat"/"hittar") is inflection, not a typo.
            typo = best and best[0][:1] == word[:1] and best[0][:-2] != word[:-2]
            cache[word] = best[0] if typo else word
        return cache[word]

    return _TOKEN.sub(fix, text) if rules.vocabulary else text


def _prepare(text: str, rules: UrgencyRules) -> str:
    folded = _LONG_WORD.sub(r"\1", fold(text).replace("’", "'"))
    folded = _SPACES.sub(" ", _correct_typos(folded, rules))
    return rules.neutralise.sub(" ~ ", folded)


# --- spans: sentences and clauses --------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    index: int  # sentence number


def _spans(text: str, splitter: re.Pattern[str], *, offset: int = 0) -> list[tuple[int, int]]:
    spans, start = [], 0
    for sep in splitter.finditer(text):
        spans.append((offset + start, offset + sep.start()))
        start = sep.end()
    spans.append((offset + start, offset + len(text)))
    return spans


def _clauses(text: str) -> list[_Span]:
    clauses: list[_Span] = []
    for index, (s_start, s_end) in enumerate(_spans(text, _SENTENCE_SPLIT)):
        for c_start, c_end in _spans(text[s_start:s_end], _CLAUSE_SPLIT, offset=s_start):
            clauses.append(_Span(c_start, c_end, index))
    return clauses


def _clause_at(clauses: list[_Span], position: int) -> _Span:
    for clause in clauses:
        if clause.start <= position <= clause.end:
            return clause
    return clauses[-1]


# --- liveness: negation and blocked clauses ----------------------------------------------


def _negated(text: str, clause: _Span, match: re.Match[str], rules: UrgencyRules) -> bool:
    before = _WORD.findall(text[clause.start : match.start()])[-rules.words_before :]
    following = _WORD.findall(text[match.start() : clause.end])
    for i, word in enumerate(before):
        nxt = before[i + 1] if i + 1 < len(before) else (following[:1] or [""])[0]
        if word in rules.negations and f"{word} {nxt}" not in rules.not_negating:
            return True
    after = _WORD.findall(text[match.end() : clause.end])[: rules.words_after]
    return any(word in rules.negations for word in after)


def _blocked_clause(
    text: str, clause: _Span, match: re.Match[str], rules: UrgencyRules, *, context: bool
) -> bool:
    body = text[clause.start : clause.end]
    if rules.emergency_question.search(body):
        return True
    # Times and places keep their meaning in a condition or a habit ("om hon inte betalar
    # ikväll", "han brukar gå till kompisen").
    if not context and rules.hypothetical.search(text[clause.start : match.start()]):
        return True
    # The past and habits ("när hon inte får som hon vill") unless "now" is said too.
    over = rules.past.search(body) or (not context and rules.habitual.search(body))
    return bool(over) and not rules.now.search(body)


def _live_sentences(
    text: str, concept: str, clauses: list[_Span], rules: UrgencyRules
) -> set[int]:
    """Sentence numbers where the concept has a live (unblocked) match."""
    live: set[int] = set()
    context = concept in rules.context
    for match in rules.lexicon[concept].finditer(text):
        clause = _clause_at(clauses, match.start())
        if not context and _negated(text, clause, match, rules):
            continue
        if _blocked_clause(text, clause, match, rules, context=context):
            continue
        live.add(clause.index)
    return live


def _unreal_sentences(text: str, rules: UrgencyRules) -> set[int]:
    """Sentences that joke or talk about a game, film or dream."""
    sentences = _spans(text, _SENTENCE_SPLIT)
    return {i for i, (s, e) in enumerate(sentences) if rules.sentence_blocker.search(text[s:e])}


# --- situations --------------------------------------------------------------------------


def _holds(situation: Situation, live: Callable[[str], set[int]]) -> bool:
    sets: list[set[int]] = []
    for concept in situation.concepts:  # in order, so a missing first concept costs one scan
        sets.append(live(concept))
        if not sets[-1]:
            return False
    if any(live(concept) for concept in situation.absent):
        return False
    if situation.window is None:
        return True
    starts: Iterable[int] = sets[0]
    for first in starts:
        window = set(range(first - situation.window, first + situation.window + 1))
        if all(s & window for s in sets[1:]):
            return True
    return False


def detect_urgency(text: str, rules: UrgencyRules) -> Urgency:
    """Urgent when the message describes acute danger now; see the module docstring."""
    prepared = _prepare(text, rules)
    if not prepared.strip():
        return NOT_URGENT
    clauses = _clauses(prepared)
    unreal = _unreal_sentences(prepared, rules)
    found: dict[str, set[int]] = {}

    def live(concept: str) -> set[int]:
        # Concepts are scanned lazily and once: most messages stop at the first concept.
        if concept not in found:
            found[concept] = _live_sentences(prepared, concept, clauses, rules) - unreal
        return found[concept]

    for situation in rules.situations:
        if _holds(situation, live):
            services = rules.services.get(situation.kind, ())
            return Urgency(True, situation.kind, situation.reason, services)
    for concept in rules.caution:
        if live(concept):
            return Urgency(False, None, f"caution:{concept}", (), caution=True)
    return NOT_URGENT
