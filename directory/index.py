"""DirectoryIndex: keeps a Matcher in step with the database.

Admin edits must show in matching at once, and several app instances share one database, so
the index compares `store.directory_revision` (a cheap aggregate query) at most every
`check_every_s` seconds by the injected clock, or at once after `invalidate()`, and rebuilds
only when the revision changed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.db import SessionFactory
from bot.ops import metrics
from directory.encoder import DEFAULT_ENCODER, Encoder, load_encoder
from directory.matcher import Matcher
from directory.municipalities import MunicipalityResolver
from directory.store import directory_revision, load_cards, load_synonyms
from directory.synonyms import load_bundled_synonyms
from directory.triage import Triage
from directory.urgency import Urgency
from directory.vectors import fill_missing, load_vectors

log = logging.getLogger(__name__)
JUDGEMENTS_KEPT = 1024


@dataclass(frozen=True, eq=False)
class RememberingTriage(Triage):
    """Triage that keeps its latest judgements by text. The conversation core triages a
    question before its turn (so its encoding runs outside SQLite's writer lock) and the
    matcher triages it again when ranking: the second time is a lookup, not a second pass
    of the rules and the model."""

    _kept: OrderedDict[str, Urgency] = field(default_factory=OrderedDict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def assess(self, text: str) -> Urgency:
        with self._guard:
            kept = self._kept.get(text)
            if kept is not None:
                self._kept.move_to_end(text)
                return kept
        judged = super().assess(text)
        with self._guard:
            self._kept[text] = judged
            if len(self._kept) > JUDGEMENTS_KEPT:
                self._kept.popitem(last=False)
        return judged


class DirectoryIndex:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        default_municipality: str,
        clock: Clock,
        check_every_s: float = 2.0,
        encoder: str = DEFAULT_ENCODER,
    ) -> None:
        self._sessions = sessions
        self._default = default_municipality
        self._clock = clock
        self._check_every_s = check_every_s
        self._lock = asyncio.Lock()
        self._matcher: Matcher | None = None
        self._revision: str | None = None
        self._checked_at: datetime | None = None
        self._stale = True
        self._resolver: MunicipalityResolver | None = None
        self._encoder = encoder
        self._triage: Triage | None = None

    @property
    def encoder(self) -> Encoder | None:
        """The process-wide sentence encoder (None with ENCODER=none)."""
        return load_encoder(self._encoder)

    @property
    def loaded(self) -> bool:
        """A matcher was built (readiness: this instance can answer questions)."""
        return self._matcher is not None

    def invalidate(self) -> None:
        """The directory changed here: check the revision on the next `get()`."""
        self._stale = True

    async def get(self) -> Matcher:
        """The current Matcher; builds on first use and rebuilds when the directory changed."""
        if self._matcher is not None and not self._due():
            return self._matcher
        async with self._lock:
            if self._matcher is None or self._due():
                await self._refresh()
        assert self._matcher is not None
        return self._matcher

    def _due(self) -> bool:
        if self._stale or self._checked_at is None:
            return True
        return (self._clock() - self._checked_at).total_seconds() >= self._check_every_s

    async def _refresh(self) -> None:
        self._stale = False
        self._checked_at = self._clock()
        started = time.perf_counter()  # build time (a metric), not the dialogue's clock
        async with self._sessions() as session:
            revision = await directory_revision(session=session)
            if self._matcher is not None and revision == self._revision:
                return
            cards = await load_cards(session=session)
            synonyms = await load_synonyms(session=session) or load_bundled_synonyms()
            encoder = self.encoder
            vectors = await self._vectors(session, encoder, [c.id for c in cards])
        if self._resolver is None or self._triage is None:
            self._resolver = await asyncio.to_thread(MunicipalityResolver.load)
            self._triage = await asyncio.to_thread(RememberingTriage.load, encoder)
        self._matcher = await asyncio.to_thread(
            Matcher.build,
            cards,
            synonyms=synonyms,
            resolver=self._resolver,
            triage=self._triage,
            default_municipality=self._default,
            encoder=encoder,
            vectors=vectors,
        )
        self._revision = revision
        log.info("directory index built: %d services (revision changed)", len(cards))
        metrics.INDEX_BUILD_SECONDS.observe(time.perf_counter() - started)

    async def _vectors(
        self, session: AsyncSession, encoder: Encoder | None, ids: list[str]
    ) -> dict[str, np.ndarray]:
        """Stored service vectors; the few a write path did not store are computed once."""
        if encoder is None:
            return {}
        vectors = await load_vectors(session=session, encoder=encoder)
        missing = [i for i in ids if i not in vectors]
        if missing:
            await fill_missing(
                session=session, encoder=encoder, missing=missing, now=self._clock()
            )
            vectors = await load_vectors(session=session, encoder=encoder)
        return vectors
