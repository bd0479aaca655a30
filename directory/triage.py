"""Acute-danger triage: the hand-written rules, a trained classifier, and a safe policy.

The rules (`directory.urgency`, data in `data/urgency.json`) are the precise tier: they name
the kind of danger and fire on the situations someone wrote down. They miss wording nobody
wrote a rule for, so a classifier on sentence vectors (`directory.encoder`) reads every
message too. It is trained offline by `tools/train_triage.py` on `corpus/triage/` and ships as
`data/triage_model.npz` (no training at run time). The policy:

- **urgent** when the rules fire or the model is confident: emergency guidance first;
- **caution** when the model is unsure (or reads one sentence of a long message as acute), or
  a strong danger word is live: the 112 line and SOS Alarm 112 first, then the services that
  fit, and the offer of a person;
- **none** otherwise.

Laughter and emoji ("lol", "haha", 😅) are taken out before judging: a nervous joke must never
silence a described danger. The whole text and the longest sentences are scored.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np

from directory.encoder import Encoder
from directory.urgency import NOT_URGENT, Urgency, UrgencyRules, detect_urgency

MODEL_FILE = "triage_model.npz"
MAX_CHARS = 2000  # the whole-message unit; sentences beyond it are still scored
MAX_SENTENCES = 4  # the longest few sentences of a long message
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_LAUGHTER = re.compile(
    r"\b(?:lol+|lmao|rofl|xd+|ha(?:ha)+h?|he(?:he)+|hi(?:hi)+|asg)\b", re.IGNORECASE
)
# Emoji and pictographs (faces, hands, symbols); other scripts (Arabic ...) are kept.
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]+")


def calm(text: str) -> str:
    """The text without laughter and emoji, which must not lower the danger it describes."""
    return re.sub(r"\s{2,}", " ", _EMOJI.sub(" ", _LAUGHTER.sub(" ", text))).strip()


def whole_text(text: str) -> str:
    """The whole message as triage encodes it: ranking encodes the same string, so the
    encoder's cache serves the second use."""
    return calm(text)[:MAX_CHARS].strip()


def units(text: str) -> list[str]:
    """What the model scores: the whole message (capped), then its longest sentences."""
    whole = text[:MAX_CHARS].strip()
    if not whole:
        return []
    sentences = [s.strip() for s in _SENTENCES.split(text) if len(s.split()) >= 2]
    if len(sentences) <= 1:
        return [whole]
    longest = sorted(sentences, key=len, reverse=True)[:MAX_SENTENCES]
    return list(dict.fromkeys([whole, *(s[:MAX_CHARS] for s in longest)]))


@dataclass(frozen=True)
class Scored:
    p: float  # P(acute) of the message: the whole text's, or a weighted sentence's if higher
    sentence: float  # the highest P(acute) of one sentence on its own (0 for one sentence)
    kind: str | None  # the kind of danger read from the unit that scored highest


def message_score(
    model: TriageModel,
    encode: Callable[[list[str]], np.ndarray],
    text: str,
    *,
    sentences: bool = True,
) -> Scored:
    """Score a (calmed) message: the whole text and, in a long message, its longest sentences
    (one acute sentence among harmless ones). Sentences out of context also read past events
    as present, so they count for the urgent score only with the model's sentence weight
    (chosen on left-out writers), and otherwise only towards caution."""
    parts = units(text) if sentences else units(text)[:1]
    if not parts:
        return Scored(0.0, 0.0, None)
    vectors = encode(parts)
    p = model.probability(vectors, parts)
    sentence = float(p[1:].max()) if len(p) > 1 else 0.0
    p[1:] *= model.sentence_weight
    best = int(np.argmax(p))
    return Scored(float(p[best]), sentence, model.kind(vectors[best]))


def sentence_score(
    model: TriageModel, encode: Callable[[list[str]], np.ndarray], text: str
) -> float:
    """The highest P(acute) of one of the longest sentences of a (calmed) message on its own;
    0 for a message of one sentence."""
    sentences = units(text)[1:]
    if not sentences:
        return 0.0
    return float(model.probability(encode(sentences), sentences).max())


CHAR_BUCKETS = 1 << 18  # hashed character n-grams (2-5 letters, within words)
_WORDS = re.compile(r"\w+")


def char_ngrams(text: str, buckets: int = CHAR_BUCKETS) -> dict[int, float]:
    """Sublinear counts of hashed character n-grams: spelling-tolerant lexical features
    (typos, missing å/ä/ö, compounds) beside the sentence vector."""
    counts: dict[int, int] = {}
    for word in _WORDS.findall(text.lower()[:MAX_CHARS]):
        padded = f" {word} "
        for n in range(2, 6):
            for i in range(len(padded) - n + 1):
                key = zlib.crc32(padded[i : i + n].encode("utf-8")) % buckets
                counts[key] = counts.get(key, 0) + 1
    return {k: 1.0 + math.log(c) for k, c in counts.items()}


@dataclass(frozen=True)
class TriageModel:
    """P(acute) from two learned heads, stacked: an RBF support-vector machine on the sentence
    vector (meaning) and logistic regression on character n-grams (wording); plus a softmax
    head for the kind of danger, and the policy's thresholds."""

    arrays: dict[str, np.ndarray]
    kinds: tuple[str, ...]  # urgency.json kinds, for the emergency services to list
    urgent_at: float  # P(acute) at or above which the message is urgent
    veto_below: float  # below this the model overrules the rules: caution, not urgent
    caution_at: float  # P(acute) at or above which the message is caution
    sentence_weight: float  # a sentence's score counts this much beside the whole message's
    encoder: str  # the encoder the model was trained on

    @classmethod
    def load(cls, path: Path | None = None) -> TriageModel:
        source = path or resources.files("directory") / "data" / MODEL_FILE
        with source.open("rb") as f, np.load(f, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(str(arrays.pop("meta")))
        arrays = {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in arrays.items()}
        return cls(arrays=arrays, kinds=tuple(meta.pop("kinds")), **meta)

    def save(self, path: Path) -> None:
        meta = {
            "kinds": list(self.kinds),
            "urgent_at": self.urgent_at,
            "veto_below": self.veto_below,
            "caution_at": self.caution_at,
            "sentence_weight": self.sentence_weight,
            "encoder": self.encoder,
        }
        np.savez_compressed(path, meta=np.array(json.dumps(meta)), **self.arrays)

    def svm(self, vectors: np.ndarray) -> np.ndarray:
        """The support-vector machine's decision value for each sentence vector."""
        a = self.arrays
        # einsum, not BLAS: OpenBLAS's worker threads spin after a call and would slow the
        # encoder's own threads (measured 4x) for a product this small.
        dots = np.einsum("ij,kj->ik", vectors, a["sv"])
        sq = a["sv_norms"][None, :] + np.einsum("ij,ij->i", vectors, vectors)[:, None] - 2 * dots
        kernel = np.exp(-float(a["gamma"]) * np.maximum(sq, 0.0))
        return np.einsum("ik,k->i", kernel, a["sv_coef"]) + float(a["sv_bias"])

    def wording(self, texts: list[str]) -> np.ndarray:
        """The character n-gram head's decision value for each text."""
        idf, coef = self.arrays["char_idf"], self.arrays["char_coef"]
        out = np.zeros(len(texts), dtype=np.float32)
        for row, text in enumerate(texts):
            grams = char_ngrams(text)
            if not grams:
                continue
            keys = np.fromiter(grams, dtype=np.int64, count=len(grams))
            weights = np.fromiter(grams.values(), dtype=np.float32, count=len(grams)) * idf[keys]
            norm = float(np.linalg.norm(weights))
            if norm:
                out[row] = float(weights @ coef[keys]) / norm
        return out + float(self.arrays["char_bias"])

    def probability(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        """P(acute) for each text (with its sentence vector in the same row)."""
        w, b = self.arrays["stack_w"], float(self.arrays["stack_b"])
        z = w[0] * self.svm(vectors) + w[1] * self.wording(texts) + b
        return 1.0 / (1.0 + np.exp(-z))

    def kind(self, vector: np.ndarray) -> str:
        scores = np.einsum("kj,j->k", self.arrays["kind_w"], vector) + self.arrays["kind_b"]
        return self.kinds[int(np.argmax(scores))]


@dataclass(frozen=True)
class Triage:
    """Rules + model + policy. Without an encoder (ENCODER=none) the rules judge alone."""

    rules: UrgencyRules
    model: TriageModel | None = None
    encoder: Encoder | None = None

    @classmethod
    def load(cls, encoder: Encoder | None) -> Triage:
        rules = UrgencyRules.load()
        if encoder is None:
            return cls(rules)
        model = TriageModel.load()
        if model.encoder != encoder.name:
            raise ValueError(
                f"the triage model was trained on {model.encoder!r}, not {encoder.name!r}: "
                "retrain it (tools/train_triage.py) for this encoder"
            )
        return cls(rules, model, encoder)

    def score(self, text: str, *, sentences: bool = True) -> Scored:
        """The model's reading of the message (nothing without a model)."""
        if self.model is None or self.encoder is None:
            return Scored(0.0, 0.0, None)
        return message_score(self.model, self.encoder.encode, calm(text), sentences=sentences)

    def assess(self, text: str) -> Urgency:
        if not text.strip():
            return NOT_URGENT
        ruled = self._rules(text)
        model = self.model
        # Sentences cost an encoding each; with no weight in the urgent score they can only
        # turn "none" into caution, so they are read only when that is what is left.
        weighted = model is not None and model.sentence_weight > 0
        scored = self.score(text, sentences=weighted)
        p, kind = scored.p, scored.kind
        if ruled.urgent and (model is None or p >= model.veto_below):
            return replace(ruled, score=p if model else None)
        if model is not None and p >= model.urgent_at and kind is not None:
            services = self.rules.services.get(kind, ("SOS Alarm 112",))
            return Urgency(True, kind, f"model:{p:.2f}", services, score=p)
        if ruled.urgent or ruled.caution or self._unsure(text, scored, weighted):
            # A rule fired but the model is sure it is harmless (an idiom, a past event the
            # rules did not see as past): the 112 line still leads, without the alarm.
            services = self.rules.caution_services
            reason = ruled.reason or f"model:{p:.2f}"
            return Urgency(False, None, reason, services, True, p if model else None)
        return replace(NOT_URGENT, score=p if model else None)

    def _unsure(self, text: str, scored: Scored, weighted: bool) -> bool:
        """Caution from the model: unsure of the whole, or one sentence alone reads as acute."""
        model = self.model
        if model is None:
            return False
        if scored.p >= model.caution_at:
            return True
        if weighted or self.encoder is None:
            return scored.sentence >= model.urgent_at
        return sentence_score(model, self.encoder.encode, calm(text)) >= model.urgent_at

    def _rules(self, text: str) -> Urgency:
        ruled = detect_urgency(text, self.rules)
        quiet = calm(text)
        if not ruled.urgent and quiet != text and quiet:
            # A joke marker may have blocked a rule: judge the text without it.
            unjoked = detect_urgency(quiet, self.rules)
            if unjoked.urgent or unjoked.caution:
                return unjoked
        return ruled
