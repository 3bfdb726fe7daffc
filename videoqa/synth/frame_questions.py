"""Frame-level (image) questions derived from the scene graph of a single frame.

They train an image-QA teacher and pretrain scene-graph predictors: every question is
answerable from one frame, whose index is the question's only causal frame. Types:
``FA`` attribute, ``FC`` count, ``FE`` existence, ``FR`` spatial relation — the
single-image question families of CLEVR (Johnson et al., CVPR 2017, §3) and GQA (Hudson &
Manning, CVPR 2019, §3).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from videoqa.synth.programs import (
    RELATION_ANSWERS,
    AttributeQuery,
    CountQuery,
    ExistQuery,
    ObjectRef,
    Program,
    RelationQuery,
)
from videoqa.synth.questions import (
    REF_ATTRIBUTES,
    Candidate,
    VideoContext,
    compatible_values,
    frame_counts,
    pick_present,
    shortest_ref,
    unclipped,
)
from videoqa.synth.scene_graph import FrameGraph, ObjectState, SceneGraph
from videoqa.synth.vocab import CompositionRule


def frame_ref(
    fg: FrameGraph, target: ObjectState, rng: np.random.Generator, exclude: tuple[str, ...] = ()
) -> ObjectRef | None:
    """A shortest reference to ``target`` that fits no other object of this frame."""
    usable = [a for a in REF_ATTRIBUTES if a not in exclude]
    values = {a: target.attribute(a) for a in usable}
    others = [{a: (o.attribute(a),) for a in usable} for o in fg.objects if o.id != target.id]
    return shortest_ref(values, others, usable, rng)


def _frame_attributes(ctx: VideoContext, fg: FrameGraph) -> list[Candidate]:
    """FA: colour / shape of an object fully inside the frame."""
    out = []
    for obj in fg.objects:
        if not unclipped(obj, ctx.graph.width):
            continue
        for attr in ("color", "shape"):
            ref = frame_ref(fg, obj, ctx.rng, exclude=(attr,))
            if ref is None:
                continue
            wrong = compatible_values(ctx.rule, ref, attr)
            program = AttributeQuery(target=ref, attribute=attr)
            q = f"What {attr} is {ref.phrase()}?"
            answer = obj.attribute(attr)
            out.append(_at(ctx, fg, "FA", f"FA:{attr}", q, answer, wrong, program, [obj.id]))
    return out


def _frame_counts(ctx: VideoContext, fg: FrameGraph) -> list[Candidate]:
    """FC: how many (small / large / matte / metal / striped) objects."""
    out = []
    for group, ref, ids, choices in frame_counts(fg):
        q = f"How many {ref.filter_phrase()} are there?"
        program = CountQuery(filter=ref, frame=fg.index)
        out.append(_at(ctx, fg, "FC", f"FC:{group}", q, str(len(ids)), choices, program, ids))
    return out


def _frame_exist_and_relations(ctx: VideoContext, fg: FrameGraph) -> list[Candidate]:
    """FE: which colour–shape combination is in the image; FR: where A is relative to B."""
    out = []
    found = pick_present(fg, ctx.rule, ctx.rng)
    if found is not None:
        q = "Which of these objects is in the image?"
        program = ExistQuery(frame=fg.index)
        answer, oid, wrong = found
        out.append(_at(ctx, fg, "FE", "FE", q, answer, wrong, program, [oid]))
    refs = {o.id: frame_ref(fg, o, ctx.rng) for o in fg.objects}
    for a, b in itertools.permutations(fg.objects, 2):
        preds = fg.predicates(a.id, b.id) & RELATION_ANSWERS.keys()
        ra, rb = refs[a.id], refs[b.id]
        if len(preds) == 1 and ra is not None and rb is not None:
            q = f"Where is {ra.phrase()} relative to {rb.phrase()}?"
            program = RelationQuery(subject=ra, reference=rb, frame=fg.index)
            answer = RELATION_ANSWERS[preds.pop()]
            wrong = RELATION_ANSWERS.values()
            out.append(_at(ctx, fg, "FR", "FR", q, answer, wrong, program, [a.id, b.id]))
    return out


def _at(
    ctx: VideoContext,
    fg: FrameGraph,
    qtype: str,
    group: str,
    question: str,
    answer: str,
    wrong: Iterable[str],
    program: Program,
    ids: Iterable[int],
) -> Candidate:
    span = (fg.index, fg.index)
    cand = ctx.candidate(qtype, group, question, answer, wrong, program, span, ids)
    return replace(cand, frame=fg.index)


def frame_candidates(
    graph: SceneGraph, rule: CompositionRule, rng: np.random.Generator, frames: int = 3
) -> list[Candidate]:
    """Candidate image questions about ``frames`` random frames of a video (plus the key
    frames of its collisions, where objects touch).

    Returns:
        Candidates with ``frame`` set and ``causal_frames == (frame,)``.
    """
    ctx = VideoContext(graph, rule, rng)
    chosen = set(ctx.sample_frames(frames))
    chosen |= {ev.frame for ev in graph.events if ev.type == "collision"}
    out: list[Candidate] = []
    for k in sorted(chosen):
        fg = ctx.by_frame[k]
        out += _frame_attributes(ctx, fg) + _frame_counts(ctx, fg)
        out += _frame_exist_and_relations(ctx, fg)
    return out
