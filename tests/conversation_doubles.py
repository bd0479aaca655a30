"""Test doubles for the conversation core's ports: a tiny directory and a recording handoff.

The directory double matches on keywords only; it stands in for directory.index so the
core's dialogue can be tested on its own. End-to-end tests use the real DirectoryIndex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.core.conversation import ConversationCore
from bot.core.dto import Channel, Inbound, Reply
from bot.core.models import Conversation, ConversationMessage
from bot.core.ports import HandoffOpened, ParentRelayed
from bot.db import SessionFactory
from directory.matching import (
    Contact,
    Hit,
    MatchResult,
    MunicipalitySource,
    Query,
    ServiceCard,
)
from directory.urgency import NOT_URGENT, Urgency

KNOWN_MUNICIPALITIES = ("Degerfors", "Norrköping")


def card(name: str, keywords: str, **extra: object) -> ServiceCard:
    values: dict[str, object] = {
        "id": f"id-{name.lower().replace(' ', '-')}",
        "name": name,
        "summary": f"{name} hjälper familjer.",
        "description": f"{name} hjälper familjer. Mer text om {name}.",
        "scope": "municipality",
        "municipalities": ("Degerfors",),
        "region": None,
        "min_age": 0,
        "max_age": 20,
        "access": "open",
        "access_note": "",
        "cost": "",
        "categories": (),
        "keywords": tuple(keywords.split()),
        "contacts": (),
        "url": None,
        "verified": True,
        "urgent_service": False,
        "assured_date": None,
    }
    values.update(extra)
    return ServiceCard(**values)  # type: ignore[arg-type]


CARDS = [
    card(
        "Familjeguiden",
        "familjeguiden skola sömn oro",
        contacts=(
            Contact("phone", "0586-000 01", "Familjeguiden"),
            Contact("web", "https://x.test/fg"),
        ),
        assured_date=date(2026, 3, 1),
    ),
    card(
        "Elevhälsan",
        "skola skolan kurator skolk",
        access="via_school",
        cost="Gratis",
        contacts=(
            Contact("phone", "0586-000 02", note="vardagar 8-16"),
            Contact("email", "eh@x.test"),
        ),
    ),
    card("Familjecentralen", "bebis förälder skola bråk", cost="Gratis", max_age=6),
    card("Ungdomsgruppen", "bråk tonåring", min_age=13, max_age=19),
    card("BUP", "ångest skola sömn", min_age=0, max_age=17, assured_date=date(2026, 3, 1)),
    card("Steget", "skola alkohol"),
    card(
        "SOS Alarm 112",
        "tabletter akut",
        urgent_service=True,
        contacts=(Contact("phone", "112"),),
        scope="national",
    ),
    card(
        "Självmordslinjen",
        "tabletter självmord",
        urgent_service=True,
        contacts=(Contact("phone", "90101", note="dygnet runt"),),
        scope="national",
    ),
]


@dataclass
class FakeMatcher:
    default_municipality: str = "Degerfors"
    cards: list[ServiceCard] = field(default_factory=lambda: list(CARDS))
    fail: bool = False
    queries: list[Query] = field(default_factory=list)
    encoder: None = None  # no sentence vectors: the rules alone read intents

    def match(self, query: Query, *, limit: int = 5) -> MatchResult:
        if self.fail:
            raise RuntimeError("matcher broke")
        self.queries.append(query)
        words = set(re.findall(r"\w+", query.text.lower()))
        age = query.age if query.age is not None else _age(words)
        cards = [c for c in self.cards if age is None or c.min_age <= age <= c.max_age]
        scored = [(len(words & set(c.keywords)), c) for c in cards]
        hits = [
            Hit(service=c, score=100.0 * n / len(words or {""}), reason="keywords")
            for n, c in sorted(scored, key=lambda sc: -sc[0])
            if n > 0
        ]
        named = [m for m in KNOWN_MUNICIPALITIES if m.lower() in words]
        if named:
            municipality, source = named[0], MunicipalitySource.text
        elif query.municipality:
            municipality, source = query.municipality, MunicipalitySource.query
        else:
            municipality, source = self.default_municipality, MunicipalitySource.default
        return MatchResult(
            hits=hits[:limit],
            urgent=self.assess(query.text).urgent,
            confident=len(hits) > 0 and hits[0].score >= 20,
            municipality=municipality,
            municipality_source=source,
            age=_age(words),
        )

    def assess(self, text: str) -> Urgency:
        """Two alarm words stand in for triage."""
        if set(re.findall(r"\w+", text.lower())) & {"tabletter", "självmord"}:
            return Urgency(True, "overdose", "alarm word", ("SOS Alarm 112",))
        return NOT_URGENT


def _age(words: set[str]) -> int | None:
    return next((int(w) for w in sorted(words) if w.isdigit() and int(w) <= 25), None)


@dataclass
class FakeDirectory:
    matcher: FakeMatcher = field(default_factory=FakeMatcher)

    async def get(self) -> FakeMatcher:
        return self.matcher


@dataclass
class RecordingHandoff:
    """Records the core's calls; the real implementation is the handoff feature's."""

    opened: list[tuple[str, str]] = field(default_factory=list)
    relayed: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    answered: bool = False  # set by a test: the lots replied before the next parent message

    def consent_text(self, *, conversation: Conversation) -> str:
        return f"En lots i {conversation.municipality or 'din kommun'} får läsa samtalet."

    async def open_case(
        self, *, session: AsyncSession, conversation: Conversation, consent_text: str, at: datetime
    ) -> HandoffOpened:
        self.opened.append((conversation.id, consent_text))
        return HandoffOpened(case_id="case-1", acknowledgement="Tack! En lots hör av sig.")

    async def parent_wrote(
        self, *, session: AsyncSession, conversation: Conversation, message: ConversationMessage
    ) -> ParentRelayed:
        self.relayed.append(message.text)
        answered, self.answered = self.answered, False
        return ParentRelayed(acknowledgement="Lotsen ser ditt meddelande.", answered=answered)

    async def forget(self, *, session: AsyncSession, conversation: Conversation) -> None:
        self.forgotten.append(conversation.id)


def web_core(
    sessions: SessionFactory,
    clock: Clock,
    *,
    directory: FakeDirectory | None = None,
    handoff: RecordingHandoff | None = None,
) -> ConversationCore:
    """The conversation core over the doubles, for a parent in the web chat (Degerfors)."""
    return ConversationCore(
        sessions=sessions,
        directory=directory or FakeDirectory(),
        clock=clock,
        default_municipality="Degerfors",
        handoff=handoff or RecordingHandoff(),
    )


async def say_all(core: ConversationCore, text: str) -> list[Reply]:
    """Every reply to one web-chat message from parent p1."""
    return await core.handle(
        Inbound(channel=Channel.web, sender_ref="p1", text=text, received_at=core._clock())
    )


async def say(core: ConversationCore, text: str) -> Reply:
    """The one reply to one web-chat message from parent p1."""
    [reply] = await say_all(core, text)
    return reply
