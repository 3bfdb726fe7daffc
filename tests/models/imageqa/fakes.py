"""Small fakes shared by the teacher tests: a random feature store of a synthetic
benchmark (written with FeatureWriter) and a tiny random BLIP VQA checkpoint."""

from __future__ import annotations

import json

import numpy as np
import torch
import transformers

from videoqa.features.store import FeatureStore, FeatureWriter, StoreMeta, VideoFeatures

FRAMES, T, D, P, DP = 24, 6, 8, 4, 6


def write_fake_store(root, bench, *, patches: bool = True, skip=(), seed: int = 0):
    """Random features of every video of ``bench`` (T=6 frames of 24, D=8, P=4, Dp=6)."""
    meta = json.loads((bench / "meta.json").read_text())
    fps = meta["config"]["fps"]
    ids = sorted(p.stem for p in (bench / "scene_graphs").glob("*.json"))
    rng = np.random.default_rng(seed)
    store_meta = StoreMeta(
        encoder="fake", sampler="uniform", frames=T, dim=D,
        patch_dim=DP if patches else None, num_patches=P if patches else None,
        dataset="synthetic",
    )  # fmt: skip
    index = np.linspace(0, FRAMES - 1, T).round().astype(np.int64)
    with FeatureWriter(root, store_meta) as writer:
        for vid in ids:
            if vid in skip:
                continue
            writer.add(
                VideoFeatures(
                    video_id=vid,
                    frames=rng.standard_normal((T, D)).astype(np.float32),
                    times=index / fps,
                    frame_indices=index,
                    patches=rng.standard_normal((T, P, DP)).astype(np.float32) if patches else None,
                )
            )
    return FeatureStore(root)


WORDS = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]",
    "what", "color", "is", "the", "red", "blue", "cube", "ball", "?", "big", "##s",
]  # fmt: skip
DEC = WORDS.index("[DEC]")


def tiny_blip_dir(path):
    """Save a random tiny BlipForQuestionAnswering with a local WordPiece vocabulary and a
    32-px image processor into ``path``; return ``path``."""
    init = 0.3  # larger than BLIP's 0.02 so that random images change the scores
    text = dict(
        vocab_size=len(WORDS), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, encoder_hidden_size=32, bos_token_id=DEC, sep_token_id=3,
        pad_token_id=0, max_position_embeddings=32, initializer_range=init,
    )  # fmt: skip
    vision = dict(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        image_size=32, patch_size=16, initializer_range=init,
    )  # fmt: skip
    config = transformers.BlipConfig(text_config=text, vision_config=vision, initializer_range=init)
    torch.manual_seed(0)
    transformers.BlipForQuestionAnswering(config).save_pretrained(path)
    transformers.BertTokenizer(vocab={w: i for i, w in enumerate(WORDS)}).save_pretrained(path)
    transformers.BlipImageProcessorPil(size={"height": 32, "width": 32}).save_pretrained(path)
    return path
