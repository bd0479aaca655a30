"""Messages per second through POST /api/chat on one uvicorn worker with SQLite.

Starts the product as the README does (`familjeguiden serve`: one uvicorn worker, migrations,
the bundled directory, the conversation core, the handoff) on a free 127.0.0.1 port with a
temporary SQLite file, then replays short dialogues (question, "fler", "1", "vad kostar
det?", "tack") from `--users` concurrent web chats, each its own conversation, until
`--messages` have been sent. Every question is worded differently, so the encoder's cache
does not hide its cost. Runs once per `--encoders` value (ENCODER=none: the rules alone, as
before the semantic tier; e5: triage with the sentence encoder) and prints messages/s, p50/p99
latency, the commands used and the ratio to the first run. Loopback only; capped.

  .venv/bin/python bench/chat_api.py [--messages 400] [--users 8] [--encoders none,e5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
MAX_MESSAGES = 5000
QUESTIONS = [
    "Min son på 14 vill inte gå till skolan och sitter hemma hela dagarna",
    "Vart vänder jag mig om min dotter på 8 har svårt med kompisar och utbrott?",
    "Jag oroar mig för att min tonåring dricker alkohol på helgerna",
    "Finns det någon öppen verksamhet för föräldrar med små barn?",
]
FOLLOW_UPS = [("fler", None), ("1", "detail:1"), ("vad kostar det?", None), ("tack", None)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(client: httpx.AsyncClient, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):  # up to 60 s: the first start builds the directory index
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("server did not start within 60 s")


async def one_user(
    client: httpx.AsyncClient, user: int, budget: list[int], latencies: list[float]
) -> None:
    """One parent's chats: a question and its follow-ups, over and over, within the budget."""
    turn = 0
    cid: str | None = None
    while budget[0] > 0:
        budget[0] -= 1
        step = turn % (len(FOLLOW_UPS) + 1)
        if step == 0:
            base = QUESTIONS[(user + turn) % len(QUESTIONS)]
            text, action, cid = f"{base} Barnet är {5 + turn % 12} år. ({user}-{turn})", None, None
        else:
            text, action = FOLLOW_UPS[step - 1]
        body = {"conversation_id": cid, "text": text, "action": action}
        started = time.perf_counter()
        response = await client.post("/api/chat", json=body)
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
        cid = response.json()["conversation_id"]
        turn += 1


async def drive(base: str, proc: subprocess.Popen[bytes], messages: int, users: int) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await wait_ready(client, proc)
        await client.post("/api/chat", json={"text": QUESTIONS[0]})  # warm the index
        latencies: list[float] = []
        budget = [messages]
        started = time.perf_counter()
        await asyncio.gather(*(one_user(client, u, budget, latencies) for u in range(users)))
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    print(f"messages: {len(latencies)}  concurrent chats: {users}  elapsed: {elapsed:.2f} s")
    print(f"throughput: {len(latencies) / elapsed:.1f} messages/s")
    print(f"latency p50: {cuts[49] * 1000:.1f} ms  p99: {cuts[98] * 1000:.1f} ms")
    return len(latencies) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--encoders", default="none,e5", help="ENCODER values, in order")
    args = parser.parse_args()
    messages = max(20, min(args.messages, MAX_MESSAGES))
    print("bench:  ", shlex.join([sys.executable, *sys.argv]))
    rates: list[tuple[str, float]] = []
    for encoder in args.encoders.split(","):
        rates.append((encoder, run_server(encoder, messages, args.users)))
        first_name, first = rates[0]
        if len(rates) > 1:
            print(f"ratio to ENCODER={first_name}: {rates[-1][1] / first:.2f}x")
    return 0


def run_server(encoder: str, messages: int, users: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        port = free_port()
        server = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        env["ENCODER"] = encoder
        # One address and a few conversations send everything: limits high enough never to
        # refuse, still counted (their cost is part of the figure).
        env["CHAT_RATE_PER_CLIENT"] = env["CHAT_RATE_PER_CONVERSATION"] = "1000000/minute"
        for name in ("TELEGRAM_BOT_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
            env.pop(name, None)  # web chat only: no bot polling, no SMS
        print(
            f"server:  ENCODER={encoder} DATABASE_URL={url} LOG_LEVEL=WARNING", shlex.join(server)
        )
        proc = subprocess.Popen(server, cwd=ROOT, env=env)
        try:
            return asyncio.run(drive(f"http://127.0.0.1:{port}", proc, messages, users))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
