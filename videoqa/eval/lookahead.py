"""Batched texts and overlapped decoding for model runs (``videoqa eval --model``).

Asked one question at a time, the ``ask`` pipeline encodes the question and its
hypotheses (``"question answer"`` per choice) in one small encoder call per question,
and decodes each video only when its first question comes. Over a benchmark that is
most of the run: measured on 14 videos × 16 frames and 268 questions with a full-size
CLIP ViT-B/32, 34.7 s of the 51.5 s went to 536 text calls, where the same 1,531
distinct texts take 23.1 s in batches (``benchmarks/README.md``, ``bench_eval_model.py``).

Two pieces fix that without changing what is computed:

* :class:`CachedTextEncoder` wraps an encoder: ``encode_texts`` answers from a cache of
  text → embedding, and :meth:`CachedTextEncoder.prefetch` encodes many texts at once
  (each distinct text once, in batches of ``batch_size``). One lock serialises every
  forward pass (images and texts), so two threads never run the model at the same time.
* :class:`LookaheadAnswerer` wraps an :class:`~videoqa.pipelines.ask.AskPipeline` built
  on such an encoder. :func:`~videoqa.eval.runner.run_predictions` calls its
  :meth:`~LookaheadAnswerer.lookahead` before each video with that video and the next
  ones: it starts decoding the next video in a background thread (PyAV releases the
  GIL; its frame encoding waits for the lock), then encodes the texts of the questions
  of the current and following videos in one batch (at least ``text_batch`` new texts),
  so the questions themselves only read cached embeddings.

The embeddings are the encoder's own: a text embedded in a batch equals the text
embedded alone up to float rounding (CLIP pools the end-of-text token under a causal
mask and ignores padding; SigLIP always pads to full length).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videoqa.data.schema import QASample
from videoqa.encoders.base import ImageTextEncoder
from videoqa.errors import VideoError


class CachedTextEncoder(ImageTextEncoder):
    """An encoder whose text embeddings are cached, and whose forward passes are
    serialised by one lock.

    Args:
        encoder: the encoder doing the work.
        max_texts: most texts kept (least recently used dropped first); at D = 512 a
            text takes 2 KiB.
        batch_size: texts per forward pass in :meth:`prefetch`.

    Attributes:
        encoded: texts encoded so far (each distinct text counts once while cached).
        calls: text forward batches run so far.
    """

    def __init__(self, encoder: ImageTextEncoder, max_texts: int = 50_000, batch_size: int = 64):
        self.inner = encoder
        self.max_texts = max_texts
        self.batch_size = batch_size
        self.lock = threading.Lock()
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.encoded = 0
        self.calls = 0

    # the identity of the wrapped encoder
    @property
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    @property
    def pretrained(self) -> bool:  # type: ignore[override]
        return self.inner.pretrained

    @property
    def embed_dim(self) -> int:  # type: ignore[override]
        return self.inner.embed_dim

    @property
    def logit_scale(self) -> float:  # type: ignore[override]
        return self.inner.logit_scale

    @property
    def logit_bias(self) -> float:  # type: ignore[override]
        return self.inner.logit_bias

    @property
    def image_size(self) -> int:  # type: ignore[override]
        return self.inner.image_size

    def __getattr__(self, name: str) -> Any:  # e.g. ``spec``, ``model`` of HF encoders
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def similarity_logits(self, image_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
        return self.inner.similarity_logits(image_emb, text_emb)

    def encode_images(self, frames: np.ndarray, batch_size: int = 32) -> torch.Tensor:
        """The wrapped encoder's ``encode_images``, under the forward lock."""
        with self.lock:
            return self.inner.encode_images(frames, batch_size=batch_size)

    def prefetch(self, texts: Sequence[str]) -> int:
        """Encode the texts not yet cached, each distinct text once, in batches.

        Returns:
            how many texts were encoded.
        """
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if not missing:
            return 0
        with self.lock:
            embeddings = self.inner.encode_texts(missing, batch_size=self.batch_size)
        self.calls += -(-len(missing) // self.batch_size)
        self.encoded += len(missing)
        for text, row in zip(missing, embeddings, strict=True):
            self._cache[text] = row
        while len(self._cache) > self.max_texts:
            self._cache.popitem(last=False)
        return len(missing)

    def encode_texts(self, texts: Sequence[str], batch_size: int = 256) -> torch.Tensor:
        """``(N, D)`` embeddings of ``texts``: cached rows, the missing ones encoded now
        (in one batch). Same values as the wrapped encoder's ``encode_texts``."""
        texts = list(texts)
        self.prefetch(texts)
        if not texts:
            return torch.zeros(0, self.embed_dim)
        rows = []
        for text in texts:
            rows.append(self._cache[text])
            self._cache.move_to_end(text)
        return torch.stack(rows)


def question_texts(pipeline: Any, sample: QASample) -> list[str]:
    """The texts ``pipeline`` encodes to answer ``sample``: the stripped question and,
    for multiple choice, one hypothesis per distinct stripped choice (the pipeline's
    ``hypothesis_template``). Open-ended candidates are encoded once per run by the
    pipeline itself."""
    question = sample.question.strip()
    texts = [question]
    if sample.choices is not None:
        template = pipeline.config.hypothesis_template
        choices = dict.fromkeys(c.strip() for c in sample.choices)
        texts += [template.format(question=question, answer=c) for c in choices]
    return texts


class LookaheadAnswerer:
    """An ``ask`` pipeline that prepares ahead: the next video decodes in a background
    thread while the current one is answered, and texts are encoded in large batches.

    Args:
        pipeline: an :class:`~videoqa.pipelines.ask.AskPipeline` whose encoder is a
            :class:`CachedTextEncoder` and whose cache keeps at least 2 videos.
        text_batch: encode texts once at least this many are needed (those of the
            current video and of as many following videos as it takes).

    Calling it is calling the pipeline (same arguments, same result).
    """

    def __init__(self, pipeline: Any, text_batch: int = 256) -> None:
        if not isinstance(pipeline.encoder, CachedTextEncoder):
            raise TypeError("LookaheadAnswerer needs a pipeline built on a CachedTextEncoder")
        self.pipeline = pipeline
        self.encoder: CachedTextEncoder = pipeline.encoder
        self.text_batch = text_batch
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="videoqa-decode")
        self._pending: dict[str, Future] = {}

    def __call__(self, video: str | Path, question: str, choices: Sequence[str] | None = None):
        self._wait(video)
        return self.pipeline(video, question, choices)

    def _start(self, video: Path) -> None:
        key = str(video)
        if key not in self._pending:
            self._pending[key] = self._pool.submit(self.pipeline.prepare, video)

    def _wait(self, video: str | Path) -> None:
        """Wait for the background preparation of ``video``, if one runs; a bad video
        raises its :class:`~videoqa.errors.VideoError` here."""
        future = self._pending.pop(str(video), None)
        if future is None:
            return
        error = future.exception()
        if isinstance(error, VideoError):
            raise error
        # any other failure: the pipeline call prepares the video again and reports it

    def lookahead(self, upcoming: Sequence[tuple[Path, Sequence[QASample]]]) -> None:
        """Before the questions of ``upcoming[0]``: start preparing ``upcoming[1]`` in the
        background, then encode the texts of ``upcoming[0]`` (and, while fewer than
        ``text_batch`` texts are due, of the next videos) in one batch."""
        if not upcoming:
            return
        if len(upcoming) > 1:
            self._start(upcoming[1][0])
        current = [t for s in upcoming[0][1] for t in question_texts(self.pipeline, s)]
        if all(t in self.encoder._cache for t in current):
            return
        texts = list(current)
        for _, questions in upcoming[1:]:
            if len(dict.fromkeys(texts)) >= self.text_batch:
                break
            texts += [t for s in questions for t in question_texts(self.pipeline, s)]
        self.encoder.prefetch(texts)

    def close(self) -> None:
        """Stop the background thread (after the preparation in flight, if any)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()

    def __enter__(self) -> LookaheadAnswerer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
