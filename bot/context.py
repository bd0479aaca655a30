"""AppContext: everything a request or an update handler may need, built once per app.

`bot.app.build()` fills it in; features take it (FastAPI: `Depends(get_ctx)`; aiogram: workflow
data). It imports no feature, so any module may import it without an import cycle: the types
of the feature parts are named for type checkers only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.db import SessionFactory
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.cases.handoff import CaseHandoff
    from bot.core.conversation import ConversationCore
    from bot.core.dto import Channel
    from bot.core.senders import TextSender
    from directory.index import DirectoryIndex


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    clock: Clock
    senders: dict[Channel, TextSender] = field(default_factory=dict)
    # The handoff to coordinators (bot.core.ports.Handoff for the core; inbox, API, group).
    handoff: CaseHandoff = field(init=False)
    # The cached matcher over the directory, and the one dialogue every channel shares.
    directory: DirectoryIndex = field(init=False)
    core: ConversationCore = field(init=False)


def get_ctx(request: Request) -> AppContext:
    """FastAPI dependency: the app's context."""
    return request.app.state.ctx
