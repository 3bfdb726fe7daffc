"""Tiny fakes shared by the training, recipe and CLI tests: a small registered model, a
learnable colour task with frame features, teacher probabilities and on-disk writers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from videoqa.data.schema import QASample
from videoqa.models.base import QABatch, QAOutput, VideoQAConfig, VideoQAModel
from videoqa.models.registry import MODELS

COLORS = ("red", "green", "blue", "yellow", "purple", "cyan", "gray")
T, D, C = 8, 12, 5
TINY = "tiny-test"


class TinyConfig(VideoQAConfig):
    pass


class TinyModel(VideoQAModel):
    """Mean of the visible frames, bag-of-words question and candidates, a dot product.
    Its logits depend only on visible frames (the contract the recipes rely on)."""

    config_class = TinyConfig
    model_type = TINY

    def __init__(self, config: TinyConfig) -> None:
        super().__init__(config)
        h = config.hidden_size
        self.words = nn.Embedding(config.vocab_size, h, padding_idx=0)
        self.frames = nn.Linear(config.feature_dim, h)
        self.mix = nn.Linear(2 * h, h)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, batch: QABatch) -> QAOutput:
        vis = batch.video_mask.float()
        weights = vis / vis.sum(dim=1, keepdim=True)
        frames = self.frames(batch.video.masked_fill(~batch.video_mask.unsqueeze(-1), 0.0))
        v = (weights.unsqueeze(-1) * frames).sum(dim=1)
        q = _bag(self.words(batch.question), batch.question_mask)
        c = _bag(self.words(batch.candidates), batch.candidates_mask)
        h = self.drop(torch.tanh(self.mix(torch.cat([v, q], dim=-1))))
        return QAOutput(logits=(c * h.unsqueeze(1)).sum(dim=-1), frame_weights=weights)


def _bag(emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).float()
    return (emb * m).sum(dim=-2) / m.sum(dim=-2).clamp_min(1.0)


if TINY not in MODELS:
    MODELS.register(TINY, TinyModel)


@dataclass
class FakeFrames:
    """In-memory feature source (what ``QADataset`` needs of a FeatureStore)."""

    frames: dict[str, np.ndarray]

    def __contains__(self, video_id: object) -> bool:
        return video_id in self.frames

    def frames_array(self, ids):
        return np.stack([self.frames[i] for i in ids])


@dataclass
class FakeProbs:
    probs: np.ndarray


@dataclass
class FakeTeacher:
    probs: dict[str, np.ndarray]

    def __contains__(self, qid: object) -> bool:
        return qid in self.probs

    def get(self, qid: str) -> FakeProbs:
        return FakeProbs(self.probs[qid])


@dataclass
class FakeTask:
    splits: dict[str, list[QASample]]
    frames: FakeFrames
    teacher: FakeTeacher


def make_task(seed: int = 0, sizes=(("train", 64), ("val", 32), ("test", 32))) -> FakeTask:
    """One question per video: "what color is the object ?" The colour is shown (one-hot
    plus noise) at 2 causal frames; other frames are noise. The teacher is confident at
    the causal frames; one question per split has no confident frame (fallback)."""
    rng = np.random.default_rng(seed)
    splits: dict[str, list[QASample]] = {}
    frames: dict[str, np.ndarray] = {}
    probs: dict[str, np.ndarray] = {}
    for split, n in sizes:
        rows = []
        for i in range(n):
            vid = f"{split}_{i:03d}"
            color = int(rng.integers(len(COLORS)))
            others = [c for c in range(len(COLORS)) if c != color]
            choice_ids = [color, *rng.choice(others, C - 1, replace=False).tolist()]
            rng.shuffle(choice_ids)
            answer = choice_ids.index(color)
            video = rng.normal(0, 0.3, (T, D)).astype(np.float32)
            causal = sorted(rng.choice(T, 2, replace=False).tolist())
            video[causal, color] += 3.0
            frames[vid] = video
            p = np.full((T, C), 1.0 / C, np.float32)
            if i != 0:
                p[causal] = 0.05
                p[causal, answer] = 0.8
            probs[f"{vid}_q"] = p
            rows.append(
                QASample(
                    qid=f"{vid}_q",
                    video_id=vid,
                    question="what color is the object ?",
                    choices=tuple(COLORS[c] for c in choice_ids),
                    answer=answer,
                    qtype=("DA", "TC")[i % 2],
                    interval=(causal[0] / 8.0, causal[-1] / 8.0),
                    extras={"causal_frames": causal, "family": "descriptive"},
                )
            )
        splits[split] = rows
    return FakeTask(splits, FakeFrames(frames), FakeTeacher(probs))


def write_benchmark(task: FakeTask, root: Path) -> None:
    """Write the task in the synthetic benchmark layout (``qa/<split>.jsonl``)."""
    (root / "qa").mkdir(parents=True, exist_ok=True)
    for split, rows in task.splits.items():
        lines = []
        for s in rows:
            record = {
                "qid": s.qid,
                "video_id": s.video_id,
                "question": s.question,
                "choices": list(s.choices or ()),
                "answer": s.answer,
                "answer_text": s.answer_text,
                "qtype": s.qtype,
                "interval": list(s.interval or (0.0, 0.0)),
                **s.extras,
            }
            lines.append(json.dumps(record))
        (root / "qa" / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_features(task: FakeTask, root: Path) -> None:
    """Write the frame features as a real FeatureStore."""
    from videoqa.features.store import FeatureWriter, StoreMeta, VideoFeatures

    meta = StoreMeta(encoder="fake", sampler="uniform", frames=T, dim=D, dataset="synthetic")
    with FeatureWriter(root, meta) as writer:
        for vid, video in task.frames.frames.items():
            writer.add(
                VideoFeatures(
                    video_id=vid,
                    frames=video,
                    times=np.arange(T, dtype=np.float64) / 8.0,
                    frame_indices=np.arange(T, dtype=np.int64),
                )
            )


def write_teacher(task: FakeTask, path: Path, split: str = "train") -> None:
    """Write the train split's teacher probabilities as a real TeacherStore file."""
    from videoqa.features.teacher_store import TeacherMeta, TeacherProbs, TeacherWriter

    with TeacherWriter(path, TeacherMeta(teacher="fake", dataset="synthetic", split=split)) as w:
        for s in task.splits[split]:
            w.write(TeacherProbs(s.qid, s.video_id, task.teacher.probs[s.qid], int(s.answer)))
