"""The coordinator inbox: server-rendered pages behind a login.

Pages: /inbox/login, /inbox (list with filters), /inbox/cases/{id} (conversation, reply,
notes, assign, close), /inbox/stats. The case page polls /inbox/cases/{id}/messages.json
so new parent messages appear without reloading. Every case view and change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from admin.auth import FailureLimiter
from admin.deps import CtxDep, LimitsDep, SessionDep, client_address
from bot.cases import case_overview, case_stats, cases
from bot.cases.case_actions import (
    ACTIONS,
    CaseForbidden,
    CaseNotFound,
    CasePage,
    audit_case,
    load_case_page,
    run_action,
)
from bot.cases.case_models import CaseStatus
from bot.cases.handoff import DeliveryError
from bot.core.conversations import list_messages, message_dict
from bot.staff.limits import Bucket
from bot.staff.models import Role
from bot.staff.sessions import end_session, session_user, start_session
from handlers import inbox_auth as auth

HERE = Path(__file__).parent
STOCKHOLM = ZoneInfo("Europe/Stockholm")
MAX_TEXT = 4000
NOT_FOUND = "Ärendet finns inte (det kan ha raderats)."
NOT_YOURS = "Ärendet hör till en annan kommun, så du kan inte se det."


def waited(since: datetime, now: datetime) -> str:
    """How long a parent has waited, for the case list: "väntat 2 h 5 min"."""
    minutes = max(0, int((cases.as_utc(now) - cases.as_utc(since)).total_seconds()) // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"väntat {days} dygn {hours} h"
    if hours:
        return f"väntat {hours} h {minutes} min"
    return f"väntat {minutes} min" if minutes else "väntat under 1 min"


@dataclass(frozen=True)
class Coordinator:
    id: str
    name: str
    municipalities: list[str] | None  # None: an admin sees every municipality


def _login_redirect() -> HTTPException:
    return HTTPException(status.HTTP_303_SEE_OTHER, headers={"Location": "/inbox/login"})


async def current_coordinator(request: Request, ctx: CtxDep, session: SessionDep) -> Coordinator:
    """The logged-in coordinator, or a redirect to the login page. The session is looked up
    on every request, so a logout or a new password ends it everywhere at once."""
    secret = ctx.settings.session_secret.get_secret_value()
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    token = auth.read_session_cookie(cookie, now=ctx.clock(), secret=secret)
    user = await session_user(session=session, token=token, now=ctx.clock()) if token else None
    if user is None or user.disabled_at is not None or user.role not in auth.INBOX_ROLES:
        raise _login_redirect()
    scope = None if user.role == Role.admin else list(user.municipalities)
    return Coordinator(id=user.id, name=user.name, municipalities=scope)


async def checked_form(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """POST forms must echo the CSRF cookie (double-submit)."""
    if not auth.csrf_ok(cookie=request.cookies.get(auth.CSRF_COOKIE), submitted=csrf_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="csrf_token: missing or wrong")


async def _case_page(
    *, session: SessionDep, case_id: str, me: Coordinator, full: bool = True
) -> CasePage:
    """The case page, or 404 (no such case) / 403 (another municipality, no consent)."""
    try:
        return await load_case_page(
            session=session, case_id=case_id, scope=me.municipalities, full=full
        )
    except CaseNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="case: not found") from None
    except CaseForbidden:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="case: not yours") from None


def _login_limiter(request: Request) -> FailureLimiter:
    """Failed inbox logins per client address, counted in the database (settings.
    auth_failure_rate; one limiter per app, made on first use)."""
    limiter = getattr(request.app.state, "inbox_login_limiter", None)
    if limiter is None:
        rate = request.app.state.ctx.settings.auth_failure_rate
        limiter = FailureLimiter(Bucket("inbox-login-failures", rate))
        request.app.state.inbox_login_limiter = limiter
    return limiter


Me = Annotated[Coordinator, Depends(current_coordinator)]
Csrf = Depends(checked_form)


def make_router() -> APIRouter:
    router = APIRouter(prefix="/inbox", tags=["inbox"], include_in_schema=False)
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["local"] = lambda at: (
        cases.as_utc(at).astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M") if at else ""
    )
    templates.env.filters["waited"] = waited

    def render(
        request: Request, name: str, *, status_code: int = 200, **context: object
    ) -> HTMLResponse:
        token = request.cookies.get(auth.CSRF_COOKIE) or auth.new_csrf_token()
        response = templates.TemplateResponse(
            request, name, {**context, "csrf": token}, status_code=status_code
        )
        if request.cookies.get(auth.CSRF_COOKIE) != token:
            response.set_cookie(
                auth.CSRF_COOKIE, token, httponly=True, samesite="strict", path="/inbox"
            )
        return response

    @router.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> HTMLResponse:
        """Login form."""
        return render(request, "inbox_login.html", error=None)

    @router.post("/login", dependencies=[Csrf], response_model=None)
    async def login(
        request: Request,
        ctx: CtxDep,
        session: SessionDep,
        limits: LimitsDep,
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
    ) -> Response:
        """Check the password, start a server-side session and set its signed cookie."""
        limiter, client, now = _login_limiter(request), client_address(request), ctx.clock()
        wait = await limiter.retry_after(limits, client, now)
        if wait is not None:
            error = "För många felaktiga försök. Vänta en minut och försök igen."
            response = render(request, "inbox_login.html", error=error, status_code=429)
            response.headers["Retry-After"] = str(wait)
            return response
        user = await auth.authenticate(session=session, username=username, password=password)
        if user is None:
            await limiter.fail(limits, client, now)
            error = "Fel användarnamn eller lösenord."
            return render(request, "inbox_login.html", error=error, status_code=401)
        token = await start_session(
            session=session, user_id=user.id, now=now, expires_at=now + auth.SESSION_LIFETIME
        )
        await session.commit()
        secret = ctx.settings.session_secret.get_secret_value()
        cookie = auth.make_session_cookie(session_token=token, now=now, secret=secret)
        response = RedirectResponse("/inbox", status.HTTP_303_SEE_OTHER)
        # Behind a TLS-terminating proxy the request looks like http: trust the public URL.
        public = ctx.settings.public_base_url or ""
        secure = request.url.scheme == "https" or public.startswith("https://")
        response.set_cookie(
            auth.SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=secure, path="/"
        )
        return response

    @router.post("/logout", dependencies=[Csrf])
    async def logout(request: Request, ctx: CtxDep, session: SessionDep) -> RedirectResponse:
        """End the session on the server (a copied cookie is worthless) and forget it."""
        secret = ctx.settings.session_secret.get_secret_value()
        cookie = request.cookies.get(auth.SESSION_COOKIE)
        token = auth.read_session_cookie(cookie, now=ctx.clock(), secret=secret)
        if token:
            await end_session(session=session, token=token)
            await session.commit()
        response = RedirectResponse("/inbox/login", status.HTTP_303_SEE_OTHER)
        response.delete_cookie(auth.SESSION_COOKIE, path="/")
        return response

    @router.get("", response_class=HTMLResponse)
    async def case_list(
        request: Request, me: Me, ctx: CtxDep, session: SessionDep, filter: str = "open"
    ) -> HTMLResponse:
        """Cases of my municipalities, filtered; each row says what a lots needs to choose."""
        chosen = cases.CaseFilter(filter) if filter in set(cases.CaseFilter) else None
        found = await cases.list_cases(
            session=session,
            municipalities=me.municipalities,
            case_filter=chosen or cases.CaseFilter.open,
            user_id=me.id,
        )
        visible = [c for c in found if cases.visible_to(c, me.municipalities)]
        rows = await case_overview.case_rows(session=session, cases=visible)
        return render(
            request,
            "inbox_list.html",
            me=me,
            rows=rows,
            now=ctx.clock(),
            filter=chosen,
            filters=cases.CaseFilter,
        )

    @router.get("/cases/{case_id}", response_class=HTMLResponse)
    async def case_page(
        request: Request, case_id: str, me: Me, ctx: CtxDep, session: SessionDep
    ) -> HTMLResponse:
        """One case with the whole conversation; the view is audited."""
        try:
            page = await _case_page(session=session, case_id=case_id, me=me)
        except HTTPException as error:  # a readable page rather than JSON for the browser
            message = NOT_FOUND if error.status_code == 404 else NOT_YOURS
            return render(
                request, "inbox_error.html", me=me, message=message, status_code=error.status_code
            )
        await audit_case(session=session, ctx=ctx, actor_id=me.id, action="view", case=page.case)
        await session.commit()
        notice = request.query_params.get("notice")
        return render(request, "inbox_case.html", me=me, page=page, notice=notice)

    @router.get("/cases/{case_id}/messages.json")
    async def case_messages(
        case_id: str,
        me: Me,
        session: SessionDep,
        after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,  # seq is a 32-bit column
    ) -> JSONResponse:
        """New messages since seq `after` (the case page polls this)."""
        page = await _case_page(session=session, case_id=case_id, me=me, full=False)
        found = await list_messages(
            session=session, conversation_id=page.case.conversation_id, after_seq=after
        )
        body = {"status": str(page.case.status), "messages": [message_dict(m) for m in found]}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @router.post("/cases/{case_id}/{action}", dependencies=[Csrf])
    async def case_action(
        case_id: str,
        action: str,
        me: Me,
        ctx: CtxDep,
        session: SessionDep,
        text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    ) -> RedirectResponse:
        """reply, note, assign, unassign or close; then back to the case."""
        if action not in ACTIONS:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"action: one of {ACTIONS}")
        page = await _case_page(session=session, case_id=case_id, me=me, full=False)
        if action == "reply" and page.case.status == CaseStatus.closed:
            # A closed case takes no reply (the page shows no form; this is an old tab).
            return RedirectResponse(
                f"/inbox/cases/{case_id}?notice=closed", status.HTTP_303_SEE_OTHER
            )
        notice = "saved"
        try:
            await run_action(
                action, session=session, ctx=ctx, case=page.case, actor_id=me.id, text=text
            )
        except DeliveryError:
            notice = "undelivered"
        except ValueError:
            notice = "empty"
        return RedirectResponse(
            f"/inbox/cases/{case_id}?notice={notice}", status.HTTP_303_SEE_OTHER
        )

    @router.get("/stats", response_class=HTMLResponse)
    async def stats(request: Request, me: Me, session: SessionDep) -> HTMLResponse:
        """Per municipality and month: cases, median time to first reply, satisfaction."""
        rows = await case_stats.monthly_stats(session=session, municipalities=me.municipalities)
        return render(request, "inbox_stats.html", me=me, rows=rows)

    return router


def install(app: FastAPI) -> None:
    """Mount the inbox pages and their static files (no external CDN)."""
    app.include_router(make_router())
    app.mount("/inbox/static", StaticFiles(directory=HERE / "static"), name="inbox-static")
