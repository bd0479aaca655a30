"""Synonyms and everyday words: "soc" also means socialtjänst, "school" means skola.

The table is data (directory/data/synonyms.json, the `synonym` table); this module only
looks terms up in a question. Terms may be several words ("social services"); they match
on folded words or, failing that, on stems, longest first.
"""

from __future__ import annotations

import json
from pathlib import Path

from directory.text import STOP_WORDS, Vocabulary, stem, words

BUNDLED = Path(__file__).parent / "data" / "synonyms.json"
MAX_TERM_WORDS = 4


def load_bundled_synonyms(path: Path = BUNDLED) -> dict[str, dict[str, list[str]]]:
    """The shipped synonyms file as {language: {term: expansions}}."""
    table: dict[str, dict[str, list[str]]] = {}
    for entry in json.loads(path.read_text(encoding="utf-8")):
        lang = table.setdefault(entry.get("language", "sv"), {})
        lang.setdefault(entry["term"], []).extend(entry["expansions"])
    return table


class SynonymTable:
    def __init__(self, synonyms: dict[str, dict[str, list[str]]], vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.by_words: dict[tuple[str, ...], list[str]] = {}
        self.by_stems: dict[tuple[str, ...], list[str]] = {}
        for table in synonyms.values():
            for term, expansions in table.items():
                key = tuple(words(term))
                if not key or len(key) > MAX_TERM_WORDS:
                    continue
                self.by_words.setdefault(key, []).extend(expansions)
                self.by_stems.setdefault(tuple(stem(w) for w in key), []).extend(expansions)

    def words(self) -> set[str]:
        """Every word the expansions use (so compounds can split on them)."""
        exps = [*self.by_words.values()]
        return {w for group in exps for e in group for w in words(e) if w not in STOP_WORDS}

    def lookup(self, toks: list[str], i: int) -> tuple[int, list[str]] | None:
        """The longest term starting at toks[i]: (number of words, expansions)."""
        for n in range(min(MAX_TERM_WORDS, len(toks) - i), 0, -1):
            key = tuple(toks[i : i + n])
            if key in self.by_words:
                return n, self.by_words[key]
            if n == 1 and key[0] in STOP_WORDS:
                continue  # a stop word only matches when written exactly as the term
            stems = tuple(stem(w) for w in key)
            if stems in self.by_stems:
                return n, self.by_stems[stems]
        return None
