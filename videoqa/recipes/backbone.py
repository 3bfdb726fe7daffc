"""The backbone recipes ``baseline`` and ``sparc``: a multiple-choice VideoQA backbone
(HGA, VGT, the transformer baseline) trained on stored frame features.

``baseline`` is plain cross-entropy on the whole video (optional whole-video mixup);
``sparc`` adds SpARC's causal-frame guidance, consistency, spatial distillation and
temporal-guided mixup (Wei et al., SpARC, §3), using teacher probabilities on the train
split only: evaluation always sees the whole video and nothing else.

``checkpoints/best`` holds what ``videoqa ask --model <arch>:DIR`` needs::

    model/               config.json (model_type) + model.safetensors
    tokenizer.json       the word tokenizer of the train split
    config.yaml          the training config
    preprocessing.json   the feature store's StoreMeta (frame encoder, sampler, frames)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel
from torch import Tensor, nn

from videoqa.errors import UsageError
from videoqa.eval.protocols import protocol_for
from videoqa.metrics.accuracy import ScoreBreakdown, multiple_choice_accuracy
from videoqa.models.base import VideoQAModel
from videoqa.models.registry import build_model
from videoqa.models.text import WordTokenizer
from videoqa.training.config import BackboneConfig, BaselineConfig, SparcConfig
from videoqa.training.data import QADataset, build_tokenizer, collate
from videoqa.training.objectives import BaselineObjective, NamedObjective, SparcObjective
from videoqa.training.recipe import EpochStats, Recipe, RecipeSetup, StepOutput, register_recipe

PREPROCESSING_FILE = "preprocessing.json"
TOKENIZER_FILE = "tokenizer.json"


@dataclass
class TrainingData:
    """The datasets of one backbone run (teacher probabilities on ``train`` only).

    Attributes:
        train, val: the splits; tests: split name → dataset scored at the end.
        tokenizer: word tokenizer built on the train split.
        dataset: registered dataset name (chooses the evaluation protocol).
        preprocessing: the feature store's meta (``StoreMeta`` fields), or None.
    """

    train: QADataset
    val: QADataset
    tests: dict[str, QADataset]
    tokenizer: WordTokenizer
    dataset: str = "synthetic"
    preprocessing: dict[str, Any] | None = None


def load_training_data(config: BackboneConfig, *, need_teacher: bool) -> TrainingData:
    """Load the splits, the feature store and (when ``need_teacher``) the teacher store.

    Raises:
        UsageError: a teacher is needed and ``data.teacher_path`` is not set.
        DataFormatError / FeatureStoreError: unreadable or inconsistent data.
    """
    from videoqa.data import load_dataset
    from videoqa.features.store import FeatureStore

    cfg = config.data
    if need_teacher and cfg.teacher_path is None:
        raise UsageError("this recipe needs data.teacher_path (a teacher-probability store)")

    def samples(split: str) -> list:
        bench = load_dataset(cfg.dataset, cfg.benchmark_dir, split=split)
        kept = bench.samples
        if cfg.qtypes is not None:
            kept = [s for s in kept if s.qtype in cfg.qtypes]
            if not kept:
                raise UsageError(f"split {split!r} has no question of types {cfg.qtypes}")
        return list(kept[: cfg.limit] if cfg.limit else kept)

    store = FeatureStore(cfg.features_dir)
    teacher = None
    if need_teacher:
        from videoqa.features.teacher_store import TeacherStore

        teacher = TeacherStore(cfg.teacher_path)
    train_samples = samples(cfg.train_split)
    tokenizer = build_tokenizer(train_samples, cfg.min_word_count)
    lengths = {
        "max_question_len": cfg.max_question_len,
        "max_answer_len": cfg.max_answer_len,
        "patches": cfg.use_patches,
        "trim_patches": cfg.trim_patches,
    }
    train = QADataset(train_samples, store, tokenizer, teacher=teacher, **lengths)
    val = QADataset(samples(cfg.val_split), store, tokenizer, **lengths)
    tests = {s: QADataset(samples(s), store, tokenizer, **lengths) for s in cfg.test_splits}
    return TrainingData(
        train,
        val,
        tests,
        tokenizer,
        dataset=cfg.dataset,
        preprocessing=store.meta.model_dump(mode="json"),
    )


def build_backbone(config: BackboneConfig, data: TrainingData) -> VideoQAModel:
    """``build_model(model.name, model.config)`` with ``feature_dim``, ``vocab_size``,
    ``max_frames``, ``patch_dim`` and ``max_text_len`` filled in from the data when
    not given."""
    fields = dict(config.model.config)
    fields.setdefault("feature_dim", data.train.feature_dim)
    fields.setdefault("vocab_size", data.tokenizer.vocab_size)
    fields.setdefault("max_frames", data.train.num_frames)
    if data.train.patches is not None:
        fields.setdefault("patch_dim", int(data.train.patches.shape[-1]))
    fields.setdefault("max_text_len", max(config.data.max_question_len, config.data.max_answer_len))
    return build_model(config.model.name, fields)


class SplitResult(BaseModel):
    """Scores of one split: overall accuracy (%) and the full breakdown."""

    accuracy: float
    scores: ScoreBreakdown


@torch.no_grad()
def predict(model: nn.Module, dataset: QADataset, batch_size: int) -> np.ndarray:
    """Predicted candidate per question of ``dataset`` on the whole video, ``(N,)``
    int64. The model runs in eval mode; no RNG is consumed."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(dataset), batch_size):
        index = torch.arange(start, min(start + batch_size, len(dataset)))
        batch = dataset.batch(index).to(device)
        out.append(model(batch.qa).logits.argmax(dim=-1).cpu())
    model.train(was_training)
    return torch.cat(out).numpy().astype(np.int64)


def score(dataset_name: str, data: QADataset, predictions: np.ndarray) -> SplitResult:
    """Multiple-choice accuracy with the benchmark's protocol (per type and group)."""
    protocol = protocol_for(dataset_name)
    scores = multiple_choice_accuracy(
        predictions, data.answers.numpy(), data.qtypes, convention=protocol.convention
    )
    if not protocol.groups:
        scores = scores.model_copy(update={"per_group": {}})
    return SplitResult(accuracy=scores.overall.percent, scores=scores)


class _BackboneRecipe(Recipe):
    """Shared by ``baseline`` and ``sparc``: only the objective differs."""

    config_class: ClassVar[type[BackboneConfig]] = BackboneConfig
    monitor: ClassVar[str] = "val_accuracy"

    def __init__(self, config: BackboneConfig, *, data: TrainingData | None = None) -> None:
        super().__init__(config)
        self.objective = self._objective()
        self._data = data

    def _objective(self) -> NamedObjective:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def data(self) -> TrainingData:
        """The run's datasets (loaded by :meth:`setup` unless given)."""
        if self._data is None:
            self._data = load_training_data(
                self.config, need_teacher=self.objective.requires_teacher
            )
        return self._data

    def setup(self, accelerator: Any) -> RecipeSetup:
        data = self.data
        if self.objective.requires_teacher and data.train.teacher_probs is None:
            raise UsageError("the objective needs teacher probabilities on the train split")
        model = build_backbone(self.config, data)
        return RecipeSetup(
            model=model,
            train_dataset=data.train,
            collate_fn=collate,
            parameters=model.parameters(),
        )

    def training_step(
        self, model: nn.Module, batch: Any, backward: Callable[[Tensor], None]
    ) -> StepOutput:
        parts = self.objective.backward_loss(model, batch, backward)
        return StepOutput(
            losses=parts.as_floats(),
            size=batch.batch_size,
            counters={"fallback": parts.fallback},
            log={"fallback": parts.fallback},
        )

    def evaluate(self, model: nn.Module, stats: EpochStats) -> dict[str, Any]:
        data = self.data
        val = score(data.dataset, data.val, predict(model, data.val, self.config.eval_batch_size))
        return {
            "val_accuracy": val.accuracy,
            "val_per_type": {k: v.percent for k, v in val.scores.per_type.items()},
            "val_per_group": {k: v.percent for k, v in val.scores.per_group.items()},
            "fallback_rate": stats.counters.get("fallback", 0) / max(1, stats.seen),
        }

    def save_model(self, model: nn.Module, directory: Path) -> None:
        directory = Path(directory)
        model.save_pretrained(directory / "model")  # type: ignore[operator]
        self.data.tokenizer.save(directory / TOKENIZER_FILE)
        (directory / "config.yaml").write_text(self.config.to_yaml(), encoding="utf-8")
        if self.data.preprocessing is not None:  # the frame encoder, sampler, frames
            (directory / PREPROCESSING_FILE).write_text(
                json.dumps(self.data.preprocessing, indent=2) + "\n", encoding="utf-8"
            )

    def restore_best(self, model: nn.Module, directory: Path) -> None:
        model.load_weights(Path(directory) / "model")  # type: ignore[operator]

    def test(self, model: nn.Module, output_dir: Path, is_main_process: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for split, data in self.data.tests.items():
            predictions = predict(model, data, self.config.eval_batch_size)
            result = score(self.data.dataset, data, predictions)
            out[split] = result.model_dump(mode="json")
            if is_main_process:
                _write_predictions(
                    Path(output_dir) / "predictions" / f"{split}.jsonl", data, predictions
                )
        return out


def _write_predictions(path: Path, data: QADataset, predictions: np.ndarray) -> None:
    """``{"qid", "prediction", "answer", "qtype"}`` per question, one JSON line each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = (
        {"qid": q, "prediction": int(p), "answer": int(a), "qtype": t}
        for q, p, a, t in zip(
            data.qids, predictions, data.answers.tolist(), data.qtypes, strict=True
        )
    )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@register_recipe
class BaselineRecipe(_BackboneRecipe):
    """A backbone with cross-entropy on the whole video (optional mixup).

    Options under ``baseline:`` (:class:`~videoqa.training.config.BaselineOptions`)."""

    name = "baseline"
    config_class = BaselineConfig

    def _objective(self) -> NamedObjective:
        return BaselineObjective(self.config.baseline)


@register_recipe
class SparcRecipe(_BackboneRecipe):
    """A backbone with SpARC's causal-frame and spatial guidance (SpARC §3).

    Options under ``sparc:`` (:class:`~videoqa.training.config.SparcOptions`); needs
    ``data.teacher_path``."""

    name = "sparc"
    config_class = SparcConfig

    def _objective(self) -> NamedObjective:
        return SparcObjective(self.config.sparc)
