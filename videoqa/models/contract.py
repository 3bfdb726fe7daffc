"""What a model must offer to answer questions: two task interfaces and one for
perception.

In the manner of lmms-eval's ``lmms`` base class (every evaluated model is
``loglikelihood`` + ``generate_until``; the harness needs nothing else), a VideoQA
model is one of two kinds, and the answering pipelines (:mod:`videoqa.pipelines`) and
the evaluation need nothing beyond these methods:

* :class:`DiscriminativeQA` — scores a fixed set of candidates: a typed
  :class:`~videoqa.models.base.QABatch` in, a :class:`~videoqa.models.base.QAOutput` out
  (candidate logits ``(B, C)`` and the frame weights ``(B, T)`` the answer rests on).
  HGA, VGT and the transformer baseline (every :class:`~videoqa.models.base.VideoQAModel`).
* :class:`GenerativeQA` — a language model over the video: ``loglikelihood`` gives the
  summed log-probability of each candidate answer, ``generate`` writes an open-ended
  one. Multiple choice is answered by likelihood, never by parsing generated text
  (lmms-eval's random-choice fallback is deliberately not copied). SGVLM; MCG and the
  grid VLM will be.
* :class:`PerceptionModel` — everything that turns frames into per-frame (or
  per-second) facts the QA models read: frame encoders, scene-graph predictors, the
  quality model, image-QA teachers. See its docstring for how today's classes map onto
  it; adopting the one method everywhere is left for later.

The interfaces are :class:`typing.Protocol` classes: a model satisfies one by having
the methods (no base class to inherit), and ``isinstance`` checks the method names at
run time (not the signatures).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Protocol, TypeVar, runtime_checkable

from torch import Tensor

from videoqa.models.base import QABatch, QAOutput

__all__ = [
    "DiscriminativeQA",
    "GenerativeQA",
    "PerceptionModel",
    "Task",
    "task_of",
]

BatchT = TypeVar("BatchT", contravariant=True)
InputT = TypeVar("InputT", contravariant=True)
OutputT = TypeVar("OutputT", covariant=True)


class Task(str, Enum):
    """The answering interface a model implements."""

    DISCRIMINATIVE = "discriminative"
    GENERATIVE = "generative"


@runtime_checkable
class DiscriminativeQA(Protocol):
    """A multiple-choice scorer: ``model(batch) -> QAOutput``.

    ``batch`` (:class:`QABatch`): ``video`` ``(B, T, D)`` float frame features,
    ``video_mask`` ``(B, T)`` bool (True = visible; at least one per row),
    ``question`` ``(B, L)`` and ``candidates`` ``(B, C, La)`` long word ids with their
    bool masks, optional ``patches`` ``(B, T, P, Dp)``.

    Returns (:class:`QAOutput`): ``logits`` ``(B, C)`` unnormalised candidate scores
    (softmax over C gives the answer probabilities) and ``frame_weights`` ``(B, T)``:
    ``>= 0``, summing to 1 over the visible frames, 0 on hidden ones — the temporal
    evidence — or None for a model without one.

    Contract: the logits depend only on the visible frames (hidden frames may hold
    anything), so a pipeline may ask what one frame alone says by masking the others.
    """

    def __call__(self, batch: QABatch) -> QAOutput: ...

    def forward(self, batch: QABatch) -> QAOutput: ...


@runtime_checkable
class GenerativeQA(Protocol[BatchT]):
    """A generative answerer over the model's own typed batch (e.g.
    :class:`~videoqa.models.sgvlm.processing.SGVLMBatch` for SGVLM) of ``B`` questions.
    """

    def loglikelihood(self, batch: BatchT, candidates: Sequence[Sequence[str]]) -> Tensor:
        """Summed log-probabilities of candidate answers.

        Args:
            batch: ``B`` questions with their videos.
            candidates: ``B`` lists of ``C`` answer texts each.

        Returns:
            ``(B, C)`` float: ``log p(answer tokens | video, question)`` summed over the
            answer's tokens (end-of-answer token included), in nats. Softmax over C
            gives the multiple-choice probabilities.
        """
        ...

    def generate(self, batch: BatchT, max_new_tokens: int | None = None) -> list[str]:
        """``B`` open-ended answers (greedy decoding, at most ``max_new_tokens`` tokens;
        ``None``: the model's own limit)."""
        ...


@runtime_checkable
class PerceptionModel(Protocol[InputT, OutputT]):
    """A model that perceives frames, for the QA models to read (not adopted everywhere
    yet; this is the one method each perception model is meant to offer).

    ``perceive(inputs) -> outputs``, where ``inputs`` holds ``T`` frames — ``(T, H, W,
    3)`` uint8 RGB, or ``(T, D)`` features for a feature-level model — with their times
    in seconds, and ``outputs`` is aligned with those ``T`` frames (first axis ``T``),
    or with seconds for a per-second model. Today's models and the call that plays the
    role of ``perceive``:

    ===============================  ==================================================
    frame encoder                    ``FrameEncoder.encode(frames)`` → ``(T, D)`` and
                                     ``(T, P, Dp)`` patch tokens (``videoqa.features``)
    scene-graph predictor            ``scene_graphs_for_frames(predictor, frames, times)``
                                     → per-frame objects + top-k relation triplets
    quality model (VQA²)             ``assess_video(video, model)`` → per-second quality
                                     scores ``q`` in [1, 5] and distortion facts
    image-QA teacher                 per-frame candidate probabilities ``(T, C)`` for one
                                     question (``videoqa.models.imageqa``)
    ===============================  ==================================================

    Each also saves and loads itself (``save_pretrained`` / ``from_pretrained``).
    """

    def perceive(self, inputs: InputT) -> OutputT: ...


def task_of(model: object) -> Task:
    """Which answering interface ``model`` offers (generative when it has
    ``loglikelihood`` and ``generate``, else discriminative when it is callable).

    Raises:
        TypeError: it offers neither.
    """
    if isinstance(model, GenerativeQA):
        return Task.GENERATIVE
    if isinstance(model, DiscriminativeQA):
        return Task.DISCRIMINATIVE
    raise TypeError(f"{type(model).__name__} implements neither answering interface")
