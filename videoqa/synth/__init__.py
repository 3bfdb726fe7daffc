"""A procedural fine-grained VideoQA benchmark with ground-truth scene graphs, events and
causal frames (in the spirit of CLEVRER, Yi et al., ICLR 2020, and MOMA-QA, Luo et al.).

Python API (the ``videoqa synth`` command calls :func:`generate_dataset`)::

    from videoqa.synth import SynthConfig, generate_dataset, generate_annotations

    generate_dataset("data/synth", SynthConfig(videos=1000, seed=0), workers=2)
    data = generate_annotations(SynthConfig(videos=200, seed=1))   # in memory, no video
    data.qa["test"][0], data.graphs["test_00000"]

Modules: :mod:`~videoqa.synth.simulate` (physics and events), :mod:`~videoqa.synth.render`
and :mod:`~videoqa.synth.encode` (pixels, H.264), :mod:`~videoqa.synth.scene_graph`
(ground truth), :mod:`~videoqa.synth.questions` / :mod:`~videoqa.synth.frame_questions`
(templates), :mod:`~videoqa.synth.balance` (answer balancing), :mod:`~videoqa.synth.oracle`
and :mod:`~videoqa.synth.blind` (validity diagnostics), :mod:`~videoqa.synth.generate`.
"""

from videoqa.synth.blind import BlindBaseline
from videoqa.synth.config import GENERATOR_VERSION, SPLITS, SynthConfig
from videoqa.synth.generate import (
    GenerationReport,
    SynthDataset,
    generate_annotations,
    generate_dataset,
)
from videoqa.synth.oracle import View, oracle_accuracy, oracle_choice
from videoqa.synth.render import render_video
from videoqa.synth.scene_graph import Event, FrameGraph, ObjectState, SceneGraph
from videoqa.synth.simulate import simulate

__all__ = [
    "GENERATOR_VERSION",
    "SPLITS",
    "BlindBaseline",
    "Event",
    "FrameGraph",
    "GenerationReport",
    "ObjectState",
    "SceneGraph",
    "SynthConfig",
    "SynthDataset",
    "View",
    "generate_annotations",
    "generate_dataset",
    "oracle_accuracy",
    "oracle_choice",
    "render_video",
    "simulate",
]
