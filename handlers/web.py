"""Web chat: the page at / and its JSON API, a thin adapter over the conversation core.

The browser's conversation id is the Conversation's id and its sender_ref (an unguessable
uuid4), so holding the id is what lets a browser read its own conversation. Messages are
rate-limited per client address and per conversation (state in the database, shared by
every instance), a conversation holds at most settings.chat_max_messages, and its history
is read a page at a time.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import UUID4, BaseModel, BeforeValidator, Field

from admin.deps import LimitsDep, client_address
from bot.context import AppContext, get_ctx
from bot.core.conversation import ConversationFull
from bot.core.conversations import ConversationIdTaken
from bot.core.dto import Channel, Inbound, Reply
from bot.core.intents import clean
from bot.staff.limits import Bucket

HERE = Path(__file__).parent
MAX_TEXT = 10_000
STATIC = {
    "chat.js": "text/javascript",
    "chat.css": "text/css",
    "api-docs.js": "text/javascript",  # the /docs page's start-up (handlers/api_docs.py)
}
Ctx = Annotated[AppContext, Depends(get_ctx)]
After = Annotated[int, Query(ge=0, le=2**31 - 1, description="only messages after this seq")]
PageSize = Annotated[
    int | None,
    Query(ge=1, le=1000, description="at most this many messages (default and most: a page)"),
]


def _cleaned(value: object) -> object:
    return clean(value) if isinstance(value, str) else value


# Text from a browser may hold control characters or a lone surrogate; drop them, keep the rest.
CleanStr = Annotated[str, BeforeValidator(_cleaned)]


class ChatIn(BaseModel):
    conversation_id: UUID4 | None = None
    text: CleanStr = Field(max_length=MAX_TEXT)
    municipality: CleanStr | None = Field(default=None, max_length=64)
    action: CleanStr | None = Field(default=None, max_length=64, description="a pressed button")


class ButtonOut(BaseModel):
    label: str
    action: str


class ServiceOut(BaseModel):
    id: str
    name: str


class MessageOut(BaseModel):
    text: str
    buttons: list[ButtonOut] = []
    services: list[ServiceOut] = []
    urgent: bool = False


class ChatOut(BaseModel):
    conversation_id: str
    messages: list[MessageOut]
    services: list[ServiceOut]
    urgent: bool
    last_seq: int = Field(description="poll GET /api/chat/{id}?after=last_seq for new messages")
    deleted: bool = False


class HistoryMessage(MessageOut):
    id: str
    seq: int
    author: str = Field(description="parent, bot, coordinator or system")
    created_at: datetime


class HistoryOut(BaseModel):
    conversation_id: str
    messages: list[HistoryMessage] = Field(description="in order of seq, one page")
    has_more: bool = Field(
        default=False, description="more messages follow: ask again with after=<last seq>"
    )


class Problem(BaseModel):
    detail: str


LIMITED = {
    409: {"model": Problem, "description": "the conversation is full; only 'radera' is taken"},
    413: {"model": Problem, "description": "the body is larger than MAX_BODY_BYTES"},
    429: {"model": Problem, "description": "too many messages; wait Retry-After seconds"},
}


def _message(reply: Reply) -> MessageOut:
    return MessageOut.model_validate(reply, from_attributes=True)


def _services(replies: list[Reply]) -> list[ServiceOut]:
    """Every service named in the replies, once each, in order."""
    named = {s.id: s.name for r in replies for s in r.services}
    return [ServiceOut(id=i, name=n) for i, n in named.items()]


async def validation_error(_request: Request, exc: Exception) -> Response:
    """FastAPI's 422 (detail[].loc/msg/type/input), encoded as ASCII JSON: the echoed input
    may hold a lone surrogate, which UTF-8 cannot encode, and that must not become a 500."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    body = json.dumps({"detail": jsonable_encoder(errors)}, ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")


def make_router() -> APIRouter:
    router = APIRouter(tags=["web chat"])
    templates = Jinja2Templates(directory=HERE / "templates")

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def chat_page(request: Request, kommun: str = "") -> HTMLResponse:
        """The chat page; ?kommun=Degerfors presets the municipality when embedded."""
        return templates.TemplateResponse(request, "chat.html", {"kommun": kommun[:64]})

    @router.get("/static/{name}", include_in_schema=False)
    async def chat_static(name: str) -> FileResponse:
        """The page's own script and style (no CDN: the product runs offline)."""
        if name not in STATIC:
            raise HTTPException(404, "no such file")
        return FileResponse(HERE / "static" / name, media_type=STATIC[name])

    @router.post("/api/chat", responses=LIMITED)
    async def post_chat(body: ChatIn, ctx: Ctx, request: Request, limits: LimitsDep) -> ChatOut:
        """Send one parent message; returns the assistant's replies."""
        settings = ctx.settings
        conversation_id = str(body.conversation_id or uuid.uuid4())
        wait = await limits.take(
            ctx.clock(),
            (Bucket("chat-client", settings.chat_rate_per_client), client_address(request)),
            (Bucket("chat-conversation", settings.chat_rate_per_conversation), conversation_id),
        )
        if wait is not None:
            raise HTTPException(
                429,
                f"too many messages: try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        inbound = Inbound(
            channel=Channel.web,
            sender_ref=conversation_id,
            text=body.text,
            received_at=ctx.clock(),
            municipality_hint=(body.municipality or "").strip() or None,
            action=body.action,
        )
        try:
            done = await ctx.core.exchange(inbound, max_messages=settings.chat_max_messages)
        except ConversationIdTaken:
            raise HTTPException(404, "unknown conversation") from None
        except ConversationFull as full:
            raise HTTPException(
                409,
                f"conversation_id: the conversation has reached {full.cap} messages; only "
                "'radera' is taken now; start a new one with conversation_id null",
            ) from None
        return ChatOut(
            conversation_id=conversation_id,
            messages=[_message(r) for r in done.replies],
            services=_services(done.replies),
            urgent=any(r.urgent for r in done.replies),
            last_seq=done.last_seq,
            deleted=done.conversation_id is None,
        )

    @router.get("/api/chat/{conversation_id}")
    async def get_chat(
        conversation_id: UUID4, ctx: Ctx, after: After = 0, limit: PageSize = None
    ) -> HistoryOut:
        """The conversation's messages (coordinator replies included) after seq `after`, one
        page at a time: while `has_more`, ask again with `after` = the last seq."""
        history = await ctx.core.history(
            str(conversation_id), after_seq=after, channel=Channel.web
        )
        if history is None:
            raise HTTPException(404, "unknown conversation")
        size = min(limit or ctx.settings.chat_history_page, ctx.settings.chat_history_page)
        ordered = sorted(history, key=lambda m: m["seq"])  # pages follow seq
        page = [HistoryMessage.model_validate(m) for m in ordered[:size]]
        return HistoryOut(
            conversation_id=str(conversation_id), messages=page, has_more=len(ordered) > size
        )

    return router
