"""Answer questions about a real video with a trained backbone (HGA, VGT, the
transformer baseline): ``videoqa ask clip.mp4 "q" --choices a b c --model vgt:DIR``.

A backbone was trained on cached frame features, so answering a new video must compute
the features the same way the feature store did. The checkpoint says how:

* ``DIR/model/`` — the weights (``config.json`` with ``model_type`` + safetensors);
* ``DIR/tokenizer.json`` — the run's :class:`~videoqa.models.text.WordTokenizer`;
* ``DIR/config.yaml`` — the training config (``data.max_question_len``,
  ``data.max_answer_len``, ``data.use_patches``, ``data.features_dir``);
* ``DIR/preprocessing.json`` — the feature store's
  :class:`~videoqa.features.store.StoreMeta` (frame encoder spec, sampler, frame count,
  dimensions). Older checkpoints without it fall back to ``meta.json`` of the store
  named by ``config.yaml``'s ``data.features_dir``.

The video is sampled and decoded with the store's sampler and frame count
(:func:`~videoqa.features.extract.decode_video`, the function extraction uses), encoded
by the same frame encoder (:func:`~videoqa.features.extract.load_frame_encoder`, in
batches under ``torch.inference_mode``), the question and candidates are tokenized with
the run's tokenizer (:class:`~videoqa.models.processing.QAProcessor`), and the model's
candidate logits give the answer; its ``frame_weights`` rank the frames, and the top-k
become the evidence. For each evidence frame the model is also asked what that frame
alone says (every other frame masked — the backbones' logits depend on visible frames
only), which is what ``Evidence.choice_probabilities`` / ``supports`` report.
"""

from __future__ import annotations

import ast
import re
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from videoqa.errors import ModelUnavailableError
from videoqa.features.extract import FrameEncoder, VideoJob, decode_video, load_frame_encoder
from videoqa.features.store import META_FILE, StoreMeta
from videoqa.models import VideoQAModel, WordTokenizer, load_model
from videoqa.models.base import QABatch, QAOutput
from videoqa.models.processing import QAProcessor, processor_class
from videoqa.pipelines.ask import AskRun, StageTimer, check_inputs, file_key
from videoqa.pipelines.schema import AskResult, Evidence, ModelInfo
from videoqa.pipelines.vocabulary import load_answer_vocabulary
from videoqa.video.reader import probe
from videoqa.video.types import FrameBatch, VideoInfo

__all__ = [
    "PREPROCESSING_FILE",
    "BackboneAnswerer",
    "BackboneCheckpoint",
    "find_backbone_checkpoint",
    "parse_sampler_label",
]

MODEL_DIR = "model"
TOKENIZER_FILE = "tokenizer.json"
TRAIN_CONFIG_FILE = "config.yaml"
PREPROCESSING_FILE = "preprocessing.json"
#: candidates per forward pass: an open-ended question scores the whole answer vocabulary
#: (hundreds of candidates) in chunks of about a benchmark's number of choices.
CANDIDATES_PER_PASS = 8
#: frame-encoder names of feature stores that no pixel encoder reproduces: the synthetic
#: benchmark's oracle store (``videoqa.synth.features.ENCODER_NAME``) and "not recorded".
NON_PIXEL_ENCODERS = frozenset({"scene-graph-oracle", "unknown"})
_LABEL = re.compile(r"^(?P<name>[\w-]+)(?:\((?P<options>.*)\))?$")


def find_backbone_checkpoint(directory: Path) -> Path | None:
    """The checkpoint folder (holding ``model/`` and ``tokenizer.json``) that
    ``directory`` is or whose ``model/`` it is; None when it is neither."""
    directory = Path(directory)
    for root in (directory, directory.parent):
        if (root / MODEL_DIR / "config.json").is_file() and (root / TOKENIZER_FILE).is_file():
            if root == directory or directory.name == MODEL_DIR:
                return root
    return None


def parse_sampler_label(label: str) -> tuple[str, dict[str, Any]]:
    """Inverse of :func:`videoqa.features.extract.sampler_label`:
    ``"fps(rate=1.0)"`` → ``("fps", {"rate": 1.0})``, ``"uniform"`` → ``("uniform", {})``.

    Raises:
        ModelUnavailableError: not a sampler label.
    """
    match = _LABEL.match(label.strip())
    if match is None:
        raise ModelUnavailableError(f"unreadable sampler {label!r} in the preprocessing record")
    options: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in (match["options"] or "").split(","))):
        key, sep, value = part.partition("=")
        try:
            options[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise ModelUnavailableError(
                f"unreadable sampler option {part!r} in {label!r}"
            ) from None
        if not sep:
            raise ModelUnavailableError(f"unreadable sampler option {part!r} in {label!r}")
    return match["name"], options


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ModelUnavailableError(f"{path}: invalid YAML ({err})", model=str(path)) from None
    return raw if isinstance(raw, dict) else {}


def _read_meta(path: Path, what: str) -> StoreMeta:
    try:
        return StoreMeta.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelUnavailableError(
            f"{path}: not a valid {what} ({err})", model=str(path)
        ) from None


def read_preprocessing(root: Path, data: dict[str, Any]) -> tuple[StoreMeta, str]:
    """The feature store's meta the checkpoint was trained on, and where it was read.

    Args:
        root: the checkpoint folder.
        data: the ``data`` section of its ``config.yaml`` (may be empty).

    Raises:
        ModelUnavailableError: neither ``preprocessing.json`` nor the training store's
            ``meta.json`` can be read; the message says what is missing.
    """
    record = root / PREPROCESSING_FILE
    if record.is_file():
        return _read_meta(record, "preprocessing record (a feature store's StoreMeta)"), str(record)
    features_dir = data.get("features_dir")
    if features_dir:
        meta = Path(str(features_dir)).expanduser() / META_FILE
        if meta.is_file():
            return _read_meta(meta, "feature store meta.json"), str(meta)
        where = f"data.features_dir={features_dir} has no {META_FILE} here"
    elif (root / TRAIN_CONFIG_FILE).is_file():
        where = f"{TRAIN_CONFIG_FILE} names no data.features_dir"
    else:
        where = f"there is no {TRAIN_CONFIG_FILE}"
    raise ModelUnavailableError(
        f"{root}: no {PREPROCESSING_FILE}, and {where}: the frame encoder, sampler and frame "
        "count this model was trained with are unknown, so its features cannot be computed "
        f"for a new video. Copy the training feature store's {META_FILE} to "
        f"{root / PREPROCESSING_FILE}.",
        model=str(root),
    )


@dataclass
class BackboneCheckpoint:
    """A trained backbone with everything needed to answer a new video.

    Attributes:
        root: the checkpoint folder.
        model: the backbone, in eval mode.
        processor: its text processing (tokenizer, length limits, patch use).
        preprocessing: the feature store meta (encoder, sampler, frames, dims).
        preprocessing_source: the file it was read from.
        train_data: the ``data`` section of the training config (``{}`` when absent).
    """

    root: Path
    model: VideoQAModel
    processor: QAProcessor
    preprocessing: StoreMeta
    preprocessing_source: str
    train_data: dict[str, Any]

    @classmethod
    def load(cls, directory: Path, arch: str | None = None) -> BackboneCheckpoint:
        """Load ``directory`` (a training checkpoint folder, or its ``model/``).

        Args:
            arch: the architecture the caller asked for (``vgt`` of ``vgt:DIR``); None
                accepts any.

        Raises:
            ModelUnavailableError: not a backbone checkpoint, another architecture, an
                unreadable tokenizer/config, missing preprocessing, or features of
                another dimension than the model's.
        """
        root = find_backbone_checkpoint(Path(directory))
        if root is None:
            raise ModelUnavailableError(
                f"{directory} is not a trained backbone checkpoint (expected {MODEL_DIR}/ "
                f"and {TOKENIZER_FILE}, as in runs/NAME/checkpoints/best)",
                model=str(directory),
            )
        model = load_model(root / MODEL_DIR)
        if arch is not None and model.model_type != arch:
            raise ModelUnavailableError(
                f"{root} holds a {model.model_type!r} model, not {arch!r}; "
                f"use --model {model.model_type}:{directory}",
                model=str(directory),
            )
        try:
            tokenizer = WordTokenizer.load(root / TOKENIZER_FILE)
        except (OSError, ValueError) as err:
            raise ModelUnavailableError(f"{root}: {err}", model=str(root)) from None
        data = _read_yaml(root / TRAIN_CONFIG_FILE).get("data") or {}
        meta, source = read_preprocessing(root, data)
        cfg = model.config
        if meta.dim != cfg.feature_dim:
            raise ModelUnavailableError(
                f"{root}: the preprocessing record ({source}) gives {meta.dim}-d features, "
                f"the model reads {cfg.feature_dim}-d ones",
                model=str(root),
            )
        proc_cls = processor_class(model.model_type)
        processor = proc_cls(
            tokenizer,
            max_question_len=int(data.get("max_question_len") or cfg.max_text_len),
            max_answer_len=int(data.get("max_answer_len") or cfg.max_text_len),
            use_patches=proc_cls.uses_patches(cfg, bool(data.get("use_patches", True))),
        )
        if processor.use_patches and meta.patch_dim != cfg.patch_dim:
            raise ModelUnavailableError(
                f"{root}: the model reads {cfg.patch_dim}-d patch tokens, the preprocessing "
                f"record gives {meta.patch_dim}",
                model=str(root),
            )
        return cls(root, model, processor, meta, source, data)


@dataclass(frozen=True)
class _Prepared:
    """A video decoded and encoded once: probe, frames ``(T, H, W, 3)`` with times (s),
    features ``(T, D)`` and patch tokens ``(T, P, Dp)`` or None."""

    info: VideoInfo
    frames: FrameBatch
    features: np.ndarray
    patches: np.ndarray | None


def encoder_has_real_weights(encoder: FrameEncoder) -> bool:
    """False for the random-weight presets (``tiny``, ``tiny-siglip`` and directories
    saved from them); True for pretrained image–text encoders and trained CNNs."""
    inner = getattr(encoder, "encoder", None)
    if inner is not None:
        return bool(getattr(inner, "pretrained", False))
    return True


def load_pixel_encoder(spec: str, *, patches: bool, device: str, checkpoint: Path) -> FrameEncoder:
    """The frame encoder a checkpoint's features came from.

    Raises:
        ModelUnavailableError: it cannot be loaded here (features computed from
            ground-truth scene graphs, which no pixel encoder reproduces; an unrecorded
            encoder; a hub id not in the local cache).
    """
    if spec in NON_PIXEL_ENCODERS:
        raise ModelUnavailableError(
            f"{checkpoint} was trained on {spec!r} frame features, which cannot be computed "
            "from a video's pixels; use a checkpoint trained on features from a pixel encoder "
            "(videoqa extract features --encoder cnn:DIR, tiny or a CLIP id)",
            model=str(checkpoint),
        )
    try:
        return load_frame_encoder(spec, patches=patches, device=device)
    except ModelUnavailableError as err:
        raise ModelUnavailableError(
            f"{checkpoint} was trained on features of the frame encoder {spec!r}, which cannot "
            f"be computed from a video's pixels here: {err}",
            model=str(checkpoint),
        ) from None


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _frame_weights(outputs: list[QAOutput], probs: torch.Tensor, t: int) -> torch.Tensor:
    """``(T,)`` frame weights over all candidates scored in chunks: each chunk's weights
    weighted by the chunk's share of the answer probability ``probs`` ``(C,)`` — for the
    backbones' candidate-mixed weights (``mix_over_candidates``) exactly what one pass
    over all candidates gives. Uniform when the model has none."""
    if any(out.frame_weights is None for out in outputs):
        return torch.full((t,), 1.0 / t)
    start, mixed = 0, torch.zeros(t)
    for out in outputs:
        stop = start + out.logits.shape[1]
        mixed += probs[start:stop].sum() * out.frame_weights[0].float().cpu()
        start = stop
    return mixed


class BackboneAnswerer:
    """Answer questions about videos with a trained HGA / VGT / transformer checkpoint.

    Args:
        checkpoint: the checkpoint folder (``runs/NAME/checkpoints/best``) or its ``model/``.
        arch: expected architecture (from ``arch:DIR``), or None.
        name: the name results carry (default: ``"<model_type>:<checkpoint>"``).
        top_k: evidence frames per answer.
        frames, sampler: what the caller asked for; the checkpoint's own preprocessing
            wins (a model answers from the features it was trained on) and a differing
            request is reported in :attr:`warnings`.
        vocabulary: candidates of open-ended questions (default: the bundled list).
        answer_top_k: vocabulary answers an open-ended result lists.
        batch_size: frames per frame-encoder forward pass.
        device: torch device of the encoder and the model.
        cache_size: prepared videos kept (several questions about one video decode and
            encode it once).

    Attributes:
        warnings: what the user must be told about this model (also in every result).
        pretrained: whether real (non-random) frame-encoder weights produced the features.

    Raises:
        ModelUnavailableError: see :meth:`BackboneCheckpoint.load` and
            :func:`load_pixel_encoder`.
    """

    def __init__(
        self,
        checkpoint: str | Path,
        *,
        arch: str | None = None,
        name: str | None = None,
        top_k: int = 4,
        frames: int | None = None,
        sampler: str | None = None,
        vocabulary: Sequence[str] | None = None,
        answer_top_k: int = 5,
        batch_size: int = 32,
        device: str = "cpu",
        cache_size: int = 8,
    ) -> None:
        self.checkpoint = BackboneCheckpoint.load(Path(checkpoint), arch)
        self.model = self.checkpoint.model.to(device)
        self.device = device
        meta = self.checkpoint.preprocessing
        self.sampler, self.sampler_options = parse_sampler_label(meta.sampler)
        self.num_frames = meta.frames
        self.encoder = load_pixel_encoder(
            meta.encoder,
            patches=self.checkpoint.processor.use_patches,
            device=device,
            checkpoint=self.checkpoint.root,
        )
        self.name = name or f"{self.model.model_type}:{checkpoint}"
        self.top_k = top_k
        self.answer_top_k = answer_top_k
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._vocabulary = list(vocabulary) if vocabulary is not None else None
        self._cache: OrderedDict[tuple[str, int, int], _Prepared] = OrderedDict()
        self.pretrained = encoder_has_real_weights(self.encoder)
        self.warnings = self._warnings(frames, sampler)

    def _warnings(self, frames: int | None, sampler: str | None) -> list[str]:
        meta, arch = self.checkpoint.preprocessing, self.model.model_type
        out: list[str] = []
        if not self.pretrained:
            out.append(
                f"this {arch} checkpoint was trained on features of the frame encoder "
                f"{meta.encoder!r}, which has random weights: the answer and evidence exercise "
                "the pipeline but carry no meaning"
            )
        dataset = self.checkpoint.train_data.get("dataset") or meta.dataset
        if dataset == "synthetic":
            out.append(
                f"this {arch} was trained on the synthetic benchmark (rendered shapes); on "
                "other videos its answers are out of domain"
            )
        asked = []
        if frames is not None and frames != meta.frames:
            asked.append(f"{frames} frames")
        if sampler is not None and sampler != self.sampler:
            asked.append(f"the {sampler!r} sampler")
        if asked:
            out.append(
                f"{' and '.join(asked)} asked for, but this {arch} was trained on "
                f"{meta.frames} frames sampled {meta.sampler!r}: answering with those"
            )
        return out

    @property
    def vocabulary(self) -> list[str]:
        """Open-ended candidates (the bundled list unless one was given)."""
        if self._vocabulary is None:
            self._vocabulary = load_answer_vocabulary()
        return self._vocabulary

    @property
    def settings(self) -> dict[str, object]:
        """JSON-ready options that change the answers: the checkpoint's preprocessing
        (frame encoder, sampler, frame count) and the evidence size."""
        meta = self.checkpoint.preprocessing
        return {
            "frame_encoder": meta.encoder,
            "sampler": meta.sampler,
            "frames": meta.frames,
            "top_k": self.top_k,
            "answer_top_k": self.answer_top_k,
        }

    def __call__(
        self, video: str | Path, question: str, choices: Sequence[str] | None = None
    ) -> AskRun:
        """Answer ``question`` about ``video``: multiple choice over ``choices``, or over
        the answer vocabulary when ``choices`` is None.

        Raises:
            UsageError: an empty question, fewer than two or duplicate choices.
            VideoError: the video cannot be read.
        """
        question, picked = check_inputs(question, choices)
        timer = StageTimer()
        start = time.perf_counter()
        prepared = self.prepare(video, timer)
        candidates = picked if picked is not None else self.vocabulary
        with timer.stage("answer"), torch.inference_mode():
            batches = [
                self.checkpoint.processor(
                    prepared.features, [question], [chunk], patches=prepared.patches
                ).to(self.device)
                for chunk in _chunks(candidates, CANDIDATES_PER_PASS)
            ]
            outputs = [self.model(batch) for batch in batches]
            logits = torch.cat([out.logits[0].float().cpu() for out in outputs])
            probs = torch.softmax(logits, dim=0)
            weights = _frame_weights(outputs, probs, len(prepared.frames))
            top = torch.topk(weights, min(self.top_k, len(weights))).indices
            alone = torch.softmax(
                torch.cat([self._alone_logits(batch, top) for batch in batches], dim=1), dim=1
            )
        result = self._result(question, picked, candidates, probs, weights, top, alone, prepared)
        result.timings.update(timer.timings)
        result.timings["total"] = time.perf_counter() - start
        return AskRun(result=result, frames=prepared.frames, grid_image=None)

    def prepare(self, video: str | Path, timer: StageTimer | None = None) -> _Prepared:
        """Probe, sample, decode and encode ``video`` as the training store did; cached
        (LRU of ``cache_size`` videos, keyed by path, size and modification time).

        Raises:
            VideoError: the video cannot be read.
        """
        timer = timer or StageTimer()
        key = file_key(video)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        with timer.stage("probe"):
            info = probe(video)
        with timer.stage("decode"):
            frames = decode_video(
                VideoJob(Path(video).stem, Path(video)),
                self.sampler,
                self.num_frames,
                self.sampler_options,
                size=self.encoder.input_size,
            )
        frames = self._fit_frames(frames)
        with timer.stage("encode_frames"):
            features, patches = self._encode(frames.frames)
        prepared = _Prepared(info, frames, features, patches)
        if self.cache_size > 0:
            self._cache[key] = prepared
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return prepared

    def _fit_frames(self, frames: FrameBatch) -> FrameBatch:
        """At most ``max_frames`` (a rate sampler on a long video can exceed the model's
        temporal positions): a uniform subset, in time order."""
        limit = self.model.config.max_frames
        if len(frames) <= limit:
            return frames
        keep = np.unique(np.linspace(0, len(frames) - 1, limit).round().astype(np.int64))
        return FrameBatch(frames.frames[keep], frames.times[keep], frames.indices[keep])

    def _encode(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        feats, patches = [], []
        with torch.inference_mode():
            for start in range(0, len(frames), self.batch_size):
                chunk = self.encoder.prepare(frames[start : start + self.batch_size])
                f, p = self.encoder.forward(chunk)
                feats.append(f)
                if p is not None:
                    patches.append(p)
        return (
            np.concatenate(feats).astype(np.float32),
            np.concatenate(patches).astype(np.float32) if patches else None,
        )

    def _alone_logits(self, batch: QABatch, top: torch.Tensor) -> torch.Tensor:
        """``(k, C)`` candidate logits from each frame of ``top`` alone (the others
        masked), one forward pass of ``k`` rows."""
        k, t = len(top), batch.num_frames
        device = batch.video.device
        mask = torch.zeros(k, t, dtype=torch.bool)
        mask[torch.arange(k), top] = True
        rows = torch.zeros(k, dtype=torch.long, device=device)
        single = replace(batch.index(rows), video_mask=mask.to(device))
        return self.model(single).logits.float().cpu()

    def _result(
        self,
        question: str,
        choices: list[str] | None,
        candidates: list[str],
        probs: torch.Tensor,
        weights: torch.Tensor,
        top: torch.Tensor,
        alone: torch.Tensor,
        prepared: _Prepared,
    ) -> AskResult:
        if choices is not None:
            shown = list(range(len(candidates)))
        else:
            shown = torch.topk(probs, min(self.answer_top_k, len(candidates))).indices.tolist()
        shown_t = torch.tensor(shown)
        names = [candidates[i] for i in shown]
        best = int(torch.argmax(probs[shown_t]))
        batch, t = prepared.frames, len(prepared.frames)
        evidence = []
        for row, frame in enumerate(top.tolist()):
            fp = alone[row, shown_t]
            favoured = int(torch.argmax(fp))
            evidence.append(
                Evidence(
                    time=float(batch.times[frame]),
                    score=float(weights[frame]),
                    frame_index=int(batch.indices[frame]),
                    choice_probabilities=[float(p) for p in fp],
                    supports=names[favoured],
                    facts=[
                        f"frame weight {float(weights[frame]):.3f}, rank {row + 1} of {t} "
                        f"sampled frames ({self.model.model_type} attention)",
                        f"alone, this frame favours {names[favoured]!r} (p={float(fp[favoured]):.2f})",
                    ],
                )
            )
        evidence.sort(key=lambda e: e.score, reverse=True)
        meta = self.checkpoint.preprocessing
        return AskResult(
            question=question,
            answer=names[best],
            answer_index=best,
            choices=names,
            probabilities=[float(p) for p in probs[shown_t]],
            open_ended=choices is None,
            evidence=evidence,
            sampled_times=[float(x) for x in batch.times],
            video=prepared.info,
            model=ModelInfo(
                name=self.name,
                arch=self.model.model_type,
                pretrained=self.pretrained,
                frame_encoder=meta.encoder,
            ),
            pretrained=self.pretrained,
            sampler=meta.sampler,
            warnings=list(self.warnings),
        )
