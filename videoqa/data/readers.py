"""Reading annotation files row by row, with line numbers, for the dataset loaders.

Every loader follows one rule: a record of an annotation file is either loaded or
reported as a :class:`~videoqa.data.schema.RowIssue` with its line number — never
silently dropped. A file that cannot be read as a whole (missing, not UTF-8, broken
JSON, a CSV without the required columns) raises :class:`~videoqa.errors.DataFormatError`.

The pieces:

* :func:`iter_csv`, :func:`iter_json_list`, :func:`iter_json_dict`, :func:`iter_json_lines`
  yield :class:`Record` objects (line, key, value) — the elements of a JSON document get
  the line their text starts on, found while scanning the document once.
* :class:`Row` reads typed fields from a record and raises :class:`RowError` for a field
  that is missing or of the wrong type.
* :class:`Collector` runs a row builder over records and keeps the accounting (samples,
  issues, warnings, duplicate ids) that ends up in a :class:`~videoqa.data.schema.Benchmark`.
* :func:`load_benchmark` is a whole loader run: records → samples (failed rows as issues)
  → video index → ``Benchmark``; :func:`finish` is its second half.
* :func:`video_index` and :func:`read_video_mapping` build the video id → file index
  without touching the disk.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from videoqa.data.schema import Benchmark, RowIssue, VideoEntry, VideoIndex
from videoqa.errors import DataFormatError

T = TypeVar("T")
S = TypeVar("S", bound=BaseModel)  # a sample model with a ``qid`` field

#: File name endings taken as a complete video file name in mappings and ids.
VIDEO_SUFFIXES: frozenset[str] = frozenset(
    {".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp"}
)


class AnnotationNotFoundError(DataFormatError, FileNotFoundError):
    """The annotation (or mapping) file does not exist."""


class RowError(ValueError):
    """One row cannot be loaded; the message says why (it becomes a ``RowIssue``)."""


@dataclass(frozen=True)
class Record:
    """One record of an annotation file.

    Attributes:
        line: 1-based line where the record starts.
        key: the JSON key for records of a JSON object, else ``None``.
        value: the parsed record (a ``dict`` of column → text for CSV rows).
        error: why the record could not even be parsed (bad JSON line, wrong number of
            CSV fields); ``value`` is ``None`` then.
    """

    line: int
    key: str | None
    value: Any
    error: str | None = None


# ----------------------------------------------------------------------------- files


def read_text(path: Path) -> str:
    """The whole file as text (UTF-8, an optional BOM removed).

    Raises:
        AnnotationNotFoundError: the file does not exist.
        DataFormatError: the file is not UTF-8 text.
    """
    path = Path(path)
    if not path.is_file():
        raise AnnotationNotFoundError(f"annotation file not found: {path.name} (in {path.parent})")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path.name}: not UTF-8 text ({err.reason})") from None


def iter_csv(path: Path, *, delimiter: str = ",") -> tuple[list[str], Iterator[Record]]:
    """Open a CSV file with a header row.

    Blank lines are not records and are skipped. A record whose number of fields differs
    from the header's is yielded with ``error`` set.

    Returns:
        ``(header, records)``: the column names and an iterator of records whose ``value``
        maps column → cell text. Line numbers count the header as line 1.

    Raises:
        AnnotationNotFoundError, DataFormatError: missing file, no header, or duplicate
            column names.
    """
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataFormatError(f"{path.name}: empty file, expected a CSV header") from None
    except csv.Error as err:
        raise DataFormatError(f"{path.name}: unreadable CSV header: {err}") from None
    header = [name.strip() for name in header]
    if len(set(header)) != len(header):
        raise DataFormatError(f"{path.name}: duplicate column names in header {header}")

    def records() -> Iterator[Record]:
        end = reader.line_num
        while True:
            start = end + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                end = reader.line_num
                yield Record(start, None, None, f"unreadable CSV record: {err}")
                continue
            end = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) != len(header):
                yield Record(
                    start, None, None, f"{len(cells)} fields, the header has {len(header)}"
                )
                continue
            yield Record(start, None, dict(zip(header, cells, strict=True)))

    return header, records()


def require_columns(header: Sequence[str], names: Iterable[str], path: Path) -> None:
    """Raise :class:`DataFormatError` naming the columns of ``names`` absent from ``header``."""
    missing = [n for n in names if n not in header]
    if missing:
        raise DataFormatError(f"{path.name}: missing column(s) {missing}; header is {list(header)}")


_WS = re.compile(r"[ \t\n\r]*")


class _Scanner:
    """Walks a JSON document element by element, tracking line numbers."""

    def __init__(self, text: str, name: str) -> None:
        self.text, self.name = text, name
        self.decoder = json.JSONDecoder()
        self.pos = 0
        self._line, self._line_pos = 1, 0

    def line_at(self, pos: int) -> int:
        # positions only grow, so counting newlines incrementally is linear overall
        self._line += self.text.count("\n", self._line_pos, pos)
        self._line_pos = pos
        return self._line

    def skip(self) -> str:
        match = _WS.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos
        return self.text[self.pos : self.pos + 1]

    def expect(self, chars: str) -> str:
        char = self.skip()
        if not char or char not in chars:
            got = repr(char) if char else "end of file"
            raise DataFormatError(
                f"{self.name}:{self.line_at(self.pos)}: broken JSON, expected one of "
                f"{list(chars)}, got {got}"
            )
        self.pos += 1
        return char

    def value(self) -> tuple[int, Any]:
        self.skip()
        line = self.line_at(self.pos)
        try:
            obj, self.pos = self.decoder.raw_decode(self.text, self.pos)
        except json.JSONDecodeError as err:
            raise DataFormatError(
                f"{self.name}:{err.lineno}:{err.colno}: broken JSON: {err.msg}"
            ) from None
        return line, obj

    def end(self) -> None:
        if self.skip():
            raise DataFormatError(
                f"{self.name}:{self.line_at(self.pos)}: unexpected content after the JSON document"
            )

    def elements(
        self, brackets: str, expected: str, element: Callable[[], Record]
    ) -> Iterator[Record]:
        """The records of the document's one array (``brackets="[]"``) or object
        (``"{}"``): ``element`` reads each in turn; the separators, the closing bracket and
        the end of the document are checked here."""
        if self.skip() != brackets[0]:
            raise DataFormatError(f"{self.name}: expected {expected}")
        self.pos += 1
        if self.skip() == brackets[1]:
            self.pos += 1
        else:
            while True:
                yield element()
                if self.expect("," + brackets[1]) == brackets[1]:
                    break
        self.end()


def iter_json_list(path: Path) -> Iterator[Record]:
    """Records of a file holding one JSON array (each element one record).

    Raises:
        AnnotationNotFoundError, DataFormatError: missing file, broken JSON, or a document
            that is not an array.
    """
    scan = _Scanner(read_text(path), path.name)

    def element() -> Record:
        line, obj = scan.value()
        return Record(line, None, obj)

    yield from scan.elements("[]", "a JSON array (a list of records)", element)


def iter_json_dict(path: Path) -> Iterator[Record]:
    """Records of a file holding one JSON object (each key → value one record).

    Duplicate keys are kept: both records are yielded.

    Raises:
        AnnotationNotFoundError, DataFormatError: missing file, broken JSON, or a document
            that is not an object.
    """
    scan = _Scanner(read_text(path), path.name)

    def member() -> Record:
        line, key = scan.value()
        if not isinstance(key, str):
            raise DataFormatError(f"{path.name}:{line}: broken JSON, object key is not a string")
        scan.expect(":")
        _, obj = scan.value()
        return Record(line, key, obj)

    yield from scan.elements("{}", "a JSON object keyed by id", member)


def iter_json_lines(path: Path) -> Iterator[Record]:
    """Records of a JSON-lines file (one JSON value per line; blank lines skipped).

    A line that is not valid JSON is yielded with ``error`` set.

    Raises:
        AnnotationNotFoundError, DataFormatError: missing file, or not one line parses
            (the file is not JSON lines at all).
    """
    text = read_text(path)
    parsed = 0
    bad: list[Record] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            rec = Record(number, None, None, f"not valid JSON: {err.msg} (column {err.colno})")
            bad.append(rec)
            yield rec
            continue
        parsed += 1
        yield Record(number, None, obj)
    if bad and not parsed:
        raise DataFormatError(f"{path.name}: no line is valid JSON; expected JSON lines")


def iter_json_records(path: Path) -> Iterator[Record]:
    """Records of a JSON array file, or of a JSON-lines file (told apart by the first
    character: ``[`` for an array)."""
    text = read_text(path)
    if text.lstrip()[:1] == "[":
        return iter_json_list(path)
    return iter_json_lines(path)


# ------------------------------------------------------------------------------- rows


_MISSING = object()


class Row:
    """Typed access to the fields of one record; wrong or missing fields raise :class:`RowError`.

    Args:
        data: the record's value; must be a JSON object / CSV row (a mapping).
    """

    def __init__(self, data: Any) -> None:
        if not isinstance(data, Mapping):
            raise RowError(f"expected an object, got {type(data).__name__}")
        self.data = data

    def has(self, name: str) -> bool:
        """Whether the field is present and neither null nor blank text."""
        value = self.data.get(name)
        return value is not None and not (isinstance(value, str) and not value.strip())

    def raw(self, *names: str) -> Any:
        """The value of the first of ``names`` present (not null); raises when none is."""
        for name in names:
            value = self.data.get(name, _MISSING)
            if value is not _MISSING and value is not None:
                return value
        raise RowError(f"missing field {' / '.join(repr(n) for n in names)}")

    def text(self, *names: str, allow_empty: bool = False) -> str:
        """A text field (numbers are turned into their text: JSON ids are often ints)."""
        value = self.raw(*names)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise RowError(f"field {names[0]!r} must be text, got {type(value).__name__}")
        text = str(value).strip()
        if not text and not allow_empty:
            raise RowError(f"field {names[0]!r} is empty")
        return text

    def integer(self, *names: str) -> int:
        """An integer field (an int, or text holding one)."""
        value = self.raw(*names)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        raise RowError(f"field {names[0]!r} must be an integer, got {value!r}")

    def number(self, *names: str) -> float:
        """A finite number field (int, float, or text holding one)."""
        value = self.raw(*names)
        if isinstance(value, bool):
            raise RowError(f"field {names[0]!r} must be a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise RowError(f"field {names[0]!r} must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise RowError(f"field {names[0]!r} must be finite, got {value!r}")
        return number

    def rest(self, *used: str) -> dict[str, Any]:
        """The fields not in ``used`` (kept as ``extras``)."""
        return {k: v for k, v in self.data.items() if k not in used}


def describe_error(err: Exception) -> str:
    """A one-line reason for a row error (pydantic errors shortened to their first item)."""
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
        return f"{loc}: {msg}{more}" if loc else f"{msg}{more}"
    return str(err)


# --------------------------------------------------------------------------- collector


class Collector:
    """Accounting of one loader run: records seen, issues, warnings, ids handed out.

    Args:
        name: dataset name for the :class:`Benchmark`.
        source: the main annotation file (its name goes into the issues).
    """

    def __init__(self, name: str, source: Path) -> None:
        self.name = name
        self.source = Path(source).name
        self.records = 0
        self.issues: list[RowIssue] = []
        self.warnings: list[RowIssue] = []
        self._ids: dict[str, tuple[int, int]] = {}  # id -> (first line, occurrences)

    def skip(self, line: int, reason: str, key: str | None = None, source: str | None = None):
        """Record a row that is not loaded."""
        self.issues.append(
            RowIssue(source=source or self.source, line=line, key=key, reason=reason)
        )

    def warn(self, line: int, reason: str, key: str | None = None, source: str | None = None):
        """Record a change made to a row that is loaded."""
        self.warnings.append(
            RowIssue(source=source or self.source, line=line, key=key, reason=reason)
        )

    def unique_id(self, qid: str, line: int) -> str:
        """``qid``, or ``f"{qid}#{k}"`` for its k-th occurrence (k ≥ 2), with a warning.

        Benchmarks such as NExT-OE train reuse a ``video_qid`` for different questions;
        renaming keeps every question while keeping the ids unique.
        """
        first = self._ids.get(qid)
        if first is None:
            self._ids[qid] = (line, 1)
            return qid
        first_line, count = first
        count += 1
        self._ids[qid] = (first_line, count)
        new = f"{qid}#{count}"
        while new in self._ids:  # an id of that form already exists
            count += 1
            new = f"{qid}#{count}"
        self._ids[new] = (line, 1)
        self.warn(line, f"duplicate id {qid!r} (first on line {first_line}); renamed {new!r}", qid)
        return new

    def with_unique_id(self, sample: S, line: int) -> S:
        """``sample`` itself, or a copy whose ``qid`` is renamed by :meth:`unique_id`
        (with its warning) when the id was already handed out."""
        qid = self.unique_id(sample.qid, line)
        return sample if qid == sample.qid else sample.model_copy(update={"qid": qid})

    def build(
        self,
        records: Iterable[Record],
        build: Callable[[Record], T],
        *,
        source: str | None = None,
        key: Callable[[Any], str | None] | None = None,
        count_loaded: bool = True,
    ) -> list[T]:
        """Run ``build`` on each record; failures become issues. Returns the built samples.

        Args:
            records: the file's records.
            build: record → sample; raises :class:`RowError` or a pydantic
                ``ValidationError`` for a row that cannot load.
            source: file name for the issues (default: the collector's source).
            key: record value → id shown in the issue (default: a ``qid`` / ``id`` field).
            count_loaded: count the records that load in ``records`` (``False`` for a
                side file whose rows are joined into the main file's records: only its
                failed rows are records of their own).
        """
        out: list[T] = []
        for rec in records:
            self.records += 1
            if rec.error is not None:
                self.skip(rec.line, rec.error, rec.key, source)
                continue
            try:
                out.append(build(rec))
            except (RowError, ValidationError) as err:
                shown = rec.key or (key or guess_key)(rec.value)
                self.skip(rec.line, describe_error(err), shown, source)
                continue
            if not count_loaded:
                self.records -= 1
        return out

    def benchmark(
        self,
        samples: list[T],
        *,
        sample_type: type,
        split: str,
        videos: VideoIndex,
        meta: dict[str, Any] | None = None,
    ) -> Benchmark:
        """The ``Benchmark[sample_type]`` of this run (samples, issues, warnings, counts)."""
        return Benchmark[sample_type](
            name=self.name,
            split=split,
            samples=samples,
            videos=videos,
            issues=self.issues,
            warnings=self.warnings,
            records=self.records,
            meta=meta or {},
        )


def guess_key(value: Any) -> str | None:
    """The id of a raw record (its ``qid`` / ``question_id`` / ``id`` / ``video_id`` /
    ``vid`` field), for issue reports; ``None`` when it has none."""
    if isinstance(value, Mapping):
        for name in ("qid", "question_id", "id", "video_id", "vid"):
            if isinstance(value.get(name), str | int) and not isinstance(value.get(name), bool):
                return str(value[name])
    return None


def split_name(path: Path, split: str | None) -> str:
    """The given split name, else the annotation file's stem (``val.csv`` → ``"val"``)."""
    return split if split else Path(path).name.split(".")[0]


# ----------------------------------------------------------------------------- videos


def read_video_mapping(path: Path, *, id_column: int = 0) -> dict[str, str]:
    """Read a video id → relative path mapping.

    Accepted: a JSON object ``{video_id: relative_path}`` (e.g. NExT-QA's
    ``map_vid_vidorID.json``: ``{"4010069381": "1010/4010069381"}``), or a text file of
    two whitespace-separated columns per line (``#`` comments and blank lines ignored);
    ``id_column`` says which column holds the id.

    Raises:
        AnnotationNotFoundError, DataFormatError: missing file or malformed line.
    """
    text = read_text(path)
    if text.lstrip()[:1] == "{":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataFormatError(f"{path.name}:{err.lineno}: broken JSON: {err.msg}") from None
        return {str(k): str(v) for k, v in data.items()}
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise DataFormatError(f"{path.name}:{number}: expected 2 columns, got {len(parts)}")
        mapping[parts[id_column]] = parts[1 - id_column]
    return mapping


def video_path(video_id: str, pattern: str, mapping: Mapping[str, str] | None = None) -> Path:
    """Relative path of a video: ``pattern.format(video_id=name)`` where ``name`` is the
    mapped name (or the id). A name that already ends in a video suffix is used as is."""
    name = mapping.get(video_id, video_id) if mapping else video_id
    if Path(name).suffix.lower() in VIDEO_SUFFIXES:
        return Path(name)
    return Path(pattern.format(video_id=name))


def video_index(
    video_ids: Iterable[str],
    *,
    video_root: Path | None,
    pattern: str,
    mapping: Mapping[str, str] | None = None,
    durations: Mapping[str, float] | None = None,
) -> VideoIndex:
    """Index the videos: id → ``video_root / relative path`` (relative path alone without
    a root), with the duration in seconds when known. Never touches the disk."""
    entries: dict[str, VideoEntry] = {}
    for vid in video_ids:
        if vid in entries:
            continue
        rel = video_path(vid, pattern, mapping)
        path = Path(video_root) / rel if video_root is not None else rel
        duration = durations.get(vid) if durations else None
        entries[vid] = VideoEntry(video_id=vid, path=path, duration=duration)
    return VideoIndex(entries=entries)


def load_mapping_option(mapping: Path | Mapping[str, str] | None) -> dict[str, str] | None:
    """A mapping given as a file path (see :func:`read_video_mapping`) or a dict."""
    if mapping is None:
        return None
    if isinstance(mapping, Mapping):
        return {str(k): str(v) for k, v in mapping.items()}
    return read_video_mapping(Path(mapping))


def check_mapping(
    video_ids: Iterable[str], mapping: Mapping[str, str] | None, collector: Collector
) -> None:
    """Warn (line 1 of the annotations) about videos absent from a given mapping."""
    if not mapping:
        return
    absent = sorted({v for v in video_ids if v not in mapping})
    if absent:
        shown = ", ".join(absent[:5]) + (" …" if len(absent) > 5 else "")
        collector.warn(
            1, f"{len(absent)} video id(s) not in the mapping, paths use the id: {shown}"
        )


def sample_video_id(sample: Any) -> str:
    """The video id of a QA, moment or quality sample."""
    return sample.vid if hasattr(sample, "vid") else sample.video_id


def finish(
    collector: Collector,
    samples: list[T],
    *,
    sample_type: type,
    annotations: Path,
    split: str | None,
    video_root: Path | str | None,
    mapping: Path | str | Mapping[str, str] | None,
    pattern: str,
    durations: Mapping[str, float] | None = None,
    meta: dict[str, Any] | None = None,
) -> Benchmark:
    """Index the samples' videos (warning about ids a given mapping lacks) and return the
    collector's :class:`Benchmark`; ``meta`` gets the annotation file name as ``source``."""
    video_map = load_mapping_option(Path(mapping) if isinstance(mapping, str) else mapping)
    ids = [sample_video_id(s) for s in samples]
    check_mapping(ids, video_map, collector)
    videos = video_index(
        ids,
        video_root=Path(video_root) if video_root is not None else None,
        pattern=pattern,
        mapping=video_map,
        durations=durations,
    )
    return collector.benchmark(
        samples,
        sample_type=sample_type,
        split=split_name(annotations, split),
        videos=videos,
        meta={"source": Path(annotations).name, **(meta or {})},
    )


def load_benchmark(
    name: str,
    annotations: Path,
    records: Iterable[Record],
    build: Callable[[Record, Collector], T],
    *,
    sample_type: type,
    pattern: str,
    split: str | None,
    video_root: Path | str | None,
    mapping: Path | str | Mapping[str, str] | None,
    key: Callable[[Any], str | None] | None = None,
    durations: Mapping[str, float] | None = None,
    meta: dict[str, Any] | None = None,
) -> Benchmark:
    """One loader run: build a sample from each record, report the rows that fail, index
    the videos and return the :class:`Benchmark`.

    Args:
        name: dataset name recorded in the benchmark (and its :class:`Collector`).
        annotations: the annotation file ``records`` come from (its name is the issues'
            source and ``meta["source"]``; its stem the default split).
        records: the file's records, e.g. ``iter_json_list(annotations)``.
        build: ``(record, collector) → sample``; raises :class:`RowError` or a pydantic
            ``ValidationError`` for a row that cannot load (it becomes an issue), and may
            use the collector for warnings and :meth:`Collector.with_unique_id`.
        sample_type, pattern, split, video_root, mapping, durations, meta: as for
            :func:`finish`.
        key: record value → id shown in an issue (see :meth:`Collector.build`).

    Raises:
        AnnotationNotFoundError, DataFormatError: from reading ``records`` or ``mapping``.
    """
    collector = Collector(name, annotations)
    samples = collector.build(records, lambda rec: build(rec, collector), key=key)
    return finish(
        collector,
        samples,
        sample_type=sample_type,
        annotations=annotations,
        split=split,
        video_root=video_root,
        mapping=mapping,
        pattern=pattern,
        durations=durations,
        meta=meta,
    )
