"""Start, stop or look at several `familjeguiden serve` instances behind nginx, plus workers.

  deploy/scale.sh start [--instances 2] [--workers 1] [--listen 127.0.0.1:8000]
  deploy/scale.sh status
  deploy/scale.sh stop

Settings come from the environment (or .env), as for `familjeguiden serve`; DATABASE_URL must
be PostgreSQL. Each instance listens on 127.0.0.1 from --first-port up; nginx on --listen.
Everything the set-up writes (pids, logs, nginx's config and temp files) is in --run-dir.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.settings import Settings
from deploy.cluster import Cluster, Plan
from deploy.probe import is_ready
from deploy.processes import Processes

DEFAULT_RUN_DIR = Path("/tmp/familjeguiden-scale")
# Shared by every instance: a login cookie signed by one must be read by the others, and a
# hashed chat id must hash alike in every instance's log. Random per start when unset.
SHARED_SECRETS = ("SESSION_SECRET", "LOG_HASH_SALT")


def _plan(args: argparse.Namespace, settings: Settings) -> Plan:
    ports = tuple(range(args.first_port, args.first_port + args.instances))
    given = settings.model_fields_set  # from the environment or .env, not defaults
    env = {name: secrets.token_hex(32) for name in SHARED_SECRETS if name.lower() not in given}
    return Plan(args.run_dir.resolve(), args.listen, ports, args.workers, env)


def start(args: argparse.Namespace) -> int:
    settings = Settings()
    if not settings.database_url.startswith("postgresql"):
        print("several instances share one database: set DATABASE_URL to PostgreSQL")
        return 2
    cluster = Cluster(_plan(args, settings))
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        print(f"start failed: {error}")
        return 1
    plan = cluster.plan
    print(f"nginx on {plan.url} -> {len(plan.ports)} instances on 127.0.0.1:{plan.ports}")
    print(f"workers: {plan.workers}; pids and logs in {plan.run_dir}")
    return 0


def status(args: argparse.Namespace) -> int:
    cluster = Processes(args.run_dir.resolve())
    found = cluster.status()
    if not found:
        print(f"nothing recorded in {args.run_dir}")
        return 3
    down = 0
    for name, pid in found:
        alive = cluster.alive(name)
        url = _url_of(args.run_dir.resolve(), name)
        ready = "-" if url is None else ("ready" if alive and is_ready(url) else "not ready")
        print(f"{name:<12} pid {pid:<8} {'running' if alive else 'stopped':<8} {ready}")
        down += not alive
    return 1 if down else 0


def _url_of(run_dir: Path, name: str) -> str | None:
    if name == "nginx":  # listen.conf: "listen 127.0.0.1:8000;"
        conf = run_dir / "listen.conf"
        return f"http://{conf.read_text().split()[1].rstrip(';')}" if conf.exists() else None
    if name.startswith("serve-"):
        return f"http://127.0.0.1:{name.removeprefix('serve-')}"
    return None  # workers serve no HTTP


def stop(args: argparse.Namespace) -> int:
    stopped = Processes(args.run_dir.resolve()).stop()
    print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deploy/scale.sh", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--instances", type=int, default=2, help="serve instances (default 2)")
    parser.add_argument("--workers", type=int, default=1, help="`familjeguiden worker`s")
    parser.add_argument("--listen", default="127.0.0.1:8000", help="nginx's address")
    parser.add_argument("--first-port", type=int, default=8101, help="first instance's port")
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.instances < 1 or args.workers < 0:
        print("--instances must be at least 1, --workers at least 0")
        return 2
    return {"start": start, "stop": stop, "status": status}[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
