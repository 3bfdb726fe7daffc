"""Open-ended → multiple-choice conversion over a global answer set.

Source: the SpARC evaluation protocol (§3.1): an open-ended benchmark is scored as
multiple choice over one global candidate set, the answers that occur more than once
among the training questions; a question whose answer is outside that set cannot be
answered by choosing, and is reported rather than hidden.

Answers are compared by their exact text after stripping surrounding whitespace — no
lower-casing or other normalisation (NExT-OE answers are already lower case).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from videoqa.data.schema import QASample
from videoqa.errors import UsageError


def answer_vocabulary(train_samples: Iterable[QASample], min_count: int = 2) -> list[str]:
    """The global answer set: training answers occurring at least ``min_count`` times.

    Args:
        train_samples: training questions (open-ended, or multiple choice: their
            ``answer_text`` is counted).
        min_count: least number of occurrences; the default 2 is "more than once".

    Returns:
        The answers, most frequent first; answers with equal counts in code-point order
        of their text (so the list, and the choice indices built on it, are
        reproducible).

    Raises:
        UsageError: ``min_count`` below 1.
    """
    if min_count < 1:
        raise UsageError(f"min_count must be at least 1, got {min_count}")
    counts = Counter(s.answer_text.strip() for s in train_samples)
    kept = [(answer, n) for answer, n in counts.items() if n >= min_count and answer]
    kept.sort(key=lambda item: (-item[1], item[0]))
    return [answer for answer, _ in kept]


@dataclass(frozen=True)
class MultipleChoiceConversion:
    """Result of :func:`to_multiple_choice`.

    Attributes:
        samples: the converted questions, input order: ``choices`` is the whole
            vocabulary (one shared tuple), ``answer`` the index of the answer in it.
        outside: the questions whose answer is not in the vocabulary, unchanged.
        vocabulary: the candidate answers, in choice-index order.
    """

    samples: list[QASample]
    outside: list[QASample]
    vocabulary: tuple[str, ...]

    @property
    def coverage(self) -> float:
        """Fraction of the questions whose answer is in the vocabulary (0 when none)."""
        total = len(self.samples) + len(self.outside)
        return len(self.samples) / total if total else 0.0


def to_multiple_choice(
    samples: Iterable[QASample], vocabulary: Iterable[str]
) -> MultipleChoiceConversion:
    """Turn open-ended questions into multiple choice over ``vocabulary``.

    Args:
        samples: open-ended questions (``choices is None``).
        vocabulary: candidate answers, e.g. from :func:`answer_vocabulary`.

    Returns:
        The converted questions and those whose (stripped) answer is not a candidate.

    Raises:
        UsageError: a sample is already multiple choice, or the vocabulary is empty or
            holds an answer twice.
    """
    vocab = tuple(vocabulary)
    index = {answer: i for i, answer in enumerate(vocab)}
    if not vocab or len(index) != len(vocab):
        raise UsageError("the vocabulary must be non-empty and without repeated answers")
    converted: list[QASample] = []
    outside: list[QASample] = []
    for sample in samples:
        if sample.choices is not None:
            raise UsageError(f"{sample.qid} is already multiple choice")
        i = index.get(str(sample.answer).strip())
        if i is None:
            outside.append(sample)
        else:
            # no re-validation: the index is valid by construction, and the large choice
            # tuple stays shared instead of being copied per question
            converted.append(sample.model_copy(update={"choices": vocab, "answer": i}))
    return MultipleChoiceConversion(samples=converted, outside=outside, vocabulary=vocab)
