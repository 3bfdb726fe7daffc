from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from videoqa.synth.balance import answer_cap, balance, distractors, preselect, to_samples
from videoqa.synth.programs import AttributeQuery, ObjectRef
from videoqa.synth.questions import Candidate

PROGRAM = AttributeQuery(target=ObjectRef(shape="circle"), attribute="color")


def _cand(answer: str, group: str = "DA:color", video: str = "v0", wrong=None) -> Candidate:
    wrong = tuple(wrong) if wrong is not None else tuple(f"w{i}" for i in range(6))
    return Candidate(
        video_id=video, qtype=group.split(":")[0], group=group, question=f"q {answer}?",
        answer=answer, wrong=wrong, program=PROGRAM, causal_frames=(3,),
        interval=(0.1875, 0.25), participants=(0,),
    )  # fmt: skip


def test_answer_cap_golden():
    counts = {"a": 10, "b": 8, "c": 6, "d": 4, "e": 2}
    # k=2: cap 10 -> 18 kept; k=3: cap floor(7.8)=7 -> 20; k=4: cap 5 -> 19; k=5: cap 2 -> 10
    assert answer_cap(counts, 1.3, 2) == (["a", "b", "c"], 7)
    assert answer_cap(counts, 1.3, 5) == (["a", "b", "c", "d", "e"], 2)
    assert answer_cap(counts, 1.3, 6) == ([], 0)


def test_preselect_distinct_answers_rarest_first():
    cands = [_cand("x"), _cand("x"), _cand("x"), _cand("y"), _cand("z", group="DA:shape")]
    rng = np.random.default_rng(0)
    picked = preselect(cands, rng, per_group=1)
    assert sorted((c.group, c.answer) for c in picked) == [("DA:color", "y"), ("DA:shape", "z")]
    picked = preselect(cands, rng, per_group=5)
    assert sorted(c.answer for c in picked if c.group == "DA:color") == ["x", "y"]


def test_distractors_from_support_then_topped_up():
    rng = np.random.default_rng(1)
    cand = _cand("ans", wrong=["a", "b", "c", "d", "e", "f"])
    for _ in range(10):
        assert set(distractors(cand, ("a", "b", "c", "d", "ans"), rng)) == {"a", "b", "c", "d"}
    drawn = distractors(cand, ("a", "ans"), rng)
    assert "a" in drawn and len(set(drawn)) == 4 and "ans" not in drawn
    assert distractors(_cand("ans", wrong=["a", "b", "c"]), ("a",), rng) is None


def test_balance_caps_every_answer():
    counts = {"red": 90, "blue": 60, "green": 40, "pink": 35, "cyan": 30, "gray": 3}
    cands = [
        _cand(a, video=f"v{i}", wrong=list(counts)) for a, n in counts.items() for i in range(n)
    ]
    kept, supports = balance(cands, np.random.default_rng(2))
    got = Counter(c.answer for c in kept)
    # k = 5 most frequent answers, cap floor(1.3 * 30) = 39 (gray dropped)
    assert got == {"red": 39, "blue": 39, "green": 39, "pink": 35, "cyan": 30}
    assert supports == {"DA:color": ("blue", "cyan", "green", "pink", "red")}


def test_balance_drops_groups_with_too_few_answers_unless_tiny():
    big = [_cand(a, group="CW") for a in "ab" for _ in range(20)]
    tiny = [_cand(a, group="RS") for a in "ab" for _ in range(3)]
    kept, _ = balance(big + tiny, np.random.default_rng(0))
    assert {c.group for c in kept} == {"RS"}


def test_to_samples_choices_and_positions():
    names = ["a", "b", "c", "d", "e", "f"]
    cands = [_cand(names[i % 6], video=f"v{i // 10}", wrong=names) for i in range(600)]
    supports = {"DA:color": tuple(names)}
    samples = to_samples(cands, supports, np.random.default_rng(3))
    assert len(samples) == 600
    positions = Counter(s.answer for s in samples)
    assert set(positions) == {0, 1, 2, 3, 4}
    assert max(positions.values()) < 1.3 * 600 / 5
    for s in samples:
        assert len(set(s.choices)) == 5
        assert s.choices[s.answer] == s.extras["answer_text"]
        assert s.extras["causal_frames"] == [3] and s.interval == (0.1875, 0.25)
    assert samples[0].qid == "v0_00" and samples[10].qid == "v1_00"


@pytest.mark.parametrize("split", ["train", "test"])
def test_generated_answers_are_balanced_per_qtype(validity_data, split):
    samples = validity_data.qa[split] + validity_data.frame_qa.get(split, [])
    by_type: dict[str, Counter] = {}
    for s in samples:
        by_type.setdefault(s.qtype, Counter())[s.extras["answer_text"]] += 1
    assert len(by_type) >= 8
    for qtype, counts in by_type.items():
        share = max(counts.values()) / sum(counts.values())
        assert share <= 1.5 / len(counts), (qtype, counts)
