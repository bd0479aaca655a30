"""Where a parent's data can be: every table of the schema, read whole.

Shared by the "radera" and retention tests. `personal_tables()` derives from SQLModel.metadata
every table with a column that holds an address or words (a conversation id, a sender, a
phone number, a chat id, a body or text, a stored answer, a Twilio MessageSid), so a table
added tomorrow is on the list without anyone remembering to add it. `mentions()` reads every
table, not only those, for any trace of one parent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

PERSONAL_COLUMN = re.compile(
    r"(^|_)(conversation_id|sender_ref|chat_id|phone|body|text|response|message_sid)$"
)

# Tables that keep a parent's data after "radera" on purpose, and why.
KEPT_ON_PURPOSE = {
    "sms_opt_out": "a STOPP holds until START: the number stays so nothing is sent to it",
}
# Cells that may still name a deleted row, and why that is not the parent's data.
IGNORED_CELLS = {
    ("audit_entry", "resource_id"): "an entry keeps who did what and when to a case or "
    "meeting that no longer exists; its values (before/after) are erased",
}


def personal_tables() -> set[str]:
    return {
        table.name
        for table in SQLModel.metadata.tables.values()
        if any(PERSONAL_COLUMN.search(column.name) for column in table.columns)
    }


def _cell_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


async def mentions(session: AsyncSession, tokens: Collection[str]) -> dict[str, list[str]]:
    """Per table, the cells ("column: value") holding any of the tokens.

    Text and JSON cells match when they contain a token, numbers when they equal one (a
    Telegram chat id is stored as a number)."""
    wanted = [token for token in tokens if token]
    connection = await session.connection()
    found: dict[str, list[str]] = {}
    for table in SQLModel.metadata.sorted_tables:
        for row in (await connection.execute(select(table))).mappings():
            for column, value in row.items():
                if (table.name, column) in IGNORED_CELLS:
                    continue
                cell = _cell_text(value)
                if cell is None:
                    continue
                exact = not isinstance(value, str | dict | list)
                if any(token == cell if exact else token in cell for token in wanted):
                    found.setdefault(table.name, []).append(f"{column}: {cell[:80]}")
    return found
