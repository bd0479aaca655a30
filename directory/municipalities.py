"""Which Swedish municipality a parent lives in, read from what they wrote.

All names, regions, aliases and context cues live in `data/municipalities.json`; this module
only combines them. Matching is on folded words (no case, no diacritics), with small typos
tolerated for longer names and a context cue required for names that are ordinary words
("det kan vara bra" is not Vara).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from directory.facts import fold

_TOKEN = re.compile(r"[\w'’]+")
_MAX_NGRAM = 3
_FUZZY_MIN_LEN = 6
_AFFIXES = frozenset({"kommun", "kommuns", "kommunen", "municipality", "stad", "of"})
_RANK_NOW, _RANK_WHERE, _RANK_PLAIN, _RANK_PAST = 3, 2, 1, 0


@dataclass(frozen=True)
class _Token:
    lower: str  # for context cues: "här" is a cue, "har" (has) is not
    folded: str  # for names: "hassleholm" is Hässleholm
    capitalised: bool
    sentence_start: bool


@dataclass(frozen=True)
class Cues:
    """Folded word sequences that tell where the family lives (see the JSON's comment)."""

    now_before: frozenset[str]
    now_after: frozenset[str]
    where_before: frozenset[str]
    past_before: frozenset[str]
    now_verbs: frozenset[str]


@dataclass(frozen=True)
class _Mention:
    name: str
    position: int
    rank: int


def _starts_sentence(text: str, position: int) -> bool:
    """True at the text's start or after ". ! ? newline" (looking back over spaces only)."""
    i = position - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i < 0 or text[i] in ".!?\n"


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for match in _TOKEN.finditer(text):
        word = match.group()
        start = _starts_sentence(text, match.start())
        out.append(_Token(word.casefold(), fold(word), word[:1].isupper(), start))
    return out


def _max_typos(length: int) -> int:
    """Typos tolerated for a folded name of this length (short names must be exact)."""
    if length < _FUZZY_MIN_LEN:
        return 0
    return 1 if length < 9 else 2


class MunicipalityResolver:
    """Recognises municipality names in free text and in API/command input."""

    def __init__(
        self,
        *,
        counties: dict[str, str],
        regions: dict[str, list[str]],
        aliases: dict[str, str],
        ambiguous: set[str],
        cues: Cues,
    ) -> None:
        self._counties = counties
        self._regions = regions
        self._ambiguous = {fold(name) for name in ambiguous}
        self._cues = cues
        self._index: dict[str, str] = {fold(a).replace("-", " "): n for a, n in aliases.items()}
        # Reversed so that, where two names fold alike (Habo, Håbo), the first listed wins.
        self._index.update({fold(n).replace("-", " "): n for n in reversed(counties)})
        # Written with the right letters, a name is never confused with its folded twin.
        self._exact = {n.casefold().replace("-", " "): n for n in counties}
        self._fuzzy_keys = [k for k in self._index if " " not in k and _max_typos(len(k))]
        self._by_initial: dict[str, list[str]] = {}
        for key in self._fuzzy_keys:
            self._by_initial.setdefault(key[:1], []).append(key)

    @classmethod
    def load(cls, path: Path | None = None) -> MunicipalityResolver:
        """Build from the bundled `municipalities.json` (or another file of the same shape)."""
        if path is None:
            raw = resources.files("directory").joinpath("data/municipalities.json").read_text()
        else:
            raw = path.read_text(encoding="utf-8")
        data = json.loads(raw)
        cue_data = {k: v for k, v in data["context_cues"].items() if not k.startswith("_")}
        return cls(
            counties={m["name"]: m["county"] for m in data["municipalities"]},
            regions=data["regions"],
            aliases=data["aliases"],
            ambiguous=set(data["ambiguous"]),
            cues=Cues(**{k: frozenset(v) for k, v in cue_data.items()}),
        )

    # --- lookups ------------------------------------------------------------------------

    def all(self) -> list[str]:
        """All municipality names, in the file's order (by county)."""
        return list(self._counties)

    def county(self, name: str) -> str | None:
        return self._counties.get(name)

    def regions(self) -> list[str]:
        return list(self._regions)

    def region_members(self, region: str) -> list[str]:
        """Municipalities in a region ("Skåne nordost"), matched without case/diacritics."""
        wanted = fold(region).strip()
        for name, members in self._regions.items():
            if fold(name) == wanted:
                return list(members)
        return []

    def regions_of(self, municipality: str) -> list[str]:
        """The regions a municipality belongs to."""
        return [r for r, members in self._regions.items() if municipality in members]

    def canonical(self, name: str, *, typos: bool = True) -> str | None:
        """The official name for user input ("kristianstad", "Hassleholms kommun"), or None.

        With `typos=False` only the name itself is taken (any case, with or without å/ä/ö,
        an alias, "X kommun"): forms that store a name must not guess ("Degerfosr")."""
        words = [t.folded for t in _tokens(name.replace("-", " "))]
        count = len(words)
        while words and words[0] in _AFFIXES:  # "/kommun kristianstad"
            words.pop(0)
        while words and words[-1] in _AFFIXES:  # "Hässleholms kommun"
            words.pop()
        key = " ".join(words)
        if not key:
            return None
        exact = self._exact.get(" ".join(t.lower for t in _tokens(name.replace("-", " "))))
        if exact:
            return exact
        if key in self._index:
            return self._index[key]
        stem = key.removesuffix("s")  # the genitive before "kommun": "Hässleholms kommun"
        if len(words) < count and stem != key and stem in self._index:
            return self._index[stem]
        return self._fuzzy(key.replace(" ", ""), keys=list(self._index)) if typos else None

    def _fuzzy(self, word: str, *, keys: list[str] | None = None) -> str | None:
        """The single closest name within the typo budget (keys: default the one-word names)."""
        budget = _max_typos(len(word))
        if not budget:
            return None
        # First letters are rarely wrong, and checking them first keeps long texts fast.
        candidates = (
            [k for k in keys if k[:1] == word[:1]] if keys else self._by_initial.get(word[:1], [])
        )
        scored = process.extract(
            word,
            candidates,
            scorer=OSA.distance,
            processor=lambda k: k.replace(" ", ""),
            score_cutoff=budget,
            limit=2,
        )
        if not scored or (len(scored) > 1 and scored[0][1] == scored[1][1]):
            return None
        return self._index[scored[0][0]]

    # --- free text ----------------------------------------------------------------------

    def find_in_text(self, text: str) -> str | None:
        """The municipality the writer lives in, or None.

        Where several are named, a "now" cue (bor i, flyttat till, här i, live in) beats a
        plain place, which beats a past one (från, bodde i); ties go to the first named.
        """
        mentions = self._mentions(_tokens(text.replace("-", " ")))
        if not mentions:
            return None
        best = max(mentions, key=lambda m: (m.rank, -m.position))
        return best.name

    def _mentions(self, tokens: list[_Token]) -> list[_Mention]:
        found: list[_Mention] = []
        i = 0
        while i < len(tokens):
            mention, width = self._mention_at(tokens, i)
            if mention:
                found.append(mention)
            i += width
        return found

    def _mention_at(self, tokens: list[_Token], i: int) -> tuple[_Mention | None, int]:
        for width in range(_MAX_NGRAM, 0, -1):
            if width > 1 and len(tokens) - i < width:
                continue
            key = " ".join(t.folded for t in tokens[i : i + width])
            name = self._exact.get(" ".join(t.lower for t in tokens[i : i + width]))
            exact = name is not None
            if name is None:
                name, exact = self._lookup(key, single=width == 1)
            if name is None:
                continue
            rank = self._rank(tokens, i, i + width)
            if self._accepted(key, tokens[i], rank=rank, exact=exact):
                if key in self._ambiguous and not self._cued_before(tokens, i, i + width):
                    continue
                return _Mention(name, i, rank), width
        return None, 1

    def _lookup(self, key: str, *, single: bool) -> tuple[str | None, bool]:
        if key in self._index:
            return self._index[key], True
        if not single:
            return None, False
        stem = key.removesuffix("s")  # genitive: "Kristianstads kommun"
        if stem != key and stem in self._index and stem not in self._ambiguous:
            return self._index[stem], True
        return self._fuzzy(key), False

    def _rank(self, tokens: list[_Token], start: int, end: int, *, look_after: bool = True) -> int:
        cues = self._cues
        before1 = tokens[start - 1].lower if start >= 1 else ""
        before2 = " ".join(t.lower for t in tokens[max(0, start - 2) : start])
        after = tokens[end].lower if end < len(tokens) and look_after else ""
        if before2 in cues.past_before or before1 in cues.past_before:
            return _RANK_PAST
        if before2 in cues.now_before or before1 in cues.now_before or after in cues.now_after:
            return _RANK_NOW
        if before1 in cues.where_before:
            window = {t.lower for t in tokens[max(0, start - 5) : start]}
            return _RANK_NOW if window & cues.now_verbs else _RANK_WHERE
        return _RANK_PLAIN

    def _cued_before(self, tokens: list[_Token], start: int, end: int) -> bool:
        """Ordinary-word names cued only by a following "här" also need a capital ("vara här")."""
        after = tokens[end].lower if end < len(tokens) else ""
        if after not in self._cues.now_after or after.startswith(("kommun", "municipality")):
            return True
        rank = self._rank(tokens, start, end, look_after=False)
        return rank != _RANK_PLAIN or tokens[start].capitalised

    def _accepted(self, key: str, first: _Token, *, rank: int, exact: bool) -> bool:
        """Ordinary-word names and typo matches need a cue; a capital helps ordinary words."""
        strong = rank in (_RANK_NOW, _RANK_PAST)
        if key in self._ambiguous:
            return strong or (rank == _RANK_WHERE and first.capitalised)
        if not exact:
            return rank != _RANK_PLAIN or len(key) >= 8
        return True
