"""The ``localizer`` recipe: SGVLM stage 2, pretraining the question-conditioned frame
localizer on moment retrieval.

SGVLM (Dai et al., 2025, §3.5) pretrains its localizer on temporal grounding before the
end-to-end VideoQA stage; the objective is UniVTG's (Lin et al., ICCV 2023, §3.3,
:func:`videoqa.losses.moment.localizer_loss`): focal foreground loss, smooth-L1 + IoU
boundary losses and intra/inter-video saliency contrast. The examples come from any
benchmark of :mod:`videoqa.data` with moments (``data.dataset``): QVHighlights
(``qvhighlights``, its ``relevant_windows``) or a QA benchmark whose questions carry an
answer ``interval`` (``synthetic``); see :mod:`videoqa.data.grounding`. The inputs are
the frame features of a feature store and, optionally, the scene-graph tokens of a
scene-graph store aligned with it (their width is the store's: its label space, as
recorded in its ``meta.json``, decides it).

Validation scores the QVHighlights metrics (moment retrieval R1@0.5/0.7 and mAP,
highlight mAP and HIT@1, percent) with one clip per sampled frame; each is logged as
``val_<name>`` (e.g. ``val_MR-full-mAP``, the default ``checkpoint.monitor``).

``checkpoints/best`` is the :class:`~videoqa.models.sgvlm.localizer.FrameLocalizer`
checkpoint itself (``config.json`` + ``model.safetensors``), what the ``sgvlm``
recipe's ``model.localizer_dir`` names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from videoqa.data.grounding import GroundingExample, grounding_examples
from videoqa.eval.localizer import predict_localizer, score_localizer
from videoqa.losses.moment import LossWeights, localizer_loss, moment_targets
from videoqa.models.sgvlm.localizer import FrameLocalizer, LocalizerConfig
from videoqa.training.config import LoggingConfig, OptimConfig, RunConfig, SchedulerConfig
from videoqa.training.localizer_data import (
    FeatureSource,
    LocalizerBatch,
    LocalizerData,
    SceneGraphSource,
    build_localizer_data,
    clip_length_of,
    make_batch,
)
from videoqa.training.recipe import EpochStats, Recipe, RecipeSetup, StepOutput, register_recipe


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LocalizerDataConfig(_Section):
    """Where the grounding data are.

    Attributes:
        dataset: registered dataset name (``videoqa.data``) with moments:
            ``qvhighlights``, ``synthetic``, …
        benchmark_dir: the split's annotations, a folder (``synthetic``) or a file;
            ``{split}`` in it is replaced by the split name (QVHighlights:
            ``data/qvhighlights/highlight_{split}_release.jsonl``).
        features_dir: feature store of the videos (keyed by video id).
        scene_graphs_dir: scene-graph store aligned with ``features_dir``; None = NoSG.
        train_split, val_split: splits to train on / choose the best epoch on;
            test_splits: splits scored at the end.
        limit: keep only the first N examples of every split (quick runs), or None.
        max_train_questions: train on a seeded random subset of this many examples.
    """

    dataset: str = "synthetic"
    benchmark_dir: Path
    features_dir: Path
    scene_graphs_dir: Path | None = None
    train_split: str = "train"
    val_split: str = "val"
    test_splits: list[str] = Field(default_factory=list)
    limit: int | None = Field(None, ge=1)
    max_train_questions: int | None = Field(None, ge=1)


class LocalizerModelConfig(_Section):
    """The tokenizer and the :class:`LocalizerConfig` fields a run chooses (input
    widths and the vocabulary size come from the data and the tokenizer).

    Attributes:
        tokenizer: the LLM tokenizer (folder or hub id, ``AutoTokenizer``) whose ids
            the localizer embeds: the one of the LLM the ``sgvlm`` stage will use.
        hidden_size, num_heads, num_layers, temporal_layers, max_text_len,
        attention_mask, dropout: see :class:`LocalizerConfig` (``attention_mask``
            False = the "without attention mask" ablation).
    """

    tokenizer: str
    hidden_size: int = Field(128, gt=0)
    num_heads: int = Field(4, gt=0)
    num_layers: int = Field(2, ge=1)
    temporal_layers: int = Field(2, ge=0)
    max_text_len: int = Field(40, gt=0)
    attention_mask: bool = True
    dropout: float = Field(0.1, ge=0, lt=1)


class LocalizerOptions(_Section):
    """Options of the ``localizer`` objective and decoding.

    Attributes:
        loss: UniVTG loss weights (:class:`~videoqa.losses.moment.LossWeights`).
        clip_length: seconds per frame clip; None = median spacing of the train
            split's frame times.
        top_n, nms_iou: moment decoding for the metrics.
    """

    loss: LossWeights = Field(default_factory=LossWeights)
    clip_length: float | None = Field(None, gt=0)
    top_n: int = Field(10, ge=1)
    nms_iou: float = Field(0.7, gt=0, le=1)


class LocalizerRecipeConfig(RunConfig):
    """``localizer`` recipe config: the shared sections (defaults: 5 epochs, 64
    queries per batch, AdamW lr 1e-3, 49 warm-up steps then cosine to 0) plus
    ``data``, ``model`` and ``localizer`` options.

    ``warmup_steps=49`` gives the LR multipliers ``(s + 1) / 50`` for steps 0–49, those
    of the former stage-2 loop's 50-step warm-up (the shared schedule ramps as
    ``(s + 1) / (w + 1)`` and is 1 at step ``w``); its cosine then runs one step ahead
    of the old one (progress ``(s - 49) / (S - 49)`` instead of ``(s - 50) / (S - 50)``)."""

    epochs: int = Field(5, ge=1)
    batch_size: int = Field(64, ge=2)
    optim: OptimConfig = Field(default_factory=lambda: OptimConfig(lr=1e-3))
    scheduler: SchedulerConfig = Field(default_factory=lambda: SchedulerConfig(warmup_steps=49))
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    data: LocalizerDataConfig
    model: LocalizerModelConfig
    localizer: LocalizerOptions = Field(default_factory=LocalizerOptions)


@dataclass
class LocalizerSplits:
    """The data of one run: ``train``, ``val`` and the test splits."""

    train: LocalizerData
    val: LocalizerData
    tests: dict[str, LocalizerData]


class _Indices(torch.utils.data.Dataset):
    """``0 .. n - 1``: the loop's sampler orders them, :meth:`collate` gathers."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> int:
        return index


def _subset(examples: list[GroundingExample], limit: int | None, seed: int) -> list:
    """A seeded random subset of ``limit`` examples, in their original order."""
    if limit is None or limit >= len(examples):
        return examples
    keep = np.random.default_rng(seed).choice(len(examples), size=limit, replace=False)
    return [examples[i] for i in sorted(keep)]


@register_recipe
class LocalizerRecipe(Recipe):
    """SGVLM stage 2: the frame localizer on moment retrieval (UniVTG losses).

    Args:
        config: :class:`LocalizerRecipeConfig`.
        features: frame feature source; default ``FeatureStore(data.features_dir)``.
        scene_graphs: scene-graph source; default the store at
            ``data.scene_graphs_dir`` when set, else none (NoSG).
    """

    name = "localizer"
    config_class = LocalizerRecipeConfig
    monitor: ClassVar[str] = "val_MR-full-mAP"

    def __init__(
        self,
        config: LocalizerRecipeConfig,
        *,
        features: FeatureSource | None = None,
        scene_graphs: SceneGraphSource | None = None,
    ) -> None:
        super().__init__(config)
        self._features = features
        self._scene_graphs = scene_graphs
        self._data: LocalizerSplits | None = None
        self._tokenizer = None
        self.clip_length = 0.0

    # ------------------------------------------------------------------ data
    @property
    def tokenizer(self):
        """The LLM tokenizer named by ``model.tokenizer``.

        Raises:
            ModelUnavailableError: it cannot be loaded.
        """
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            from videoqa.errors import ModelUnavailableError

            try:
                self._tokenizer = AutoTokenizer.from_pretrained(self.config.model.tokenizer)
            except (OSError, ValueError) as err:
                raise ModelUnavailableError(
                    f"cannot load the tokenizer {self.config.model.tokenizer!r}: {err}"
                ) from None
        return self._tokenizer

    def examples(self, split: str) -> list[GroundingExample]:
        """The grounding examples of ``split`` (``data.limit`` applied; the train
        split's seeded ``max_train_questions`` subset).

        Raises:
            DataFormatError / UnknownNameError: unreadable annotations, unknown dataset.
        """
        from videoqa.data import load_dataset

        cfg = self.config.data
        path = str(cfg.benchmark_dir).replace("{split}", split)
        bench = load_dataset(cfg.dataset, path, split=split)
        examples = grounding_examples(bench)
        if cfg.limit is not None:
            examples = examples[: cfg.limit]
        if split == cfg.train_split:
            examples = _subset(examples, cfg.max_train_questions, self.config.seed)
        return examples

    def _sources(self) -> tuple[FeatureSource, SceneGraphSource | None]:
        cfg = self.config.data
        if self._features is None:
            from videoqa.features.store import FeatureStore

            self._features = FeatureStore(cfg.features_dir)
        if self._scene_graphs is None and cfg.scene_graphs_dir is not None:
            from videoqa.perception.scene_graph.store import SceneGraphStore

            self._scene_graphs = SceneGraphStore(cfg.scene_graphs_dir)
        return self._features, self._scene_graphs

    @property
    def data(self) -> LocalizerSplits:
        """The run's splits as tensors (loaded once)."""
        if self._data is None:
            features, graphs = self._sources()
            cfg = self.config.data

            def split(name: str) -> LocalizerData:
                return build_localizer_data(
                    self.examples(name),
                    features,
                    self.tokenizer,
                    self.config.model.max_text_len,
                    graphs,
                )

            self._data = LocalizerSplits(
                train=split(cfg.train_split),
                val=split(cfg.val_split),
                tests={name: split(name) for name in cfg.test_splits},
            )
            self.clip_length = self.config.localizer.clip_length or clip_length_of(self._data.train)
        return self._data

    def build_model(self, data: LocalizerData) -> FrameLocalizer:
        """A fresh :class:`FrameLocalizer` sized for ``data`` and the tokenizer."""
        m = self.config.model
        config = LocalizerConfig(
            frame_dim=data.frame_dim,
            sg_dim=data.sg_dim,
            vocab_size=len(self.tokenizer),
            hidden_size=m.hidden_size,
            num_heads=m.num_heads,
            num_layers=m.num_layers,
            temporal_layers=m.temporal_layers,
            max_frames=max(64, data.frames.shape[1]),
            max_text_len=m.max_text_len,
            max_sg_tokens=8 if data.sg_tokens is None else max(1, data.sg_tokens.shape[2]),
            attention_mask=m.attention_mask,
            dropout=m.dropout,
        )
        return FrameLocalizer(config)

    # ------------------------------------------------------------------ recipe
    def setup(self, accelerator: Any) -> RecipeSetup:
        data = self.data
        model = self.build_model(data.train)
        train = data.train

        def collate(indices: list[int]) -> LocalizerBatch:
            return make_batch(train, torch.tensor(indices, dtype=torch.long))

        return RecipeSetup(model=model, train_dataset=_Indices(len(train)), collate_fn=collate)

    def training_step(
        self, model: nn.Module, batch: LocalizerBatch, backward: Callable[[Tensor], None]
    ) -> StepOutput:
        """UniVTG loss of the batch; a batch of one query (the inter-video contrast
        needs two) takes no gradient and is counted in ``skipped``."""
        if batch.size < 2:
            return StepOutput(losses={}, size=batch.size, counters={"skipped": 1})
        targets = moment_targets(batch.windows, batch.times, batch.frame_mask, self.clip_length)
        loss = localizer_loss(
            batch.forward(model), targets, batch.video_index, self.config.localizer.loss
        )
        backward(loss.total)
        terms = loss.as_floats()
        return StepOutput(losses={"loss": terms.pop("total"), **terms}, size=batch.size)

    def _scores(self, model: nn.Module, data: LocalizerData) -> dict[str, float]:
        opts = self.config.localizer
        preds = predict_localizer(
            model, data, self.config.eval_batch_size, top_n=opts.top_n, nms_iou=opts.nms_iou
        )
        return dict(score_localizer(preds, data.examples, self.clip_length).brief)

    def evaluate(self, model: nn.Module, stats: EpochStats) -> dict[str, Any]:
        brief = self._scores(model, self.data.val)
        return {
            **{f"val_{k}": v for k, v in brief.items()},
            "skipped_batches": int(stats.counters.get("skipped", 0)),
        }

    def test(self, model: nn.Module, output_dir: Path, is_main_process: bool) -> dict[str, Any]:
        """The QVHighlights metrics of every test split (percent)."""
        return {name: self._scores(model, data) for name, data in self.data.tests.items()}


__all__ = [
    "LocalizerDataConfig",
    "LocalizerModelConfig",
    "LocalizerOptions",
    "LocalizerRecipe",
    "LocalizerRecipeConfig",
    "LocalizerSplits",
]
