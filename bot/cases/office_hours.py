"""Office hours: when a municipality's coordinators answer, and office-time arithmetic.

Each municipality's hours are data (the office_hours table), defaulting to Mon-Fri
08:00-16:30 Europe/Stockholm. Weekends, Swedish public holidays and the de facto closed eves
(midsommarafton, julafton, nyårsafton) are never office days. Arithmetic is done in UTC on
aware datetimes, so the switches to and from summer time do not shift an answer by an hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases.case_models import OfficeHoursConfig

DEFAULT_TZ = "Europe/Stockholm"
DEFAULT_DAY = (time(8, 0), time(16, 30))
# A full default office day: "we answer within one office day".
DEFAULT_ANSWER_WITHIN_HOURS = 8.5
DEFAULT_PICKUP_WITHIN_HOURS = 4.0
MAX_DAYS_AHEAD = 400  # a schedule with no open day at all must not loop forever


def _default_week() -> dict[int, tuple[time, time]]:
    return dict.fromkeys(range(5), DEFAULT_DAY)


@lru_cache(maxsize=32)
def _closed_days(year: int) -> frozenset[date]:
    """Swedish public holidays plus the eves everyone treats as closed (de facto)."""
    found = holidays.country_holidays("SE", years=year, categories=("public", "de_facto"))
    return frozenset(found.keys())


@dataclass(frozen=True)
class OfficeHours:
    """One municipality's opening hours; weekday 0 is Monday."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TZ))
    week: dict[int, tuple[time, time]] = field(default_factory=_default_week)
    answer_within_hours: float = DEFAULT_ANSWER_WITHIN_HOURS
    pickup_within_hours: float = DEFAULT_PICKUP_WITHIN_HOURS

    def is_office_day(self, day: date) -> bool:
        return day.weekday() in self.week and day not in _closed_days(day.year)

    def intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening intervals (UTC) from the local day of `start` onwards."""
        day = _require_aware(start).astimezone(self.tz).date()
        for _ in range(MAX_DAYS_AHEAD):
            if self.is_office_day(day):
                opens, closes = self.week[day.weekday()]
                yield (
                    datetime.combine(day, opens, tzinfo=self.tz).astimezone(UTC),
                    datetime.combine(day, closes, tzinfo=self.tz).astimezone(UTC),
                )
            day += timedelta(days=1)

    def is_open(self, at: datetime) -> bool:
        return self.next_open(at) == at.astimezone(self.tz)

    def next_open(self, at: datetime) -> datetime:
        """`at` itself when open, else the next opening (local time)."""
        at_utc = _require_aware(at).astimezone(UTC)
        for opens, closes in self.intervals(at_utc):
            if at_utc < closes:
                return max(at_utc, opens).astimezone(self.tz)
        raise ValueError("no office hours within a year")

    def add_office_time(self, at: datetime, hours: float) -> datetime:
        """The moment `hours` of office time after `at` have passed (local time)."""
        left = timedelta(hours=hours)
        at_utc = _require_aware(at).astimezone(UTC)
        for opens, closes in self.intervals(at_utc):
            start = max(at_utc, opens)
            if start >= closes:
                continue
            if start + left <= closes:
                return (start + left).astimezone(self.tz)
            left -= closes - start
        raise ValueError("no office hours within a year")

    def expected_answer(self, at: datetime) -> datetime:
        return self.add_office_time(at, self.answer_within_hours)

    def pickup_deadline(self, at: datetime) -> datetime:
        return self.add_office_time(at, self.pickup_within_hours)


def _require_aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("office-hours arithmetic needs an aware datetime")
    return at


def parse_week(raw: dict[str, list[str]]) -> dict[int, tuple[time, time]]:
    """{"0": ["08:00", "16:30"], ...} -> {0: (08:00, 16:30)}; rejects closing before opening."""
    week: dict[int, tuple[time, time]] = {}
    for key, (opens, closes) in raw.items():
        weekday, start, end = int(key), time.fromisoformat(opens), time.fromisoformat(closes)
        if not 0 <= weekday <= 6 or end <= start:
            raise ValueError(f"invalid office hours for weekday {key}")
        week[weekday] = (start, end)
    return week


def from_config(config: OfficeHoursConfig | None) -> OfficeHours:
    if config is None:
        return OfficeHours()
    return OfficeHours(
        tz=ZoneInfo(config.timezone),
        week=parse_week(config.week) if config.week else _default_week(),
        answer_within_hours=config.answer_within_hours,
        pickup_within_hours=config.pickup_within_hours,
    )


async def office_hours_for(*, session: AsyncSession, municipality: str) -> OfficeHours:
    """The municipality's configured hours, or the default."""
    return from_config(await session.get(OfficeHoursConfig, municipality))
