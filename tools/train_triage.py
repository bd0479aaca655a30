"""Train the triage classifier on corpus/triage/ and write directory/data/triage_model.npz.

  .venv/bin/python tools/train_triage.py            # train, print held-out figures, write
  .venv/bin/python tools/train_triage.py --check    # figures only, write nothing

The corpus is split by writer (see corpus/triage/README.md). HELD_OUT writers are never
trained on and never used to choose anything: their figures are the estimate for unseen
text. The thresholds are chosen on leave-one-writer-out predictions over the training
writers (each writer scored by a model that never saw them), so they too come from text the
scoring model had not seen. The project's own sets (tests/data/urgency_*.jsonl) were tuned
on by the rules: they are training data, never evaluation data.

Needs scikit-learn (the `train` extra); the product itself only needs numpy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize
from sklearn.svm import SVC

from directory.encoder import Encoder, load_encoder
from directory.triage import (
    CHAR_BUCKETS,
    Triage,
    TriageModel,
    calm,
    char_ngrams,
    message_score,
    units,
)
from directory.urgency import UrgencyRules, detect_urgency

ROOT = Path(__file__).resolve().parents[1]
# Writers' files: acute-or-not messages (triage/), and ordinary questions (ranking/) and chat
# turns (intents/), whose "urgent" labels teach the model what everyday messages look like.
CORPORA = tuple(ROOT / "corpus" / name for name in ("triage", "ranking", "intents"))
PROJECT_SETS = sorted((ROOT / "tests" / "data").glob("*.jsonl"))
OUT = ROOT / "directory" / "data" / "triage_model.npz"
CACHE = ROOT / ".cache" / "triage_vectors.npz"
# Never trained or tuned on (corpus/README.md).
HELD_OUT = ("w09", "w10", "r05", "r06", "i04", "i08", "i09")
PRECISION_FLOOR = 0.93  # the urgent threshold: the most recall with at least this precision
CAUTION_RECALL = 0.995  # the caution threshold: urgent-or-caution reaches this recall
VETO_BELOW = 0.05  # a rule's urgent stands unless the model's P(acute) is below this
SENTENCE_WEIGHTS = (0.0, 0.8, 0.9, 1.0)  # tried on the left-out scores; the best is kept
EMBEDDED_PER_WRITER = 150  # long messages made per held-out writer, to measure (embedded())
SVM_C, CHAR_C = 16.0, 8.0  # regularisation, chosen by leave-one-writer-out (never held-out)

# The writers' kind labels -> the kinds of urgency.json, whose emergency services are listed.
KIND = {
    "suicide": "suicide",
    "selfharm": "self_harm",
    "self_harm": "self_harm",
    "overdose": "overdose",
    "poisoning": "poisoning",
    "intox": "intoxication",
    "intoxication": "intoxication",
    "medical": "medical",
    "shaken_baby": "medical",
    "drowning": "medical",
    "violence": "child_abuse",
    "abuse": "child_abuse",
    "child_abuse": "child_abuse",
    "sexual_abuse": "child_abuse",
    "grooming": "child_abuse",
    "neglect": "child_abuse",
    "violence_against_parent": "violence_against_parent",
    "missing": "missing_child",
    "missing_child": "missing_child",
    "abduction": "missing_child",
    "threat": "threat",
    "parent_threat": "threat",
    "locked_in": "threat",
    "weapon": "weapon",
    "fire": "fire",
}


@dataclass(frozen=True)
class Example:
    text: str
    urgent: bool
    kind: str | None  # urgency.json kind of an acute example
    writer: str
    embedded: bool = False  # a long message made by embedded()


def load_corpus(*, with_project: bool = True) -> list[Example]:
    examples = []
    mine = [path for folder in CORPORA for path in sorted(folder.glob("*.jsonl"))]
    sources = [*mine, *(PROJECT_SETS if with_project else [])]
    for path in sources:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            kind = KIND.get(row.get("kind") or "") if row["urgent"] else None
            writer = row.get("writer") or "project"
            examples.append(Example(row["text"], bool(row["urgent"]), kind, writer))
    return examples


def embedded(examples: list[Example], *, per_writer: int = EMBEDDED_PER_WRITER) -> list[Example]:
    """Long messages made from one writer's own lines: an acute line among one to three
    harmless ones is acute, harmless lines together are harmless. Parents write whole
    worried letters with the danger in one sentence; the writers wrote few of those, so the
    held-out writers' lines are also measured this way. (Training on such messages made
    left-out recall worse: 97 % -> 89 %, so they are only measured.)"""
    rng = random.Random(7)
    by_writer: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        if e.writer != "project":
            by_writer[e.writer].append(e)
    made = []
    for writer, lines in sorted(by_writer.items()):
        acute = [e for e in lines if e.urgent]
        calm_lines = [e for e in lines if not e.urgent]
        if not acute or len(calm_lines) < 3:
            continue
        for n in range(per_writer):
            parts = rng.sample(calm_lines, rng.randint(1, 3))
            danger = rng.choice(acute) if n % 3 else None  # two acute for each harmless
            if danger is not None:
                parts.insert(rng.randint(0, len(parts)), danger)
            text = " ".join(_sentence(p.text) for p in parts)
            kind = danger.kind if danger else None
            made.append(Example(text, danger is not None, kind, writer, embedded=True))
    return made


def _sentence(text: str) -> str:
    return text if text.rstrip()[-1:] in ".!?" else f"{text.rstrip()}."


class Vectors:
    """Encodes texts once and keeps them on disk between runs (by text hash)."""

    def __init__(self, encoder: Encoder, cache: Path | None = CACHE) -> None:
        self.encoder, self.cache = encoder, cache
        self.known: dict[str, np.ndarray] = {}
        self.fresh = 0  # vectors encoded since the cache was last written
        if cache is not None and cache.exists():
            with np.load(cache, allow_pickle=False) as npz:
                if str(npz["encoder"]) == encoder.name:
                    self.known = dict(zip(npz["keys"].tolist(), npz["vectors"], strict=True))

    def save(self) -> None:
        if self.fresh and self.cache is not None:
            self.cache.parent.mkdir(exist_ok=True)
            keys = list(self.known)
            vectors = np.stack([self.known[k] for k in keys])
            name = np.array(self.encoder.name)
            np.savez(self.cache, keys=np.array(keys), vectors=vectors, encoder=name)
            self.fresh = 0

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def of(self, texts: list[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if self.key(t) not in self.known))
        for start in range(0, len(todo), 64):
            batch = todo[start : start + 64]
            for text, vector in zip(batch, self.encoder.encode(batch), strict=True):
                self.known[self.key(text)] = vector
            self.fresh += len(batch)
            if self.fresh >= 2000:  # keep the work if the run is stopped
                self.save()
        return np.stack([self.known[self.key(t)] for t in texts]) if texts else np.zeros((0, 1))


def char_matrix(texts: list[str]) -> sparse.csr_matrix:
    """The runtime's hashed character n-grams (directory.triage.char_ngrams) as a matrix."""
    rows, cols, values = [], [], []
    for row, text in enumerate(texts):
        grams = char_ngrams(text)
        rows += [row] * len(grams)
        cols += list(grams)
        values += list(grams.values())
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(texts), CHAR_BUCKETS))


@dataclass
class Heads:
    """The two learned heads before stacking (decision values, not yet probabilities)."""

    svm: SVC
    idf: np.ndarray
    wording: LogisticRegression

    @classmethod
    def fit(cls, vectors: np.ndarray, texts: list[str], truth: np.ndarray) -> Heads:
        svm = SVC(C=SVM_C, kernel="rbf", gamma="scale", class_weight="balanced")
        svm.fit(vectors, truth)
        counts = char_matrix(texts)
        df = np.bincount(counts.indices, minlength=CHAR_BUCKETS)
        # Smoothed idf as scikit-learn's; n-grams seen in fewer than two texts are left out.
        idf = np.where(df >= 2, np.log((1 + len(texts)) / (1 + df)) + 1, 0.0)
        wording = LogisticRegression(C=CHAR_C, class_weight="balanced", max_iter=3000)
        wording.fit(normalize(counts @ sparse.diags(idf)), truth)
        return cls(svm, idf, wording)

    def arrays(self) -> dict[str, np.ndarray]:
        sv = self.svm.support_vectors_
        return {
            "sv": sv,
            "sv_norms": (sv**2).sum(axis=1),
            "sv_coef": self.svm.dual_coef_[0],
            "sv_bias": np.array(self.svm.intercept_[0]),
            "gamma": np.array(self.svm._gamma),
            "char_idf": self.idf,
            "char_coef": self.wording.coef_[0],
            "char_bias": np.array(self.wording.intercept_[0]),
        }


def kind_head(vectors: np.ndarray, examples: list[Example]) -> tuple[dict, tuple[str, ...]]:
    """Softmax over the kinds of danger, trained on the acute examples."""
    acute = [i for i, e in enumerate(examples) if e.urgent and e.kind]
    labels = [examples[i].kind for i in acute]
    if len(set(labels)) < 2:
        kinds = tuple(sorted(set(labels))) or ("medical",)
        return {"kind_w": np.zeros((1, vectors.shape[1])), "kind_b": np.zeros(1)}, kinds
    head = LogisticRegression(C=4.0, max_iter=3000).fit(vectors[acute], labels)
    w, b = head.coef_, head.intercept_
    if len(head.classes_) == 2:  # scikit-learn keeps one row for two classes
        w, b = np.vstack([-w, w]), np.array([-b[0], b[0]])
    return {"kind_w": w, "kind_b": b}, tuple(str(k) for k in head.classes_)


def build_model(
    heads: Heads, stack: tuple[np.ndarray, float], kind: tuple[dict, tuple[str, ...]], **policy
) -> TriageModel:
    arrays = {**heads.arrays(), **kind[0], "stack_w": stack[0], "stack_b": np.array(stack[1])}
    return TriageModel(arrays=arrays, kinds=kind[1], **policy)


def decisions(model: TriageModel, vectors: Vectors, texts: list[str]) -> np.ndarray:
    """Both heads' decision values for each whole text: the stacker's input."""
    v = vectors.of(texts)
    return np.c_[model.svm(v), model.wording(texts)]


def message_scores(
    model: TriageModel, vectors: Vectors, examples: list[Example], *, sentence_weight: float
) -> np.ndarray:
    """P(acute) of each message as the product scores it (directory.triage.message_score)."""
    model = replace(model, sentence_weight=sentence_weight)
    scored = [message_score(model, vectors.of, calm(e.text)) for e in examples]
    return np.array([(s.p, s.sentence) for s in scored]).reshape(len(examples), 2)


def choose_policy(p: np.ndarray, rules: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """urgent_at: the most recall with pooled precision >= PRECISION_FLOOR (rules vetoed below
    VETO_BELOW); caution_at: urgent-or-caution reaches CAUTION_RECALL of the acute."""
    best = (0.0, 0.95)
    for t in np.arange(0.95, 0.3, -0.01):
        urgent = (p >= t) | (rules & (p >= VETO_BELOW))
        precision = (urgent & truth).sum() / max(urgent.sum(), 1)
        recall = (urgent & truth).sum() / truth.sum()
        if precision >= PRECISION_FLOOR and recall >= best[0]:
            best = (recall, float(t))
    acute = np.sort(p[truth])
    caution_at = float(acute[int(np.floor((1 - CAUTION_RECALL) * len(acute)))]) - 1e-6
    return {
        "urgent_at": round(best[1], 2),
        "veto_below": VETO_BELOW,
        "caution_at": max(min(caution_at, best[1]), 0.01),
    }


@dataclass
class Tally:
    acute: int = 0
    flagged: int = 0
    caught: int = 0
    covered: int = 0  # acute messages judged urgent or caution
    harmless: int = 0
    alarmed: int = 0  # harmless messages judged urgent or caution (the 112 line leads)

    def add(self, truth: bool, urgent: bool, caution: bool) -> None:
        self.acute += truth
        self.flagged += urgent
        self.caught += truth and urgent
        self.covered += truth and (urgent or caution)
        self.harmless += not truth
        self.alarmed += (not truth) and (urgent or caution)

    def line(self) -> str:
        recall = self.caught / self.acute if self.acute else 1.0
        precision = self.caught / self.flagged if self.flagged else 1.0
        covered = self.covered / self.acute if self.acute else 1.0
        return (
            f"recall {recall:6.1%}  precision {precision:6.1%}  "
            f"urgent-or-caution {covered:6.1%}  ({self.caught}/{self.acute} acute, "
            f"{self.flagged - self.caught} false alarms; harmless with the 112 line "
            f"{self.alarmed / max(self.harmless, 1):.0%})"
        )


def report(name: str, examples: list[Example], scores: np.ndarray, model: TriageModel) -> None:
    rules = UrgencyRules.load()
    judged = {"rules alone": Tally(), "model alone": Tally(), "rules + model": Tally()}
    for e, (p, sentence) in zip(examples, scores, strict=True):
        r = detect_urgency(e.text, rules)
        m_urgent = p >= model.urgent_at
        m_caution = p >= model.caution_at or sentence >= model.urgent_at
        urgent = m_urgent or (r.urgent and p >= model.veto_below)
        judged["rules alone"].add(e.urgent, r.urgent, r.caution)
        judged["model alone"].add(e.urgent, m_urgent, m_caution)
        judged["rules + model"].add(e.urgent, urgent, r.urgent or r.caution or m_caution)
    print(f"== {name}: {len(examples)} messages, {sum(e.urgent for e in examples)} acute")
    for label, tally in judged.items():
        print(f"   {label:14} {tally.line()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print figures, write nothing")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--slice", type=int, default=0, help="train on every Nth example only")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument(
        "--embedded", type=int, default=EMBEDDED_PER_WRITER, help="long messages made per writer"
    )
    args = parser.parse_args(argv)
    encoder = load_encoder()
    if encoder is None:
        print("train_triage: no encoder (ENCODER=none)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    vectors = Vectors(encoder, None if args.no_cache else CACHE)
    corpus = load_corpus()
    if args.slice:
        corpus = corpus[:: args.slice]
    corpus += embedded([e for e in corpus if e.writer in HELD_OUT], per_writer=args.embedded)
    train = [e for e in corpus if e.writer not in HELD_OUT]
    held = [e for e in corpus if e.writer in HELD_OUT]
    by_writer: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(train):
        by_writer[e.writer].append(i)
    print(f"corpus: {len(corpus)} messages from {len(by_writer) + len(set(HELD_OUT))} writers")

    texts = [units(calm(e.text))[0] if calm(e.text) else e.text for e in train]
    whole, truth = vectors.of(texts), np.array([e.urgent for e in train])
    kind = kind_head(whole, train)
    plain = {"urgent_at": 0.5, "veto_below": 0.0, "caution_at": 0.5, "sentence_weight": 0.0}
    plain_stack = (np.array([1.0, 0.0]), 0.0)

    # Leave one writer out: each training writer is scored by heads that never saw them.
    folds: dict[str, Heads] = {}
    oof = np.zeros((len(train), 2))
    for writer, rows in sorted(by_writer.items()):
        if writer == "project":
            continue  # the rules were tuned on it: training data only, never scored
        keep = np.array([e.writer != writer for e in train])
        kept = [t for t, k in zip(texts, keep, strict=True) if k]
        folds[writer] = Heads.fit(whole[keep], kept, truth[keep])
        plain_model = build_model(folds[writer], plain_stack, kind, **plain, encoder=encoder.name)
        oof[rows] = decisions(plain_model, vectors, [texts[i] for i in rows])
    scored = np.array([e.writer != "project" for e in train])
    stacker = LogisticRegression().fit(oof[scored], truth[scored])
    stack = (stacker.coef_[0], float(stacker.intercept_[0]))

    # The policy (thresholds, sentence weight) from those left-out scores.
    rules = UrgencyRules.load()
    ruled = np.array([detect_urgency(e.text, rules).urgent for e in train])
    best: tuple[float, float, dict[str, float], np.ndarray] | None = None
    for weight in SENTENCE_WEIGHTS:
        scores = np.zeros((len(train), 2))
        for writer, heads in folds.items():
            rows = by_writer[writer]
            fold = build_model(heads, stack, kind, **plain, encoder=encoder.name)
            left_out = [train[i] for i in rows]
            scores[rows] = message_scores(fold, vectors, left_out, sentence_weight=weight)
        p = scores[:, 0]
        policy = choose_policy(p[scored], ruled[scored], truth[scored])
        urgent = (p >= policy["urgent_at"]) | (ruled & (p >= VETO_BELOW))
        recall = (urgent & truth & scored).sum() / (truth & scored).sum()
        print(f"sentence weight {weight}: left-out recall {recall:.1%} with {policy}")
        if best is None or recall > best[0]:
            best = (recall, weight, policy, scores)
    assert best is not None
    _, weight, policy, oof_p = best

    final_heads = Heads.fit(whole, texts, truth)
    final = build_model(
        final_heads, stack, kind, **policy, sentence_weight=weight, encoder=encoder.name
    )
    print(
        f"policy (leave-one-writer-out): urgent >= {final.urgent_at:.2f}, rules vetoed below "
        f"{final.veto_below:.2f}, caution >= {final.caution_at:.3f}, sentence weight {weight}"
    )
    for writer in folds:
        rows = by_writer[writer]
        report(f"writer {writer} (left out)", [train[i] for i in rows], oof_p[rows], final)
    for writer in HELD_OUT:
        rows = [e for e in held if e.writer == writer and not e.embedded]
        if rows:
            scores = message_scores(final, vectors, rows, sentence_weight=weight)
            report(f"HELD-OUT writer {writer}", rows, scores, final)
    for label, rows in (
        ("HELD-OUT all", [e for e in held if not e.embedded]),
        ("HELD-OUT long messages made from their lines", [e for e in held if e.embedded]),
    ):
        if rows:
            scores = message_scores(final, vectors, rows, sentence_weight=weight)
            report(label, rows, scores, final)
    vectors.save()
    if not args.check:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        final.save(args.out)
        Triage(UrgencyRules.load(), TriageModel.load(args.out), encoder)  # loads back
        print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    print(f"{time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
