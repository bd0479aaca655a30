"""What a coordinator can do to a case, shared by the web inbox, the admin API and the group.

Each function checks the coordinator's municipalities, does the change through the data
functions and the handoff, and writes the audit entry in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases import cases
from bot.cases.case_models import CaseNote, CaseStatus, SupportCase
from bot.core.conversations import list_messages
from bot.core.models import Conversation, ConversationMessage
from bot.staff import audit
from bot.staff.models import StaffUser

if TYPE_CHECKING:
    from bot.context import AppContext

ACTIONS = ("reply", "note", "assign", "unassign", "close")


class CaseNotFound(LookupError):
    pass


class CaseForbidden(PermissionError):
    pass


class CaseClosed(Exception):
    """A reply to a closed case: the parent was told the case is finished, so it takes no
    reply until they write again (which reopens it)."""

    reason = "the case is closed; it takes a reply again once the parent writes"


def takes_reply(case: SupportCase) -> bool:
    """The one rule for every way a lots answers (web inbox, admin API, Telegram group)."""
    return case.status != CaseStatus.closed


@dataclass
class CasePage:
    case: SupportCase
    conversation: Conversation | None = None
    messages: list[ConversationMessage] = field(default_factory=list)
    notes: list[CaseNote] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # staff_user.id -> name


async def scoped_case(
    *, session: AsyncSession, case_id: str, scope: list[str] | None
) -> SupportCase:
    """The case if this coordinator may see it: their municipality and recorded consent."""
    case = await cases.get_case(session=session, case_id=case_id)
    if case is None:
        raise CaseNotFound(case_id)
    if not cases.visible_to(case, scope):
        raise CaseForbidden(case_id)
    return case


async def load_case_page(
    *, session: AsyncSession, case_id: str, scope: list[str] | None, full: bool = True
) -> CasePage:
    page = CasePage(case=await scoped_case(session=session, case_id=case_id, scope=scope))
    if not full:
        return page
    page.conversation = await session.get(Conversation, page.case.conversation_id)
    page.messages = await list_messages(session=session, conversation_id=page.case.conversation_id)
    page.notes = await cases.list_notes(session=session, case_id=case_id)
    staff_ids = {n.author_id for n in page.notes} | {page.case.assigned_to}
    for staff_id in staff_ids - {None}:
        user = await session.get(StaffUser, staff_id)
        page.names[str(staff_id)] = user.name if user else "?"
    return page


def _state(case: SupportCase) -> dict[str, Any]:
    return {
        "status": str(case.status),
        "assigned_to": case.assigned_to,
        "closed_at": case.closed_at,
        "first_reply_at": case.first_reply_at,
    }


async def audit_case(
    *,
    session: AsyncSession,
    ctx: AppContext,
    actor_id: str | None,
    action: str,
    case: SupportCase,
    before: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One audit entry per view or change; message texts are never copied into the log."""
    after = {**_state(case), **(detail or {})} if action != "view" else None
    await audit.record(
        session=session,
        actor_id=actor_id,
        action=action,
        resource_type="case",
        resource_id=case.id,
        before=before,
        after=after,
        at=ctx.clock(),
    )


async def run_action(
    action: str,
    *,
    session: AsyncSession,
    ctx: AppContext,
    case: SupportCase,
    actor_id: str | None,
    text: str = "",
    from_group: bool = False,
) -> None:
    """Apply one coordinator action and audit it; ValueError for an empty text or bad action,
    CaseClosed for a reply to a closed case.

    The change and its audit entry are committed before anything is sent, so a
    DeliveryError (raised by the handoff) still leaves the reply stored and audited.
    """
    if action not in ACTIONS:
        raise ValueError(f"action: one of {', '.join(ACTIONS)}")
    text = text.strip()
    if action in ("reply", "note") and not text:
        raise ValueError("text: must not be empty")
    if action == "reply" and not takes_reply(case):
        raise CaseClosed(case.id)
    before, now, outgoing = _state(case), ctx.clock(), None
    if action == "reply":
        outgoing = await ctx.handoff.stage_reply(
            session=session, case=case, text=text, author_id=actor_id, notify=not from_group
        )
    elif action == "close":
        outgoing = await ctx.handoff.stage_close(session=session, case=case)
    elif action == "note":
        await cases.add_note(session=session, case=case, author_id=actor_id, text=text, at=now)
    else:
        cases.assign(case, user_id=actor_id if action == "assign" else None, at=now)
    session.add(case)
    detail = {"chars": len(text)} if text else None
    await audit_case(
        session=session,
        ctx=ctx,
        actor_id=actor_id,
        action=action,
        case=case,
        before=before,
        detail=detail,
    )
    await session.commit()
    if outgoing is not None:
        await ctx.handoff.deliver(outgoing)
