#!/usr/bin/env sh
# Several `familjeguiden serve` instances behind nginx, plus workers: start | stop | status.
# Runs deploy/scale.py with the repository's venv; see `deploy/scale.sh --help`.
root=$(cd "$(dirname "$0")/.." && pwd)
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec "$root/.venv/bin/python" -m deploy.scale "$@"
