"""What bench/scale.py prints: throughput and latency of a run, errors around the faults,
and the exactly-once check of every message against PostgreSQL."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg

from bench.scale_load import Sent
from deploy.scratch_db import libpq_url


@dataclass(frozen=True)
class Figures:
    answered: int
    rate: float  # answered messages per second
    p50_ms: float
    p99_ms: float
    errors: Counter[str]
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by group (scale_cpu)


def figures(sent: list[Sent], seconds: float, cpu: dict[str, float] | None = None) -> Figures:
    ok = [s.seconds for s in sent if s.status == 200]
    cuts = statistics.quantiles(ok, n=100) if len(ok) > 1 else [0.0] * 99
    errors = Counter(str(s.status or "no answer") for s in sent if s.status != 200)
    rate = len(ok) / seconds
    return Figures(len(ok), rate, cuts[49] * 1000, cuts[98] * 1000, errors, cpu or {})


HEADER = (
    f"{'instances':<12} {'turns':<9} {'200s':>6} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8}  errors"
)


def row(label: str, kind: str, fig: Figures) -> str:
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(fig.errors.items())) or "none"
    line = (
        f"{label:<12} {kind:<9} {fig.answered:>6} {fig.rate:>8.1f} {fig.p50_ms:>8.1f}"
        f" {fig.p99_ms:>8.1f}  {errors}"
    )
    if fig.cpu and fig.answered:
        per = "  ".join(f"{k} {v * 1000 / fig.answered:.1f}" for k, v in fig.cpu.items())
        line += f"\n{'':<12} CPU ms per answered message: {per}"
    return line


def window(sent: list[Sent], start: float, end: float) -> list[Sent]:
    """The messages sent in [start, end)."""
    return [s for s in sent if start <= s.started < end]


def first_answer_after(sent: list[Sent], at: float) -> float | None:
    """Seconds from `at` until the first 200 to a message sent after it."""
    done = [s.started + s.seconds for s in sent if s.status == 200 and s.started >= at]
    return min(done) - at if done else None


@dataclass(frozen=True)
class Stored:
    checked: int  # (conversation, text) pairs answered 200 at least once
    lost: int  # answered more often than stored
    duplicated: int  # stored more often than sent
    unanswered_stored: int  # stored, though its answer never arrived (a 502, a 500)


def exactly_once(database_url: str, sent: Iterable[Sent]) -> Stored:
    """Each (conversation, text) stored as often as it was answered 200, plus at most once
    for each time it got no answer; never more."""
    answered: Counter[tuple[str, str]] = Counter()
    unanswered: Counter[tuple[str, str]] = Counter()
    for s in sent:
        (answered if s.status == 200 else unanswered)[(s.conversation, s.text)] += 1
    stored = _stored(database_url, {c for c, _ in answered | unanswered})
    keys = answered | unanswered
    return Stored(
        checked=len(answered),
        lost=sum(1 for k, n in answered.items() if stored[k] < n),
        duplicated=sum(1 for k in keys if stored[k] > answered[k] + unanswered[k]),
        unanswered_stored=sum(
            min(unanswered[k], max(0, stored[k] - answered[k])) for k in unanswered
        ),
    )


def _stored(database_url: str, conversations: set[str]) -> Counter[tuple[str, str]]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        rows = conn.execute(
            "SELECT conversation_id, text, count(*) FROM conversation_message "
            "WHERE author = 'parent' AND conversation_id = ANY(%s) "
            "GROUP BY conversation_id, text",
            (sorted(conversations),),
        ).fetchall()
    return Counter({(cid, text): count for cid, text, count in rows})
