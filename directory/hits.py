"""The ordered hit list of one match: urgent services, the coordinator, the ranking, fill-ins.

Kept apart from the index so the order rules read in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from directory.matching import Hit
from directory.query import QueryTerms
from directory.text import fold
from directory.urgency import Urgency

if TYPE_CHECKING:
    from directory.matcher import Matcher

MIN_RESULTS = 3  # shown whenever that many services serve the family


class HitList:
    """Builds the ordered hit list: urgent services, coordinator, ranking, then fill-ins."""

    def __init__(
        self, matcher: Matcher, q: QueryTerms, *, english: bool, place: str, age: int | None
    ) -> None:
        self.m, self.q, self.english = matcher, q, english
        self.place, self.age = place, age
        self.hits: list[Hit] = []
        self.seen: set[int] = set()

    def _add(self, doc: int, score: float, reason: str) -> None:
        if doc not in self.seen:
            self.seen.add(doc)
            self.hits.append(Hit(self.m.cards[doc], score, reason))

    def _say(self, sv: str, en: str) -> str:
        return en if self.english else sv

    def assemble(
        self,
        ranked: list[tuple[int, float]],
        *,
        urgency: Urgency,
        confident: bool,
        limit: int,
    ) -> list[Hit]:
        fits = self._fits
        if urgency.urgent or urgency.caution:
            why = (
                self._say("akut läge: ring nu", "emergency: call now")
                if urgency.urgent
                else self._say("om någon är i fara just nu", "if someone is in danger now")
            )
            for name in urgency.services:
                for doc in (d for d in self.m.by_name.get(fold(name), ()) if fits(d)):
                    self._add(doc, 100.0, why)
        best = self.m.score(ranked[0][1]) if ranked else 0.0
        if not confident:
            for doc in (d for d in self.m.by_name.get(self.m.coordinator, ()) if fits(d)):
                why = self._say(
                    "ingen säker träff: vi hjälper dig vidare", "no sure match: we guide you"
                )
                self._add(doc, best, why)
        for doc, raw in ranked:
            matched = ", ".join(self.m.reason_words(doc, self.q))
            self._add(doc, self.m.score(raw), self._say("matchar: ", "matches: ") + matched)
            if len(self.hits) >= limit:
                break
        self._fill(limit=MIN_RESULTS)
        return self.hits[:limit]

    def _fits(self, doc: int) -> bool:
        return self.m.fits(doc, place=self.place, age=self.age)

    def _fill(self, *, limit: int) -> None:
        """Fewer than `limit` matches: add other services that serve this family."""
        by_place = self.m.by_place
        for doc in [*by_place.get(self.place, ()), *by_place.get(None, ())]:
            if len(self.hits) >= limit:
                return
            if self._fits(doc):
                self._add(doc, 0.0, self._say("fler förslag", "more options"))
