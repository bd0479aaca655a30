"""The baseline for bench/chat_api.py: a bare FastAPI POST /api/chat with the same JSON shape.

It validates the request with the web chat's own ChatIn and answers a ChatOut of the size a
real answer has (an intro, three services with contacts, buttons), and does nothing else: no
database, no middleware, no conversation. What the product adds on top of this is the cost
of the message path. Served by uvicorn as `familjeguiden serve` serves the app (one worker,
uvloop and httptools when installed, proxy headers off):

  .venv/bin/python -m uvicorn bench.bare_chat:app --host 127.0.0.1 --port 8001 --no-proxy-headers
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI

from handlers.web import ButtonOut, ChatIn, ChatOut, MessageOut, ServiceOut

SERVICES = [
    ServiceOut(id=str(uuid.UUID(int=n)), name=name)
    for n, name in enumerate(["Elevhälsan", "Familjecentralen", "BUP Örebro län"], 1)
]
REPLY = MessageOut(
    text=(
        "Här är några som kan hjälpa till:\n\n"
        + "\n\n".join(
            f"{n}. {s.name}\nStöd för barn och föräldrar, samtal och råd. "
            f"Telefon 0586-123 45, öppet vardagar 8-16. Gratis."
            for n, s in enumerate(SERVICES, 1)
        )
        + '\n\nSvaren gäller Degerfors. Skriv "kommun" för att byta.'
    ),
    buttons=[
        *(ButtonOut(label=str(n), action=f"detail:{n}") for n in range(1, 4)),
        ButtonOut(label="Fler", action="more"),
        ButtonOut(label="Prata med en person", action="handoff"),
    ],
    services=SERVICES,
)

app = FastAPI(title="bare chat baseline")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/chat")
async def post_chat(body: ChatIn) -> ChatOut:
    return ChatOut(
        conversation_id=str(body.conversation_id or uuid.uuid4()),
        messages=[REPLY],
        services=SERVICES,
        urgent=False,
        last_seq=2,
    )
