"""The ordered hit list of one match: urgent services, the coordinator, the ranking, fill-ins.

Kept apart from the index so the order rules read in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from directory.matching import Hit, ServiceCard
from directory.query import QueryTerms
from directory.text import fold
from directory.urgency import Urgency

MIN_RESULTS = 3  # shown whenever that many services serve the family


class Ranked(Protocol):
    """What the hit list reads from the matcher (directory.matcher.Matcher)."""

    cards: list[ServiceCard]
    coordinator: str
    emergency: frozenset[int]  # docs for danger now only (SOS Alarm 112)

    @property
    def by_name(self) -> Mapping[str, Sequence[int]]: ...

    @property
    def by_place(self) -> Mapping[str | None, Sequence[int]]: ...

    def fits(self, doc: int, *, place: str, age: int | None) -> bool: ...

    def reason_words(self, doc: int, q: QueryTerms, *, top: int = 3) -> list[str]: ...


class HitList:
    """Builds the ordered hit list: urgent services, coordinator, ranking, then fill-ins."""

    def __init__(
        self, matcher: Ranked, q: QueryTerms, *, english: bool, place: str, age: int | None
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
        """`ranked`: (doc, score 0..100) best first. Urgent: the emergency lines lead. Caution
        changes nothing here: the reply's first line says to call 112 if someone is in danger
        now, and the services that fit the question keep their places."""
        fits = self._fits
        if urgency.urgent:
            why = self._say("akut läge: ring nu", "emergency: call now")
            for name in urgency.services:
                for doc in (d for d in self.m.by_name.get(fold(name), ()) if fits(d)):
                    self._add(doc, 100.0, why)
        best = ranked[0][1] if ranked else 0.0
        if not confident:
            for doc in (d for d in self.m.by_name.get(self.m.coordinator, ()) if fits(d)):
                why = self._say(
                    "ingen säker träff: vi hjälper dig vidare", "no sure match: we guide you"
                )
                self._add(doc, best, why)
        for doc, score in ranked:
            matched = ", ".join(self.m.reason_words(doc, self.q))
            reason = (
                self._say("matchar: ", "matches: ") + matched
                if matched
                else self._say("liknar din fråga", "close to your question")
            )
            self._add(doc, score, reason)
            if len(self.hits) >= limit:
                break
        self._fill(limit=MIN_RESULTS, calm=not urgency.urgent)
        return self.hits[:limit]

    def _fits(self, doc: int) -> bool:
        return self.m.fits(doc, place=self.place, age=self.age)

    def _fill(self, *, limit: int, calm: bool) -> None:
        """Fewer than `limit` matches: add other services that serve this family (not the
        emergency line unless the message is urgent)."""
        by_place = self.m.by_place
        for doc in [*by_place.get(self.place, ()), *by_place.get(None, ())]:
            if len(self.hits) >= limit:
                return
            if self._fits(doc) and not (calm and doc in self.m.emergency):
                self._add(doc, 0.0, self._say("fler förslag", "more options"))
