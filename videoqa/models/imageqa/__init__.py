"""Image-QA teachers (SpARC §3.1 ``M_I``): per-frame probabilities over candidate answers.

- :class:`~videoqa.models.imageqa.base.ImageQATeacher`: the interface.
- :class:`~videoqa.models.imageqa.blip.BlipTeacher`: ``transformers`` BLIP VQA, for real
  videos (decoded frames).
- :class:`~videoqa.models.imageqa.feature.FeatureTeacher`: a small model over stored
  frame features, trained on the synthetic benchmark's frame questions
  (``videoqa train --recipe teacher``; data and accuracy in
  :mod:`~videoqa.models.imageqa.frame_qa`).

:func:`load_teacher` builds one from a spec string (``feature:<dir>`` or
``blip:<hub id or dir>``). ``torch``/``transformers`` are imported only when a teacher is
loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from videoqa.errors import UsageError
from videoqa.models.imageqa.base import FrameFeatures, FrameSource, ImageQATeacher

if TYPE_CHECKING:
    import torch

__all__ = ["FrameFeatures", "FrameSource", "ImageQATeacher", "load_teacher"]

TEACHER_KINDS = ("feature", "blip")


def load_teacher(spec: str, *, device: str | torch.device = "cpu") -> ImageQATeacher:
    """Load a teacher from ``"feature:<dir>"`` (a saved
    :class:`~videoqa.models.imageqa.feature.FeatureTeacher`) or ``"blip:<hub id or dir>"``
    (:func:`~videoqa.models.imageqa.blip.load_blip_teacher`).

    Raises:
        UsageError: a spec without one of the kinds ``feature:``/``blip:`` or without a
            source.
        ModelUnavailableError: the checkpoint cannot be loaded here.
    """
    kind, sep, source = spec.partition(":")
    if not sep or kind not in TEACHER_KINDS or not source:
        raise UsageError(
            f"teacher spec {spec!r}: expected 'feature:<dir>' or 'blip:<hub id or dir>'"
        )
    if kind == "feature":
        from videoqa.models.imageqa.feature import FeatureTeacher

        return FeatureTeacher.from_pretrained(Path(source), device=device)
    from videoqa.models.imageqa.blip import load_blip_teacher

    return load_blip_teacher(source, device=device)
