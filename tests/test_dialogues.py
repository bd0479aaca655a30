"""Every scripted dialogue (tests/dialogue_script.py) holds every check through /api/chat,
but for the few listed below, which must keep failing until they are fixed (a ratchet: a
fixed one has to leave the list, and no new one may join it)."""

from __future__ import annotations

import pytest

from tests.dialogue_script import dialogues, run_all

# Each: triage judges a calm message urgent (a worried teenager or neighbour writing about a
# situation that is bad but not dangerous now), so the emergency lines lead. Issue 13.
KNOWN_FAILING = {
    "d01-02", "d02-02", "d02-08", "d02-10", "d02-12", "d02-14", "d02-18", "d02-19", "d02-21",
}  # fmt: skip


def test_the_scripts_are_many_and_each_checks_something() -> None:
    scripts = list(dialogues())
    assert len(scripts) >= 60
    assert len({d["id"] for d in scripts}) == len(scripts)
    assert all(any(turn.get("expect") for turn in d["turns"]) for d in scripts)
    assert {d["id"] for d in scripts} >= KNOWN_FAILING


@pytest.mark.slow  # the sentence encoder reads every turn of 66 conversations
async def test_every_scripted_dialogue_passes_but_the_known_few() -> None:
    tally = await run_all()
    failed = {line.split()[0] for line in tally.failures}
    new = sorted(failed - KNOWN_FAILING)
    assert not new, "\n".join(f for f in tally.failures if f.split()[0] in new)
    assert failed == KNOWN_FAILING, f"fixed, take off KNOWN_FAILING: {KNOWN_FAILING - failed}"
    assert tally.passed == tally.whole - len(KNOWN_FAILING)
