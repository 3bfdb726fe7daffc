"""The ``sgvlm`` recipe: SGVLM stage 3 (Dai et al., 2025, §3.5), end-to-end VideoQA
fine-tuning of the localizer, both Q-Formers, their projections and the LLM (in full,
with LoRA, or frozen); the scene-graph predictor stays frozen (its tokens come
precomputed from a scene-graph store aligned with the feature store).

The loss of a batch is :meth:`~videoqa.models.sgvlm.modeling.SGVLM.loss`: the answer's
token cross-entropy (``lm``), the candidate-ranking cross-entropy (``mc``, weight
``model.config.mc_loss_weight``) and the UniVTG localizer loss on the questions with an
interval (``localizer``); their sum is ``loss``. Validation is multiple-choice accuracy
by answer likelihood (``val_accuracy``, per family ``val_by_group``); the test splits
also get generated open-ended answers (accuracy, WUPS) and the localizer's moment
retrieval metrics, with the predictions under ``predictions/<split>.mc.jsonl`` /
``.oe.jsonl``.

``checkpoints/best`` is the :class:`~videoqa.models.sgvlm.modeling.SGVLM` checkpoint
itself (``config.json``, ``model.safetensors``, ``llm/``): ``videoqa ask --model
sgvlm:runs/sgvlm/checkpoints/best`` loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from videoqa.data.schema import QASample
from videoqa.encoders.hf import quiet_transformers
from videoqa.errors import UsageError
from videoqa.eval.sgvlm import evaluate_split
from videoqa.models.sgvlm.modeling import SGVLM, build_sgvlm
from videoqa.models.sgvlm.processing import SGVLMBatch
from videoqa.training.config import LoggingConfig, OptimConfig, RunConfig, SchedulerConfig
from videoqa.training.recipe import EpochStats, Recipe, RecipeSetup, StepOutput, register_recipe
from videoqa.training.sgvlm_data import SGVLMData


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SGVLMDataConfig(_Section):
    """Where the questions, frame features and scene-graph tokens are.

    Attributes:
        dataset: registered dataset name (multiple-choice questions).
        benchmark_dir: the annotations (folder or file, as the dataset's loader takes).
        features_dir: feature store of the videos.
        scene_graphs_dir: scene-graph store aligned with the features; None trains
            without scene graphs (the NoSG model needs none).
        use_patches: feed the store's patch/region tokens to the frame Q-Former.
        train_split, val_split, test_splits: split names.
        limit: keep only the first N questions of every split (quick runs), or None.
    """

    dataset: str = "synthetic"
    benchmark_dir: Path
    features_dir: Path
    scene_graphs_dir: Path | None = None
    use_patches: bool = True
    train_split: str = "train"
    val_split: str = "val"
    test_splits: list[str] = Field(default_factory=lambda: ["test"])
    limit: int | None = Field(None, gt=0)


class SGVLMModelConfig(_Section):
    """The LLM, the stage-2 localizer and the SGVLM config fields.

    Attributes:
        llm: hub id or directory of the causal LM (with its tokenizer).
        localizer_dir: stage-2 localizer checkpoint (the ``localizer`` recipe's
            ``checkpoints/best``), None = train it from scratch.
        config: :class:`~videoqa.models.sgvlm.configuration.SGVLMConfig` fields; the
            input widths (``frame_dim``, ``patch_dim``, ``sg_dim``), ``vocab_size`` and
            ``llm_dim`` are filled from the data and the LLM when absent.
    """

    llm: str
    localizer_dir: Path | None = None
    config: dict[str, Any] = Field(default_factory=dict)


class SGVLMOptions(_Section):
    """Options of the ``sgvlm`` recipe.

    Attributes:
        open_ended: also generate answers on the test splits (accuracy, WUPS).
    """

    open_ended: bool = True


class SGVLMRecipeConfig(RunConfig):
    """``sgvlm`` recipe config: the shared sections (defaults: 4 epochs, batch 32,
    eval batch 64, AdamW lr 5e-4, 5 % warm-up then cosine to 0, a step record every 20
    steps) plus ``data``, ``model`` and ``sgvlm`` options."""

    epochs: int = Field(4, ge=1)
    batch_size: int = Field(32, ge=1)
    eval_batch_size: int = Field(64, ge=1)
    optim: OptimConfig = Field(default_factory=lambda: OptimConfig(lr=5e-4))
    scheduler: SchedulerConfig = Field(default_factory=lambda: SchedulerConfig(warmup_ratio=0.05))
    logging: LoggingConfig = Field(default_factory=lambda: LoggingConfig(log_every=20))
    data: SGVLMDataConfig
    model: SGVLMModelConfig
    sgvlm: SGVLMOptions = Field(default_factory=SGVLMOptions)


@dataclass
class SGVLMStep:
    """One training batch: the model inputs and the answers.

    Attributes:
        inputs: :class:`SGVLMBatch` of ``B`` questions.
        answer_texts: the correct answer of each; candidates: the ``C`` choices of each.
        answers: ``(B,)`` long, index of the correct candidate.
    """

    inputs: SGVLMBatch
    answer_texts: list[str]
    candidates: list[list[str]]
    answers: Tensor

    def to(self, device: torch.device | str, **_: object) -> SGVLMStep:
        """The batch on ``device`` (keyword arguments such as ``non_blocking`` are
        accepted and ignored, for ``accelerate``)."""
        return SGVLMStep(
            self.inputs.to(device), self.answer_texts, self.candidates, self.answers.to(device)
        )


class _Indices(torch.utils.data.Dataset):
    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> int:
        return index


@register_recipe
class SGVLMRecipe(Recipe):
    """SGVLM stage 3: end-to-end VideoQA fine-tuning with scene graphs and an LLM."""

    name = "sgvlm"
    config_class = SGVLMRecipeConfig
    monitor: ClassVar[str] = "val_accuracy"

    def __init__(self, config: SGVLMRecipeConfig) -> None:
        super().__init__(config)
        self.splits: dict[str, SGVLMData] = {}
        self._tested: SGVLM | None = None

    def _samples(self, split: str) -> list[QASample]:
        from videoqa.data import load_dataset

        cfg = self.config.data
        bench = load_dataset(cfg.dataset, cfg.benchmark_dir, split=split)
        return list(bench.samples[: cfg.limit] if cfg.limit else bench.samples)

    def build(self) -> tuple[SGVLM, dict[str, SGVLMData]]:
        """The model (stage-2 localizer loaded) and the data of every split.

        Raises:
            UsageError: the model reads scene graphs and ``data.scene_graphs_dir`` is
                not set; the localizer does not fit.
            ModelUnavailableError: the LLM or the localizer cannot be loaded.
            DataFormatError / FeatureStoreError: unreadable or inconsistent data.
        """
        from videoqa.features.store import FeatureStore

        cfg = self.config
        features = FeatureStore(cfg.data.features_dir)
        meta = features.meta
        fields = dict(cfg.model.config)
        fields.setdefault("frame_dim", meta.dim)
        if cfg.data.use_patches:
            fields.setdefault("patch_dim", meta.patch_dim)
        fields.setdefault("frame_encoder", meta.encoder)
        fields.setdefault("num_frames", meta.frames or None)
        fields.setdefault("trained_on", f"{cfg.data.dataset}:{cfg.data.benchmark_dir}")
        graphs = None
        if fields.get("use_scene_graph", True):
            if cfg.data.scene_graphs_dir is None:
                raise UsageError("this model reads scene graphs: set data.scene_graphs_dir")
            from videoqa.perception.scene_graph.store import SceneGraphStore

            graphs = SceneGraphStore(cfg.data.scene_graphs_dir)
            # the token width is the store's label space (its meta.json), not a constant
            fields.setdefault("sg_dim", graphs.meta.token_dim)
            fields.setdefault("scene_graph_predictor", graphs.meta.source)
        with quiet_transformers():  # no "Loading weights" bars in the run's output
            model = build_sgvlm(fields, cfg.model.llm, cfg.model.localizer_dir)
        names = [cfg.data.train_split, cfg.data.val_split, *cfg.data.test_splits]
        splits = {
            split: SGVLMData(
                self._samples(split), features, model.processor, graphs, cfg.data.use_patches
            )
            for split in dict.fromkeys(names)
        }
        return model, splits

    def setup(self, accelerator: Any) -> RecipeSetup:
        model, self.splits = self.build()
        train = self.splits[self.config.data.train_split]

        def collate(indices: list[int]) -> SGVLMStep:
            index = torch.tensor(indices, dtype=torch.long)
            return SGVLMStep(
                inputs=train.batch(index),
                answer_texts=[train.answer_texts[i] for i in indices],
                candidates=[train.candidates[i] for i in indices],
                answers=train.answers[index],
            )

        return RecipeSetup(model=model, train_dataset=_Indices(len(train)), collate_fn=collate)

    def training_step(
        self, model: nn.Module, batch: SGVLMStep, backward: Callable[[Tensor], None]
    ) -> StepOutput:
        parts = model.loss(batch.inputs, batch.answer_texts, batch.candidates, batch.answers)
        backward(parts.total)
        return StepOutput(
            losses={
                "loss": float(parts.total.detach()),
                "lm": float(parts.lm.detach()),
                "localizer": float(parts.localizer.detach()),
                "mc": float(parts.mc.detach()),
            },
            size=batch.inputs.batch_size,
        )

    def evaluate(self, model: nn.Module, stats: EpochStats) -> dict[str, Any]:
        cfg = self.config
        val = evaluate_split(
            model,  # type: ignore[arg-type]
            self.splits[cfg.data.val_split],
            cfg.data.dataset,
            cfg.eval_batch_size,
            open_ended=False,
        )
        return {"val_accuracy": val.accuracy, "val_by_group": val.by_group}

    def save_model(self, model: nn.Module, directory: Path) -> None:
        """``SGVLM.save_pretrained`` into ``checkpoints/best`` itself (what ``ask
        --model sgvlm:DIR`` loads)."""
        with quiet_transformers():
            model.save_pretrained(Path(directory))  # type: ignore[operator]

    def restore_best(self, model: nn.Module, directory: Path) -> None:
        """Load ``checkpoints/best`` as ``ask`` does (``SGVLM.from_pretrained``, LoRA
        merged) and test that model: the checkpoint that is scored is the one shipped."""
        device = next(model.parameters()).device
        with quiet_transformers():
            self._tested = SGVLM.from_pretrained(Path(directory)).to(device)

    def test(self, model: nn.Module, output_dir: Path, is_main_process: bool) -> dict[str, Any]:
        cfg = self.config
        tested = self._tested if self._tested is not None else model
        out: dict[str, Any] = {}
        for split in cfg.data.test_splits:
            scores = evaluate_split(
                tested,  # type: ignore[arg-type]
                self.splits[split],
                cfg.data.dataset,
                cfg.eval_batch_size,
                open_ended=cfg.sgvlm.open_ended,
                predictions_dir=Path(output_dir) / "predictions" if is_main_process else None,
                split=split,
            )
            out[split] = scores.model_dump()
        return out


__all__ = [
    "SGVLMDataConfig",
    "SGVLMModelConfig",
    "SGVLMOptions",
    "SGVLMRecipe",
    "SGVLMRecipeConfig",
    "SGVLMStep",
]
