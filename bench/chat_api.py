"""POST /api/chat on one worker, SQLite and PostgreSQL, beside a bare FastAPI endpoint.

One run, one client (httpx, `--users` concurrent chats, each waiting for its answer before
it sends the next message), loopback only and bounded in messages and time:

1. the baseline: bench/bare_chat.py, a FastAPI endpoint with the same request and response
   models and nothing behind them, served by uvicorn like the product;
2. per database (a temporary SQLite file; a fresh PostgreSQL database, dropped afterwards),
   the product as the README starts it (`familjeguiden serve`, ENCODER=e5), twice:
   - question turns: a new question in words nobody sent before (the encoder's cache cannot
     hide its cost), each starting a conversation;
   - turns that need no encoding, in those conversations: "fler", the buttons for details
     and more, "2", "vad kostar det?", "hjälp", "tack" (their question's vectors are cached);
3. the sentence encoder's own time for the same questions, in this process, just before each
   server's question turns (the server idle meanwhile): exactly the texts triage, the intent
   head and ranking encode for each, through the product's encoder (`directory.encoder`),
   one after another (ms per message) and on every core the server has (messages/s).

Prints messages/s, p50 and p99 per kind, their ratio to the bare endpoint, and question
turns' cost (1 / throughput) as a multiple of the encoder's own cost on the same cores;
the load average before and after each part (the machine may be shared).

`--cores 0:0,1` instead runs question turns on SQLite with the server under `taskset -c 0`
and then `taskset -c 0,1`, and prints both, the ratio, and the encoder's own figures on the
same cores.

  .venv/bin/python bench/chat_api.py [--questions 96] [--turns 400] [--users 8]
      [--databases sqlite,postgres] [--postgres postgresql://postgres@127.0.0.1:5432/test]
      [--encoder e5|none]   (none: the rules alone, no encoder timing)
  .venv/bin/python bench/chat_api.py --cores 0:0,1 [--questions 96]
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
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the product's packages beside it

from directory.encoder import CachedEncoder, E5Encoder  # noqa: E402
from directory.triage import Triage, whole_text  # noqa: E402

MAX_MESSAGES = 5000  # per kind and server
MAX_SECONDS = 300  # per kind and server: a slow machine ends the run, it does not hang it
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
QUESTIONS = [
    "Min son på {age} vill inte gå till skolan och sitter hemma hela dagarna",
    "Vart vänder jag mig om min dotter på {age} har svårt med kompisar och får utbrott?",
    "Jag oroar mig för att min tonåring dricker alkohol på helgerna, hon är {age}",
    "Finns det någon öppen verksamhet för föräldrar med barn i {age}-årsåldern?",
    "Vår son är {age} år och har svårt att sova och är orolig inför varje skoldag",
    "Min dotter på {age} spelar datorspel hela nätterna och vill inte prata med oss",
]
# Turns answered from the conversation's last question, whose vectors are cached by then.
FOLLOW_UPS = [
    ("fler", None),
    ("1", "detail:1"),
    ("vad kostar det?", None),
    ("Fler", "more"),
    ("2", None),
    ("hjälp", None),
    ("tack", None),
]


def usable_cores() -> int:
    return len(os.sched_getaffinity(0))


def question(n: int) -> str:
    """Question n: worded differently from every other one (its own age and reference)."""
    base = QUESTIONS[n % len(QUESTIONS)].format(age=4 + n % 13)
    return f"{base}. Vi har försökt prata med henne om det, fråga {n}."


@dataclass(frozen=True)
class Figures:
    messages: int
    elapsed: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.messages / self.elapsed

    def line(self, label: str, baseline: Figures | None = None) -> str:
        ratio = f"  = {self.rate / baseline.rate:5.1%} of bare" if baseline else ""
        return (
            f"  {label:<22} {self.rate:7.1f} messages/s  p50 {self.p50_ms:6.1f} ms"
            f"  p99 {self.p99_ms:6.1f} ms  ({self.messages} in {self.elapsed:.1f} s){ratio}"
        )


def figures(latencies: list[float], elapsed: float) -> Figures:
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return Figures(len(latencies), elapsed, cuts[49] * 1000, cuts[98] * 1000)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(command: list[str], env: dict[str, str], label: str) -> Iterator[str]:
    """A server process on a free loopback port, stopped (and waited for) on exit."""
    port = free_port()
    command = [*command, "--host", "127.0.0.1", "--port", str(port)]
    shown = " ".join(f"{k}={v}" for k, v in env.items() if k in ("DATABASE_URL", "ENCODER"))
    print(f"{label}: {shown} {shlex.join(command)}".replace(sys.executable, "python"))
    env = {**os.environ, **env}
    for name in ("TELEGRAM_BOT_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        env.pop(name, None)  # web chat only: no bot polling, no SMS
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120  # the first start builds the directory index
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not start within 120 s")


def product_env(database_url: str, encoder: str = "e5") -> dict[str, str]:
    env = {"DATABASE_URL": database_url, "ENCODER": encoder, "LOG_LEVEL": "WARNING"}
    env["PYTHONPATH"] = str(ROOT)
    # One address and a few conversations send everything: limits high enough never to
    # refuse, still counted (their cost is part of the figure).
    env["CHAT_RATE_PER_CLIENT"] = env["CHAT_RATE_PER_CONVERSATION"] = "1000000/minute"
    return env


def product(cpus: str | None = None) -> list[str]:
    pinned = ["taskset", "-c", cpus] if cpus else []
    return [*pinned, sys.executable, "-m", "bot", "serve"]


BARE = [sys.executable, "-m", "uvicorn", "bench.bare_chat:app", "--no-proxy-headers"]


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one run; dropped afterwards."""
    import psycopg

    name = f"fg_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the client ------------------------------------------------------------------------


async def send(client: httpx.AsyncClient, body: dict[str, object], out: list[float]) -> str:
    started = time.perf_counter()
    response = await client.post("/api/chat", json=body)
    out.append(time.perf_counter() - started)
    response.raise_for_status()
    return str(response.json()["conversation_id"])


async def ask_questions(
    base: str, first: int, count: int, users: int
) -> tuple[Figures, list[str]]:
    """`count` new questions from `users` chats at once; the conversations they started."""
    latencies: list[float] = []
    started_ids: list[str] = []
    todo = iter(range(first, first + count))
    deadline = time.monotonic() + MAX_SECONDS

    async def user(client: httpx.AsyncClient) -> None:
        for n in todo:
            if time.monotonic() > deadline:
                return
            body = {"conversation_id": None, "text": question(n)}
            started_ids.append(await send(client, body, latencies))

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(user(client) for _ in range(users)))
        elapsed = time.perf_counter() - started
    return figures(latencies, elapsed), started_ids


async def follow_up(base: str, conversations: list[str], count: int, users: int) -> Figures:
    """`count` turns that need no encoding, each chat going through FOLLOW_UPS in one
    conversation after another."""
    latencies: list[float] = []
    budget = [count]
    deadline = time.monotonic() + MAX_SECONDS

    async def user(client: httpx.AsyncClient, mine: list[str]) -> None:
        turn = 0
        while budget[0] > 0 and time.monotonic() < deadline:
            budget[0] -= 1
            cid = mine[(turn // len(FOLLOW_UPS)) % len(mine)]
            text, action = FOLLOW_UPS[turn % len(FOLLOW_UPS)]
            await send(client, {"conversation_id": cid, "text": text, "action": action}, latencies)
            turn += 1

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(user(client, conversations[u::users]) for u in range(users)))
        elapsed = time.perf_counter() - started
    return figures(latencies, elapsed)


# --- the encoder's own time ------------------------------------------------------------


class Recorder:
    """The product's encoder, timed, remembering what each message had encoded."""

    def __init__(self, inner: E5Encoder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.seconds = 0.0
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.inner.encode(texts)
        finally:
            self.seconds += time.perf_counter() - started
            self.texts.extend(texts)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.passage(texts)


@dataclass(frozen=True)
class EncoderFigures:
    ms_per_message: float  # one message after another, in one thread
    rate: float  # messages/s with one thread per core
    threads: int


def encoder_own(texts: list[str], inner: E5Encoder) -> EncoderFigures:
    """What a question costs the encoder alone: the texts triage (whole message, and its
    sentences when the policy reads them), the intent head and ranking encode (the last two
    the whole message again: the product's cache serves them), timed one after another;
    then the same encodings on one thread per usable core."""
    recorder = Recorder(inner)
    triage = Triage.load(CachedEncoder(recorder))
    assert triage.encoder is not None
    per_message: list[list[str]] = []
    for text in texts:
        recorder.texts = []
        triage.assess(text)
        triage.encoder.encode([whole_text(text) or text])
        per_message.append(recorder.texts)
    sequential = recorder.seconds
    threads = usable_cores()
    todo = iter(per_message)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                batch = next(todo, None)
            if batch is None:
                return
            inner.encode(batch)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    rate = len(texts) / (time.perf_counter() - started)
    return EncoderFigures(1000 * sequential / len(texts), rate, threads)


def encoder_lines(own: EncoderFigures, questions: Figures | None) -> list[str]:
    lines = [
        f"  encoder alone          {own.rate:7.1f} messages/s on {own.threads} thread(s);"
        f" {own.ms_per_message:.1f} ms per message one at a time"
    ]
    if questions is not None:
        lines.append(
            f"  question turn cost     {own.rate / questions.rate:.2f}x the encoder's own"
            f" (1/throughput; p50 {questions.p50_ms / own.ms_per_message:.2f}x its time)"
        )
    return lines


# --- runs ------------------------------------------------------------------------------


def run_database(label: str, url: str, args: argparse.Namespace, bare: Figures) -> None:
    with server(product(), product_env(url, args.encoder), label) as base:
        print(f"  before: {load()}")
        asyncio.run(ask_questions(base, 10_000, args.users, args.users))  # warm up each chat
        # The encoder alone, on the same questions, just before (the server is idle).
        texts = [question(n) for n in range(args.questions)]
        own = encoder_own(texts, E5Encoder()) if args.encoder == "e5" else None
        questions, ids = asyncio.run(ask_questions(base, 0, args.questions, args.users))
        print(questions.line("question turns", bare))
        if own is not None:
            print("\n".join(encoder_lines(own, questions)))
        turns = asyncio.run(follow_up(base, ids, args.turns, args.users))
        print(turns.line("no-encoding turns", bare))
        print(f"  after: {load()}")


def run(args: argparse.Namespace) -> None:
    with server(BARE, {"PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}, "bare") as base:
        print(f"  before: {load()}")
        ids = [str(uuid.uuid4()) for _ in range(args.users)]
        asyncio.run(follow_up(base, ids, 200, args.users))  # warm up
        bare = asyncio.run(follow_up(base, ids, args.turns, args.users))
        print(bare.line("bare endpoint"))
    for name in args.databases.split(","):
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                run_database(name, f"sqlite:///{tmp}/bench.db", args, bare)
        elif name == "postgres":
            with postgres_database(args.postgres) as url:
                run_database(name, url, args, bare)
        else:
            raise SystemExit(f"unknown database {name!r}: sqlite or postgres")


def run_cores(args: argparse.Namespace) -> None:
    """Question turns with the server on fewer and on more cores (SQLite)."""
    rates: list[float] = []
    for cpus in args.cores.split(":"):
        with tempfile.TemporaryDirectory() as tmp:
            env = product_env(f"sqlite:///{tmp}/bench.db")
            with server(product(cpus), env, f"cores {cpus}") as base:
                print(f"  before: {load()}")
                asyncio.run(ask_questions(base, 10_000, args.users, args.users))
                before = os.sched_getaffinity(0)
                os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
                try:  # the encoder alone on the same cores, just before
                    own = encoder_own([question(n) for n in range(args.questions)], E5Encoder())
                finally:
                    os.sched_setaffinity(0, before)
                questions, _ = asyncio.run(ask_questions(base, 0, args.questions, args.users))
                print(questions.line(f"question turns, -c {cpus}"))
                print("\n".join(encoder_lines(own, questions)))
                print(f"  after: {load()}")
        rates.append(questions.rate)
    for cpus, rate in zip(args.cores.split(":"), rates, strict=True):
        print(f"cores {cpus}: {rate:.1f} questions/s = {rate / rates[0]:.2f}x the first")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=96, help="question turns per server")
    parser.add_argument("--turns", type=int, default=400, help="no-encoding turns per server")
    parser.add_argument("--users", type=int, default=8, help="concurrent chats")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres", default=POSTGRES, help="a database to create others from")
    parser.add_argument("--cores", default=None, help="e.g. 0:0,1 (taskset lists, in order)")
    parser.add_argument(
        "--encoder", default="e5", choices=["e5", "none"], help="the servers' ENCODER"
    )
    args = parser.parse_args()
    args.questions = max(args.users, min(args.questions, MAX_MESSAGES))
    args.turns = max(20, min(args.turns, MAX_MESSAGES))
    args.users = max(1, min(args.users, 64))
    print("bench:  ", shlex.join(["python", *sys.argv]))
    print(f"machine: {os.cpu_count()} cores, usable here {usable_cores()}; {load()}")
    if args.cores:
        run_cores(args)
    else:
        run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
