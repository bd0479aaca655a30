"""Twilio webhooks: incoming SMS (answered with TwiML) and delivery status callbacks.

Replies go back as TwiML in the webhook response rather than through the REST API: one
round trip, no second credentialed call, and the answer is tied to the question (if the
response is lost, Twilio's retry of the same MessageSid gets the stored TwiML again).
Messages that start outside a webhook (coordinators, reminders) use the REST queue.

Signatures are checked against the configured PUBLIC_BASE_URL, not request.url: behind a
proxy the app sees another scheme/host than the URL Twilio signed.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.context import AppContext, get_ctx
from bot.core.privacy import ref_hash
from bot.meetings.reminders import record_status
from bot.sms.phone import to_e164
from bot.sms.sms_queue import first_time_seen, forget_seen, seen_response, store_response
from handlers.sms_inbound import SmsInbound

log = logging.getLogger(__name__)
WEBHOOK, STATUS = "/sms/twilio", "/sms/twilio/status"
SORRY = "Något gick fel hos oss. Försök gärna igen om en stund."


async def signed_form(request: Request, ctx: AppContext = Depends(get_ctx)) -> dict[str, str]:
    """The form parameters, or 403 when the X-Twilio-Signature does not match."""
    settings = ctx.settings
    form = {key: str(value) for key, value in (await request.form()).items()}
    signature = request.headers.get("X-Twilio-Signature", "")
    token, base = settings.twilio_auth_token, settings.public_base_url
    if not (signature and token and base):
        raise HTTPException(403, detail="missing or unverifiable X-Twilio-Signature")
    query = f"?{request.url.query}" if request.url.query else ""  # Twilio signs it too
    url = base.rstrip("/") + request.url.path + query
    if not RequestValidator(token.get_secret_value()).validate(url, form, signature):
        log.warning("sms webhook: bad signature on %s", request.url.path)
        raise HTTPException(403, detail="invalid X-Twilio-Signature")
    return form


def twiml(texts: list[str], *, status_url: str | None) -> str:
    response = MessagingResponse()
    options = {"action": status_url} if status_url else {}  # delivery reports come there
    for text in texts:
        response.message(text, **options)
    return str(response)


def make_router() -> APIRouter:
    router = APIRouter(tags=["sms"])
    router.add_api_route(WEBHOOK, incoming, methods=["POST"], response_class=Response)
    router.add_api_route(STATUS, delivery_status, methods=["POST"], response_class=Response)
    return router


CODE_LENGTH = 64  # Twilio's ids and status words are short codes (a SID is 34 characters)


def required(form: dict[str, str], *names: str) -> list[str]:
    """The named fields, or 400 naming the first one missing or not a code (checked after
    the signature): the database cannot store a NUL, and a code is never long."""
    for name in names:
        if not form.get(name):
            raise HTTPException(400, detail=f"{name}: required Twilio parameter is missing")
        code(form, name)
    return [form[name] for name in names]


def code(form: dict[str, str], name: str) -> str:
    """A short code field (may be empty), or 400 naming it."""
    value = form.get(name, "")
    if "\x00" in value or len(value) > CODE_LENGTH or not value.isprintable():
        raise HTTPException(400, detail=f"{name}: not a Twilio code")
    return value


async def incoming(
    form: dict[str, str] = Depends(signed_form), ctx: AppContext = Depends(get_ctx)
) -> Response:
    """An incoming SMS: answered once per MessageSid, with TwiML."""
    sid, sender = required(form, "MessageSid", "From")
    body = form.get("Body", "")
    salt = ctx.settings.log_hash_salt.get_secret_value()
    try:
        phone = to_e164(sender)
    except ValueError:
        log.info("sms %s from a non-phone sender %s ignored", sid, ref_hash(sender, salt=salt))
        return Response(twiml([], status_url=None), media_type="application/xml")
    async with ctx.sessions() as session:
        if not await first_time_seen(session=session, message_sid=sid, now=ctx.clock()):
            log.info("sms %s from %s is a retry", sid, ref_hash(phone, salt=salt))
            again = await seen_response(session=session, message_sid=sid)
            return Response(again or twiml([], status_url=None), media_type="application/xml")
    xml = await _answer(ctx, phone=phone, text=body, sid=sid)
    async with ctx.sessions() as session:
        await store_response(session=session, message_sid=sid, response=xml)
        await session.commit()
    log.info("sms %s from %s answered", sid, ref_hash(phone, salt=salt))
    return Response(xml, media_type="application/xml")


async def _answer(ctx: AppContext, *, phone: str, text: str, sid: str) -> str:
    base = (ctx.settings.public_base_url or "").rstrip("/")
    inbound = SmsInbound(sessions=ctx.sessions, clock=ctx.clock, core=ctx.core,
                         web_url=f"{base}/" if base else None)  # fmt: skip
    try:
        texts = await inbound.handle(phone=phone, text=text, message_sid=sid)
    except Exception:
        log.exception("sms %s could not be handled", sid)
        async with ctx.sessions() as session:  # let a resend of this message be processed
            await forget_seen(session=session, message_sid=sid)
        texts = [SORRY]
    return twiml(texts, status_url=f"{base}{STATUS}" if base else None)


async def delivery_status(
    form: dict[str, str] = Depends(signed_form), ctx: AppContext = Depends(get_ctx)
) -> Response:
    """Twilio's delivery report for a message we sent: recorded, failures re-queued."""
    sid, status = required(form, "MessageSid", "MessageStatus")
    if len(status) > 20:  # Twilio's status words ("undelivered") fit the column
        raise HTTPException(400, detail="MessageStatus: not a Twilio status")
    error_code = code(form, "ErrorCode")[:10]
    await record_status(sessions=ctx.sessions, sid=sid, status=status,
                        error_code=error_code or None, now=ctx.clock())  # fmt: skip
    return Response(status_code=204)
