"""A text-only ("blind") multiple-choice baseline, to measure how much of a benchmark can
be answered without the video.

Question-only baselines are the standard check of language priors (Antol et al., "VQA",
ICCV 2015, §6; Goyal et al., "Making the V in VQA Matter", CVPR 2017, §1). This one is a
conditional-logit model (McFadden 1974) over the five options of a question: each
(question, option) pair is scored by a linear function of sparse features — the option
text, its position, the question type, and every question word and word pair crossed
with the option text — and trained with L2-regularised softmax cross-entropy (full-batch Adam, Kingma & Ba,
ICLR 2015, Algorithm 1; plain numpy, so no BLAS thread start-up per step).
It can learn priors such as "for 'What colour is the circle?' red is never right".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from videoqa.data.schema import QASample
from videoqa.errors import UsageError

_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


def _features(sample: QASample, pos: int, choice: str) -> list[str]:
    words = _WORD.findall(sample.question.lower())
    feats = [f"c={choice}", f"p={pos}", f"t={sample.qtype}|c={choice}"]
    feats += [f"w={w}|c={choice}" for w in words]
    feats += [f"b={a}_{b}|c={choice}" for a, b in zip(words, words[1:], strict=False)]
    shared = len(set(words) & set(_WORD.findall(choice.lower())))
    feats.append(f"overlap={min(shared, 3)}")
    return feats


def _adam(loss, size: int, steps: int, lr: float) -> np.ndarray:
    """Minimise ``loss(w) -> (value, gradient)`` from ``w = 0`` with Adam (β = 0.9, 0.999)."""
    w = np.zeros(size)
    m, v = np.zeros(size), np.zeros(size)
    for t in range(1, steps + 1):
        _, grad = loss(w)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        w -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w


@dataclass
class BlindBaseline:
    """Text-only multiple-choice model.

    Attributes:
        l2: L2 regularisation strength (per question, on the mean loss).
        steps: full-batch Adam steps.
        lr: Adam step size.
    """

    l2: float = 1e-3
    steps: int = 300
    lr: float = 0.05

    def __post_init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.weights: np.ndarray | None = None

    def _matrix(self, samples: Sequence[QASample], grow: bool) -> tuple[sparse.csr_matrix, int]:
        rows, cols = [], []
        width = max(len(s.choices) for s in samples)
        for qi, s in enumerate(samples):
            for pos, choice in enumerate(s.choices):
                for f in _features(s, pos, choice):
                    idx = self.vocab.get(f)
                    if idx is None and grow:
                        idx = self.vocab[f] = len(self.vocab)
                    if idx is not None:
                        rows.append(qi * width + pos)
                        cols.append(idx)
        data = np.ones(len(rows))
        shape = (len(samples) * width, len(self.vocab))
        return sparse.csr_matrix((data, (rows, cols)), shape=shape), width

    @staticmethod
    def _check(samples: Sequence[QASample]) -> None:
        if not samples or any(s.choices is None for s in samples):
            raise UsageError("the blind baseline needs multiple-choice samples")
        if len({len(s.choices) for s in samples}) != 1:
            raise UsageError("the blind baseline needs the same number of choices everywhere")

    def fit(self, samples: Sequence[QASample]) -> BlindBaseline:
        """Train on multiple-choice samples.

        Raises:
            UsageError: no samples, open-ended samples, or varying numbers of choices.
        """
        samples = list(samples)
        self._check(samples)
        self.vocab = {}
        x, width = self._matrix(samples, grow=True)
        n = len(samples)
        target = np.array([int(s.answer) for s in samples])

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            scores = (x @ w).reshape(n, width)
            scores -= scores.max(axis=1, keepdims=True)
            p = np.exp(scores)
            p /= p.sum(axis=1, keepdims=True)
            nll = -np.log(p[np.arange(n), target] + 1e-12).mean()
            p[np.arange(n), target] -= 1.0
            grad = x.T @ p.reshape(-1) / n + 2 * self.l2 * w
            return float(nll + self.l2 * w @ w), grad

        self.weights = _adam(loss, len(self.vocab), self.steps, self.lr)
        return self

    def predict(self, samples: Sequence[QASample]) -> np.ndarray:
        """Chosen option index per sample, ``(N,)`` int.

        Raises:
            UsageError: called before :meth:`fit`, or bad samples.
        """
        if self.weights is None:
            raise UsageError("fit the blind baseline first")
        samples = list(samples)
        self._check(samples)
        x, width = self._matrix(samples, grow=False)
        return (x @ self.weights).reshape(len(samples), width).argmax(axis=1)

    def accuracy(self, samples: Iterable[QASample]) -> dict[str, float]:
        """Accuracy per question type and overall (``"all"``)."""
        samples = list(samples)
        hits = self.predict(samples) == np.array([int(s.answer) for s in samples])
        groups: dict[str, list[bool]] = defaultdict(list)
        for s, h in zip(samples, hits, strict=True):
            groups[s.qtype].append(bool(h))
            groups["all"].append(bool(h))
        return {k: float(np.mean(v)) for k, v in sorted(groups.items())}
