"""ATP-hard: the hard causal/temporal subset of NExT-QA multiple choice (``atp-hard``).

Source: Buch et al., "Revisiting the 'Video' in Video-Language Understanding", CVPR
2022, §5 — the questions of the NExT-QA validation set that the atemporal probe (ATP,
a model restricted to single frames) cannot answer, kept among the causal and temporal
types. The official repository (StanfordVL/atp-video-language, ``data/DATA.md``) does
not publish the file; it is shared on request, and the copies in circulation are
either NExT-QA-style CSV rows of the selected questions or lists of question ids. This
loader therefore takes a list of question ids and applies it to a NExT-QA split.

Accepted id files (the id of a question is NExT-QA's ``f"{video}_{qid}"``):

* ``.csv`` with a header holding ``video`` and ``qid`` columns (other columns ignored:
  the questions themselves are taken from the split);
* ``.json``: an array whose elements are ids (``"4010069381_6"``) or objects with
  ``video`` and ``qid``;
* anything else: text, one id per line (blank lines and ``#`` comments ignored).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from videoqa.data.nextqa import VIDEO_PATTERN, load_nextqa, nextqa_key
from videoqa.data.readers import (
    Collector,
    Record,
    Row,
    RowError,
    iter_csv,
    iter_json_list,
    load_benchmark,
    read_text,
    require_columns,
)
from videoqa.data.registry import DATASETS
from videoqa.data.schema import Benchmark, QASample
from videoqa.errors import UsageError

#: Question types the ATP-hard selection keeps (causal and temporal).
ATP_HARD_TYPES: frozenset[str] = frozenset({"CW", "CH", "TN", "TP", "TC"})


def iter_question_ids(path: Path) -> Iterator[Record]:
    """Records of an id file whose ``value`` is the question id (or ``error`` set).

    Raises:
        DataFormatError: missing file, broken JSON, CSV without ``video``/``qid``.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        header, records = iter_csv(path)
        require_columns(header, ["video", "qid"], path)
        for rec in records:
            if rec.error is not None:
                yield rec
                continue
            key = nextqa_key(rec.value)
            yield Record(rec.line, None, key, None if key else "empty video or qid")
    elif suffix == ".json":
        for rec in iter_json_list(path):
            try:
                yield Record(rec.line, None, _json_id(rec.value))
            except RowError as err:
                yield Record(rec.line, None, None, str(err))
    else:
        for number, line in enumerate(read_text(path).splitlines(), start=1):
            text = line.strip()
            if text and not text.startswith("#"):
                yield Record(number, None, text)


def _json_id(value: object) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, Mapping):
        key = nextqa_key({"video": Row(value).text("video"), "qid": Row(value).text("qid")})
        if key:
            return key
    raise RowError(f"expected an id text or an object with video and qid, got {value!r}")


@DATASETS.register("atp-hard")
def load_atp_hard(
    annotations: Path,
    *,
    nextqa_split: Path | None = None,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
) -> Benchmark[QASample]:
    """Load the ATP-hard questions of a NExT-QA multiple-choice split.

    Args:
        annotations: the ATP-hard id file (formats in the module docstring).
        nextqa_split: the NExT-QA MC CSV the ids refer to (the validation set for the
            published subset). Required.
        video_root, mapping: as for ``nextqa-mc``.
        split: split name (default: the id file's stem).

    Returns:
        ``Benchmark[QASample]`` in id-file order. One record per id: ids absent from the
        split, ids of split rows that failed to load, and repeated ids are ``issues``
        (with the id file's line); selected questions of a descriptive type are loaded
        with a warning. ``meta["split_issues"]`` counts the split's own bad rows.

    Raises:
        UsageError: ``nextqa_split`` not given.
        DataFormatError: unreadable id file or split.
    """
    if nextqa_split is None:
        raise UsageError("atp-hard needs nextqa_split=<NExT-QA multiple-choice CSV>")
    annotations = Path(annotations)
    base = load_nextqa("nextqa-mc", Path(nextqa_split), multiple_choice=True)
    by_qid = base.by_id()
    failed = {issue.key: issue for issue in base.issues if issue.key}
    chosen: dict[str, int] = {}

    def pick(rec: Record, collector: Collector) -> QASample:
        qid = rec.value
        if qid in chosen:
            raise RowError(f"id {qid!r} repeated (first on line {chosen[qid]})")
        if qid not in by_qid:
            bad = failed.get(qid)
            raise RowError(
                f"row of {bad.source}:{bad.line} could not load: {bad.reason}"
                if bad
                else f"id {qid!r} is not in {base.meta['source']}"
            )
        chosen[qid] = rec.line
        sample = by_qid[qid]
        if sample.qtype not in ATP_HARD_TYPES:
            collector.warn(rec.line, f"type {sample.qtype!r} is not causal/temporal", qid)
        return sample

    return load_benchmark(
        "atp-hard",
        annotations,
        iter_question_ids(annotations),
        pick,
        sample_type=QASample,
        pattern=VIDEO_PATTERN,
        split=split,
        video_root=video_root,
        mapping=mapping,
        key=lambda v: v if isinstance(v, str) else None,
        meta={
            "nextqa_split": base.meta["source"],
            "split_questions": len(base),
            "split_issues": len(base.issues),
        },
    )
