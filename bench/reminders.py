"""100,000 SMS reminders falling due within one hour, sent by two workers on PostgreSQL.

Set-up: a fresh schema in DATABASE_URL (or TEST_DATABASE_URL), `--count` rows in the SMS
queue with due times spread evenly over one hour, the fake Twilio server (tests/) on
127.0.0.1, and two worker *processes*, each with its own engine and connection pool, each
sending through the real twilio client, as two app instances would.

Time: waiting a real hour is not a benchmark, so the hour is compressed. Both workers
read a shared simulated clock that runs `3600 / --hour-seconds` times faster than real
time (default: the hour in 180 s, 20x, i.e. 556 reminders/s falling due). Reminders
become due at that accelerated pace, so the workers must sustain 20x the real arrival
rate; lower --hour-seconds to find where they fall behind (lateness then grows).
Lateness = the simulated time a message was accepted by Twilio minus its due time, in
simulated seconds: the poll interval and any backlog count in full, multiplied by the
speed-up (a real hour, at 1/20 of the rate, would be no later).
The lease is scaled too (60 real seconds), so a slow batch is never stolen mid-flight.

Duplicates are counted at the fake server (same reminder body received twice); each body
carries its row number, which a real reminder would not.

  DATABASE_URL=postgresql://postgres@127.0.0.1/test \
  .venv/bin/python bench/reminders.py [--count 100000] [--hour-seconds 180]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text

from bot.db import create_all, make_engine, make_session_factory
from bot.meetings.reminders import ReminderWorker
from bot.sms.sender import AiohttpClient, TwilioConfig, TwilioSms
from bot.sms.sms_models import OutboundKind, OutboundSms, OutboundStatus
from tests.fake_twilio import FakeTwilio

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # simulated start; the hour is 09:00-10:00
ACTIVE = (OutboundStatus.pending, OutboundStatus.claimed)


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not url or not url.startswith("postgres"):
        sys.exit("set DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL database")
    return url


class ScaledClock:
    """Simulated time: T0 at real `start`, running `speed` times faster."""

    def __init__(self, start: float, speed: float) -> None:
        self.start, self.speed = start, speed

    def __call__(self) -> datetime:
        return T0 + timedelta(seconds=(time.time() - self.start) * self.speed)


def schema_engine(url: str, schema: str):  # type: ignore[no-untyped-def]
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"})


async def fill(url: str, schema: str, count: int) -> None:
    admin = make_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    engine = schema_engine(url, schema)
    await create_all(engine)
    body = "Påminnelse: Nätverksmöte tisdag 24 november kl. 10.00. Plats: Stadshuset. Frågor? "
    rows = []
    for i in range(count):
        due = T0 + timedelta(seconds=3600 * i / count)
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "kind": OutboundKind.reminder,
                "to_phone": f"+467017406{i % 100:02d}",
                "body": f"{body}Kontakta Anna Lots. [{i}]",
                "due_at": due,
                "next_attempt_at": due,
                "expires_at": due + timedelta(hours=2),
                "status": OutboundStatus.pending,
                "attempts": 0,
                "created_at": T0,
                "updated_at": T0,
            }
        )
    async with engine.begin() as conn:
        for chunk in range(0, count, 5000):
            await conn.execute(insert(OutboundSms), rows[chunk : chunk + 5000])
    await engine.dispose()


async def run_worker(args: argparse.Namespace) -> None:
    """One worker process: drain the queue as reminders fall due on the simulated clock."""
    engine = schema_engine(args.url, args.schema)
    sessions = make_session_factory(engine)
    speed = 3600 / args.hour_seconds
    clock = ScaledClock(args.start, speed)
    config = TwilioConfig(
        account_sid=args.sid, auth_token=args.token, from_number="+46701740699", api_base=args.fake
    )
    twilio = TwilioSms(config, http_client=AiohttpClient(max_connections=args.concurrency))
    lease = timedelta(seconds=60 * speed)
    worker = ReminderWorker(
        sessions,
        twilio,
        clock,
        args.worker_id,
        args.batch,
        lease=lease,
        concurrency=args.concurrency,
    )
    try:
        while True:
            if await worker.run_once() == 0:
                if clock() > T0 + timedelta(hours=1) and not await remaining(sessions):
                    break
                await asyncio.sleep(args.poll)
    finally:
        await twilio.close()
        await engine.dispose()


async def remaining(sessions) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        query = select(func.count()).where(OutboundSms.status.in_(ACTIVE))  # type: ignore[attr-defined]
        return int((await session.exec(query)).one()[0])


async def report(url: str, schema: str, fake: FakeTwilio, count: int, seconds: float) -> int:
    engine = schema_engine(url, schema)
    async with engine.connect() as conn:
        columns = (OutboundSms.status, OutboundSms.sent_at, OutboundSms.due_at)
        result = await conn.execute(select(*columns, OutboundSms.claimed_by))
        rows = result.all()
    await engine.dispose()
    late = sorted((r.sent_at - r.due_at).total_seconds() for r in rows if r.sent_at)
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r.status.value] = by_status.get(r.status.value, 0) + 1
    workers: dict[str, int] = {}
    for r in rows:
        workers[r.claimed_by] = workers.get(r.claimed_by, 0) + 1
    duplicates = fake.duplicates()
    print(f"reminders        {count}")
    print(f"sent (fake)      {len(fake.sent)}   statuses {by_status}   per worker {workers}")
    print(f"wall time        {seconds:.1f} s for the simulated hour")
    print(f"throughput       {len(fake.sent) / seconds:.0f} SMS/s (real time)")
    if late:
        p50, p99 = statistics.quantiles(late, n=100)[49], statistics.quantiles(late, n=100)[98]
        print(
            f"lateness         p50 {p50:.2f} s   p99 {p99:.2f} s   max {late[-1]:.2f} s"
            f" (simulated seconds)"
        )
    print(f"duplicates       {duplicates}")
    missing = count - len({m.body for m in fake.sent})
    print(f"missing          {missing}")
    return 0 if duplicates == 0 and missing == 0 else 1


async def main(args: argparse.Namespace) -> int:
    url = database_url()
    schema = f"bench_reminders_{uuid.uuid4().hex[:8]}"
    fake = await FakeTwilio().start()
    try:
        began = time.time()
        await fill(url, schema, args.count)
        print(f"queued           {args.count} rows in {time.time() - began:.1f} s")
        start = time.time()
        procs = [await spawn(args, url, schema, fake, start, f"worker-{n}") for n in (1, 2)]
        codes = [await p.wait() for p in procs]
        seconds = time.time() - start
        if any(codes):
            print(f"worker exit codes {codes}")
        return await report(url, schema, fake, args.count, seconds) or int(any(codes))
    finally:
        await fake.stop()
        if not args.keep:
            admin = make_engine(url)
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await admin.dispose()


async def spawn(args, url, schema, fake, start, worker_id):  # type: ignore[no-untyped-def]
    command = [
        sys.executable,
        __file__,
        "--role",
        "worker",
        "--url",
        url,
        "--schema",
        schema,
        "--fake",
        fake.url,
        "--sid",
        fake.account_sid,
        "--token",
        fake.auth_token,
        "--start",
        repr(start),
        "--worker-id",
        worker_id,
        "--hour-seconds",
        str(args.hour_seconds),
        "--batch",
        str(args.batch),
        "--concurrency",
        str(args.concurrency),
        "--poll",
        str(args.poll),
    ]
    return await asyncio.create_subprocess_exec(*command)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=100_000)
    p.add_argument("--hour-seconds", type=float, default=180.0, help="real seconds per hour")
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=32, help="sends in flight per worker")
    p.add_argument("--poll", type=float, default=0.05, help="idle sleep, real seconds")
    p.add_argument("--keep", action="store_true", help="keep the schema for inspection")
    p.add_argument("--role", default="main", choices=["main", "worker"])
    for name in ("--url", "--schema", "--fake", "--sid", "--token", "--worker-id"):
        p.add_argument(name)
    p.add_argument("--start", type=float)
    return p.parse_args()


def run(coroutine):  # type: ignore[no-untyped-def]
    """On uvloop when installed (uvicorn[standard] brings it, and serves the app on it)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


if __name__ == "__main__":
    arguments = parse()
    if arguments.role == "worker":
        run(run_worker(arguments))
    else:
        sys.exit(run(main(arguments)))
