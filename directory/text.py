"""Swedish text normalisation for matching: folding, tokens, stems, compounds and typos.

Everything here works on *folded* text (lower case, no diacritics), so "skolfranvaro" and
"Skolfrånvaro" are the same word. Stems come from Snowball's Swedish stemmer, with a light
extra rule for definite endings it leaves alone ("skolan", "kuratorn") and a small table of
irregular verb forms ("gick", "gått" -> "gå"), applied the same way to services and questions.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer
from rapidfuzz import fuzz, process

_WORD = re.compile(r"[a-z0-9]+")
_TOKEN = re.compile(r"[^\W_]+")
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9]+")  # _TOKEN on ASCII text, without Unicode lookups
_SPECIAL = str.maketrans({"æ": "ae", "ø": "o", "ß": "ss", "œ": "oe", "ð": "d", "þ": "th"})
_FAST = str.maketrans(
    {**dict.fromkeys("åäàáâã", "a"), **dict.fromkeys("öòóôõ", "o"), **dict.fromkeys("éèêë", "e"),
     **dict.fromkeys("üùúû", "u"), **dict.fromkeys("ïìíî", "i"), "ç": "c", "ñ": "n", "ý": "y"}
)  # fmt: skip

# Irregular forms the stemmer cannot join (folded). Values are the form the stemmer then sees.
IRREGULAR: dict[str, str] = {
    **dict.fromkeys(["gar", "gick", "gatt", "ga"], "ga"),
    **dict.fromkeys(["tar", "tog", "tagit", "tagits", "ta"], "ta"),
    **dict.fromkeys(["slar", "slog", "slagit", "slagits", "sla", "slas"], "sla"),
    **dict.fromkeys(["dor", "dog", "dott", "do"], "do"),
    **dict.fromkeys(["far", "fick", "fatt"], "fa"),
    **dict.fromkeys(["ser", "sag", "sett"], "se"),
    **dict.fromkeys(["gor", "gjorde", "gjort", "gora"], "gora"),
    **dict.fromkeys(["sager", "sa", "sade", "sagt", "saga"], "saga"),
    **dict.fromkeys(["ater", "at", "atit", "ata"], "ata"),
    **dict.fromkeys(["dricker", "drack", "druckit", "dricka"], "dricka"),
    **dict.fromkeys(["sover", "sov", "sovit", "sova"], "sova"),
    **dict.fromkeys(["biter", "bet", "bitit", "bita"], "bita"),
    **dict.fromkeys(["ljuger", "ljog", "ljugit", "ljuga"], "ljuga"),
    **dict.fromkeys(["sitter", "satt", "suttit", "sitta"], "sitta"),
    **dict.fromkeys(["ligger", "legat", "ligga"], "ligga"),
    **dict.fromkeys(["springer", "sprang", "sprungit", "springa"], "springa"),
    **dict.fromkeys(["skriker", "skrek", "skrikit", "skrika"], "skrika"),
    **dict.fromkeys(["stjal", "stjalit", "stjala", "stjaler"], "stjala"),
    **dict.fromkeys(["kommer", "kom", "kommit", "komma"], "komma"),
    **dict.fromkeys(["vagar", "vagade", "vagat", "vaga"], "vaga"),
    **dict.fromkeys(["mar", "madde", "matt", "ma"], "ma"),
    **dict.fromkeys(["fader", "pappa", "pappan"], "pappa"),
    **dict.fromkeys(["mor", "moder", "mamma", "mamman"], "mamma"),
    **dict.fromkeys(["barn", "barnen", "barnet", "barns", "barnens"], "barn"),
}

# A word list reads (and diffs) better as text than as a list literal.
STOP_WORDS: frozenset[str] = frozenset(
    """
    och i att det som en pa ar av for med till den har de inte om ett han men var jag sig fran
    vi sa kan nar nu ska hon hade eller vad over an dig kan sina har min mitt mina mig du ni
    dem deras hans hennes vara vart vilka vilken vilket hur vem vems varfor dar dit hit
    sjalv sjalva alla allt andra nagon nagot nagra ingen inget inga nan nat nana
    efter under utan innan sedan sen nog ocksa bara redan just ju val da sa ha haft hade
    skulle kunde ville borde maste mycket lite mer mest manga ganska rakt helt typ liksom
    e o elr iaf asa ok okej hej hejsan tack snalla fast alltsa eftersom medan
    denna detta dessa samma sadan sadant sana sant nagonstans annat annan
    blir blev blivit bli vara varit ar finns fanns finnas gor
    honom henne dom oss er era ert vars sin sitt hos vid mot genom hela ens bor bott kunna
    ta fa tagit fatt fick far kommer kom komma nagonting ngn ngt dar har hit
    man igen kanske verkar undrar dessutom annars ba fortfarande
    the a an and or of to in on at for with is are was were be been being am do does did
    my our your his her their its me we you he she it they them us i this that these those
    what who whom whose how why when where which there here have has had can could would
    should will shall may might must not no yes so very just also about from by as if than
    then too some any all into out up down over again hi hello please thanks thank dont
    im ive its myself yourself himself herself itself ourselves themselves
    """.split()  # noqa: SIM905
)

_stemmer = snowballstemmer.stemmer("swedish")
MAX_COMPOUND = 40  # longer "words" are noise (a pasted hash, a held-down key), not compounds


def fold(text: str) -> str:
    """Lower-case and strip diacritics: "Skolfrånvaro" -> "skolfranvaro"."""
    if text.isascii():  # nothing to strip; translate would still visit every character
        return text.lower()
    lowered = text.lower().translate(_FAST)
    if lowered.isascii():  # the usual case: Swedish letters are in the fast table
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered.translate(_SPECIAL))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def words(text: str) -> list[str]:
    """Folded word tokens ("IOR-samarbete" -> ["ior", "samarbete"])."""
    return _WORD.findall(fold(text))


def surfaces(text: str) -> list[str]:
    """The written tokens of a text, before folding ("IOR-samarbete" -> ["IOR", "samarbete"])."""
    return (_ASCII_TOKEN if text.isascii() else _TOKEN).findall(text)


@lru_cache(maxsize=65536)
def surface_words(surface: str) -> tuple[str, ...]:
    """The folded words of one written token (usually one; "æble" folds to "aeble")."""
    return tuple(_WORD.findall(fold(surface)))


def tokens(text: str) -> list[tuple[str, str]]:
    """(folded word, written form) pairs: the written form shows in reasons and acronyms."""
    out: list[tuple[str, str]] = []
    for surface in surfaces(text):
        out.extend((w, surface) for w in surface_words(surface))
    return out


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Stem one folded word; consistent for services and questions alike."""
    word = IRREGULAR.get(word, word)
    if len(word) >= 6 and not word.isdigit():
        if word.endswith("orn") or word.endswith("an"):
            word = word[:-1]  # definite -n: "kuratorn" -> "kurator", "skolan" -> "skola"
        elif word.endswith("et") and not word.endswith("het"):
            word = word[:-2]  # definite -et: "hemmet" -> "hemm"
    return _stemmer.stemWord(word)


class Vocabulary:
    """The words an index knows: splits compounds into known parts and corrects typos."""

    def __init__(self, known_words: Iterable[str]) -> None:
        self.words: set[str] = set()
        self.stems: set[str] = set()
        self._by_head: dict[tuple[str, int], list[str]] = defaultdict(list)
        self.add(known_words)
        self._split_cache: dict[str, tuple[str, ...]] = {}
        self._typo_cache: dict[str, str | None] = {}
        # (word, written as an acronym) -> index terms; filled by directory.query
        self.term_cache: dict[tuple[str, bool], tuple[tuple[str, float], ...]] = {}
        # written token -> (term, weight, written token) triples; filled by directory.query.
        # A directory repeats the same few thousand tokens millions of times.
        self.surface_cache: dict[str, tuple[tuple[str, float, str], ...]] = {}

    def add(self, more: Iterable[str]) -> None:
        """Add words (e.g. from synonym expansions) before the index is used."""
        # dict.fromkeys drops repeats (a directory's 1.5M words are ~20k distinct) in C and
        # keeps first-seen order, which the typo pools (and so their ties) depend on.
        for w in dict.fromkeys(more):
            if w and not w.isdigit() and w not in self.words:
                self.words.add(w)
                self.stems.add(stem(w))
                if len(w) >= 4:
                    self._by_head[(w[0], len(w))].append(w)

    def knows(self, word: str) -> bool:
        return word in self.words or stem(word) in self.stems

    def _part_ok(self, seg: str, *, last: bool) -> bool:
        if len(seg) < (4 if last else 3):
            return False
        if seg in self.words or stem(seg) in self.stems:
            return True
        # Linking -s- (missbruks|problem) and -a/-e (föräldra|möte) in non-final parts.
        return not last and len(seg) > 4 and seg[-1] in "sae" and self.knows(seg[:-1])

    def split(self, word: str) -> tuple[str, ...]:
        """Stems of the known parts of a compound ("skolfranvaro" -> ("skol", "franvaro"))."""
        if not 7 <= len(word) <= MAX_COMPOUND or word.isdigit():
            return ()  # the split is quadratic in the length: a 10,000-letter "word" is not one
        if word not in self._split_cache:
            self._split_cache[word] = self._split(word)
        return self._split_cache[word]

    def _split(self, word: str) -> tuple[str, ...]:
        n = len(word)
        # best[i]: fewest parts covering word[:i] (None: not coverable).
        best: list[tuple[int, tuple[str, ...]] | None] = [None] * (n + 1)
        best[0] = (0, ())
        for i in range(3, n + 1):
            for j in range(1 if i == n else 0, i - 2):  # never the whole word as one part
                prev = best[j]
                if prev is None or not self._part_ok(word[j:i], last=i == n):
                    continue
                cand = (prev[0] + 1, (*prev[1], word[j:i]))
                if best[i] is None or cand[0] < best[i][0]:  # type: ignore[index]
                    best[i] = cand
        found = best[n]
        if found is None:
            return ()
        return tuple(self._part_stem(p) for p in found[1])

    def _part_stem(self, seg: str) -> str:
        if seg in self.words or stem(seg) in self.stems:
            return stem(seg)
        return stem(seg[:-1])  # it was accepted with a linking letter

    def correct(self, word: str, *, cutoff: float = 84.0) -> str | None:
        """The nearest known word for an unknown one of 6+ letters, or None.

        Shorter words are too often other real words one letter away ("ficka", "flicka").
        """
        if not 6 <= len(word) <= MAX_COMPOUND or word.isdigit() or self.knows(word):
            return None
        if word not in self._typo_cache:
            pool = [
                w
                for size in (len(word) - 1, len(word), len(word) + 1)
                for w in self._by_head.get((word[0], size), ())
            ]
            hit = process.extractOne(word, pool, scorer=fuzz.ratio, score_cutoff=cutoff)
            self._typo_cache[word] = hit[0] if hit else None
        return self._typo_cache[word]


def name_key(name: str) -> str:
    """A service name compared case-, accent- and dash-insensitively (evaluation sets)."""
    return "".join(ch for ch in fold(name) if ch.isalnum())
