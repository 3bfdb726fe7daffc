"""Teacher store: round trip, validation, atomic shards and resume."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from videoqa.errors import UsageError
from videoqa.features.teacher_store import (
    TeacherMeta,
    TeacherProbs,
    TeacherStore,
    TeacherStoreError,
    TeacherWriter,
    UnknownQuestionError,
    read_meta,
)


def _probs(rng: np.random.Generator, t: int, c: int) -> np.ndarray:
    x = rng.random((t, c)) + 0.01
    return (x / x.sum(1, keepdims=True)).astype(np.float32)


def _records(n: int, seed: int = 0) -> list[TeacherProbs]:
    rng = np.random.default_rng(seed)
    shapes = [(4, 5), (1, 5), (7, 3), (4, 5), (2, 2), (3, 5)]
    return [
        TeacherProbs(
            qid=f"q{i}",
            video_id=f"v/{i // 2}",  # a slash must survive
            probs=_probs(rng, *shapes[i % len(shapes)]),
            answer=i % shapes[i % len(shapes)][1],
        )
        for i in range(n)
    ]


META = TeacherMeta(teacher="feature:t", dataset="synthetic", split="train", features={"frames": 4})


def test_round_trip_keeps_every_value(tmp_path):
    records = _records(6)
    path = tmp_path / "sub" / "train.h5"
    with TeacherWriter(path, META, shard_size=4) as writer:
        assert writer.write_all(records) == 6
    store = TeacherStore(path)
    assert len(store) == 6 and store.qids() == [r.qid for r in records]
    assert store.meta == META and read_meta(path) == META
    for r in records:
        got = store.get(r.qid)
        assert r.qid in store
        assert got.video_id == r.video_id and got.answer == r.answer
        assert got.probs.dtype == np.float32
        np.testing.assert_array_equal(got.probs, r.probs)
        np.testing.assert_array_equal(got.answer_probs, r.probs[:, r.answer])
    assert not (tmp_path / "sub" / "train.h5.parts").exists()
    assert not (tmp_path / "sub" / "train.h5.tmp").exists()


def test_unknown_qid_and_non_store_files(tmp_path):
    path = tmp_path / "t.h5"
    with TeacherWriter(path, META) as writer:
        writer.write_all(_records(2))
    with pytest.raises(UnknownQuestionError, match="nope"):
        TeacherStore(path).get("nope")
    with pytest.raises(KeyError):
        TeacherStore(path).get("nope")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = [1]
    with pytest.raises(TeacherStoreError):
        TeacherStore(other)
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(TeacherStoreError):
        TeacherStore(tmp_path / "text.h5")
    with pytest.raises(FileNotFoundError):
        TeacherStore(tmp_path / "missing.h5")


@pytest.mark.parametrize(
    ("probs", "answer", "match"),
    [
        (np.full((2, 4), 0.3, np.float32), 0, "sum to 1"),
        (np.array([[1.2, -0.2]], np.float32), 0, "non-negative"),
        (np.array([[np.nan, 1.0]], np.float32), 0, "finite"),
        (np.full((3,), 1 / 3, np.float32), 0, r"\(T, C\)"),
        (np.full((2, 4), 0.25, np.float32), 4, "outside 4 choices"),
    ],
)
def test_bad_probabilities_are_refused(probs, answer, match):
    with pytest.raises(UsageError, match=match):
        TeacherProbs(qid="q", video_id="v", probs=probs, answer=answer)


def test_resume_after_an_interrupted_run(tmp_path):
    records = _records(6)
    path = tmp_path / "train.h5"
    with pytest.raises(RuntimeError), TeacherWriter(path, META, shard_size=2) as writer:
        writer.write_all(records[:3])  # one shard of 2 written, 1 buffered
        raise RuntimeError("killed")
    assert not path.exists()  # nothing merged yet
    shards = sorted((tmp_path / "train.h5.parts").glob("shard-*.h5"))
    assert len(shards) == 2  # the buffered question was written on the way out
    (tmp_path / "train.h5.parts" / "shard-00009.h5.tmp").write_bytes(b"half a shard")
    with TeacherWriter(path, META, shard_size=2) as writer:
        assert writer.done == {"q0", "q1", "q2"}
        assert not list((tmp_path / "train.h5.parts").glob("*.tmp"))
        new = [writer.write(r) for r in records]
    assert new == [False, False, False, True, True, True]
    store = TeacherStore(path)
    assert sorted(store.qids()) == [r.qid for r in records]
    for r in records:
        np.testing.assert_array_equal(store.get(r.qid).probs, r.probs)
    # a finished file is resumed too: nothing new to write, contents unchanged
    with TeacherWriter(path, META) as writer:
        assert writer.done == {r.qid for r in records}
        assert writer.write_all(records) == 0
    assert len(TeacherStore(path)) == 6


def test_resume_refuses_another_teacher(tmp_path):
    path = tmp_path / "train.h5"
    with TeacherWriter(path, META) as writer:
        writer.write_all(_records(1))
    other = META.model_copy(update={"teacher": "blip:x"})
    with pytest.raises(UsageError, match="another output file"):
        TeacherWriter(path, other)
    with pytest.raises(UsageError):
        TeacherWriter(path, META, shard_size=0)
