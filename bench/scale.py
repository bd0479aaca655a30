"""Two `familjeguiden serve` instances behind nginx on PostgreSQL against one, in the same run;
then kill -9 of an instance and the end of every database connection, mid-load.

Starts the set-up of deploy/ (deploy/cluster.py: two `familjeguiden serve` instances on
loopback ports, nginx in front of both) in a throwaway schema of the PostgreSQL database that
DATABASE_URL (or TEST_DATABASE_URL) names, and a second nginx in front of the first instance
alone: the set-up with one instance. Instance k runs on core k alone (taskset; `--no-pin`: any
core), so "one instance" is one core in both set-ups; the load generator, nginx and
PostgreSQL run on any core.

The load (bench/scale_load.py): `--users` concurrent web chats, each with its own conversation
and X-Forwarded-For address; turns that need no encoding, then questions, each bounded by
`--messages` / `--questions` and `--seconds`. The two set-ups take turns for `--rounds`
rounds, so a machine that others share slows both alike; the best round of each is compared.
Each load also measures CPU per answered message (bench/scale_cpu.py): the instances, nginx,
PostgreSQL, this client and the rest of the machine, since here they all share the cores.

Then a dialogue load runs `--fault-seconds` through both instances; at 30 % of it one gets
kill -9, at 65 % PostgreSQL ends every connection of the run (pg_terminate_backend). Printed:
answers and errors per window, the time to the first answer after each fault. Last, every
message sent in the whole run is looked up in PostgreSQL: each answered 200 must be stored
exactly once (an unanswered one at most once). Exit 1 if any is lost or doubled.

  DATABASE_URL=postgresql://postgres@127.0.0.1/test .venv/bin/python bench/scale.py \
      [--users 16] [--messages 2000] [--questions 300] [--seconds 10] [--rounds 3]
      [--fault-seconds 20] [--encoder e5] [--no-pin] [--run-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shlex
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import scale_cpu
from bench import scale_load as load
from bench.scale_faults import faults
from bench.scale_report import HEADER, Figures, exactly_once, figures, row
from deploy.cluster import Cluster, Plan, serve_name
from deploy.nginx_conf import nginx_binary
from deploy.scratch_db import scratch_schema

CAP_MESSAGES, CAP_SECONDS, CAP_ROUNDS = load.CAP_MESSAGES, 120.0, 10
CORES = os.cpu_count() or 1
KINDS = ("light", "question")
Meter = Callable[[], scale_cpu.Sample]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fronts(run_dir: Path, database_url: str, args: argparse.Namespace) -> dict[int, Cluster]:
    """{2: two instances behind nginx, 1: a second nginx in front of the first alone}."""
    env: dict[str, str | None] = {
        "DATABASE_URL": database_url,
        "ENCODER": args.encoder,
        "LOG_LEVEL": "WARNING",
        # A few addresses send everything: limits high enough never to refuse, still counted.
        "CHAT_RATE_PER_CLIENT": "1000000/minute",
        "CHAT_RATE_PER_CONVERSATION": "1000000/minute",
        # The web chat only: no bot polling, no SMS.
        "TELEGRAM_BOT_TOKEN": None,
        "TWILIO_ACCOUNT_SID": None,
    }
    ports = (free_port(), free_port())
    cpus = ("0", str(1 % CORES)) if args.pin else ()
    two = Plan(run_dir / "two", f"127.0.0.1:{free_port()}", ports, 0, env, cpus)
    one = Plan(run_dir / "one", f"127.0.0.1:{free_port()}", ports[:1], 0, env)
    return {2: Cluster(two), 1: Cluster(one)}


def meter(front: Cluster, instances: Cluster) -> Meter:
    """CPU samples of the instances behind `front`, its nginx, PostgreSQL and this client."""

    def take() -> scale_cpu.Sample:
        nginx = front.pid("nginx") or 0
        postgres, postmaster = scale_cpu.postgres_server()
        groups = {
            "app": [instances.pid(serve_name(port)) or 0 for port in front.plan.ports],
            "nginx": [nginx, *scale_cpu.children(nginx)],
            "postgres": postgres,
            "client": [os.getpid()],
        }
        return scale_cpu.sample(groups, reaping=[postmaster] if postmaster else [])

    return take


async def measure(
    url: str,
    kind: str,
    user_base: int,
    chats: list[list[load.Chat]],
    cpu: Meter,
    args: argparse.Namespace,
) -> tuple[Figures, list[load.Sent]]:
    """One timed load of one kind through `url`: its figures and every message sent."""
    budget = args.messages if kind == "light" else args.questions
    async with load.client(url, args.users) as http:
        sending = load.Load(http, budget, time.perf_counter() + args.seconds)

        async def user(u: int) -> None:
            if kind == "light":
                await load.light(sending, chats[u])
            else:  # questions worded anew in every round and set-up: no cache hits
                await load.questions(sending, user_base + u)

        before = cpu()
        seconds = await load.run_users(args.users, user)
        return figures(sending.sent, seconds, scale_cpu.spent(before, cpu())), sending.sent


async def rounds(
    setups: dict[int, Cluster], args: argparse.Namespace, sent: list[load.Sent]
) -> dict[int, dict[str, list[Figures]]]:
    """Conversations for the light turns (through both instances), then the set-ups in turn."""
    light_total = args.rounds * len(setups) * args.messages
    per_user = max(2, math.ceil(light_total / args.users / 100))  # <= ~100 turns a chat
    async with load.client(setups[2].plan.url, args.users) as http:
        prep = load.Load(http, CAP_MESSAGES, math.inf)
        chats = list(
            await asyncio.gather(*(load.open_chats(prep, u, per_user) for u in range(args.users)))
        )
    sent += prep.sent
    found: dict[int, dict[str, list[Figures]]] = {n: {k: [] for k in KINDS} for n in (1, 2)}
    for number in range(args.rounds):
        for n in (1, 2) if number % 2 == 0 else (2, 1):  # neither always goes first
            cpu = meter(setups[n], setups[2])
            for kind in KINDS:
                base = 1000 * (2 * number + n)
                fig, messages = await measure(setups[n].plan.url, kind, base, chats, cpu, args)
                found[n][kind].append(fig)
                sent += messages
                print(row(f"{n} (round {number + 1})", kind, fig), flush=True)
    return found


def compare(found: dict[int, dict[str, list[Figures]]]) -> None:
    print(f"\nbest round of each (load average now {loadavg()}):\n{HEADER}")
    for n, kinds in found.items():
        for kind, figs in kinds.items():
            print(row(str(n), kind, max(figs, key=lambda f: f.rate)))
    for kind in KINDS:
        best = [max(f.rate for f in found[n][kind]) for n in (1, 2)]
        middle = [statistics.median(f.rate for f in found[n][kind]) for n in (1, 2)]
        print(
            f"2 instances / 1, {kind} turns: best {best[1] / best[0]:.2f}x, "
            f"median {middle[1] / middle[0]:.2f}x (target >= 1.6x)"
        )


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(args: argparse.Namespace, server_url: str) -> int:
    sent: list[load.Sent] = []
    with scratch_schema(server_url) as db, tempfile.TemporaryDirectory() as tmp:
        setups = fronts(args.run_dir or Path(tmp), db, args)
        try:
            setups[2].start()
            setups[1].start_nginx()
            setups[1].wait("nginx", setups[1].plan.url)
            print(f"ready; load average {loadavg()}\n{HEADER}", flush=True)
            found = asyncio.run(rounds(setups, args, sent))
            compare(found)
            sent += asyncio.run(faults(setups[2], db, args.users, args.fault_seconds))
        finally:
            setups[1].stop()
            setups[2].stop()
        stored = exactly_once(db, sent)
    print(
        f"exactly once: {stored.checked} answered messages checked in PostgreSQL, "
        f"{stored.lost} lost, {stored.duplicated} stored twice; "
        f"{stored.unanswered_stored} stored though their answer never arrived"
    )
    print(f"load average after: {loadavg()}")
    return 1 if stored.lost or stored.duplicated else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--messages", type=int, default=2000, help="light turns per load")
    parser.add_argument("--questions", type=int, default=300, help="questions per load")
    parser.add_argument("--seconds", type=float, default=10.0, help="each load at most")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each set-up")
    parser.add_argument("--fault-seconds", type=float, default=20.0)
    parser.add_argument("--encoder", default="e5", help="ENCODER of the instances")
    parser.add_argument("--pin", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--run-dir", type=Path, help="keep pids and logs (default: temp)")
    args = parser.parse_args()
    args.users = max(1, min(args.users, 64))
    args.messages = max(50, min(args.messages, CAP_MESSAGES))
    args.questions = max(20, min(args.questions, CAP_MESSAGES))
    args.seconds = max(2.0, min(args.seconds, CAP_SECONDS))
    args.rounds = max(1, min(args.rounds, CAP_ROUNDS))
    args.fault_seconds = max(6.0, min(args.fault_seconds, CAP_SECONDS))
    server_url = os.environ.get("DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or ""
    if not server_url.startswith("postgres"):
        sys.exit("set DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL server")
    if nginx_binary() is None:
        sys.exit("nginx is not installed (Debian: apt-get install nginx)")
    print("bench:  ", shlex.join([sys.executable, *sys.argv]))
    pinned = "one core each (taskset)" if args.pin else "any core"
    print(f"machine: {CORES} cores, load average {loadavg()}; ENCODER={args.encoder}")
    print(f"instances: {pinned}; load generator, nginx and PostgreSQL on any core")
    return run(args, server_url)


if __name__ == "__main__":
    sys.exit(main())
