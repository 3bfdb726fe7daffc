"""The validity checks of the benchmark: oracle on causal frames answers everything,
oracle without them fails temporal/causal questions, a blind model stays at chance."""

from __future__ import annotations

import pytest

from videoqa.synth.blind import BlindBaseline
from videoqa.synth.oracle import View, oracle_accuracy, oracle_choice


@pytest.fixture(scope="module")
def scored(validity_data):
    samples = [s for split in ("train", "test") for s in validity_data.qa[split]]
    samples += [s for s in validity_data.frame_qa["train"]]
    return {v: oracle_accuracy(samples, validity_data.graphs, v) for v in View}


def test_oracle_on_causal_frames_answers_everything(scored):
    assert scored[View.CAUSAL].count["all"] > 2500
    assert scored[View.CAUSAL].accuracy["all"] == 1.0
    # video questions refer to objects unambiguously over the whole video; image
    # questions only within their frame
    every = scored[View.ALL].accuracy
    assert all(every[q] == 1.0 for q in every if q[0] != "F" and q != "all")
    assert scored[View.CAUSAL].abstained["all"] == 0.0


def test_oracle_without_causal_frames_fails_temporal_and_causal(scored):
    comp = scored[View.COMPLEMENT]
    for qtype in ("TP", "TN", "TW", "CW", "CO"):
        assert comp.accuracy[qtype] <= 0.3, (qtype, comp.accuracy[qtype])
    # descriptive attributes never change, so other frames still answer them
    assert comp.accuracy["DA"] == 1.0


def test_oracle_abstains_on_a_frame_that_misses_the_object(validity_data):
    sample = next(s for s in validity_data.qa["test"] if s.qtype == "RS")
    graph = validity_data.graphs[sample.video_id]
    k = sample.extras["causal_frames"][0]
    assert oracle_choice(sample, graph, [k]) == sample.answer
    assert oracle_choice(sample, graph, [f for f in range(graph.num_frames) if f != k]) is None


def test_blind_baseline_stays_at_chance(validity_data):
    train, test = validity_data.qa["train"], validity_data.qa["test"]
    assert len(train) > 1200 and len(test) > 700
    model = BlindBaseline(steps=100).fit(train)
    # it does learn something about the training questions (it is not a dummy) ...
    assert model.accuracy(train)["all"] > 0.3
    # ... but none of it transfers to test questions
    chance = sum(1 / len(s.choices) for s in test) / len(test)
    assert chance == pytest.approx(0.2)
    assert abs(model.accuracy(test)["all"] - chance) <= 0.05
