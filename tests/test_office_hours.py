"""Office-hours arithmetic: weekends, Swedish holidays and the summer-time switches."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.cases.case_models import OfficeHoursConfig
from bot.cases.office_hours import OfficeHours, office_hours_for, parse_week

STHLM = ZoneInfo("Europe/Stockholm")
HOURS = OfficeHours()


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=STHLM)


def test_open_during_a_weekday_and_closed_in_the_evening() -> None:
    assert HOURS.is_open(local(2026, 11, 23, 10, 0))
    assert not HOURS.is_open(local(2026, 11, 23, 16, 30))
    assert HOURS.next_open(local(2026, 11, 23, 17, 0)) == local(2026, 11, 24, 8, 0)


def test_friday_afternoon_carries_over_the_weekend() -> None:
    # Friday 27 Nov 15:30: one hour left that day, the other 7.5 on Monday.
    due = HOURS.add_office_time(local(2026, 11, 27, 15, 30), 8.5)
    assert due == local(2026, 11, 30, 15, 30)
    assert HOURS.next_open(local(2026, 11, 28, 12, 0)) == local(2026, 11, 30, 8, 0)


def test_christmas_eve_and_the_holidays_are_closed() -> None:
    # Wed 23 Dec 2026 12:00; 24 (julafton), 25, 26 closed, 27 Sunday -> Monday 28.
    due = HOURS.add_office_time(local(2026, 12, 23, 12, 0), 8.5)
    assert due == local(2026, 12, 28, 12, 0)
    assert not HOURS.is_office_day(local(2026, 12, 24, 0, 0).date())
    assert not HOURS.is_office_day(local(2026, 12, 31, 0, 0).date())  # nyårsafton


def test_trettondagen_and_midsommarafton_are_closed() -> None:
    assert HOURS.next_open(local(2026, 1, 5, 18, 0)) == local(2026, 1, 7, 8, 0)
    assert HOURS.next_open(local(2026, 6, 18, 17, 0)) == local(2026, 6, 22, 8, 0)


def test_spring_switch_to_summer_time_keeps_local_opening_hours() -> None:
    # Sunday 29 March 2026 clocks go 02:00 -> 03:00; Friday 16:00 CET + 8.5 office hours.
    start = local(2026, 3, 27, 16, 0)
    due = HOURS.add_office_time(start, 8.5)
    assert due == local(2026, 3, 30, 16, 0)
    assert due.utcoffset().total_seconds() == 7200  # CEST
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 14, 0, tzinfo=UTC)


def test_autumn_switch_back_to_winter_time() -> None:
    # Sunday 25 October 2026 clocks go 03:00 -> 02:00; a message at 02:30 UTC Sunday.
    start = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, after the switch
    opens = HOURS.next_open(start)
    assert opens == local(2026, 10, 26, 8, 0)
    assert opens.astimezone(UTC) == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)
    due = HOURS.add_office_time(local(2026, 10, 23, 16, 0), 1.0)  # Friday CEST -> Monday CET
    assert due.astimezone(UTC) == datetime(2026, 10, 26, 7, 30, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        HOURS.next_open(datetime(2026, 11, 23, 10, 0))  # noqa: DTZ001


def test_parse_week_rejects_closing_before_opening() -> None:
    assert parse_week({"0": ["09:00", "12:00"]}) == {0: (time(9), time(12))}
    with pytest.raises(ValueError):
        parse_week({"0": ["12:00", "09:00"]})


async def test_a_municipality_can_have_its_own_hours(session) -> None:
    session.add(
        OfficeHoursConfig(
            municipality="Norrköping", week={"0": ["09:00", "12:00"]}, answer_within_hours=2
        )
    )
    await session.commit()
    own = await office_hours_for(session=session, municipality="Norrköping")
    default = await office_hours_for(session=session, municipality="Degerfors")
    # Monday 11:00 + 2 office hours: 1 h today, 1 h next Monday 09:00-10:00.
    assert own.expected_answer(local(2026, 11, 23, 11, 0)) == local(2026, 11, 30, 10, 0)
    assert default.expected_answer(local(2026, 11, 23, 11, 0)) == local(2026, 11, 24, 11, 0)
