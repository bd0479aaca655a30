"""Shared builders for table rows in tests.

Tables take every timestamp from the caller (no wall-clock defaults), so tests build rows
at the FakeClock's time and stay correct on any real date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import SQLModel

from bot.cases.case_models import SupportCase
from bot.core.models import Conversation
from directory.models import ContactPoint, Organization, Service

Row = TypeVar("Row", bound=SQLModel)
# Columns that mean "when this row was made or last touched"; each model has some of them.
_STAMPS = ("created_at", "updated_at", "last_message_at", "last_activity_at")


def stamped(model: type[Row], at: datetime, **fields: Any) -> Row:
    """A row of `model` whose timestamps are all `at` (explicit fields win)."""
    stamps = {name: at for name in _STAMPS if name in model.model_fields}
    return model(**{**stamps, **fields})


def conversation(at: datetime, **fields: Any) -> Conversation:
    return stamped(Conversation, at, **fields)


def support_case(at: datetime, **fields: Any) -> SupportCase:
    return stamped(SupportCase, at, **fields)


def service(at: datetime, **fields: Any) -> Service:
    return stamped(Service, at, **fields)


def organization(at: datetime, **fields: Any) -> Organization:
    return stamped(Organization, at, **fields)


def contact(at: datetime, **fields: Any) -> ContactPoint:
    return stamped(ContactPoint, at, **fields)
