"""The feature-extraction job: sample frames of every video, encode them with a frozen
frame encoder, and write the features to a :class:`~videoqa.features.store.FeatureStore`.

Pipeline (one process): a small thread pool decodes the next videos (only the sampled
frames, :meth:`VideoReader.read_at`) and preprocesses them (:meth:`FrameEncoder.prepare`)
while the main thread runs the encoder on batches of frames gathered across videos
(``torch.inference_mode``) and appends each video to the store. Any failure of one video
(missing, corrupt, too slow to read under the per-file limit, or an error of the encoder
on it) is reported (the :class:`ExtractReport` and ``DIR/errors.jsonl``, one line per
video, see :mod:`videoqa.batch`) and the run goes on; only a failure of the job itself
(model unavailable, disk full, bad arguments) stops it. A rerun skips the videos in the
store and those that failed with a video error on the same unchanged file (unless asked
to retry them). Several processes (``accelerate launch``) split the videos: process ``r``
of ``n`` takes the sorted videos ``r::n`` and writes its own shards.

Frozen image encoder + cached features is the standard setting of the VideoQA models
this toolkit trains (e.g. SpARC, Chen et al., §4.1 "Implementation details": CLIP
frame features extracted once; HGA and VGT on pre-extracted appearance features).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, Field

from videoqa.batch import (
    ERRORS_FILE,
    ErrorLog,
    ItemFailure,
    failure_of,
    is_job_failure,
    resolve_timeout,
    run_item,
)
from videoqa.encoders.base import ImageTextEncoder
from videoqa.encoders.cnn import CNNFrameEncoder
from videoqa.errors import UsageError, VideoError
from videoqa.features.store import FeatureWriter, StoreMeta, VideoFeatures
from videoqa.video.reader import VideoReader
from videoqa.video.samplers import VideoTiming, sample_times
from videoqa.video.types import FrameBatch

__all__ = [
    "CNNEncoderAdapter",
    "ExtractReport",
    "FrameEncoder",
    "ImageTextFrameEncoder",
    "VideoFailure",
    "VideoJob",
    "decode_video",
    "extract_features",
    "load_frame_encoder",
    "resolve_rank",
    "sampler_label",
    "videos_from_benchmark",
]

CNN_PREFIX = "cnn:"


@runtime_checkable
class FrameEncoder(Protocol):
    """A frozen frame encoder, split in two steps so that preprocessing can run in the
    decoding threads.

    Attributes:
        name: the spec it was loaded from (recorded in the store's meta).
        dim: ``D`` of the frame embeddings.
        patch_dim, num_patches: ``Dp`` and ``P`` when patch tokens are produced, else
            ``None``.
        input_size: ``(width, height)`` in pixels the decoder should resize frames to
            (cheap libswscale resize), or ``None`` to decode at the video's size.
    """

    name: str
    dim: int
    patch_dim: int | None
    num_patches: int | None
    input_size: tuple[int, int] | None

    def prepare(self, frames: np.ndarray) -> torch.Tensor:
        """``(T, H, W, 3)`` uint8 RGB → the model input, first axis ``T`` (CPU tensor)."""
        ...

    def forward(self, prepared: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
        """Model input of ``B`` frames → ``(B, D)`` float32 and ``(B, P, Dp)`` float32 or
        ``None``."""
        ...

    def encode(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(T, H, W, 3)`` uint8 → ``(T, D)`` float32 and ``(T, P, Dp)`` or ``None``."""
        ...


class _EncodeMixin:
    def encode(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(T, H, W, 3)`` uint8 RGB → ``(T, D)`` float32 frame embeddings and
        ``(T, P, Dp)`` float32 patch tokens (``None`` without patches)."""
        return self.forward(self.prepare(frames))  # type: ignore[attr-defined]


class ImageTextFrameEncoder(_EncodeMixin):
    """Frame encoder over an image–text encoder (CLIP, SigLIP, the ``tiny`` presets).

    Frame embeddings are the encoder's image embeddings (``encode_images``: projected,
    L2-normalised, Radford et al. 2021 §2.4). Patch tokens are the vision tower's last
    hidden state without the class token (CLIP) or all of it (SigLIP has no class token):
    ``P = (image_size / patch_size)²``, ``Dp`` = the vision width.

    Args:
        encoder: a loaded :class:`ImageTextEncoder`; patch tokens need a
            ``transformers`` adapter (:class:`~videoqa.encoders.hf.HFDualEncoder`).
        patches: also return patch tokens.

    Raises:
        UsageError: ``patches=True`` with an encoder that is not a ``transformers`` one.
    """

    def __init__(self, encoder: ImageTextEncoder, *, patches: bool = False) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dim = encoder.embed_dim
        self.input_size = None
        self._hf = hasattr(encoder, "preprocess") and hasattr(encoder, "model")
        if patches and not self._hf:
            raise UsageError(f"{encoder.name}: patch tokens need a transformers encoder")
        self._patches = patches
        self.patch_dim: int | None = None
        self.num_patches: int | None = None
        if patches:
            vision = encoder.model.config.vision_config  # type: ignore[attr-defined]
            self.patch_dim = int(vision.hidden_size)
            self.num_patches = (int(vision.image_size) // int(vision.patch_size)) ** 2
            self._skip_cls = int(getattr(encoder, "arch", "clip") == "clip")

    def prepare(self, frames: np.ndarray) -> torch.Tensor:
        """``(T, H, W, 3)`` uint8 → ``(T, 3, S, S)`` float32 pixel values (the
        checkpoint's image processor), or the uint8 frames for non-``transformers``
        encoders."""
        if self._hf:
            return self.encoder.preprocess(frames)  # type: ignore[attr-defined]
        return torch.from_numpy(np.ascontiguousarray(frames))

    def forward(self, prepared: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
        """``(B, 3, S, S)`` pixels → ``(B, D)`` L2-normalised embeddings and
        ``(B, P, Dp)`` last-hidden-state patch tokens (or ``None``)."""
        if not self._hf:
            return self.encoder.encode_images(prepared.numpy()).numpy(), None
        enc: Any = self.encoder
        with torch.inference_mode():
            out = enc.model.get_image_features(pixel_values=prepared.to(enc.device, enc._dtype))
            frames = F.normalize(out.pooler_output.float(), dim=-1).cpu().numpy()
            if not self._patches:
                return frames, None
            tokens = out.last_hidden_state[:, self._skip_cls :].float().cpu().numpy()
        return frames, tokens


class CNNEncoderAdapter(_EncodeMixin):
    """Frame encoder over a trained :class:`~videoqa.encoders.cnn.CNNFrameEncoder`.

    Args:
        model: the CNN (put in eval mode).
        name: the spec it was loaded from.
        patches: also return the ``G × G`` patch tokens.
        device: torch device of the forward passes.
    """

    def __init__(
        self,
        model: CNNFrameEncoder,
        *,
        name: str = "cnn",
        patches: bool = False,
        device: str | torch.device = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.name = name
        self.dim = model.config.embed_dim
        self._patches = patches
        self.patch_dim = model.config.patch_dim if patches else None
        self.num_patches = model.config.num_patches if patches else None
        side = model.config.image_size
        self.input_size = (side, side)

    def prepare(self, frames: np.ndarray) -> torch.Tensor:
        """``(T, H, W, 3)`` uint8 → ``(T, 3, S, S)`` normalised float32."""
        return self.model.preprocess(frames)

    def forward(self, prepared: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
        """``(B, 3, S, S)`` → ``(B, D)`` and ``(B, G², Dp)`` (or ``None``) float32."""
        with torch.inference_mode():
            frames, patches = self.model(prepared.to(self.device))
        return frames.cpu().numpy(), (patches.cpu().numpy() if self._patches else None)


def load_frame_encoder(
    spec: str, *, patches: bool = False, device: str | torch.device = "cpu"
) -> FrameEncoder:
    """Load a frame encoder from a CLI spec.

    Args:
        spec: ``cnn:<dir>`` for a trained CNN (``videoqa train --recipe frame-encoder``), else
            anything :func:`videoqa.encoders.loading.load_encoder` takes (``tiny``,
            ``tiny-siglip``, a hub id in the local cache, a checkpoint directory).
        patches: also produce patch tokens.
        device: torch device of the forward passes.

    Raises:
        ModelUnavailableError: the encoder cannot be loaded here.
    """
    if spec.startswith(CNN_PREFIX):
        model = CNNFrameEncoder.from_pretrained(Path(spec[len(CNN_PREFIX) :]).expanduser())
        return CNNEncoderAdapter(model, name=spec, patches=patches, device=device)
    from videoqa.encoders.loading import load_encoder

    return ImageTextFrameEncoder(load_encoder(spec, device=device), patches=patches)


@dataclass(frozen=True)
class VideoJob:
    """A video to extract: its id and file (``None`` when the benchmark has no file)."""

    video_id: str
    path: Path | None


VideoFailure = ItemFailure
"""A video that was not extracted, and why (``video_id``, ``reason``, ``error`` type)."""


class ExtractReport(BaseModel):
    """What one process of an extraction run did.

    Attributes:
        out: the store folder.
        rank, world_size: this process among ``world_size``.
        assigned: videos given to this process (``r::n`` of all).
        skipped: of those, already in the store (resume).
        known_bad: of those, not tried again: they failed with a video error on the same
            unchanged file in an earlier run (their lines stay in ``out/errors.jsonl``).
        extracted: videos encoded and written by this run.
        failed: videos that failed in this run and were skipped (also in
            ``out/errors.jsonl``).
        frames: frames encoded.
        seconds: wall time of the run.
        shards: shard files finished by this run (names).
    """

    out: str
    rank: int = 0
    world_size: int = 1
    assigned: int = 0
    skipped: int = 0
    known_bad: int = 0
    extracted: int = 0
    failed: list[VideoFailure] = Field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    shards: list[str] = Field(default_factory=list)

    @property
    def frames_per_second(self) -> float:
        """Encoded frames per wall-clock second."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def nothing_to_do(self) -> bool:
        """Every assigned video was already in the store or known bad."""
        return self.skipped + self.known_bad == self.assigned


def sampler_label(name: str, options: Mapping[str, Any] | None = None) -> str:
    """``"uniform"`` or ``"fps(rate=1.0)"``: a sampler with its options, sorted."""
    if not options:
        return name
    return f"{name}({', '.join(f'{k}={options[k]!r}' for k in sorted(options))})"


def resolve_rank(rank: int | None, world_size: int | None) -> tuple[int, int]:
    """``(rank, world_size)``: the given values, else those of ``accelerate`` (process
    index and count under ``accelerate launch``; ``(0, 1)`` in a plain process).

    Raises:
        UsageError: only one of the two given, or ``rank`` outside ``[0, world_size)``.
    """
    if (rank is None) != (world_size is None):
        raise UsageError("give both rank and world_size, or neither")
    if rank is None or world_size is None:
        from accelerate import PartialState

        state = PartialState()
        rank, world_size = state.process_index, state.num_processes
    if world_size < 1 or not 0 <= rank < world_size:
        raise UsageError(f"rank {rank} is not in [0, {world_size})")
    return rank, world_size


def benchmark_splits(annotations: Path) -> list[str]:
    """Splits of a synthetic-style benchmark folder: the stems of ``annotations/qa/*.jsonl``.

    Raises:
        UsageError: the folder has no ``qa/*.jsonl``.
    """
    found = sorted(p.stem for p in (Path(annotations) / "qa").glob("*.jsonl"))
    if not found:
        raise UsageError(f"--split all needs a benchmark folder with qa/*.jsonl: {annotations}")
    return found


def videos_from_benchmark(
    dataset: str,
    annotations: Path,
    *,
    splits: Sequence[str] = (),
    video_root: Path | None = None,
) -> list[VideoJob]:
    """The videos of one or more splits of a benchmark, deduplicated, sorted by id.

    Args:
        dataset: registered dataset name (``videoqa.data.list_datasets()``).
        annotations: what the loader takes (a file, or the synthetic benchmark folder).
        splits: split names to load (``["all"]``: every ``qa/*.jsonl`` of the folder);
            empty: load once without a ``split`` option.
        video_root: folder of the videos (the loader's default when ``None``).

    Raises:
        UnknownNameError, UsageError, DataFormatError: from the loader.
    """
    from videoqa.data import load_dataset

    if list(splits) == ["all"]:
        splits = benchmark_splits(annotations)
    options: dict[str, Any] = {} if video_root is None else {"video_root": video_root}
    jobs: dict[str, VideoJob] = {}
    for split in splits or [None]:
        extra = {} if split is None else {"split": split}
        bench = load_dataset(dataset, annotations, **options, **extra)
        for video_id, entry in bench.videos.entries.items():
            jobs.setdefault(video_id, VideoJob(video_id, entry.path))
    return [jobs[k] for k in sorted(jobs)]


def decode_video(
    job: VideoJob,
    sampler: str,
    frames: int,
    options: Mapping[str, Any] | None = None,
    size: tuple[int, int] | None = None,
) -> FrameBatch:
    """Decode the sampled frames of one video.

    Args:
        job: the video.
        sampler, frames, options: :func:`videoqa.video.samplers.sample_times` arguments.
        size: output ``(width, height)`` in pixels, or ``None`` for the video's size.

    Returns:
        :class:`FrameBatch` ``(T, H, W, 3)`` uint8 with exact times (s) and indices.

    Raises:
        VideoError: missing, unreadable or corrupt video. UsageError: a video whose
        timing the sampler cannot use (zero duration) or bad sampler options.
    """
    if job.path is None:
        raise VideoError(f"{job.video_id}: the benchmark gives no video file", None)
    with VideoReader(job.path) as reader:
        reader.frame_times()  # exact num_frames and duration for the sampler
        timing = VideoTiming.from_info(reader.info)
        times = sample_times(sampler, timing, frames, **dict(options or {}))
        return reader.read_at(times, size=size)


@dataclass
class _Decoded:
    job: VideoJob
    batch: FrameBatch
    prepared: torch.Tensor


def _decode_one(
    job: VideoJob,
    encoder: FrameEncoder,
    sampler: str,
    frames: int,
    options: Mapping[str, Any],
    timeout: float | None = None,
) -> _Decoded | ItemFailure:
    """Decode and prepare one video (in a decoding thread); any failure of the video is
    returned as an :class:`ItemFailure` (:func:`videoqa.batch.run_item`)."""

    def work() -> _Decoded:
        batch = decode_video(job, sampler, frames, options, encoder.input_size)
        return _Decoded(job, batch, encoder.prepare(batch.frames))

    return run_item(job.video_id, work, path=job.path, timeout=timeout)


def _prefetched(
    jobs: Iterable[VideoJob], work: Callable[[VideoJob], Any], workers: int, ahead: int
) -> Iterator[Any]:
    """``work(job)`` for every job, in order, computed by ``workers`` threads up to
    ``ahead`` jobs in advance."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        pending: deque[Future[Any]] = deque()
        source = iter(jobs)
        for job in source:
            pending.append(pool.submit(work, job))
            if len(pending) >= ahead:
                break
        while pending:
            result = pending.popleft().result()
            nxt = next(source, None)
            if nxt is not None:
                pending.append(pool.submit(work, nxt))
            yield result


def _encode_into(
    writer: FeatureWriter,
    encoder: FrameEncoder,
    items: list[_Decoded],
    on_failure: Callable[[ItemFailure], None],
) -> int:
    """Encode the frames of ``items`` in one forward pass and write each video; returns
    the frames written.

    When the forward pass fails, each video is encoded alone, so that only the video that
    makes the encoder fail is reported (``on_failure``); a video that cannot be written
    (e.g. features of an unexpected shape) is reported too. Job failures propagate.
    """
    try:
        prepared = (
            torch.cat([item.prepared for item in items]) if len(items) > 1 else items[0].prepared
        )
        frames, patches = encoder.forward(prepared)
    except Exception as exc:
        if is_job_failure(exc):
            raise
        if len(items) > 1:
            return sum(_encode_into(writer, encoder, [item], on_failure) for item in items)
        on_failure(failure_of(items[0].job.video_id, exc, items[0].job.path))
        return 0
    start = written = 0
    for item in items:
        stop = start + len(item.batch)
        try:
            writer.add(
                VideoFeatures(
                    video_id=item.job.video_id,
                    frames=frames[start:stop],
                    times=item.batch.times,
                    frame_indices=item.batch.indices,
                    patches=None if patches is None else patches[start:stop],
                )
            )
            written += stop - start
        except Exception as exc:
            if is_job_failure(exc):
                raise
            on_failure(failure_of(item.job.video_id, exc, item.job.path))
        start = stop
    return written


def _encode_stream(
    stream: Iterable[_Decoded | ItemFailure],
    writer: FeatureWriter,
    encoder: FrameEncoder,
    report: ExtractReport,
    log: ErrorLog,
    batch_frames: int,
    progress: Callable[[int, int], None] | None,
    todo: int,
) -> None:
    """Batch decoded videos into forward passes of >= ``batch_frames`` frames; record
    failures in ``report`` and the error log."""

    def failed(failure: ItemFailure) -> None:
        report.failed.append(failure)
        log.record(failure)

    buffer: list[_Decoded] = []
    for done, item in enumerate(stream, start=1):
        if isinstance(item, ItemFailure):
            failed(item)
        else:
            buffer.append(item)
            if sum(len(b.batch) for b in buffer) >= batch_frames:
                report.frames += _encode_into(writer, encoder, buffer, failed)
                buffer = []
        if progress is not None:
            progress(done, todo)
    if buffer:
        report.frames += _encode_into(writer, encoder, buffer, failed)


def extract_features(
    jobs: Sequence[VideoJob],
    out_dir: Path,
    encoder: FrameEncoder,
    *,
    sampler: str = "uniform",
    frames: int = 32,
    sampler_options: Mapping[str, Any] | None = None,
    dataset: str = "",
    shard_size: int = 256,
    batch_frames: int = 128,
    workers: int = 2,
    rank: int | None = None,
    world_size: int | None = None,
    extra: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    file_timeout: float | None = None,
    retry_errors: bool = False,
) -> ExtractReport:
    """Extract the features of ``jobs`` into the store ``out_dir`` (resumable).

    Args:
        jobs: the videos; process ``rank`` takes the id-sorted jobs ``rank::world_size``.
        out_dir: the store folder (created).
        encoder: the frozen frame encoder.
        sampler, frames, sampler_options: which frames (see :mod:`videoqa.video.samplers`).
        dataset: dataset name recorded in the meta.
        shard_size: videos per shard.
        batch_frames: frames per encoder forward pass (gathered across videos; a video is
            never split).
        workers: decoding threads (they also run :meth:`FrameEncoder.prepare`).
        rank, world_size: this process's share; ``None``: from ``accelerate``.
        extra: details recorded in ``StoreMeta.extra``.
        progress: called ``progress(done, todo)`` after each video of this process.
        file_timeout: wall-clock limit in seconds of reading one video (0: none;
            ``None``: ``$VIDEOQA_FILE_TIMEOUT``, else 600 s); a video over it fails with
            VideoTimeoutError and the run goes on.
        retry_errors: also try the videos that failed on their unchanged file before.

    Returns:
        :class:`ExtractReport`; failures are also in ``out_dir/errors.jsonl`` (one line
        per failed video: a retried video's line is replaced, and removed once it
        succeeds).

    Raises:
        StoreMismatchError: the store holds features of another encoder/sampler/frames.
        UsageError: bad rank/world size, ``batch_frames``/``workers`` < 1, bad sampler
            options or time limit.
        ModelUnavailableError, OSError (disk full): a failure of the job itself.
    """
    if batch_frames < 1 or workers < 1:
        raise UsageError("batch_frames and workers must be >= 1")
    rank, world_size = resolve_rank(rank, world_size)
    options = dict(sampler_options or {})
    timeout = resolve_timeout(file_timeout)
    # bad sampler arguments are the job's failure, not every video's
    sample_times(sampler, VideoTiming(duration=10.0, fps=25.0, num_frames=250), frames, **options)
    meta = StoreMeta(
        encoder=encoder.name,
        sampler=sampler_label(sampler, options),
        frames=frames,
        dim=encoder.dim,
        patch_dim=encoder.patch_dim,
        num_patches=encoder.num_patches,
        dataset=dataset,
        extra={"input_size": encoder.input_size, **dict(extra or {})},
    )
    start = time.perf_counter()
    mine = sorted(jobs, key=lambda j: j.video_id)[rank::world_size]
    report = ExtractReport(out=str(out_dir), rank=rank, world_size=world_size, assigned=len(mine))
    with FeatureWriter(
        out_dir, meta, shard_size=shard_size, rank=rank, world_size=world_size
    ) as writer:
        log = ErrorLog(writer.root / ERRORS_FILE)
        pending = [job for job in mine if job.video_id not in writer.done_ids]
        report.skipped = len(mine) - len(pending)
        todo, known = (pending, []) if retry_errors else log.partition(
            pending, lambda job: (job.video_id, job.path)
        )  # fmt: skip
        report.known_bad = len(known)
        work = partial(
            _decode_one,
            encoder=encoder,
            sampler=sampler,
            frames=frames,
            options=options,
            timeout=timeout,
        )
        stream = _prefetched(todo, work, workers, ahead=2 * workers + 2)
        try:
            _encode_stream(
                stream, writer, encoder, report, log, batch_frames, progress, len(todo)
            )
        finally:
            writer.flush()
            done = {job.video_id for job in mine} & (writer.done_ids | set(writer.written))
            log.compact(resolved=done)
        report.extracted = len(writer.written)
        report.shards = [p.name for p in writer.shards_written]
    report.seconds = time.perf_counter() - start
    return report


def read_errors(out_dir: Path) -> list[VideoFailure]:
    """The failures recorded in ``out_dir/errors.jsonl`` (all runs, all ranks): one per
    failed video, its latest."""
    return list(ErrorLog(Path(out_dir) / ERRORS_FILE).entries().values())
