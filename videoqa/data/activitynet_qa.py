"""ActivityNet-QA (``activitynet-qa``).

Source: Yu et al., "ActivityNet-QA: A Dataset for Understanding Complex Web Videos via
Question Answering", AAAI 2019, §3; format from the official repository
(MILVLG/activitynet-qa, ``dataset/README.md``).

Format: two JSON arrays per split, joined on ``question_id``:

* ``<split>_q.json``: ``{"video_name": str, "question": str, "question_id": str}``;
* ``<split>_a.json``: ``{"answer": str, "type": int, "question_id": str}``.

``type`` codes: 0 motion, 1 spatial relationship, 2 temporal relationship (the three
question types), 3–8 free questions by answer type: 3 yes/no, 4 color, 5 object,
6 location, 7 number, 8 other. ``qtype`` is the name (:data:`ACTIVITYNET_QA_TYPES`), the
code stays in ``extras["type_code"]``. Answers are open-ended text. Videos are the
ActivityNet files ``<video_root>/v_<video_name>.mp4`` (use ``mapping`` for other
containers such as ``.mkv``/``.webm``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from videoqa.data.readers import (
    Collector,
    Record,
    Row,
    RowError,
    finish,
    iter_json_list,
)
from videoqa.data.registry import DATASETS
from videoqa.data.schema import Benchmark, QASample
from videoqa.errors import UsageError

#: ActivityNet-QA type code → name.
ACTIVITYNET_QA_TYPES: dict[int, str] = {
    0: "motion",
    1: "spatial",
    2: "temporal",
    3: "yes_no",
    4: "color",
    5: "object",
    6: "location",
    7: "number",
    8: "other",
}
VIDEO_PATTERN = "v_{video_id}.mp4"


def _read_answers(path: Path, collector: Collector) -> dict[str, tuple[int, Row]]:
    """question_id → (line, answer row); unusable answer rows become issues."""
    answers: dict[str, tuple[int, Row]] = {}

    def keep(rec: Record) -> None:
        row = Row(rec.value)
        qid = row.text("question_id")
        row.text("answer")
        code = row.integer("type")
        if code not in ACTIVITYNET_QA_TYPES:
            raise RowError(f"type code {code} is not one of 0..8")
        if qid in answers:
            raise RowError(f"second answer for {qid!r} (first on line {answers[qid][0]})")
        answers[qid] = (rec.line, row)

    # answer rows are records of their own only when they fail or stay unmatched
    collector.build(iter_json_list(path), keep, source=path.name, count_loaded=False)
    return answers


@DATASETS.register("activitynet-qa")
def load_activitynet_qa(
    annotations: Path,
    *,
    answers: Path | None = None,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
) -> Benchmark[QASample]:
    """Load an ActivityNet-QA split (format in the module docstring).

    Args:
        annotations: the questions file ``<split>_q.json``.
        answers: the answers file (default: ``<split>_a.json`` beside it).
        video_root: folder of the ActivityNet videos.
        mapping: video name → relative path.
        split: split name (default: the file's stem without ``_q``).

    Returns:
        ``Benchmark[QASample]`` of open-ended samples. Issues list questions without an
        answer (questions file), answers without a question, repeated or malformed
        answers (answers file); ``records`` counts question rows plus those answer rows.

    Raises:
        UsageError: no answers file given and the questions file is not ``*_q.json``.
        DataFormatError: missing file, broken JSON, not a JSON array.
    """
    annotations = Path(annotations)
    if answers is None:
        if not annotations.name.endswith("_q.json"):
            raise UsageError("activitynet-qa: give answers=<..._a.json> for this question file")
        answers = annotations.with_name(annotations.name[: -len("_q.json")] + "_a.json")
    answers = Path(answers)
    collector = Collector("activitynet-qa", annotations)
    by_qid = _read_answers(answers, collector)
    used: set[str] = set()

    def build(rec: Record) -> QASample:
        row = Row(rec.value)
        base_qid = row.text("question_id")
        if base_qid in used:
            raise RowError(f"question id {base_qid!r} repeated")
        if base_qid not in by_qid:
            raise RowError(f"no answer for {base_qid!r} in {answers.name}")
        ans = by_qid[base_qid][1]
        code = ans.integer("type")
        sample = QASample(
            qid=base_qid,
            video_id=row.text("video_name"),
            question=row.text("question"),
            answer=ans.text("answer"),
            qtype=ACTIVITYNET_QA_TYPES[code],
            extras={"type_code": code, **row.rest("question_id", "video_name", "question")},
        )
        used.add(base_qid)
        return sample

    samples = collector.build(iter_json_list(annotations), build)
    for qid in sorted(set(by_qid) - used, key=lambda q: by_qid[q][0]):
        collector.records += 1
        collector.skip(by_qid[qid][0], "answer without a question", qid, answers.name)
    stem = annotations.name.removesuffix(".json").removesuffix("_q")
    return finish(
        collector,
        samples,
        sample_type=QASample,
        annotations=annotations,
        split=split or stem,
        video_root=video_root,
        mapping=mapping,
        pattern=VIDEO_PATTERN,
        meta={"answers": answers.name},
    )
