"""Small trained backbone checkpoints for the answering tests.

A feature store is extracted from real sample videos with the random-weight ``tiny``
encoder (6 uniformly sampled frames, patch tokens kept), a tiny HGA / VGT is trained on
a handful of questions about those videos for a few steps, and the checkpoint is saved
in the layout the training recipes write (``runs/NAME/checkpoints/best``)::

    model/  tokenizer.json  config.yaml  preprocessing.json
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import yaml

from videoqa.data.schema import QASample
from videoqa.features.extract import VideoJob, extract_features, load_frame_encoder
from videoqa.features.store import FeatureStore, read_meta
from videoqa.models import build_model
from videoqa.models.processing import build_tokenizer
from videoqa.training.data import QADataset

FRAMES = 6
CHOICES = ("riding a bike", "walking a dog", "driving a car", "cooking", "swimming")
QUESTIONS = ("what is the person doing ?", "what happens in the video ?")
SIZES = {
    "hga": {"hidden_size": 32, "num_layers": 1},
    "vgt": {"hidden_size": 32, "num_heads": 2, "clip_len": 2, "max_patches": 16},
    "transformer": {"hidden_size": 32, "num_heads": 2, "num_layers": 1},
}


def feature_store(videos: dict[str, Path], root: Path) -> Path:
    """Extract ``tiny`` features (with patch tokens) of ``videos`` into ``root``."""
    encoder = load_frame_encoder("tiny", patches=True)
    jobs = [VideoJob(name, path) for name, path in sorted(videos.items())]
    extract_features(
        jobs, root, encoder, frames=FRAMES, dataset="synthetic", workers=1, rank=0, world_size=1
    )
    return root


def _samples(video_ids: list[str]) -> list[QASample]:
    rows = []
    for v, vid in enumerate(video_ids):
        for q, question in enumerate(QUESTIONS):
            rows.append(
                QASample(
                    qid=f"{vid}_{q}",
                    video_id=vid,
                    question=question,
                    choices=CHOICES,
                    answer=(v + q) % len(CHOICES),
                    qtype="DA",
                    interval=(0.0, 1.0),
                    extras={"causal_frames": [0], "family": "descriptive"},
                )
            )
    return rows


def train_checkpoint(
    arch: str, store: Path, out: Path, *, patches: bool = True, preprocessing: bool = True
) -> Path:
    """Train ``arch`` for a few steps on questions about the store's videos and save
    ``out`` (the checkpoint folder). Without ``preprocessing`` the folder has no
    ``preprocessing.json`` (an older checkpoint: ``config.yaml`` names the store)."""
    torch.manual_seed(0)
    features = FeatureStore(store)
    samples = _samples(sorted(features))
    tokenizer = build_tokenizer(samples)
    lengths = {"max_question_len": 12, "max_answer_len": 4}
    use_patches = patches and arch == "vgt"
    data = QADataset(samples, features, tokenizer, patches=use_patches, **lengths)
    fields = {
        **SIZES[arch],
        "feature_dim": data.feature_dim,
        "vocab_size": tokenizer.vocab_size,
        "max_frames": data.num_frames,
        "max_text_len": 12,
        "dropout": 0.0,
    }
    if use_patches:
        fields["patch_dim"] = int(data.patches.shape[-1])
    model = build_model(arch, fields)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    batch = data.batch(torch.arange(len(data)))
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(model(batch.qa).logits, batch.answers)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out / "model")
    tokenizer.save(out / "tokenizer.json")
    config = {
        "data": {
            "dataset": "synthetic",
            "benchmark_dir": "unused",
            "features_dir": str(store),
            "use_patches": use_patches,
            **lengths,
        },
        "model": {"name": arch, "config": SIZES[arch]},
    }
    (out / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    if preprocessing:
        meta = read_meta(store)
        (out / "preprocessing.json").write_text(
            json.dumps(meta.model_dump(mode="json"), indent=2), encoding="utf-8"
        )
    return out


def build_checkpoints(root: Path, videos: dict[str, Path]) -> dict[str, Path]:
    """A ``tiny`` feature store over ``videos`` and checkpoints trained on it: ``vgt``
    (patch tokens), ``hga``, ``transformer`` and ``vgt-old`` (no preprocessing.json)."""
    store = feature_store(videos, root / "store")
    out = {"store": store}
    for arch in ("vgt", "hga", "transformer"):
        out[arch] = train_checkpoint(arch, store, root / arch / "checkpoints" / "best")
    out["vgt-old"] = train_checkpoint("vgt", store, root / "vgt-old" / "best", preprocessing=False)
    return out
