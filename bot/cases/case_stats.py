"""Anonymous satisfaction counts and monthly figures for coordinators."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases.case_models import SatisfactionCount, SupportCase
from bot.cases.cases import as_utc


async def record_satisfaction(
    *, session: AsyncSession, municipality: str, at: datetime, score: int
) -> None:
    """Count one anonymous 1-5 answer for the municipality and month; no link to the case."""
    if not 1 <= score <= 5:
        raise ValueError("score must be 1-5")
    month = as_utc(at).strftime("%Y-%m")
    query = select(SatisfactionCount).where(
        SatisfactionCount.municipality == municipality,
        SatisfactionCount.month == month,
        SatisfactionCount.score == score,
    )
    row = (await session.exec(query)).first() or SatisfactionCount(
        municipality=municipality, month=month, score=score
    )
    row.count += 1
    session.add(row)


@dataclass
class MonthStats:
    municipality: str
    month: str
    cases: int = 0
    median_first_reply_hours: float | None = None
    satisfaction: dict[int, int] = field(default_factory=dict)


async def monthly_stats(
    *, session: AsyncSession, municipalities: list[str] | None
) -> list[MonthStats]:
    """Per municipality and month: cases, median hours to first reply, satisfaction counts."""
    cases = select(SupportCase)
    scores = select(SatisfactionCount)
    if municipalities is not None:
        cases = cases.where(col(SupportCase.municipality).in_(municipalities))
        scores = scores.where(col(SatisfactionCount.municipality).in_(municipalities))
    rows: dict[tuple[str, str], MonthStats] = {}
    waits: dict[tuple[str, str], list[float]] = defaultdict(list)
    for case in (await session.exec(cases)).all():
        key = (case.municipality, as_utc(case.created_at).strftime("%Y-%m"))
        rows.setdefault(key, MonthStats(*key)).cases += 1
        if case.first_reply_at is not None:
            wait = as_utc(case.first_reply_at) - as_utc(case.created_at)
            waits[key].append(wait.total_seconds() / 3600)
    for score in (await session.exec(scores)).all():
        key = (score.municipality, score.month)
        rows.setdefault(key, MonthStats(*key)).satisfaction[score.score] = score.count
    for key, hours in waits.items():
        rows[key].median_first_reply_hours = round(statistics.median(hours), 1)
    return sorted(rows.values(), key=lambda s: (s.municipality, s.month), reverse=False)
