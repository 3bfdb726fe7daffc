"""Generating the synthetic benchmark: simulate, render and encode every video (in
parallel worker processes), derive candidate questions, balance them per split and write
the files.

Layout of ``DIR``::

    videos/<video_id>.mp4          H.264, ``frames`` frames of ``size``×``size`` at ``fps``
    scene_graphs/<video_id>.json   :class:`~videoqa.synth.scene_graph.SceneGraph`
    qa/{train,val,test,comp}.jsonl multiple-choice questions (one JSON object a line)
    frame_qa/{train,val}.jsonl     frame-level (image) questions
    descriptions/<split>.csv       one caption per video (WebVid CSV format, for
                                   video-text pre-training; ``videoqa.synth.describe``)
    meta.json                      generator version, seed, parameters, counts
    scene_graph_labels.json        the scene-graph label space (attributes, predicates)

Everything is a function of the :class:`~videoqa.synth.config.SynthConfig` (seed
included): the number of workers changes the speed only.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from videoqa.data.schema import QASample
from videoqa.errors import UsageError
from videoqa.synth.balance import balance, preselect, to_samples
from videoqa.synth.config import (
    FRAME_QA_SPLITS,
    GENERATOR_VERSION,
    SPLIT_INDEX,
    SPLITS,
    SynthConfig,
    split_rule,
)
from videoqa.synth.describe import write_descriptions
from videoqa.synth.encode import write_mp4
from videoqa.synth.frame_questions import frame_candidates
from videoqa.synth.questions import QTYPES, Candidate, video_candidates
from videoqa.synth.render import render_video
from videoqa.synth.scene_graph import LABELS_FILE, SceneGraph, label_space
from videoqa.synth.simulate import simulate
from videoqa.synth.vocab import HELD_OUT_PAIRS

#: first keys of every question record, in order (then the other extras).
RECORD_KEYS: tuple[str, ...] = (
    "qid",
    "video_id",
    "question",
    "choices",
    "answer",
    "answer_text",
    "qtype",
    "interval",
    "causal_frames",
)


@dataclass(frozen=True)
class _Job:
    cfg: SynthConfig
    split: str
    index: int
    out_dir: str | None
    write_videos: bool
    keep_graph: bool


@dataclass
class _VideoResult:
    video_id: str
    split: str
    candidates: list[Candidate]
    frame_candidates: list[Candidate]
    novel: frozenset[int]
    graph: SceneGraph | None


@dataclass
class SynthDataset:
    """A generated benchmark in memory.

    Attributes:
        config: the parameters it was generated with.
        qa: split → multiple-choice questions (``train``, ``val``, ``test``, ``comp``).
        frame_qa: split → frame-level questions (``train``, ``val``).
        videos: split → video ids.
        graphs: video id → scene graph (empty when they were only written to disk).
    """

    config: SynthConfig
    qa: dict[str, list[QASample]] = field(default_factory=dict)
    frame_qa: dict[str, list[QASample]] = field(default_factory=dict)
    videos: dict[str, list[str]] = field(default_factory=dict)
    graphs: dict[str, SceneGraph] = field(default_factory=dict)


class SplitSummary(BaseModel):
    """Counts of one split."""

    videos: int
    questions: int
    frame_questions: int
    qtypes: dict[str, int]


class GenerationReport(BaseModel):
    """What :func:`generate_dataset` wrote (also the ``splits`` part of ``meta.json``)."""

    version: str
    seed: int
    write_videos: bool
    splits: dict[str, SplitSummary]


def _question_rng(cfg: SynthConfig, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence(cfg.seed, spawn_key=(SPLIT_INDEX[split], index, 1))
    )


def process_video(job: _Job) -> _VideoResult:
    """Simulate one video, write its files when asked, and pick its candidate questions."""
    cfg, split = job.cfg, job.split
    graph = simulate(cfg, split, job.index)
    if job.out_dir is not None:
        root = Path(job.out_dir)
        (root / "scene_graphs" / f"{graph.video_id}.json").write_text(
            graph.model_dump_json(), encoding="utf-8"
        )
        if job.write_videos:
            write_mp4(root / "videos" / f"{graph.video_id}.mp4", render_video(graph), fps=cfg.fps)
    rng = _question_rng(cfg, split, job.index)
    rule = split_rule(split)
    novel = frozenset(o.id for o in graph.objects if o.novel)
    cands = video_candidates(graph, rule, rng)
    if split == "comp":  # only questions about an object with a held-out combination
        cands = [c for c in cands if novel & set(c.participants)]
    cands = preselect(cands, rng, cfg.questions_per_group)
    frame_cands: list[Candidate] = []
    if split in FRAME_QA_SPLITS and cfg.frame_questions > 0:
        frame_cands = preselect(frame_candidates(graph, rule, rng), rng, cfg.frame_questions)
    return _VideoResult(
        graph.video_id, split, cands, frame_cands, novel, graph if job.keep_graph else None
    )


def _run(jobs: list[_Job], workers: int) -> Iterator[_VideoResult]:
    if workers <= 1 or len(jobs) <= 1:
        yield from map(process_video, jobs)
        return
    ctx = multiprocessing.get_context("spawn")
    chunk = max(1, len(jobs) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        yield from pool.map(process_video, jobs, chunksize=chunk)


def build(
    cfg: SynthConfig,
    *,
    workers: int = 1,
    out_dir: Path | None = None,
    write_videos: bool = False,
    keep_graphs: bool = True,
) -> SynthDataset:
    """Generate every split: videos and scene graphs (written when ``out_dir`` is given),
    balanced multiple-choice questions and frame questions (returned).

    Args:
        cfg: generator parameters.
        workers: worker processes (1 = in this process; more are spawned, see
            :func:`generate_dataset`).
        out_dir: where to write ``videos/`` and ``scene_graphs/``; ``None`` writes nothing.
        write_videos: encode the MP4 files (needs ``out_dir``).
        keep_graphs: return the scene graphs in :attr:`SynthDataset.graphs`.
    """
    jobs = [
        _Job(cfg, split, i, str(out_dir) if out_dir else None, write_videos, keep_graphs)
        for split, n in cfg.split_counts().items()
        for i in range(n)
    ]
    data = SynthDataset(config=cfg, videos={s: [] for s in SPLITS})
    per_split: dict[str, list[_VideoResult]] = {s: [] for s in SPLITS}
    for res in _run(jobs, workers):
        per_split[res.split].append(res)
        data.videos[res.split].append(res.video_id)
        if res.graph is not None:
            data.graphs[res.video_id] = res.graph
    for split, results in per_split.items():
        rng = np.random.default_rng(
            np.random.SeedSequence(cfg.seed, spawn_key=(100 + SPLIT_INDEX[split],))
        )
        novel = {r.video_id: r.novel for r in results}
        kept, supports = balance([c for r in results for c in r.candidates], rng)
        data.qa[split] = to_samples(kept, supports, rng, novel=novel)
        if split in FRAME_QA_SPLITS:
            kept, supports = balance([c for r in results for c in r.frame_candidates], rng)
            data.frame_qa[split] = to_samples(kept, supports, rng, novel=novel, prefix="f")
    return data


def generate_annotations(cfg: SynthConfig, *, workers: int = 1) -> SynthDataset:
    """Scene graphs and questions in memory, without rendering or writing anything."""
    return build(cfg, workers=workers)


def sample_record(sample: QASample) -> dict:
    """The JSON-lines record of a question: :data:`RECORD_KEYS` first, then the extras."""
    extras = dict(sample.extras)
    rec = {
        "qid": sample.qid,
        "video_id": sample.video_id,
        "question": sample.question,
        "choices": list(sample.choices or ()),
        "answer": sample.answer,
        "answer_text": extras.pop("answer_text", sample.answer_text),
        "qtype": sample.qtype,
        "interval": list(sample.interval) if sample.interval else None,
        "causal_frames": extras.pop("causal_frames", []),
    }
    rec.update(extras)
    return rec


def write_jsonl(path: Path, samples: list[QASample]) -> None:
    """Write questions as JSON lines (compact, ASCII, fixed key order)."""
    lines = (json.dumps(sample_record(s), separators=(",", ":")) for s in samples)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def generate_dataset(
    out_dir: Path, cfg: SynthConfig, *, workers: int | None = None, write_videos: bool = True
) -> GenerationReport:
    """Generate the benchmark into ``out_dir`` (see the module docstring for the layout).

    Args:
        out_dir: output folder (created; existing files of the same names are replaced).
        cfg: generator parameters (the seed included).
        workers: worker processes; default ``os.cpu_count()``. Workers are *spawned*:
            with more than one, call this from under ``if __name__ == "__main__":`` in a
            script (the ``videoqa synth`` command does).
        write_videos: encode the MP4 files (``False``: annotations only).

    Returns:
        Counts per split (also written to ``meta.json``).

    Raises:
        UsageError: ``out_dir`` exists and is not a folder.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out must be a folder: {out_dir}")
    for sub in ("videos", "scene_graphs", "qa", "frame_qa"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    data = build(
        cfg, workers=workers, out_dir=out_dir, write_videos=write_videos, keep_graphs=False
    )
    splits = {}
    for split in SPLITS:
        write_jsonl(out_dir / "qa" / f"{split}.jsonl", data.qa[split])
        frame = data.frame_qa.get(split, [])
        if split in FRAME_QA_SPLITS:
            write_jsonl(out_dir / "frame_qa" / f"{split}.jsonl", frame)
        splits[split] = SplitSummary(
            videos=len(data.videos[split]),
            questions=len(data.qa[split]),
            frame_questions=len(frame),
            qtypes=dict(sorted(Counter(s.qtype for s in data.qa[split]).items())),
        )
    report = GenerationReport(
        version=GENERATOR_VERSION, seed=cfg.seed, write_videos=write_videos, splits=splits
    )
    meta = {
        "generator": "videoqa.synth",
        **report.model_dump(mode="json"),
        "config": cfg.model_dump(mode="json"),
        "held_out_pairs": sorted(list(p) for p in HELD_OUT_PAIRS),
        "qtypes": {q: list(v) for q, v in QTYPES.items()},
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    labels = json.dumps(label_space(), indent=2) + "\n"
    (out_dir / LABELS_FILE).write_text(labels, encoding="utf-8")
    write_descriptions(out_dir)
    return report
