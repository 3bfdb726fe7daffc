"""The real benchmark files in ../shared/data load without loss (skipped when absent).

Row counts are taken independently of the loaders (``csv`` module, non-blank lines) and
compared with ``samples + issues``.
"""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest

from videoqa.data import answer_vocabulary, load_dataset, to_multiple_choice
from videoqa.data.nextqa import NEXTQA_TYPES


def _csv_rows(path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def _lines(path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


@pytest.fixture(scope="module")
def oe_train(shared_data):
    """NExT-OE train, loaded once for the tests of this module."""
    return load_dataset("nextqa-oe", shared_data / "nextqa_oe" / "train.csv")


def test_nextqa_val(shared_data):
    path = shared_data / "nextqa" / "val.csv"
    bench = load_dataset("nextqa-mc", path)
    assert _csv_rows(path) == 4996
    assert len(bench) == 4996 and bench.issues == [] and bench.warnings == []
    assert set(Counter(s.qtype for s in bench.samples)) == set(NEXTQA_TYPES) - {"DB"}
    assert all(len(s.choices) == 5 for s in bench.samples)
    assert len(bench.videos) == len({s.video_id for s in bench.samples})


@pytest.mark.parametrize(("split", "rows"), [("train", 37523), ("val", 5343)])
def test_nextqa_oe(shared_data, oe_train, split, rows):
    path = shared_data / "nextqa_oe" / f"{split}.csv"
    bench = oe_train if split == "train" else load_dataset("nextqa-oe", path)
    assert _csv_rows(path) == rows
    assert len(bench) == rows and bench.issues == []
    assert set(Counter(s.qtype for s in bench.samples)) == set(NEXTQA_TYPES)


def test_nextqa_oe_train_repeated_ids_are_kept(oe_train):
    bench = oe_train
    # three video_qid ids are used twice for different questions in the official file
    assert [(w.line, w.key) for w in bench.warnings] == [
        (18638, "3617262562_2"),
        (23288, "4598213889_2"),
        (35356, "4598213889_5"),
    ]


def test_nextqa_oe_vocabulary(shared_data, oe_train):
    train = oe_train
    counts = Counter(s.answer for s in train.samples)
    vocab = answer_vocabulary(train.samples)
    assert len(vocab) == sum(1 for n in counts.values() if n > 1) == 3156
    assert vocab[:2] == ["yes", "no"]
    val = load_dataset("nextqa-oe", shared_data / "nextqa_oe" / "val.csv")
    conv = to_multiple_choice(val.samples, vocab)
    assert len(conv.samples) + len(conv.outside) == 5343
    assert len(conv.samples) == 2190


def test_qvhighlights_val(shared_data):
    path = shared_data / "qvhighlights" / "highlight_val_release.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    bench = load_dataset("qvhighlights", path)
    # 1,550 queries; the file has no newline after the last one (`wc -l` says 1,549)
    assert _lines(path) == len(rows) == 1550
    assert len(bench) == 1550 and bench.issues == [] and bench.warnings == []
    assert bench.ids == [str(r["qid"]) for r in rows]
    for sample in bench.samples:
        # each relevant window covers exactly the relevant 2-second clips
        clips = set()
        for start, end in sample.relevant_windows:
            clips |= set(range(int(start // 2), -int(-end // 2)))
        assert clips == set(sample.relevant_clip_ids)
