"""The MCG recipes (Yu et al., arXiv:2410.09379 §3.5; released code OpenMICG/mcg), run
by the one training loop:

* ``mcg-pretrain``: video–text pre-training on video–caption pairs — the masked
  language model on captions fused with the video plus the instance- and token-level
  contrast (weights ``mcg.mlm_weight``, ``instance_weight``, ``token_weight``). The
  pairs come from a WebVid-format CSV (``data.captions``; the synthetic benchmark
  writes ``descriptions/<split>.csv`` in that format, a real WebVid download is read the
  same way with ``data.video_root``). Validation: video→caption recall@1 over the
  validation pairs (``val_recall_at_1``) and the validation losses.
* ``mcg``: fine-tuning on VideoQA — the answer decoder's token cross-entropy plus
  optional contrastive terms between the video and the question. ``mcg.task``
  ``open-ended`` validates by generated exact match (beam search), ``multiple-choice``
  by likelihood accuracy over the candidates (no parsing). ``model.init_from`` starts
  from an ``mcg-pretrain`` checkpoint (every tensor of the same name and shape is
  copied); without it the model starts from scratch (the "no pre-training" ablation).

Frames: each video is decoded once at ``image_size`` (every frame, at most
``data.cache_frames`` spread evenly) and kept in memory; every training example then
draws ``num_frames`` frames with ``config.train_sampler`` (``head-tail``, a new draw per
example from torch's seeded RNG), evaluation uses ``config.eval_sampler`` (``uniform``),
as the released configs do.

Optimiser: the loop's AdamW with the released betas (0.9, 0.98) set per parameter group
(``mcg.betas``). The released code decays the learning rate linearly after a 5 %
warm-up; the loop's one schedule is warm-up then cosine (``scheduler.min_lr_ratio``) —
the shipped YAMLs say so. ``checkpoints/best`` is the :class:`~videoqa.models.mcg.MCG`
checkpoint itself (``videoqa ask --model mcg:DIR`` loads it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from videoqa.data.schema import QASample
from videoqa.encoders.hf import quiet_transformers
from videoqa.errors import UsageError
from videoqa.models.mcg import MCG, MCGBatch, build_mcg, train_wordpiece_tokenizer
from videoqa.training.config import LoggingConfig, OptimConfig, RunConfig, SchedulerConfig
from videoqa.training.recipe import EpochStats, Recipe, RecipeSetup, StepOutput, register_recipe
from videoqa.video.samplers import VideoTiming, sample_times

RELEASED_BETAS = (0.9, 0.98)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MCGDataConfig(_Section):
    """Where the videos, questions and captions are.

    Attributes:
        dataset: registered QA dataset name (``mcg``).
        benchmark_dir: the QA annotations (for ``synthetic``: a ``videoqa data synth``
            folder); for ``mcg-pretrain`` the default folder of the captions.
        captions: ``mcg-pretrain``: the training WebVid-format CSV (default
            ``benchmark_dir/descriptions/train.csv``); val_captions: its validation CSV
            (default ``.../val.csv``).
        video_root: folder the CSV's ``page_dir`` folders are in (default
            ``benchmark_dir``).
        train_split, val_split, test_splits: QA split names (``mcg``).
        limit: keep the first N questions / pairs of every split (quick runs).
        cache_frames: most frames kept per decoded video (spread evenly).
        extra_text: name of a sample field holding an extra text stream (subtitles /
            transcript) read by the question module, or None.
    """

    dataset: str = "synthetic"
    benchmark_dir: Path
    captions: Path | None = None
    val_captions: Path | None = None
    video_root: Path | None = None
    train_split: str = "train"
    val_split: str = "val"
    test_splits: list[str] = Field(default_factory=lambda: ["test"])
    limit: int | None = Field(None, gt=0)
    cache_frames: int = Field(512, ge=1)
    extra_text: str | None = None


class MCGModelSection(_Section):
    """The model.

    Attributes:
        config: :class:`~videoqa.models.mcg.MCGConfig` fields.
        init_from: an MCG checkpoint (``mcg-pretrain``'s ``checkpoints/best``) to start
            from; its tokenizer and tower sizes are used.
        tokenizer: a tokenizer folder or hub id (a BERT WordPiece); None trains one on
            the training text (``vocab_size`` pieces).
        vocab_size: size of the tokenizer trained here.
        video_backbone, text_backbone: TimeSformer / BERT checkpoints (hub id or folder)
            initialising the towers.
    """

    config: dict[str, Any] = Field(default_factory=dict)
    init_from: Path | None = None
    tokenizer: str | None = None
    vocab_size: int = Field(1000, ge=16)
    video_backbone: str | None = None
    text_backbone: str | None = None


class MCGOptions(_Section):
    """Options of the MCG recipes.

    Attributes:
        task: ``open-ended`` (validate by generated exact match) or ``multiple-choice``
            (by likelihood accuracy); ``mcg`` only.
        instance_weight, token_weight: weights of the instance- and token-level
            contrast (pre-training: 1 and 1; fine-tuning: 0 = generation loss only).
        mlm_weight, mask_probability: the MLM term of pre-training.
        betas: AdamW betas (released: 0.9, 0.98).
        gradient_checkpointing: recompute the TimeSformer activations in backward.
        eval_limit: score at most N validation questions per epoch (None = all).
    """

    task: Literal["open-ended", "multiple-choice"] = "open-ended"
    instance_weight: float = Field(0.0, ge=0)
    token_weight: float = Field(0.0, ge=0)
    mlm_weight: float = Field(1.0, ge=0)
    mask_probability: float = Field(0.15, gt=0, lt=1)
    betas: tuple[float, float] = RELEASED_BETAS
    gradient_checkpointing: bool = False
    eval_limit: int | None = Field(None, gt=0)


class MCGRecipeConfig(RunConfig):
    """``mcg`` / ``mcg-pretrain`` config: the shared sections (defaults: batch 8, AdamW
    lr 1e-4 with weight decay 1e-3 and clipping at 5, 5 % warm-up) plus ``data``,
    ``model`` and ``mcg`` options."""

    epochs: int = Field(10, ge=1)
    batch_size: int = Field(8, ge=1)
    eval_batch_size: int = Field(16, ge=1)
    optim: OptimConfig = Field(default_factory=lambda: OptimConfig(lr=1e-4, weight_decay=1e-3, grad_clip=5.0))
    scheduler: SchedulerConfig = Field(default_factory=lambda: SchedulerConfig(warmup_ratio=0.05))
    logging: LoggingConfig = Field(default_factory=lambda: LoggingConfig(log_every=20))
    data: MCGDataConfig
    model: MCGModelSection = Field(default_factory=MCGModelSection)
    mcg: MCGOptions = Field(default_factory=MCGOptions)


# ---------------------------------------------------------------------------- frames
class FrameBank:
    """Decoded frames of every video, kept in memory at ``size``×``size``.

    Each video is decoded once: all its frames, or ``cap`` of them spread evenly.
    :meth:`sample` then draws frames with a registered sampler over those frames.
    """

    def __init__(self, size: int, cap: int) -> None:
        self.size, self.cap = size, cap
        self._frames: dict[str, tuple[np.ndarray, np.ndarray, VideoTiming]] = {}

    def load(self, key: str, path: Path) -> None:
        """Decode ``path`` (once per key).

        Raises:
            VideoError: missing or unreadable video.
        """
        if key in self._frames:
            return
        from videoqa.video.reader import VideoReader
        from videoqa.video.samplers import spread_indices

        with VideoReader(path) as reader:
            reader.frame_times()
            timing = VideoTiming.from_info(reader.info)
            total = timing.frame_count
            index = np.arange(total) if total <= self.cap else spread_indices(self.cap, total)
            batch = reader.read_indices(index, size=(self.size, self.size))
        kept = len(batch.frames)
        cache_timing = VideoTiming(duration=timing.duration, fps=kept / timing.duration, num_frames=kept)
        self._frames[key] = (batch.frames, np.asarray(batch.times, dtype=np.float64), cache_timing)

    def sample(self, key: str, sampler: str, n: int, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(n, S, S, 3)`` uint8 frames and their ``(n,)`` times (s) drawn by ``sampler``."""
        frames, times, timing = self._frames[key]
        options = {"seed": seed} if sampler == "head-tail" and seed is not None else {}
        picked = sample_times(sampler, timing, n, **options)
        index = np.minimum((picked * timing.fps).astype(np.int64), len(frames) - 1)
        return frames[index], times[index]


@dataclass
class MCGExample:
    """One training / evaluation item: a video key, its text and the answer (empty for
    a caption pair), candidates (multiple choice) and type."""

    key: str
    text: str
    answer: str = ""
    candidates: tuple[str, ...] = ()
    answer_index: int = -1
    qtype: str = ""
    qid: str = ""
    extra: str | None = None


@dataclass
class MCGStep:
    """A collated batch: the examples and, once built, the model inputs.

    A training batch's frames are drawn in :meth:`Recipe.training_step` (not in the
    collate function): the head-tail draw then consumes torch's RNG exactly when the
    step runs, so a resumed run, whose loader replays the skipped batches through the
    collate function, draws the same frames as the uninterrupted one."""

    examples: list[MCGExample]
    inputs: MCGBatch | None = None

    def to(self, device: torch.device | str, **_: object) -> MCGStep:
        """The batch on ``device``."""
        return MCGStep(self.examples, None if self.inputs is None else self.inputs.to(device))


class _Items(torch.utils.data.Dataset):
    def __init__(self, items: Sequence[MCGExample]) -> None:
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> MCGExample:
        return self.items[index]


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


# --------------------------------------------------------------------------- recipes
class _MCGBase(Recipe):
    """What both MCG recipes share: the model, the frames, the collation, the optimiser
    groups and saving."""

    config: MCGRecipeConfig

    def __init__(self, config: MCGRecipeConfig) -> None:
        super().__init__(config)
        self.bank: FrameBank | None = None
        self.model: MCG | None = None
        self.splits: dict[str, list[MCGExample]] = {}

    def _texts(self) -> list[str]:
        raise NotImplementedError

    def _trained_on(self) -> str:
        return f"{self.config.data.dataset}:{self.config.data.benchmark_dir}"

    def build_model(self) -> MCG:
        """The model: from ``model.init_from``, else new (tokenizer loaded or trained).

        Raises:
            ModelUnavailableError / CheckpointError: an unloadable checkpoint.
        """
        cfg = self.config.model
        fields = dict(cfg.config)
        fields.setdefault("trained_on", self._trained_on())
        if getattr(self.config.data, "extra_text", None):
            fields["text_stream"] = True  # ask then feeds it what is said in the video
        with quiet_transformers():
            if cfg.init_from is not None:
                base = MCG.from_pretrained(cfg.init_from)
                merged = {**base.config.model_dump(), **fields}
                merged["video"] = {**base.config.video.model_dump(), **dict(fields.get("video") or {})}
                merged["text"] = {**base.config.text.model_dump(), **dict(fields.get("text") or {})}
                model = build_mcg(merged, base.tokenizer)
                own = model.state_dict()
                copied = {}
                for k, v in base.state_dict().items():
                    if k.endswith("time_embeddings") and k in own and own[k].shape != v.shape:
                        v = _resize_time(v, own[k].shape[1])  # another frame count
                    if k in own and own[k].shape == v.shape:
                        copied[k] = v
                model.load_state_dict(copied, strict=False)
                self.initialised = sorted(copied)
                return model
            if cfg.tokenizer is not None:
                from transformers import AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(cfg.tokenizer)
            else:
                tokenizer = train_wordpiece_tokenizer(self._texts(), cfg.vocab_size)
            return build_mcg(
                fields, tokenizer, video_backbone=cfg.video_backbone, text_backbone=cfg.text_backbone
            )

    def collate(self, examples: list[MCGExample], *, train: bool) -> MCGStep:
        """Frames (train: ``train_sampler`` with a fresh seed per example; else
        ``eval_sampler``) and tokenized text of ``examples``."""
        assert self.bank is not None and self.model is not None
        c = self.model.config
        proc = self.model.processor
        pixels, times = [], []
        for ex in examples:
            if train:
                seed = int(torch.randint(0, 2**31 - 1, (1,)))
                frames, t = self.bank.sample(ex.key, c.train_sampler, c.num_frames, seed)
            else:
                frames, t = self.bank.sample(ex.key, c.eval_sampler, c.num_frames, 0)
            pixels.append(proc.frames(frames))
            times.append(torch.from_numpy(t).float())
        extra = [ex.extra for ex in examples] if any(ex.extra for ex in examples) else None
        text = proc.text([ex.text for ex in examples], extra)
        return MCGStep(examples, MCGBatch(torch.stack(pixels), torch.stack(times), text))

    def training_inputs(self, model: nn.Module, batch: MCGStep) -> MCGBatch:
        """The batch's inputs with freshly drawn training frames, on the model's device."""
        return self.collate(batch.examples, train=True).inputs.to(_device(model))

    def _setup(self, train: list[MCGExample]) -> RecipeSetup:
        model = self.model
        assert model is not None
        if self.config.mcg.gradient_checkpointing:
            model.enable_gradient_checkpointing()
        params = [p for p in model.parameters() if p.requires_grad]
        return RecipeSetup(
            model=model,
            train_dataset=_Items(train),
            collate_fn=lambda items: MCGStep(list(items)),
            parameters=[{"params": params, "betas": tuple(self.config.mcg.betas)}],
        )

    def _batches(self, items: list[MCGExample]):
        size = self.config.eval_batch_size
        for start in range(0, len(items), size):
            yield self.collate(items[start : start + size], train=False)

    def save_model(self, model: nn.Module, directory: Path) -> None:
        with quiet_transformers():
            model.save_pretrained(Path(directory))  # type: ignore[operator]


@register_recipe
class MCGPretrainRecipe(_MCGBase):
    """MCG pre-training on video–caption pairs (MLM + instance + token contrast)."""

    name = "mcg-pretrain"
    config_class = MCGRecipeConfig
    monitor: ClassVar[str] = "val_recall_at_1"

    def _pairs(self, which: str):
        from videoqa.data.webvid import load_webvid_csv

        d = self.config.data
        default = d.benchmark_dir / "descriptions" / f"{'train' if which == 'train' else 'val'}.csv"
        path = (d.captions if which == "train" else d.val_captions) or default
        return load_webvid_csv(path, d.video_root or d.benchmark_dir, limit=d.limit)

    def _texts(self) -> list[str]:
        return [p.caption for p in self._train_pairs]

    def setup(self, accelerator: Any) -> RecipeSetup:
        self._train_pairs = self._pairs("train")
        val_pairs = self._pairs("val")
        if not self._train_pairs or not val_pairs:
            raise UsageError("mcg-pretrain needs training and validation caption pairs")
        self.model = self.build_model()
        self.bank = FrameBank(self.model.config.video.image_size, self.config.data.cache_frames)
        for p in [*self._train_pairs, *val_pairs]:
            self.bank.load(p.video_id, p.path)
        self.splits = {
            "train": [MCGExample(p.video_id, p.caption) for p in self._train_pairs],
            "val": [MCGExample(p.video_id, p.caption) for p in val_pairs],
        }
        return self._setup(self.splits["train"])

    def _loss(self, model: MCG, inputs: MCGBatch, encodings=None):
        o = self.config.mcg
        return model.pretrain_loss(
            inputs, o.mlm_weight, o.instance_weight, o.token_weight, o.mask_probability, encodings
        )

    def training_step(self, model: nn.Module, batch: MCGStep, backward: Callable[[Tensor], None]) -> StepOutput:
        parts = self._loss(model, self.training_inputs(model, batch))  # type: ignore[arg-type]
        backward(parts.total)
        losses = {"loss": float(parts.total.detach())}
        for name in ("instance", "token", "mlm"):
            value = getattr(parts, name)
            if value is not None:
                losses[name] = float(value.detach())
        return StepOutput(losses=losses, size=len(batch.examples))

    @torch.no_grad()
    def evaluate(self, model: nn.Module, stats: EpochStats) -> dict[str, Any]:
        """Video→caption recall@1 over the validation pairs (instance features) and
        the mean validation losses."""
        videos, texts, totals = [], [], []
        items = self.splits["val"][: self.config.mcg.eval_limit]
        for batch in self._batches(items):
            inputs = batch.inputs.to(_device(model))
            v = model.encode_video(inputs.pixels)  # type: ignore[operator]
            t = model.encode_text(inputs.text)  # type: ignore[operator]
            fv, ft = model.instance_features(v, t)  # type: ignore[operator]
            videos.append(fv.cpu())
            texts.append(ft.cpu())
            with torch.random.fork_rng(devices=[]):  # the same MLM masks every epoch,
                torch.manual_seed(0)  # the training RNG stream untouched
                totals.append(float(self._loss(model, inputs, (v, t)).total))  # type: ignore[arg-type]
        sim = torch.cat(videos) @ torch.cat(texts).t()
        hits = (sim.argmax(dim=1) == torch.arange(sim.shape[0])).float().mean()
        return {"val_recall_at_1": float(hits) * 100, "val_loss": float(np.mean(totals))}


@register_recipe
class MCGRecipe(_MCGBase):
    """MCG fine-tuning on VideoQA (generation loss + optional contrastive terms)."""

    name = "mcg"
    config_class = MCGRecipeConfig
    monitor: ClassVar[str] = "val_accuracy"

    def _samples(self, split: str) -> list[QASample]:
        from videoqa.data import load_dataset

        d = self.config.data
        bench = load_dataset(d.dataset, d.benchmark_dir, split=split)
        samples = list(bench.samples[: d.limit] if d.limit else bench.samples)
        for s in samples:
            entry = bench.videos.entries.get(s.video_id)
            if entry is None or entry.path is None:
                raise UsageError(f"{d.dataset} split {split}: no video file for {s.video_id}")
            self._paths[s.video_id] = Path(entry.path)
        return samples

    def _example(self, s: QASample) -> MCGExample:
        extra = s.extras.get(self.config.data.extra_text) if self.config.data.extra_text else None
        return MCGExample(
            key=s.video_id,
            text=s.question,
            answer=s.answer_text,
            candidates=tuple(s.choices or ()),
            answer_index=int(s.answer) if s.choices is not None else -1,
            qtype=s.qtype,
            qid=s.qid,
            extra=str(extra) if extra else None,
        )

    def _texts(self) -> list[str]:
        out = []
        for ex in self.splits[self.config.data.train_split]:
            out += [ex.text, ex.answer, *ex.candidates, ex.extra or ""]
        return out

    def setup(self, accelerator: Any) -> RecipeSetup:
        d = self.config.data
        self._paths: dict[str, Path] = {}
        for split in dict.fromkeys([d.train_split, d.val_split, *d.test_splits]):
            self.splits[split] = [self._example(s) for s in self._samples(split)]
        if self.config.model.config.get("head") == "classifier" and "answers" not in self.config.model.config:
            answers = sorted({ex.answer for ex in self.splits[d.train_split]})
            self.config.model.config["answers"] = answers
        self.model = self.build_model()
        self.bank = FrameBank(self.model.config.video.image_size, d.cache_frames)
        for key, path in self._paths.items():
            self.bank.load(key, path)
        return self._setup(self.splits[d.train_split])

    def training_step(self, model: nn.Module, batch: MCGStep, backward: Callable[[Tensor], None]) -> StepOutput:
        o = self.config.mcg
        answers = [ex.answer for ex in batch.examples]
        inputs = self.training_inputs(model, batch)
        parts = model.qa_loss(inputs, answers, o.instance_weight, o.token_weight)  # type: ignore[operator]
        backward(parts.total)
        losses = {"loss": float(parts.total.detach()), "generation": float(parts.generation.detach())}
        for name in ("instance", "token"):
            value = getattr(parts, name)
            if value is not None:
                losses[name] = float(value.detach())
        return StepOutput(losses=losses, size=len(batch.examples))

    @torch.no_grad()
    def score(self, model: MCG, items: list[MCGExample], *, open_ended: bool, mc: bool) -> dict[str, Any]:
        """Multiple-choice accuracy by likelihood and/or open-ended exact match (and
        WUPS when WordNet is available), overall and per question type, with the
        predictions."""
        from videoqa.eval.protocols import protocol_for
        from videoqa.metrics.accuracy import multiple_choice_accuracy, open_ended_accuracy

        convention = protocol_for(self.config.data.dataset).convention
        qtypes = [ex.qtype for ex in items]
        out: dict[str, Any] = {}
        generated: list[str] = []
        chosen: list[int] = []
        for batch in self._batches(items):
            inputs = batch.inputs.to(_device(model))
            encoded = model.memory(inputs)  # shared by both ways of answering
            if mc:
                cands = [list(ex.candidates) for ex in batch.examples]
                chosen += model.loglikelihood(inputs, cands, encoded).argmax(dim=1).tolist()
            if open_ended:
                generated += model.generate(inputs, encoded=encoded)
        if mc:
            answers = np.array([ex.answer_index for ex in items])
            s = multiple_choice_accuracy(np.array(chosen), answers, qtypes, convention=convention)
            out["mc_accuracy"] = s.overall.percent
            out["mc_by_type"] = {k: v.percent for k, v in s.per_type.items()}
        if open_ended:
            refs = [ex.answer for ex in items]
            s = open_ended_accuracy(
                generated, refs, qtypes, normalizer=lambda a: " ".join(a.lower().split()), convention=convention
            )
            out["oe_accuracy"] = s.overall.percent
            out["oe_by_type"] = {k: v.percent for k, v in s.per_type.items()}
            out.update(_wups(generated, refs))
        out["predictions"] = [
            {"qid": ex.qid, "qtype": ex.qtype, "answer": ex.answer,
             **({"generated": generated[i]} if open_ended else {}),
             **({"choice": chosen[i], "answer_index": ex.answer_index} if mc else {})}
            for i, ex in enumerate(items)
        ]  # fmt: skip
        return out

    def evaluate(self, model: nn.Module, stats: EpochStats) -> dict[str, Any]:
        items = self.splits[self.config.data.val_split][: self.config.mcg.eval_limit]
        oe = self.config.mcg.task == "open-ended"
        res = self.score(model, items, open_ended=oe, mc=not oe)  # type: ignore[arg-type]
        key = "oe" if oe else "mc"
        return {"val_accuracy": res[f"{key}_accuracy"], "val_by_type": res[f"{key}_by_type"]}

    def test(self, model: nn.Module, output_dir: Path, is_main_process: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        mc = all(ex.candidates for s in self.config.data.test_splits for ex in self.splits[s])
        for split in self.config.data.test_splits:
            res = self.score(model, self.splits[split], open_ended=True, mc=mc)  # type: ignore[arg-type]
            preds = res.pop("predictions")
            if is_main_process:
                folder = Path(output_dir) / "predictions"
                folder.mkdir(parents=True, exist_ok=True)
                text = "".join(json.dumps(p) + "\n" for p in preds)
                (folder / f"{split}.jsonl").write_text(text, encoding="utf-8")
            out[split] = res
        return out


def _resize_time(embedding: Tensor, frames: int) -> Tensor:
    """A ``(1, T, H)`` time embedding resized to ``frames`` rows (nearest, as
    ``transformers``' TimeSformer does at inference)."""
    resized = torch.nn.functional.interpolate(embedding.transpose(1, 2), size=frames, mode="nearest")
    return resized.transpose(1, 2).contiguous()


def _wups(predictions: list[str], references: list[str]) -> dict[str, float]:
    """WUPS@0 and @0.9 in percent (:mod:`videoqa.metrics.wups`), or nothing without
    WordNet."""
    from videoqa.errors import VideoQAError

    try:
        from videoqa.metrics.wups import wups_scores

        return {
            "wups_0": float(wups_scores(predictions, references, 0.0).mean() * 100),
            "wups_0.9": float(wups_scores(predictions, references, 0.9).mean() * 100),
        }
    except (VideoQAError, LookupError, OSError):
        return {}


__all__ = [
    "FrameBank",
    "MCGDataConfig",
    "MCGModelSection",
    "MCGOptions",
    "MCGPretrainRecipe",
    "MCGRecipe",
    "MCGRecipeConfig",
]
