"""Pieces every admin router shares: paging parameters, documented errors, dates."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Query

from admin.schemas import Problem
from bot.clock import Clock

STOCKHOLM = ZoneInfo("Europe/Stockholm")

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip")]

_ERRORS = {
    401: "missing or unknown API key",
    403: "your role or municipalities do not allow this",
    404: "no such resource",
    409: "conflicts with an existing resource",
    413: "request body too large",
    412: "the resource changed since you read it (If-Match is stale)",
    428: "If-Match header missing",
    429: "too many failed authentication attempts",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation for the error answers a route can give."""
    return {code: {"model": Problem, "description": _ERRORS[code]} for code in codes}


READ_ERRORS = errors(401, 403, 404, 429)
WRITE_ERRORS = errors(401, 403, 404, 409, 412, 428, 429)
CREATE_ERRORS = errors(401, 403, 404, 409, 429)


def today(clock: Clock) -> date:
    """Today's date in Sweden (verification dates are Swedish calendar days)."""
    return clock().astimezone(STOCKHOLM).date()


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
