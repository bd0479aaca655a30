"""Several `familjeguiden serve` instances behind nginx, plus workers, on one machine.

A run directory holds all a set-up writes: each process's pid file and log
(deploy/processes.py), nginx's generated config, temp files and pid (deploy/nginx_conf.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deploy.nginx_conf import nginx_argv, nginx_binary, write_nginx_config
from deploy.probe import wait_ready
from deploy.processes import Processes

START_SECONDS = 180.0  # an instance's first start builds the directory index (and vectors)


@dataclass(frozen=True)
class Plan:
    """What to run: nginx on `listen`, one `serve` per port, `workers` queue workers."""

    run_dir: Path
    listen: str = "127.0.0.1:8000"
    ports: tuple[int, ...] = (8101, 8102)
    workers: int = 1
    env: Mapping[str, str | None] = field(default_factory=dict)  # over os.environ; None: unset
    # Cores per instance, in order (taskset lists such as "0" or "2,3"); empty: any core.
    cpus: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://{self.listen}"


def serve_name(port: int) -> str:
    return f"serve-{port}"


def app_env(plan: Plan) -> dict[str, str]:
    """The instances' settings: the caller's environment, with the scale defaults.

    Serve instances only serve HTTP (jobs run in `familjeguiden worker`), and believe
    nginx's X-Forwarded-For, which it sends from 127.0.0.1."""
    env: dict[str, str | None] = {**os.environ, "WORKER_IN_SERVE": "false"}
    env.setdefault("TRUSTED_PROXIES", "127.0.0.1")
    env.update(plan.env)
    return {name: value for name, value in env.items() if value is not None}


def _bot(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", *args]


class Cluster(Processes):
    """The set-up a Plan describes, as the processes of its run directory."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(plan.run_dir)
        self.plan = plan

    def start(self) -> None:
        """Start instances, workers and nginx; wait until all answer. Instances migrate the
        database as they start, one at a time (an advisory lock: bot.jobs.locks.migrate_once).
        On any failure, what was started is stopped again."""
        running = [name for name, _pid in self.status() if self.alive(name)]
        if running:
            raise RuntimeError(f"already running in {self.plan.run_dir}: {', '.join(running)}")
        try:
            for port in self.plan.ports:
                self.start_instance(port)
            for number in range(1, self.plan.workers + 1):
                self.spawn(f"worker-{number}", _bot("worker"), app_env(self.plan))
            self.start_nginx()
            for port in self.plan.ports:
                self.wait(serve_name(port), f"http://127.0.0.1:{port}")
            self.wait("nginx", self.plan.url)
            for number in range(1, self.plan.workers + 1):  # no HTTP: alive is all we see
                if not self.alive(f"worker-{number}"):
                    tail = self.log_tail(f"worker-{number}")
                    raise RuntimeError(f"worker-{number} exited:\n{tail}")
        except BaseException:
            self.stop()
            raise

    def start_instance(self, port: int) -> None:
        argv = _bot("serve", "--host", "127.0.0.1", "--port", str(port))
        if self.plan.cpus:
            cpus = self.plan.cpus[self.plan.ports.index(port) % len(self.plan.cpus)]
            argv = ["taskset", "-c", cpus, *argv]  # exec's the server: the same pid
        self.spawn(serve_name(port), argv, app_env(self.plan))

    def start_nginx(self) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
        plan = self.plan
        conf = write_nginx_config(plan.run_dir, listen=plan.listen, ports=plan.ports)
        argv = nginx_argv(binary, plan.run_dir, conf)
        subprocess.run([*argv, "-t", "-q"], check=True)  # a bad config fails here, loudly
        self.spawn("nginx", argv, app_env(self.plan))

    def wait(self, name: str, url: str, timeout: float = START_SECONDS) -> None:
        """Until `url` is ready; fails early when the process has exited."""
        if not wait_ready(url, timeout=timeout, alive=lambda: self.alive(name)):
            tail = self.log_tail(name)
            raise RuntimeError(f"{name} did not become ready at {url}:\n{tail}")
