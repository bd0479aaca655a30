"""Synonyms and everyday words: "soc" also means socialtjänst, "school" means skola.

The table is data (directory/data/synonyms.json, the `synonym` table); this module only
looks terms up in a question. Terms may be several words ("social services"); they match
on folded words or, failing that, on stems, longest first. The file groups its entries by
concept ({"groups": [{"concept", "language", "provenance", "entries"}]}); a flat list of
{"term", "expansions", "language"} (tests, editors' exports) is read too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from directory.text import STOP_WORDS, Vocabulary, stem, words

BUNDLED = Path(__file__).parent / "data" / "synonyms.json"
MAX_TERM_WORDS = 4


def synonym_entries(data: Any) -> list[tuple[str, Any]]:
    """Every entry of a synonyms file, grouped or flat, as (where it is, entry).

    A group's language goes to its entries (an entry's own wins). Entries are not validated
    here; a file of neither form raises ValueError naming the bad group.
    """
    if isinstance(data, list):
        return [(_where("", i, entry), entry) for i, entry in enumerate(data)]
    if not (isinstance(data, dict) and isinstance(data.get("groups"), list)):
        raise ValueError('expected a list of entries or {"groups": [...]}')
    out: list[tuple[str, Any]] = []
    for g, group in enumerate(data["groups"]):
        if not (isinstance(group, dict) and isinstance(group.get("entries"), list)):
            raise ValueError(f"group {g}: no list of entries")
        prefix = f"group {g} ({group.get('concept')!r}) "
        lang = {"language": group["language"]} if "language" in group else {}
        for i, raw in enumerate(group["entries"]):
            entry = {**lang, **raw} if isinstance(raw, dict) else raw
            out.append((_where(prefix, i, entry), entry))
    return out


def _where(prefix: str, i: int, entry: Any) -> str:
    term = entry.get("term") if isinstance(entry, dict) else entry
    return f"{prefix}entry {i} ({term!r})"


def load_bundled_synonyms(path: Path = BUNDLED) -> dict[str, dict[str, list[str]]]:
    """The shipped synonyms file as {language: {term: expansions}}."""
    table: dict[str, dict[str, list[str]]] = {}
    for _, entry in synonym_entries(json.loads(path.read_text(encoding="utf-8"))):
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
