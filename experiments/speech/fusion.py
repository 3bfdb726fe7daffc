"""How speech fusion moves visual answers, on the speech-QA clips.

    python experiments/speech/fusion.py [--data out/speech] [--model tiny]

Two checks of :meth:`videoqa.pipelines.speech.SpeechQA.fuse` (the weighting of
transcript probabilities into visual ones):

* the 31 multiple-choice questions of the set, answered by the visual path alone and
  fused with the clip's transcript: accuracy of each;
* questions about what is *seen* (``VISUAL``, choices unrelated to the speech), where
  the speech should get little weight: the mean speech weight and how often fusion
  changed the visual answer.

Offline, the only visual model is ``tiny`` (random weights): its answers are noise, so the
first check shows what the transcript adds to an uninformed visual answer, not to a
good one.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from videoqa.perception.speech import Transcriber, TranscriptCache
from videoqa.pipelines.resolve import resolve
from videoqa.pipelines.speech import SpeechQA

VISUAL = (
    ("what are the people riding?", ["bicycles", "horses", "a boat"]),
    ("what colour is the sky?", ["blue", "green", "red"]),
    ("is it day or night?", ["day", "night"]),
    ("what is the man wearing on his head?", ["a helmet", "a crown", "nothing"]),
)


def _weight(result) -> float:
    for item in result.evidence:
        for fact in item.facts:
            found = re.search(r"speech weight in the fused answer ([0-9.]+)", fact)
            if found:
                return float(found.group(1))
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("out/speech"))
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = [json.loads(x) for x in (args.data / "questions.jsonl").read_text().splitlines()]
    visual = resolve(args.model, frames=8, top_k=3)
    qa = SpeechQA(Transcriber(cpu_threads=2, cache=TranscriptCache(args.data / "_transcripts")))
    transcripts = {r["clip"]: qa.transcript(r["video"]) for r in rows}
    alone, fused, weights = [], [], []
    for row in (r for r in rows if r["kind"] == "mc"):
        run = visual(row["video"], row["q"], row["choices"])
        mixed = qa.fuse(run, transcripts[row["clip"]])
        alone.append(run.result.answer_index == row["answer"])
        fused.append(mixed.result.answer_index == row["answer"])
        weights.append(_weight(mixed.result))
    changed, vweights = [], []
    for clip in sorted(transcripts):
        video = next(r["video"] for r in rows if r["clip"] == clip)
        for question, choices in VISUAL:
            run = visual(video, question, choices)
            mixed = qa.fuse(run, transcripts[clip])
            changed.append(mixed.result.answer_index != run.result.answer_index)
            vweights.append(_weight(mixed.result))
    report = {
        "visual_model": visual.name,
        "visual_pretrained": visual.pretrained,
        "mc_n": len(alone),
        "mc_visual_alone": float(np.mean(alone)),
        "mc_fused": float(np.mean(fused)),
        "mc_mean_speech_weight": float(np.mean(weights)),
        "visual_questions": len(changed),
        "visual_questions_changed_by_fusion": float(np.mean(changed)),
        "visual_questions_mean_speech_weight": float(np.mean(vweights)),
        "visual_questions_max_speech_weight": float(np.max(vweights)),
    }
    print(json.dumps(report, indent=1))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
