"""Fixtures for pipeline tests: a colour-coded video and a transparent fake encoder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from videoqa.encoders.base import ImageTextEncoder

COLOURS = {"red": (1.0, 0.0, 0.0), "green": (0.0, 1.0, 0.0), "blue": (0.0, 0.0, 1.0)}


def write_colour_video(path: Path, segments: Sequence[tuple[str, int]], fps: int = 8) -> Path:
    """Write an H.264 video of solid-colour segments, e.g. [("red", 16), ("blue", 16)]."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for name, count in segments:
            rgb = (np.array(COLOURS[name]) * 255).astype(np.uint8)
            frame = np.broadcast_to(rgb, (48, 64, 3)).copy()
            for _ in range(count):
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


class ColourEncoder(ImageTextEncoder):
    """A fake dual encoder with a known embedding space: an image embeds as its
    normalised mean RGB; a text embeds as the sum of the colour words it contains."""

    name = "colour-fake"
    pretrained = False
    embed_dim = 3
    logit_scale = 20.0
    image_size = 64

    def encode_images(self, frames: np.ndarray, batch_size: int = 32) -> torch.Tensor:
        mean = torch.from_numpy(frames.reshape(len(frames), -1, 3).mean(axis=1)).float()
        return torch.nn.functional.normalize(mean, dim=-1)

    def encode_texts(self, texts: Sequence[str], batch_size: int = 256) -> torch.Tensor:
        rows = []
        for text in texts:
            vec = sum(
                (torch.tensor(rgb) for word, rgb in COLOURS.items() if word in text.lower()),
                torch.full((3,), 1e-3),
            )
            rows.append(vec)
        return torch.nn.functional.normalize(torch.stack(rows).float(), dim=-1)


@pytest.fixture(scope="session")
def red_blue_video(tmp_path_factory) -> Path:
    """4 s at 8 fps: 16 red frames (0–2 s) then 16 blue frames (2–4 s)."""
    path = tmp_path_factory.mktemp("videos") / "red_blue.mp4"
    return write_colour_video(path, [("red", 16), ("blue", 16)])


@pytest.fixture()
def colour_encoder() -> ColourEncoder:
    return ColourEncoder()


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory, sample_videos) -> dict[str, Path]:
    """Backbone checkpoints trained on ``tiny`` features of two real sample videos (see
    :func:`tests.pipelines.backbones.build_checkpoints`)."""
    from tests.pipelines.backbones import build_checkpoints

    videos = {name: sample_videos[name] for name in ("bikes", "carphone_pristine")}
    return build_checkpoints(tmp_path_factory.mktemp("backbones"), videos)
