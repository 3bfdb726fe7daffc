"""Stage 2 and 3 with the shipped model on the real carphone pair."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from videoqa.perception.quality.answer import answer_from_report, answer_quality_question
from videoqa.perception.quality.assess import plot_timeline, report_from_features
from videoqa.perception.quality.model import CLASS_NAMES, DIMENSIONS, load_default_model


@pytest.fixture(scope="module")
def pristine_report(pristine_features):
    return report_from_features(pristine_features)


@pytest.fixture(scope="module")
def distorted_report(distorted_features):
    return report_from_features(distorted_features)


def test_shipped_model_matches_the_features():
    from videoqa.perception.quality.features import unit_feature_names

    model = load_default_model()
    assert model.feature_names == tuple(unit_feature_names())
    cv = model.report["cross_validation"]
    assert cv["accuracy"] > 0.5  # held-out sources, 10 classes


def test_pristine_carphone_scores_above_its_compressed_twin(pristine_report, distorted_report):
    assert pristine_report.score > distorted_report.score + 0.5
    assert distorted_report.main_distortion == "compression"
    assert (
        distorted_report.dimension("compression").score
        < pristine_report.dimension("compression").score
    )


def test_report_is_consistent(distorted_report):
    r = distorted_report
    assert len(r.seconds) == 4
    assert sum(r.distortions.values()) == pytest.approx(1.0)
    assert set(r.distortions) == set(CLASS_NAMES)
    assert [d.name for d in r.dimensions] == list(DIMENSIONS)
    assert r.score == pytest.approx(np.mean([s.score for s in r.seconds]))
    for s in r.seconds:
        assert 1.0 <= s.score <= 5.0
        assert sum(s.probabilities.values()) == pytest.approx(1.0)
        assert s.probability == max(s.probabilities.values())
    assert r.label in ("bad", "poor", "fair", "good", "excellent")


def test_questions_about_the_distorted_video(distorted_report):
    main = answer_from_report(distorted_report, "what distortion is most visible?")
    assert main.answer == "compression artifacts"
    assert len(main.evidence) == 3 and all(0 <= e.time < 4.0 for e in main.evidence)
    blocky = answer_from_report(distorted_report, "are there compression artifacts?", ["yes", "no"])
    assert blocky.answer == "yes" and blocky.probabilities[0] > 0.5


def test_timeline_png(distorted_report, tmp_path):
    out = plot_timeline(distorted_report, tmp_path / "t.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_answer_quality_question_end_to_end(carphone_distorted):
    ans = answer_quality_question(
        carphone_distorted, "rate the overall quality", ["excellent", "good", "fair", "poor", "bad"]
    )
    assert ans.answer in ans.choices
    assert len(ans.probabilities) == 5 and sum(ans.probabilities) == pytest.approx(1.0)


def test_cli_quality_json_and_plot(carphone_distorted, tmp_path):
    from videoqa.cli.main import app

    png = tmp_path / "timeline.png"
    result = CliRunner().invoke(
        app, ["quality", "assess", str(carphone_distorted), "--json", "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["main_distortion"] == "compression"
    assert len(report["seconds"]) == 4
    assert png.is_file()


def test_cli_quality_table_and_errors(carphone_pristine, tmp_path):
    from videoqa.cli.main import app

    runner = CliRunner()
    ok = runner.invoke(app, ["quality", "assess", str(carphone_pristine)])
    assert ok.exit_code == 0 and "per second" in ok.output
    missing = runner.invoke(app, ["quality", "assess", str(tmp_path / "none.mp4")])
    assert missing.exit_code == 3
    bad_model = runner.invoke(
        app, ["quality", "assess", str(carphone_pristine), "--model", str(tmp_path / "m.st")]
    )
    assert bad_model.exit_code == 4


@pytest.mark.slow  # three feature extractions and a least-squares fit
def test_cli_mos_refit(
    carphone_pristine, carphone_distorted, pristine_features, distorted_features, tmp_path
):
    from videoqa.cli.main import app
    from videoqa.perception.quality.model import QualityModel

    table = tmp_path / "mos.csv"
    table.write_text(
        f"video,mos\n{carphone_pristine.name},80\n{carphone_distorted.name},20\n"
        f"{carphone_pristine.name},75\n"
    )
    out = tmp_path / "fitted"
    args = ["quality", "fit-mos", "--mos-csv", str(table), "--out", str(out)]
    result = CliRunner().invoke(
        app, [*args, "--video-root", str(carphone_pristine.parent), "--mos-range", "0", "100"]
    )
    assert result.exit_code == 0, result.output
    fitted = QualityModel.load(out)
    assert fitted.report["mos_fit"]["videos"] == 3
    pristine = fitted.predict(pristine_features.matrix())
    distorted = fitted.predict(distorted_features.matrix())
    assert pristine.scores[:, 0].mean() > distorted.scores[:, 0].mean()
    bad = tmp_path / "bad.csv"
    bad.write_text("file,score\na.mp4,3\n")
    result = CliRunner().invoke(
        app, ["quality", "fit-mos", "--mos-csv", str(bad), "--out", str(out)]
    )
    assert result.exit_code == 2


def test_ask_result_says_when_the_choices_do_not_map(carphone_distorted):
    from videoqa.pipelines.router import answer_quality

    run = answer_quality(carphone_distorted, "is the video blurry?", ["a red car", "a blue car"])
    assert run.result.route == "quality" and run.result.uncertain
    assert "none of the choices" in run.result.uncertain_reason
    clear = answer_quality(
        carphone_distorted, "are there compression artifacts?", ["blocky", "clean"]
    )
    assert clear.result.answer == "blocky" and not clear.result.uncertain
    assert clear.result.probabilities[0] > 0.5


def test_shipped_overall_score_follows_its_dimensions():
    model = load_default_model()
    if not model.has_combiner:
        pytest.skip("the shipped model has no monotone combiner")
    rng = np.random.default_rng(0)
    dims = rng.uniform(1, 5, (200, len(DIMENSIONS)))
    from videoqa.perception.quality.model import combine_dimensions

    base = combine_dimensions(dims, model.combine_w, model.iso_x, model.iso_y)
    worse = dims.copy()
    worse[:, 0] -= rng.uniform(0, 1, 200)  # less sharpness
    assert np.all(combine_dimensions(worse, model.combine_w, model.iso_x, model.iso_y) <= base)
