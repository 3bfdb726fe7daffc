"""The interleaved (keyframe, motion, keyframe, motion, ...) token sequence of VQA².

VQA² (Jia et al. 2024, §4.1-4.2, Fig. 4) feeds its language model the visual tokens of
each 1 fps keyframe followed by the motion tokens of the clip after it, for the whole
video. Here a token is one feature vector: a keyframe token holds the spatial features
of a keyframe, a motion token the motion features of the span until the next keyframe.
:class:`TokenSequence` is the interface a VLM-based scorer plugs into: it receives the
sequence (or its fixed-width matrix) instead of raw frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import numpy as np

from videoqa.perception.quality.features import VideoQualityFeatures
from videoqa.perception.quality.motion import MotionFeatures
from videoqa.perception.quality.spatial import SpatialFeatures

KEYFRAME_PLACEHOLDER = "<keyframe>"
MOTION_PLACEHOLDER = "<motion>"
VIDEO_PLACEHOLDER = "<video>"


class TokenKind(str, Enum):
    """What a token describes."""

    KEYFRAME = "keyframe"
    MOTION = "motion"


@dataclass(frozen=True)
class QualityToken:
    """One token of the sequence.

    Attributes:
        kind: keyframe or motion.
        unit: index of the per-second unit it belongs to.
        start, end: the time it covers, seconds (a keyframe covers its own frame's
            time only: ``start == end``).
        features: ``(D_k,)`` spatial features (keyframe) or ``(D_m,)`` motion features.
    """

    kind: TokenKind
    unit: int
    start: float
    end: float
    features: np.ndarray


@dataclass(frozen=True)
class TokenSequence:
    """Keyframe and motion tokens in VQA² order: ``K0, M0, K1, M1, ...``.

    Attributes:
        tokens: the ``2U`` tokens.
    """

    tokens: tuple[QualityToken, ...]

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def keyframe_dim(self) -> int:
        """``D_k``: size of a keyframe token's features."""
        return len(SpatialFeatures.names())

    @property
    def motion_dim(self) -> int:
        """``D_m``: size of a motion token's features."""
        return len(MotionFeatures.names())

    def matrix(self) -> np.ndarray:
        """The tokens as one fixed-width matrix.

        Returns:
            ``(2U, 2 + D_k + D_m)`` float64: row ``j`` is ``[is_keyframe, is_motion,
            keyframe features or zeros, motion features or zeros]``.
        """
        dk, dm = self.keyframe_dim, self.motion_dim
        out = np.zeros((len(self.tokens), 2 + dk + dm))
        for j, tok in enumerate(self.tokens):
            if tok.kind is TokenKind.KEYFRAME:
                out[j, 0] = 1.0
                out[j, 2 : 2 + dk] = tok.features
            else:
                out[j, 1] = 1.0
                out[j, 2 + dk :] = tok.features
        return out

    def placeholders(self) -> str:
        """The sequence as text placeholders, ``"<keyframe><motion><keyframe>..."``, the
        form a VLM prompt expands ``<video>`` into."""
        return "".join(
            KEYFRAME_PLACEHOLDER if t.kind is TokenKind.KEYFRAME else MOTION_PLACEHOLDER
            for t in self.tokens
        )


class TokenScorer(Protocol):
    """What a (VLM-based) quality scorer implements to plug into the quality path."""

    def score_tokens(self, sequence: TokenSequence) -> np.ndarray:
        """Per-unit quality scores ``(U,)`` on the 1-5 scale from a token sequence."""
        ...


def interleave(features: VideoQualityFeatures) -> TokenSequence:
    """Build the (keyframe, motion, ...) sequence of a video's features.

    Args:
        features: output of :func:`~videoqa.perception.quality.features.extract_quality_features`.

    Returns:
        The :class:`TokenSequence` with ``2U`` tokens for ``U`` units.
    """
    tokens: list[QualityToken] = []
    for unit in features.units:
        tokens.append(
            QualityToken(
                TokenKind.KEYFRAME,
                unit.index,
                unit.keyframe_time,
                unit.keyframe_time,
                unit.spatial.vector(),
            )
        )
        tokens.append(
            QualityToken(TokenKind.MOTION, unit.index, unit.start, unit.end, unit.motion.vector())
        )
    return TokenSequence(tuple(tokens))


def placeholder_text(num_units: int) -> str:
    """``num_units`` repetitions of ``"<keyframe><motion>"``.

    Raises:
        ValueError: ``num_units < 1``.
    """
    if num_units < 1:
        raise ValueError(f"num_units must be >= 1, got {num_units}")
    return (KEYFRAME_PLACEHOLDER + MOTION_PLACEHOLDER) * num_units


def split_units(sequence: TokenSequence) -> Sequence[tuple[QualityToken, QualityToken]]:
    """Pairs ``(keyframe token, motion token)`` per unit.

    Raises:
        ValueError: the sequence does not alternate keyframe, motion.
    """
    toks = sequence.tokens
    pairs = []
    for j in range(0, len(toks), 2):
        pair = toks[j : j + 2]
        if (
            len(pair) != 2
            or pair[0].kind is not TokenKind.KEYFRAME
            or pair[1].kind is not TokenKind.MOTION
        ):
            raise ValueError(f"tokens {j}, {j + 1} are not a (keyframe, motion) pair")
        pairs.append((pair[0], pair[1]))
    return pairs
