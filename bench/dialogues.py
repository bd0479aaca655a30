"""Scripted multi-turn conversations through the web chat API: how many hold, check by check.

The conversations and their checks are described in tests/dialogue_script.py (a regression
set: read while fixing what they found; tests/test_dialogues.py requires every check).

  .venv/bin/python bench/dialogues.py [--show-failures]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ beside the product

from tests.dialogue_script import run_all


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args(argv)
    tally = asyncio.run(run_all())
    print(f"{tally.passed} of {tally.whole} conversations pass; {sum(tally.held.values())} of "
          f"{sum(tally.checks.values())} checks hold")  # fmt: skip
    for key in sorted(tally.checks):
        print(f"  {key:14} {tally.held[key]:4} of {tally.checks[key]:4}")
    if args.show_failures:
        print("\n".join(tally.failures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
