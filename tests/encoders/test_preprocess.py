"""Image preprocessing through the checkpoint's image processor: golden pixel values."""

from __future__ import annotations

import numpy as np
import torch

from videoqa.encoders.spec import HALF, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD


def _normalised(rgb, mean, std) -> torch.Tensor:
    return torch.tensor([(c / 255 - m) / s for c, m, s in zip(rgb, mean, std, strict=True)])


def test_constant_frame_gives_hand_computed_values(tiny):
    rgb = (200, 100, 30)
    frames = np.empty((3, 45, 80, 3), np.uint8)
    frames[:] = rgb
    pixels = tiny.preprocess(frames)
    assert pixels.shape == (3, 3, 32, 32) and pixels.dtype == torch.float32
    mean, std = (OPENAI_CLIP_MEAN, OPENAI_CLIP_STD) if tiny.spec.arch == "clip" else (HALF, HALF)
    expected = _normalised(rgb, mean, std).view(1, 3, 1, 1).expand_as(pixels)
    torch.testing.assert_close(pixels, expected, atol=1e-5, rtol=0)


def test_clip_keeps_the_aspect_ratio_and_crops_the_centre(tiny_clip):
    # 32 x 96: the short side is already 32 px, so only the central 32 columns remain
    frame = np.zeros((1, 32, 96, 3), np.uint8)
    frame[:, :, 32:64] = 255
    pixels = tiny_clip.preprocess(frame)
    expected = _normalised((255, 255, 255), OPENAI_CLIP_MEAN, OPENAI_CLIP_STD)
    torch.testing.assert_close(pixels, expected.view(1, 3, 1, 1).expand_as(pixels))


def test_siglip_squashes_the_whole_frame(tiny_siglip):
    # left half black, right half white: both survive the square resize (no crop)
    frame = np.zeros((1, 32, 96, 3), np.uint8)
    frame[:, :, 48:] = 255
    pixels = tiny_siglip.preprocess(frame)[0, 0]  # (32, 32), values in [-1, 1]
    torch.testing.assert_close(pixels[:, :14], torch.full((32, 14), -1.0), atol=1e-5, rtol=0)
    torch.testing.assert_close(pixels[:, 18:], torch.full((32, 14), 1.0), atol=1e-5, rtol=0)


def test_whole_batch_equals_frame_by_frame(tiny, frames):
    batch = tiny.preprocess(frames)
    single = torch.cat([tiny.preprocess(frames[i : i + 1]) for i in range(len(frames))])
    assert torch.equal(batch, single)
