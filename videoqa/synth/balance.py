"""Answer balancing and distractor drawing: candidates → multiple-choice questions.

Without balancing, a model that never looks at the video can exploit answer priors
(GQA, Hudson & Manning, CVPR 2019, §3.5; CLEVR, Johnson et al., CVPR 2017, §3). Here:

1. per video and balancing group, keep a few candidates with distinct answers, rarest
   answers of the video first (:func:`preselect`);
2. per group over the split, keep the ``k >= 5`` most frequent answers and cap every
   answer at ``ratio`` times the count of the rarest kept one, choosing ``k`` to keep the
   most questions — so within a group every kept answer has between ``m`` and
   ``ratio * m`` questions (:func:`balance`); groups of fewer than ``SMALL_GROUP``
   candidates keep all their answers;
3. per question type (the union of its groups), trim answers above ``qtype_ratio`` times
   the uniform share;
4. draw the four distractors among the group's kept answers that are wrong for the
   question (:func:`to_samples`), so every offered option is correct equally often.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping

import numpy as np

from videoqa.data.schema import QASample
from videoqa.synth.questions import QTYPES, Candidate

NUM_CHOICES = 5
GROUP_RATIO = 1.3
QTYPE_RATIO = 1.45
#: a group with fewer candidates than this and fewer than five answers is kept with all
#: its answers (tiny datasets); larger groups with fewer than five answers are dropped.
SMALL_GROUP = 25
_QTYPE_ORDER = {q: i for i, q in enumerate(QTYPES)}


def preselect(cands: list[Candidate], rng: np.random.Generator, per_group: int) -> list[Candidate]:
    """At most ``per_group`` candidates per group of one video, each with a different
    answer, answers with fewer candidates in this video first (ties broken at random)."""
    by_group: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_group[c.group].append(c)
    out: list[Candidate] = []
    for group in sorted(by_group):
        items = by_group[group]
        counts = Counter(c.answer for c in items)
        noise = rng.random(len(items))
        order = sorted(range(len(items)), key=lambda i: (counts[items[i].answer], noise[i]))
        seen: set[str] = set()
        for i in order:
            if items[i].answer in seen:
                continue
            seen.add(items[i].answer)
            out.append(items[i])
            if len(seen) == per_group:
                break
    return out


def answer_cap(counts: Mapping[str, int], ratio: float, min_answers: int) -> tuple[list[str], int]:
    """Answers to keep and the per-answer cap that keep the most questions.

    Keeps the ``k`` most frequent answers (``k >= min_answers``) with cap
    ``floor(ratio * n_k)`` (``n_k``: count of the k-th), maximising ``sum(min(n_i, cap))``.

    Returns:
        ``(answers, cap)``; ``([], 0)`` when fewer than ``min_answers`` answers occur.
    """
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    best: tuple[int, list[str], int] = (0, [], 0)
    for k in range(min_answers, len(items) + 1):
        cap = math.floor(ratio * items[k - 1][1])
        total = sum(min(n, cap) for _, n in items[:k])
        if total > best[0]:
            best = (total, [a for a, _ in items[:k]], cap)
    return best[1], best[2]


def balance(
    cands: list[Candidate],
    rng: np.random.Generator,
    *,
    group_ratio: float = GROUP_RATIO,
    qtype_ratio: float = QTYPE_RATIO,
    min_answers: int = NUM_CHOICES,
) -> tuple[list[Candidate], dict[str, tuple[str, ...]]]:
    """Pick an answer-balanced subset of the candidates of one split.

    Candidates that cannot get four distractors among their group's kept answers are
    removed and the rest balanced again (so no offered option is one that is never right).

    Returns:
        ``(kept, supports)``: kept candidates (input order) and, per group, its kept answers.
    """
    pool = list(cands)
    for _ in range(4):
        kept, supports = _balance_once(pool, rng, group_ratio, qtype_ratio, min_answers)
        short = {
            id(c)
            for c in kept
            if len(supports[c.group]) >= min_answers
            and len((set(c.wrong) - {c.answer}) & set(supports[c.group])) < NUM_CHOICES - 1
        }
        if not short:
            break
        pool = [c for c in pool if id(c) not in short]
    return kept, supports


def _balance_once(
    cands: list[Candidate],
    rng: np.random.Generator,
    group_ratio: float,
    qtype_ratio: float,
    min_answers: int,
) -> tuple[list[Candidate], dict[str, tuple[str, ...]]]:
    by_group: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, c in enumerate(cands):
        by_group[c.group][c.answer].append(i)
    kept: dict[str, dict[str, list[int]]] = {}
    for group in sorted(by_group):
        answers = by_group[group]
        counts = {a: len(v) for a, v in answers.items()}
        names, cap = answer_cap(counts, group_ratio, min_answers)
        if not names and sum(counts.values()) < SMALL_GROUP:
            names, cap = answer_cap(counts, group_ratio, len(counts))
        kept[group] = {}
        for a in names:
            idx = answers[a]
            pick = sorted(idx[j] for j in rng.permutation(len(idx))[:cap])
            kept[group][a] = pick
    _trim_qtypes(kept, cands, qtype_ratio, rng)
    chosen = sorted(i for answers in kept.values() for idx in answers.values() for i in idx)
    supports = {
        g: tuple(sorted(a for a, idx in answers.items() if idx)) for g, answers in kept.items()
    }
    return [cands[i] for i in chosen], supports


def _trim_qtypes(
    kept: dict[str, dict[str, list[int]]],
    cands: list[Candidate],
    ratio: float,
    rng: np.random.Generator,
) -> None:
    """Remove candidates of answers above ``ratio`` times the uniform share of their qtype."""
    groups_of: dict[str, list[str]] = defaultdict(list)
    for group, answers in kept.items():
        if answers:
            groups_of[cands[next(iter(answers.values()))[0]].qtype].append(group)
    for groups in groups_of.values():
        for _ in range(100):
            counts: Counter[str] = Counter()
            for g in groups:
                counts.update({a: len(idx) for a, idx in kept[g].items() if idx})
            total, k = sum(counts.values()), len(counts)
            limit = math.floor(ratio * total / k) if k else 0
            over = {a: n - limit for a, n in counts.items() if n > limit}
            if not over:
                break
            for answer, excess in sorted(over.items()):
                for _ in range(excess):
                    g = max(groups, key=lambda g: (len(kept[g].get(answer, [])), g))
                    idx = kept[g][answer]
                    idx.pop(int(rng.integers(len(idx))))


def distractors(
    cand: Candidate, support: tuple[str, ...], rng: np.random.Generator
) -> list[str] | None:
    """Four wrong options: from the group's kept answers when possible, else topped up
    from the other wrong answers; ``None`` when there are fewer than four."""
    wrong = set(cand.wrong) - {cand.answer}
    inside = sorted(wrong & set(support))
    outside = sorted(wrong - set(support))
    need = NUM_CHOICES - 1
    if len(inside) + len(outside) < need:
        return None
    if len(inside) >= need:
        return [inside[i] for i in rng.choice(len(inside), need, replace=False)]
    extra = [outside[i] for i in rng.choice(len(outside), need - len(inside), replace=False)]
    picked = inside + extra
    return [picked[i] for i in rng.permutation(need)]


def to_samples(
    kept: list[Candidate],
    supports: Mapping[str, tuple[str, ...]],
    rng: np.random.Generator,
    *,
    novel: Mapping[str, frozenset[int]] | None = None,
    prefix: str = "",
) -> list[QASample]:
    """Multiple-choice samples (5 options, answer position uniform) from kept candidates.

    Questions are ordered by video, question type and group; ``qid`` is
    ``f"{video_id}_{prefix}{n:02d}"``. ``extras`` holds ``family``, ``group``,
    ``answer_text``, ``causal_frames``, ``program``, ``participants``, ``novel_combo``
    (a participant has a held-out colour–shape pair) and, for frame questions, ``frame``.
    """
    order = sorted(kept, key=lambda c: (c.video_id, _QTYPE_ORDER[c.qtype], c.group, c.question))
    counters: Counter[str] = Counter()
    out: list[QASample] = []
    for c in order:
        wrong = distractors(c, supports.get(c.group, ()), rng)
        if wrong is None:
            continue
        pos = int(rng.integers(NUM_CHOICES))
        choices = (*wrong[:pos], c.answer, *wrong[pos:])
        n = counters[c.video_id]
        counters[c.video_id] += 1
        extras = {
            "family": QTYPES[c.qtype][0],
            "group": c.group,
            "answer_text": c.answer,
            "causal_frames": list(c.causal_frames),
            "program": c.program.model_dump(mode="json"),
            "participants": list(c.participants),
            "novel_combo": bool(novel and set(c.participants) & novel.get(c.video_id, set())),
        }
        if c.frame is not None:
            extras["frame"] = c.frame
        out.append(
            QASample(
                qid=f"{c.video_id}_{prefix}{n:02d}",
                video_id=c.video_id,
                question=c.question,
                choices=choices,
                answer=pos,
                qtype=c.qtype,
                interval=c.interval,
                extras=extras,
            )
        )
    return out
