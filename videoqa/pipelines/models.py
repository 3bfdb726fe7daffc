"""Resolve an image–text encoder for the zero-shot pipeline, never pretending (the
zero-shot branch of :func:`videoqa.pipelines.resolve.resolve`).

``auto`` uses the default pretrained checkpoint when it is cached or downloadable and
otherwise falls back to the randomly initialised ``tiny`` preset, saying so in the
returned warnings (and the result's ``pretrained`` flag is then ``False``). Any other
name (registry preset, hub id, local directory) is loaded as asked or fails with
:class:`~videoqa.errors.ModelUnavailableError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from videoqa.encoders import DEFAULT_PRETRAINED, is_available, load_encoder
from videoqa.encoders.base import ImageTextEncoder

AUTO = "auto"
FALLBACK = "tiny"


@dataclass
class ResolvedModel:
    """The encoder to use and what the user must be told about it."""

    encoder: ImageTextEncoder
    requested: str
    warnings: list[str] = field(default_factory=list)


def resolve_encoder(model: str = AUTO, *, device: str = "cpu") -> ResolvedModel:
    """Load the encoder named by ``model`` (``auto``, a preset, a hub id or a directory)
    onto the torch ``device``.

    Raises:
        ModelUnavailableError: an explicitly named model cannot be loaded here.
    """
    if model != AUTO:
        return ResolvedModel(load_encoder(model, device=device), model)
    if is_available(DEFAULT_PRETRAINED, allow_download=True):
        return ResolvedModel(load_encoder(DEFAULT_PRETRAINED, device=device), model)
    warning = (
        f"the default pretrained model {DEFAULT_PRETRAINED!r} is neither cached nor "
        f"downloadable here; answering with the untrained {FALLBACK!r} preset (random "
        "weights): the answer and evidence exercise the pipeline but carry no meaning. "
        "Pass --model DIR with a local checkpoint for real answers."
    )
    return ResolvedModel(load_encoder(FALLBACK, device=device), model, [warning])
