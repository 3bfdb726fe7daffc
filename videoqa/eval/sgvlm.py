"""Scoring an SGVLM model on one split: multiple choice by answer likelihood, open-ended
answers by generation (accuracy, WUPS@0 and WUPS@0.9 with the benchmark's protocol),
and the localizer's moment retrieval against the questions' ground-truth intervals
(QVHighlights metrics: R1@0.5/0.7, mAP). The ``sgvlm`` recipe (``videoqa train
--recipe sgvlm``) validates and tests with :func:`evaluate_split`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from pydantic import BaseModel

from videoqa.data.schema import Benchmark
from videoqa.eval.protocols import protocol_for
from videoqa.eval.qa import score_open_ended
from videoqa.metrics.accuracy import multiple_choice_accuracy
from videoqa.models.sgvlm.modeling import SGVLM
from videoqa.training.sgvlm_data import SGVLMData


class SplitScores(BaseModel):
    """Scores of one split (percent).

    Attributes:
        accuracy: multiple-choice accuracy (candidates ranked by log-likelihood).
        by_type, by_group: multiple-choice accuracy per question type / family letter.
        open_ended: ``{"accuracy", "wups0", "wups9"}`` overall and per family, or None.
        localizer: brief QVHighlights metrics of the localizer, or None.
    """

    accuracy: float
    by_type: dict[str, float]
    by_group: dict[str, float]
    open_ended: dict[str, dict[str, float]] | None = None
    localizer: dict[str, float] | None = None


def _batches(data: SGVLMData, size: int):
    for start in range(0, len(data), size):
        yield torch.arange(start, min(start + size, len(data)))


def _device(model: SGVLM) -> torch.device:
    return next(model.parameters()).device


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)


def _open_ended(model: SGVLM, data: SGVLMData, dataset: str, size: int, path: Path) -> dict:
    answers: list[str] = []
    for index in _batches(data, size):
        answers.extend(model.generate(data.batch(index).to(_device(model))))
    _write_jsonl(
        path, [{"qid": s.qid, "prediction": a} for s, a in zip(data.samples, answers, strict=True)]
    )
    samples = [
        s.model_copy(update={"choices": None, "answer": data.answer_texts[i]})
        for i, s in enumerate(data.samples)
    ]
    bench = Benchmark(name=dataset, split="oe", samples=samples, records=len(samples))
    report = score_open_ended(bench, path, protocol_for(dataset))
    out = {"all": {"accuracy": report.accuracy, "wups0": report.wups0, "wups9": report.wups9}}
    for key, row in report.by_group.items():
        out[key] = {"accuracy": row.accuracy, "wups0": row.wups0, "wups9": row.wups9}
    return out


def _localizer(model: SGVLM, data: SGVLMData, size: int) -> dict[str, float] | None:
    """Brief QVHighlights metrics of the localizer on the questions with an interval."""
    from videoqa.eval.localizer import predictions_from_output, score_localizer

    if model.localizer is None:
        return None
    keep = torch.tensor([i for i, s in enumerate(data.samples) if s.interval is not None])
    if keep.numel() == 0:
        return None
    preds = []
    with torch.inference_mode():
        for chunk in keep.split(size):
            batch = data.batch(chunk).to(_device(model))
            rows = data.video_row[chunk].tolist()
            preds.extend(
                predictions_from_output(
                    [data.samples[i].qid for i in chunk.tolist()],
                    model.localize(batch),
                    batch.times,
                    batch.frame_mask,
                    [data.durations[r] for r in rows],
                )
            )
    metrics = score_localizer(preds, [data.samples[i] for i in keep.tolist()], data.clip_length)
    return dict(metrics.brief)


def evaluate_split(
    model: SGVLM,
    data: SGVLMData,
    dataset: str,
    batch_size: int,
    *,
    open_ended: bool,
    predictions_dir: Path | None = None,
    split: str = "split",
) -> SplitScores:
    """Score ``model`` on ``data`` (eval mode, on the model's device; restores the
    previous mode).

    Multiple-choice predictions (and generated answers when ``open_ended``) are written
    to ``predictions_dir/<split>.mc.jsonl`` (``.oe.jsonl``) when a folder is given.
    """
    was = model.training
    model.eval()
    preds = []
    for index in _batches(data, batch_size):
        cands = [data.candidates[i] for i in index.tolist()]
        batch = data.batch(index).to(_device(model))
        preds.append(model.score_candidates(batch, cands).argmax(dim=1).cpu())
    pred = torch.cat(preds).numpy()
    protocol = protocol_for(dataset)
    scores = multiple_choice_accuracy(
        pred, data.answers.numpy(), data.qtypes, convention=protocol.convention
    )
    result = SplitScores(
        accuracy=scores.overall.percent,
        by_type={k: v.percent for k, v in scores.per_type.items()},
        by_group={k: v.percent for k, v in scores.per_group.items()},
    )
    if predictions_dir is not None:
        _write_jsonl(
            predictions_dir / f"{split}.mc.jsonl",
            [
                {"qid": s.qid, "prediction": int(p), "answer": int(s.answer), "qtype": s.qtype}
                for s, p in zip(data.samples, pred.tolist(), strict=True)
            ],
        )
        if open_ended:
            oe = _open_ended(
                model, data, dataset, batch_size, predictions_dir / f"{split}.oe.jsonl"
            )
            result = result.model_copy(update={"open_ended": oe})
        result = result.model_copy(update={"localizer": _localizer(model, data, batch_size)})
    model.train(was)
    return result
