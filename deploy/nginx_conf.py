"""nginx for a scale run: the binary, and deploy/nginx.conf with its two generated includes
(listen address, upstream servers) copied into the run directory."""

from __future__ import annotations

import shutil
from pathlib import Path

NGINX_CONF = Path(__file__).with_name("nginx.conf")
# Passive health checks (open-source nginx has no active ones): 3 failed requests (refused,
# reset, timed out) within 5 s take an instance out of the rotation for 5 s. Not 1: when one
# instance is dead, a single reset on the other would leave no instance at all ("no live
# upstreams", 502 for everyone); a dead instance costs nothing meanwhile, since a refused
# connection is passed on to the next instance at once.
SERVER_OPTIONS = "max_fails=3 fail_timeout=5s"


def nginx_binary() -> str | None:
    """Debian installs nginx in /usr/sbin, which an unprivileged PATH often lacks."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def write_nginx_config(run_dir: Path, *, listen: str, ports: tuple[int, ...]) -> Path:
    """The config in `run_dir` (its pid, logs and temp files go there too); its path."""
    for sub in ("logs", "tmp"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(NGINX_CONF, run_dir / "nginx.conf")
    (run_dir / "listen.conf").write_text(f"listen {listen};\n")
    servers = "".join(f"server 127.0.0.1:{port} {SERVER_OPTIONS};\n" for port in ports)
    (run_dir / "servers.conf").write_text(servers)
    return run_dir / "nginx.conf"


def nginx_argv(binary: str, run_dir: Path, conf: Path) -> list[str]:
    """Foreground (daemon off in the config), prefix = the run directory, its own error log
    from the first line (the compiled-in /var/log/nginx is not writable unprivileged)."""
    return [binary, "-p", f"{run_dir}/", "-c", str(conf), "-e", "logs/error.log"]
