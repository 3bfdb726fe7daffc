"""STAR loader: choices ordered by id, answers matched to choices, spans kept."""

from __future__ import annotations

import json

from videoqa.data import load_dataset


def test_star_golden_sample(fixtures):
    bench = load_dataset("star", fixtures / "star" / "STAR_val.json")
    assert bench.records == 4 and bench.ids == ["Interaction_T1_13", "Prediction_T4_7"]
    first = bench.samples[0]
    assert first.choices == ("The clothes.", "The closet/cabinet.", "The table.", "The blanket.")
    assert first.answer == 0 and first.answer_text == "The clothes."
    assert first.qtype == "Interaction" and first.extras["template"] == "T1"
    assert first.interval == (11.1, 19.6) and first.video_id == "6H78U"
    assert first.extras["choice_programs"][0] == [{"function": "Equal"}]
    assert set(first.extras["situations"]) == {"000199"}
    assert first.extras["question_program"] == [{"function": "Situations", "value_input": []}]
    assert bench.samples[1].answer == 1
    assert [(i.line, i.key) for i in bench.issues] == [
        (18, "Sequence_T3_40"),
        (48, "Feasibility_T5_2"),
    ]
    assert bench.issues[0].reason == "answer 'Ate the sandwich.' is not among the choices"
    assert "interval end before start" in bench.issues[1].reason
    assert list(bench.videos.entries) == ["6H78U", "XYZ99"]


def test_star_unlabelled_and_bad_choice_ids(tmp_path):
    rows = [
        {
            "question_id": "Interaction_T1_1",
            "question": "q?",
            "video_id": "V",
            "start": 0,
            "end": 1,
            "choices": [{"choice_id": 0, "choice": "a"}, {"choice_id": 1, "choice": "b"}],
        },
        {
            "question_id": "Interaction_T1_2",
            "question": "q?",
            "video_id": "V",
            "start": 0,
            "end": 1,
            "answer": "a",
            "choices": [{"choice_id": 0, "choice": "a"}, {"choice_id": 5, "choice": "b"}],
        },
    ]
    path = tmp_path / "STAR_test.json"
    path.write_text(json.dumps(rows))
    bench = load_dataset("star", path)
    assert len(bench) == 0 and bench.records == 2
    assert [i.reason for i in bench.issues] == [
        "no answer (unlabelled split?)",
        "choice ids [0, 5] are not 0..1",
    ]
