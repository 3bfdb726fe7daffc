"""Row-level readers: line numbers, broken files, typed fields, ids, video paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from videoqa.data.readers import (
    AnnotationNotFoundError,
    Collector,
    Record,
    Row,
    RowError,
    iter_csv,
    iter_json_dict,
    iter_json_lines,
    iter_json_list,
    iter_json_records,
    load_benchmark,
    read_video_mapping,
    video_index,
    video_path,
)
from videoqa.data.schema import QASample
from videoqa.errors import DataFormatError


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_lines_count_quoted_newlines_and_skip_blank_lines(tmp_path):
    path = _write(tmp_path, "a.csv", 'x,y\n1,"two\nlines"\n\n3,4\n5\n')
    header, records = iter_csv(path)
    recs = list(records)
    assert header == ["x", "y"]
    assert [(r.line, r.value, r.error) for r in recs] == [
        (2, {"x": "1", "y": "two\nlines"}, None),
        (5, {"x": "3", "y": "4"}, None),
        (6, None, "1 fields, the header has 2"),
    ]


def test_csv_bom_and_errors(tmp_path):
    header, _ = iter_csv(_write(tmp_path, "b.csv", "\ufeffvideo,mos\n"))
    assert header == ["video", "mos"]
    with pytest.raises(DataFormatError, match="empty file"):
        iter_csv(_write(tmp_path, "e.csv", ""))
    with pytest.raises(DataFormatError, match="duplicate column"):
        iter_csv(_write(tmp_path, "d.csv", "a,a\n1,2\n"))
    with pytest.raises(AnnotationNotFoundError) as err:
        iter_csv(tmp_path / "missing.csv")
    assert isinstance(err.value, FileNotFoundError) and err.value.exit_code == 2
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"a\n\xe9\n")
    with pytest.raises(DataFormatError, match="not UTF-8"):
        iter_csv(latin)


def test_json_list_elements_get_their_start_line(tmp_path):
    text = '[\n  {"a": 1},\n\n  {"a": 2,\n   "b": [1,\n 2]},\n  3\n]\n'
    recs = list(iter_json_list(_write(tmp_path, "l.json", text)))
    assert [(r.line, r.value) for r in recs] == [(2, {"a": 1}), (4, {"a": 2, "b": [1, 2]}), (7, 3)]
    assert list(iter_json_list(_write(tmp_path, "empty.json", " [ ] "))) == []


def test_json_dict_keeps_repeated_keys(tmp_path):
    text = '{"k1": {"v": 1},\n "k2": 2,\n "k1": {"v": 3}}'
    recs = list(iter_json_dict(_write(tmp_path, "d.json", text)))
    assert [(r.line, r.key, r.value) for r in recs] == [
        (1, "k1", {"v": 1}),
        (2, "k2", 2),
        (3, "k1", {"v": 3}),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[\n {"a": 1},\n {"a": }\n]', r"b\.json:3:.*broken JSON"),
        ('[{"a": 1} {"a": 2}]', "broken JSON, expected one of"),
        ('[{"a": 1}] extra', "unexpected content after"),
        ('{"a": 1}', "expected a JSON array"),
        ("[1, 2", "end of file"),
    ],
)
def test_broken_json_documents_raise_with_line(tmp_path, text, message):
    with pytest.raises(DataFormatError, match=message):
        list(iter_json_list(_write(tmp_path, "b.json", text)))


def test_json_lines_report_bad_lines_and_reject_non_jsonl(tmp_path):
    recs = list(iter_json_lines(_write(tmp_path, "a.jsonl", '{"a": 1}\n\nnot json\n[2]\n')))
    assert [(r.line, r.value) for r in recs] == [(1, {"a": 1}), (3, None), (4, [2])]
    assert recs[1].error.startswith("not valid JSON")
    with pytest.raises(DataFormatError, match="no line is valid JSON"):
        list(iter_json_lines(_write(tmp_path, "b.jsonl", '{\n  "a": 1\n}\n')))


def test_json_records_tell_arrays_from_lines(tmp_path):
    arr = list(iter_json_records(_write(tmp_path, "a.json", '[{"q": 1},\n {"q": 2}]')))
    lines = list(iter_json_records(_write(tmp_path, "a.jsonl", '{"q": 1}\n{"q": 2}\n')))
    assert [r.value for r in arr] == [r.value for r in lines] == [{"q": 1}, {"q": 2}]
    assert [r.line for r in arr] == [r.line for r in lines] == [1, 2]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.text(min_size=1, max_size=5),
            st.one_of(st.integers(), st.text(max_size=8), st.lists(st.booleans(), max_size=3)),
            max_size=4,
        ),
        max_size=6,
    ),
    st.sampled_from([None, 1, 4]),
)
def test_json_list_round_trip(tmp_path_factory, items, indent):
    path = tmp_path_factory.mktemp("rt") / "x.json"
    text = json.dumps(items, indent=indent)
    path.write_text(text, encoding="utf-8")
    recs = list(iter_json_list(path))
    assert [r.value for r in recs] == items
    lines = [r.line for r in recs]
    assert lines == sorted(lines) and all(1 <= n <= text.count("\n") + 1 for n in lines)
    if indent is None:
        assert set(lines) <= {1}


def test_row_typed_fields():
    row = Row({"n": "12", "i": 3, "b": True, "f": "2.5", "nan": "nan", "t": 7, "e": " "})
    assert row.integer("n") == 12 and row.integer("i") == 3
    assert row.number("f") == 2.5 and row.text("t") == "7"
    assert row.text("missing", "t") == "7" and row.has("n") and not row.has("e")
    for call, name in [(row.integer, "b"), (row.integer, "f"), (row.number, "b")]:
        with pytest.raises(RowError):
            call(name)
    with pytest.raises(RowError, match="must be finite"):
        row.number("nan")
    with pytest.raises(RowError, match="is empty"):
        row.text("e")
    with pytest.raises(RowError, match="missing field 'x' / 'y'"):
        row.raw("x", "y")
    with pytest.raises(RowError, match="expected an object"):
        Row([1, 2])
    assert row.rest("n", "i", "b", "f", "nan") == {"t": 7, "e": " "}


def test_unique_ids_rename_repeats_with_warnings(tmp_path):
    col = Collector("x", tmp_path / "f.csv")
    got = [
        col.unique_id(q, line) for q, line in [("a", 2), ("b", 3), ("a", 4), ("a#3", 5), ("a", 6)]
    ]
    assert got == ["a", "b", "a#2", "a#3", "a#4"]
    assert [(w.line, w.key) for w in col.warnings] == [(4, "a"), (6, "a")]
    assert "first on line 2" in col.warnings[0].reason and col.warnings[0].source == "f.csv"


def test_with_unique_id_renames_a_copy_only_for_repeats(tmp_path):
    col = Collector("x", tmp_path / "f.json")
    first = QASample(qid="q", video_id="v", question="?", answer="a")
    again = QASample(qid="q", video_id="w", question="?", answer="b")
    assert col.with_unique_id(first, 2) is first
    renamed = col.with_unique_id(again, 7)
    assert (renamed.qid, renamed.video_id, again.qid) == ("q#2", "w", "q")
    assert [(w.line, w.key) for w in col.warnings] == [(7, "q")]


def test_load_benchmark_accounts_for_every_record(tmp_path):
    path = _write(
        tmp_path, "val.json", '[{"id": "a", "v": "x"},\n{"id": "a", "v": "y"},\n7,\n{"v": "z"}]'
    )

    def build(rec: Record, collector: Collector) -> QASample:
        row = Row(rec.value)
        sample = QASample(qid=row.text("id"), video_id=row.text("v"), question="?", answer="n")
        return collector.with_unique_id(sample, rec.line)

    bench = load_benchmark(
        "toy",
        path,
        iter_json_list(path),
        build,
        sample_type=QASample,
        pattern="{video_id}.avi",
        split=None,
        video_root=tmp_path,
        mapping={"x": "clips/x"},
        meta={"k": 1},
    )
    assert (bench.name, bench.split, bench.records) == ("toy", "val", 4)
    assert bench.ids == ["a", "a#2"]
    assert [(i.line, i.key, i.source) for i in bench.issues] == [
        (3, None, "val.json"),
        (4, None, "val.json"),
    ]
    assert bench.issues[1].reason == "missing field 'id'"
    # line 2's renamed id, then line 1 of the mapping warning for video "y"
    assert [(w.line, w.key) for w in bench.warnings] == [(2, "a"), (1, None)]
    assert bench.videos["x"].path == tmp_path / "clips" / "x.avi"
    assert bench.meta == {"source": "val.json", "k": 1}


def test_video_paths_patterns_and_mappings(tmp_path):
    assert video_path("123", "{video_id}.mp4") == Path("123.mp4")
    assert video_path("vid1", "{video_id}.avi", {"vid1": "-4ws_5_15"}) == Path("-4ws_5_15.avi")
    assert video_path("a", "{video_id}.mp4", {"a": "dir/clip.webm"}) == Path("dir/clip.webm")
    assert video_path("NUs_210.0_360.0", "{video_id}.mp4") == Path("NUs_210.0_360.0.mp4")
    index = video_index(["a", "b", "a"], video_root=tmp_path, pattern="v_{video_id}.mp4")
    assert list(index.entries) == ["a", "b"] and index["b"].path == tmp_path / "v_b.mp4"
    assert not index["a"].path.exists()  # indexing never checks the disk


def test_read_video_mapping_json_and_text(tmp_path):
    assert read_video_mapping(_write(tmp_path, "m.json", '{"1": "10/1"}')) == {"1": "10/1"}
    text = "# id path\nvidA  dir/a\n\nvidB dir/b\n"
    assert read_video_mapping(_write(tmp_path, "m.txt", text)) == {
        "vidA": "dir/a",
        "vidB": "dir/b",
    }
    assert read_video_mapping(_write(tmp_path, "r.txt", "name vid1\n"), id_column=1) == {
        "vid1": "name"
    }
    with pytest.raises(DataFormatError, match=r"bad\.txt:2: expected 2 columns"):
        read_video_mapping(_write(tmp_path, "bad.txt", "a b\na b c\n"))
