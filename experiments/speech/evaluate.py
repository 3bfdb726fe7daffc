"""Score the speech-QA set (built by build.py): accuracy of multiple-choice answers,
temporal IoU of the spans "when" questions are answered with, and how the router
recognizes the questions.

    python experiments/speech/evaluate.py [--data out/speech] [--threads 2] [--json out.json]

Variants (all on the same transcripts):
  whisper            the default SpeechQA (Whisper tiny.en transcript, MiniLM retrieval,
                     lexical weight 0.5, top-3)
  whisper-no-lexical lexical_weight = 0 (MiniLM similarity alone)
  whisper-raw-times  the transcript without the VAD clipping of word times
  truth-text         the narrated text and timeline as the transcript (an upper bound
                     without recognition errors)

Besides the written multiple-choice questions (whose distractors are mostly never said),
each is also asked with *confusable* choices: its correct answer among the correct
answers of up to three other multiple-choice questions of the same clip, so that every
choice is something said in the clip (position of the correct one: question index mod
the number of choices).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from videoqa.metrics.moment_retrieval import temporal_iou_paired
from videoqa.perception.speech import Segment, Transcriber, Transcript, TranscriptCache, Word
from videoqa.perception.speech.narration import NarratedClip
from videoqa.pipelines.speech import SpeechQA, recognize_speech_question


def truth_transcript(clip: NarratedClip) -> Transcript:
    segments = [
        Segment(
            start=s.start,
            end=s.end,
            text=s.text,
            words=[Word(word=w.word, start=w.start, end=w.end) for w in s.words],
        )
        for s in clip.sentences
    ]
    return Transcript(source="truth", model="narration", duration=clip.duration, segments=segments)


def confusable(rows: list[dict]) -> list[dict]:
    """The mc questions again, their distractors replaced by other questions' answers."""
    out = []
    for i, row in enumerate(r for r in rows if r["kind"] == "mc"):
        same = [r for r in rows if r["kind"] == "mc" and r["clip"] == row["clip"] and r is not row]
        others = [r["choices"][r["answer"]] for r in same][:3]
        right = row["choices"][row["answer"]]
        k = i % (len(others) + 1)
        choices = [*others[:k], right, *others[k:]]
        out.append({**row, "id": row["id"] + "-confusable", "choices": choices, "answer": k})
    return out


def score(qa: SpeechQA, rows: list[dict], transcripts: dict[str, Transcript]) -> dict:
    mc, ious, hits, per = [], [], [], []
    hard = []
    for row in confusable(rows):
        result = qa.answer(
            row["video"], row["q"], row["choices"], transcript=transcripts[row["clip"]]
        ).result
        hard.append(result.answer_index == row["answer"])
        per.append({"id": row["id"], "correct": hard[-1], "answer": result.answer})
    for row in rows:
        choices = row.get("choices") if row["kind"] == "mc" else None
        result = qa.answer(
            row["video"], row["q"], choices, transcript=transcripts[row["clip"]]
        ).result
        if row["kind"] == "mc":
            ok = result.answer_index == row["answer"]
            mc.append(ok)
            per.append({"id": row["id"], "correct": ok, "answer": result.answer})
        else:
            top = result.evidence[0]
            span = (top.start, top.end)
            value = float(temporal_iou_paired(np.array([span]), np.array([row["span"]]))[0])
            ious.append(value)
            hits.append(value > 0)
            per.append({"id": row["id"], "iou": round(value, 3), "span": span})
    ious_a = np.asarray(ious)
    return {
        "mc_accuracy": float(np.mean(mc)),
        "mc_n": len(mc),
        "mc_confusable_accuracy": float(np.mean(hard)),
        "when_mean_iou": float(ious_a.mean()),
        "when_r_at_0.3": float((ious_a >= 0.3).mean()),
        "when_r_at_0.5": float((ious_a >= 0.5).mean()),
        "when_r_at_0.7": float((ious_a >= 0.7).mean()),
        "when_n": len(ious),
        "per_question": per,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("out/speech"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = [json.loads(line) for line in (args.data / "questions.jsonl").read_text().splitlines()]
    clips = sorted({r["clip"] for r in rows})
    cache = TranscriptCache(args.data / "_transcripts")
    report: dict = {"questions": len(rows), "clips": len(clips)}
    sources: dict[str, dict[str, Transcript]] = {"whisper": {}, "raw": {}, "truth": {}}
    for refine, name in ((True, "whisper"), (False, "raw")):
        tr = Transcriber(cpu_threads=args.threads, refine_words=refine, cache=cache)
        for clip in clips:
            sources[name][clip] = tr.transcribe(args.data / f"{clip}.mp4")
    for clip in clips:
        narrated = NarratedClip.model_validate_json((args.data / f"{clip}.json").read_text())
        sources["truth"][clip] = truth_transcript(narrated)
    variants = {
        "whisper": (SpeechQA(), "whisper"),
        "whisper-no-lexical": (SpeechQA(lexical_weight=0.0), "whisper"),
        "whisper-raw-times": (SpeechQA(), "raw"),
        "truth-text": (SpeechQA(), "truth"),
    }
    start = time.perf_counter()
    for name, (qa, source) in variants.items():
        report[name] = score(qa, rows, sources[source])
    report["answer_seconds_total"] = time.perf_counter() - start
    rules = [recognize_speech_question(r["q"]).is_speech for r in rows]
    emb = [recognize_speech_question(r["q"], use_embeddings=True).score >= 0.5 for r in rows]
    report["routed_to_speech_by_rules"] = float(np.mean(rules))
    report["routed_to_speech_by_embeddings_alone"] = float(np.mean(emb))
    for name in variants:
        r = report[name]
        print(
            f"{name:20s} MC {r['mc_accuracy']:.3f} ({r['mc_n']}), confusable "
            f"{r['mc_confusable_accuracy']:.3f}  when: mean IoU "
            f"{r['when_mean_iou']:.3f}, R@0.5 {r['when_r_at_0.5']:.3f}, R@0.7 "
            f"{r['when_r_at_0.7']:.3f} ({r['when_n']})"
        )
    print(
        f"routing: rules {report['routed_to_speech_by_rules']:.3f}, embeddings alone "
        f"{report['routed_to_speech_by_embeddings_alone']:.3f}"
    )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
