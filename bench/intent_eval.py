"""Intent accuracy on labelled chat turns: the rules, then the learned head, as the core reads.

corpus/intents holds turns labelled by writer; tools/train_intents.py trains on every writer
but HELD_OUT, so the figure for those is for text nobody tuned on. A turn labelled
consent_yes/consent_no is read as an answer to a pending yes/no question (the only place
such a turn means anything); every other turn as a message with an answer already shown.

  .venv/bin/python bench/intent_eval.py [--writers i04] [--misses]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from bot.core.intent_model import IntentModel
from bot.core.intents import (
    Intent,
    Parsed,
    answer_from_label,
    classify,
    from_label,
    read_answer,
)
from directory.encoder import load_encoder
from directory.triage import whole_text

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "intents"
HELD_OUT = ("i09",)  # i04 and i08 were read for rules: training data since
SURE = 0.5  # bot.core.conversation.INTENT_SURE
LABELS = {
    Intent.greet: "greeting",
    Intent.help: "help",
    Intent.thanks: "thanks_goodbye",
    Intent.more: "more",
    Intent.cost: "cost",
    Intent.handoff: "person",
    Intent.yes: "consent_yes",
    Intent.no: "consent_no",
    Intent.delete: "delete",
    Intent.delete_confirmed: "delete",
    Intent.municipality: "change_municipality",
    Intent.age: "age",
}
DETAILS = {"detail_named", "detail_number", "opening_hours", "contact", "location"}
QUESTIONS = {"new_question", "small_talk"}  # both are answered as a question


def read(text: str, gold: str, model: IntentModel, encode) -> str:  # type: ignore[no-untyped-def]
    """The label the core acts on for this turn."""
    if gold in ("consent_yes", "consent_no"):
        answer = read_answer(text)
        if answer is None:
            label, p = model.read(encode([whole_text(text) or text])[0], text)
            answer = answer_from_label(label) if p >= SURE else None
        return LABELS[answer.intent] if answer else "unclear"
    parsed = classify(text)
    if parsed.intent is Intent.question:
        label, p = model.read(encode([whole_text(text) or text])[0], text)
        found = from_label(label, text) if p >= SURE else None
        if found is not None:
            parsed = found
            if parsed.intent is Intent.detail:
                return label if label in DETAILS else "detail_named"
    return _label(parsed)


def _label(parsed: Parsed) -> str:
    if parsed.intent is Intent.detail:
        return "detail_number"
    if parsed.also_person:
        return "person"
    return LABELS.get(parsed.intent, "new_question")


def same(got: str, gold: str) -> bool:
    if gold in QUESTIONS:
        return got == "new_question"
    if gold in DETAILS:  # every follow-up about a listed service shows its details
        return got in DETAILS
    return got == gold


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", default=",".join(HELD_OUT))
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args(argv)
    encoder = load_encoder("e5")
    assert encoder is not None
    model = IntentModel.load()
    writers = args.writers.split(",")
    held = set(writers) <= set(HELD_OUT)
    print(f"writers {', '.join(writers)}: " + ("held out" if held else "TUNED ON (regression)"))
    total = right = 0
    wrong: Counter[str] = Counter()
    for writer in writers:
        for line in (CORPUS / f"{writer}.jsonl").read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            got = read(case["text"], case["intent"], model, encoder.encode)
            ok = same(got, case["intent"])
            total += 1
            right += ok
            if not ok:
                wrong[case["intent"]] += 1
                if args.misses:
                    print(f"  {case['intent']:20} -> {got:20} {case['text'][:70]!r}")
    print(f"intent accuracy {right / total:.1%} ({right} of {total})")
    print("misses by label: " + ", ".join(f"{k} {v}" for k, v in wrong.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
