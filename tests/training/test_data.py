"""QADataset: tokenization, teacher join, batching, checks; the epoch sampler."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.training.fakes import C, D, T, make_task
from videoqa.errors import DataFormatError
from videoqa.training.data import (
    EpochShuffleSampler,
    QADataset,
    build_tokenizer,
    collate,
)


@pytest.fixture(scope="module")
def task():
    return make_task(sizes=(("train", 10), ("val", 4)))


def test_dataset_rows_and_batch(task):
    tok = build_tokenizer(task.splits["train"])
    data = QADataset(task.splits["train"], task.frames, tok, teacher=task.teacher)
    assert len(data) == 10 and data.num_frames == T and data.feature_dim == D
    batch = data.batch(torch.tensor([3, 1]))
    assert batch.qa.video.shape == (2, T, D) and batch.qa.candidates.shape[:2] == (2, C)
    assert batch.qa.video_mask.all()
    assert torch.equal(batch.qa.video[0], torch.from_numpy(task.frames.frames["train_003"]))
    assert batch.answers.tolist() == [task.splits["train"][i].answer for i in (3, 1)]
    assert np.allclose(batch.teacher_probs[1].numpy(), task.teacher.probs["train_001_q"])
    s = task.splits["train"][3]
    words = tok.decode(batch.qa.candidates[0, s.answer][batch.qa.candidates_mask[0, s.answer]])
    assert words == s.answer_text
    # the per-item path and the batched path agree
    stacked = collate([data[3], data[1]])
    assert torch.equal(stacked.qa.video, batch.qa.video)
    assert torch.equal(stacked.teacher_probs, batch.teacher_probs)
    assert collate(batch) is batch


def test_dataset_refuses_inconsistent_data(task):
    tok = build_tokenizer(task.splits["train"])
    with pytest.raises(DataFormatError, match="no features"):
        QADataset(task.splits["train"], type(task.frames)({}), tok)
    short = type(task.teacher)({k: v[:3] for k, v in task.teacher.probs.items()})
    with pytest.raises(DataFormatError, match="teacher probs"):
        QADataset(task.splits["train"], task.frames, tok, teacher=short)
    with pytest.raises(DataFormatError, match="no teacher"):
        QADataset(task.splits["train"], task.frames, tok, teacher=type(task.teacher)({}))
    with pytest.raises(DataFormatError):
        QADataset([], task.frames, tok)


def test_epoch_sampler_depends_on_seed_and_epoch_only():
    a, b = EpochShuffleSampler(20, seed=1), EpochShuffleSampler(20, seed=1)
    first = list(a)
    assert sorted(first) == list(range(20)) and list(b) == first
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)


class _FramesWithPatches:
    """A feature source with patch tokens: patch (t, p) of video v holds (v, t, p)."""

    def __init__(self, frames):
        self.frames = frames.frames

    def __contains__(self, video_id):
        return video_id in self.frames

    def frames_array(self, ids):
        return np.stack([self.frames[i] for i in ids])

    def patches_array(self, ids):
        out = np.zeros((len(ids), T, 3, 2), np.float32)
        for row, video_id in enumerate(ids):
            out[row, :, :, 0] = int(video_id.split("_")[1])
            out[row, :, :, 1] = np.arange(T)[:, None]
        return out


def test_dataset_patches_follow_their_videos(task):
    tok = build_tokenizer(task.splits["train"])
    source = _FramesWithPatches(task.frames)
    data = QADataset(task.splits["train"], source, tok, patches=True)
    batch = data.batch(torch.tensor([3, 1]))
    assert batch.qa.patches.shape == (2, T, 3, 2)
    assert batch.qa.patches[:, 0, 0, 0].tolist() == [3.0, 1.0]
    assert batch.qa.patches[0, :, 1, 1].tolist() == list(range(T))
    assert QADataset(task.splits["train"], source, tok).batch(torch.tensor([0])).qa.patches is None
