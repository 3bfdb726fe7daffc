"""An oracle that answers the synthetic questions by executing their programs on the
ground-truth scene graph — all of it, or a view restricted to some frames.

It is a validity check of the benchmark (the "does localization matter" diagnostic of
NExT-GQA, Xiao et al., CVPR 2024, §3, in executable form): restricted to each question's
causal frames the oracle must answer every question; restricted to the other frames it
should fail the temporal and causal questions, which only the causal moments answer.
The oracle reads only the serialised scene graph (frames, relations, events), never the
generator's internal state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from videoqa.data.schema import QASample
from videoqa.synth.programs import (
    COLLISION_ANSWER,
    EVENT_ANSWERS,
    RELATION_ANSWERS,
    WALL_ANSWERS,
    AttributeQuery,
    ColliderQuery,
    CountQuery,
    EventOrderQuery,
    EventPattern,
    ExistQuery,
    ObjectRef,
    Program,
    RelationQuery,
    WhenQuery,
    WhyQuery,
    parse_program,
)
from videoqa.synth.scene_graph import Event, SceneGraph


class View(str, Enum):
    """Which frames the oracle may look at."""

    ALL = "all"
    CAUSAL = "causal"
    COMPLEMENT = "complement"


def resolve(ref: ObjectRef, view: SceneGraph) -> int | None:
    """The one object of the view that fits ``ref`` in some visible frame, else ``None``."""
    ids = {o.id for fg in view.frames for o in fg.objects if ref.matches_state(o)}
    return ids.pop() if len(ids) == 1 else None


def _state(view: SceneGraph, oid: int, frame: int | None = None):
    for fg in view.frames:
        if frame is None or fg.index == frame:
            state = fg.object(oid)
            if state is not None:
                return state
    return None


def _fits(pat: EventPattern, ev: Event, subject: int, view: SceneGraph) -> bool:
    if ev.type != pat.type or ev.wall != pat.wall or ev.new != pat.new:
        return False
    return ev.type != "collision" or resolve(pat.other, view) == ev.other(subject)


def _subject_events(view: SceneGraph, subject: int) -> list[Event]:
    return sorted((e for e in view.events if e.involves(subject)), key=lambda e: e.frame)


def _event_order(p: EventOrderQuery, view: SceneGraph) -> str | None:
    s = resolve(p.subject, view)
    if s is None:
        return None
    evs = _subject_events(view, s)
    anchors = [e for e in evs if _fits(p.anchor, e, s, view)]
    if len(anchors) != 1:
        return None
    key = anchors[0].frame
    side = [e for e in evs if (e.frame < key if p.direction == "before" else e.frame > key)]
    if not side:
        return None
    edge = side[-1].frame if p.direction == "before" else side[0].frame
    nearest = [e for e in side if e.frame == edge]
    return EVENT_ANSWERS[nearest[0].type] if len(nearest) == 1 else None


def _when(p: WhenQuery, view: SceneGraph) -> str | None:
    s = resolve(p.subject, view)
    if s is None:
        return None
    hits = [e for e in _subject_events(view, s) if _fits(p.event, e, s, view)]
    if len(hits) != 1:
        return None
    for (start, end), label in zip(p.segments, p.labels, strict=True):
        if start <= hits[0].frame < end:
            return label
    return None


def _at_frame(view: SceneGraph, ref: ObjectRef, frame: int, types: tuple[str, ...]):
    s = resolve(ref, view)
    if s is None:
        return None, []
    return s, [e for e in view.events if e.involves(s) and e.frame == frame and e.type in types]


def _why(p: WhyQuery, view: SceneGraph) -> str | None:
    _, hits = _at_frame(view, p.subject, p.frame, ("bounce", "collision"))
    if len(hits) != 1:
        return None
    return WALL_ANSWERS[hits[0].wall] if hits[0].type == "bounce" else COLLISION_ANSWER


def _collider(p: ColliderQuery, view: SceneGraph) -> str | None:
    s, hits = _at_frame(view, p.subject, p.frame, ("collision",))
    if len(hits) != 1:
        return None
    state = _state(view, hits[0].other(s), p.frame)
    return state.attribute(p.attribute) if state is not None else None


def _frame_answer(p: Program, view: SceneGraph, choices: tuple[str, ...]) -> str | None:
    fg = view.frame(p.frame)
    if fg is None:
        return None
    if isinstance(p, CountQuery):
        return str(sum(p.filter.matches_state(o) for o in fg.objects))
    if isinstance(p, ExistQuery):
        present = {f"{o.color} {o.shape}" for o in fg.objects}
        hits = [c for c in choices if c in present]
        return hits[0] if len(hits) == 1 else None
    a, b = resolve(p.subject, view), resolve(p.reference, view)
    if a is None or b is None:
        return None
    preds = fg.predicates(a, b) & RELATION_ANSWERS.keys()
    return RELATION_ANSWERS[preds.pop()] if len(preds) == 1 else None


def answer_text(program: Program, view: SceneGraph, choices: tuple[str, ...]) -> str | None:
    """The answer the view supports, ``None`` when it does not determine one."""
    if isinstance(program, AttributeQuery):
        oid = resolve(program.target, view)
        state = _state(view, oid) if oid is not None else None
        return state.attribute(program.attribute) if state is not None else None
    if isinstance(program, CountQuery | ExistQuery | RelationQuery):
        return _frame_answer(program, view, choices)
    if isinstance(program, EventOrderQuery):
        return _event_order(program, view)
    if isinstance(program, WhenQuery):
        return _when(program, view)
    if isinstance(program, WhyQuery):
        return _why(program, view)
    return _collider(program, view)


def view_frames(sample: QASample, graph: SceneGraph, view: View) -> set[int]:
    """Frames of ``view`` for a question: all, its causal frames, or all but those."""
    every = {fg.index for fg in graph.frames}
    causal = set(sample.extras["causal_frames"])
    if view is View.ALL:
        return every
    return causal if view is View.CAUSAL else every - causal


def oracle_choice(sample: QASample, graph: SceneGraph, frames: Iterable[int]) -> int | None:
    """Index of the choice the oracle picks looking only at ``frames``; ``None`` when
    those frames do not determine the answer (or it is not among the choices).

    Raises:
        KeyError: the sample has no ``program`` in its extras.
        pydantic.ValidationError: the program is malformed.
    """
    program = parse_program(sample.extras["program"])
    text = answer_text(program, graph.restrict(frames), sample.choices or ())
    if text is None or sample.choices is None or text not in sample.choices:
        return None
    return sample.choices.index(text)


@dataclass(frozen=True)
class OracleScore:
    """Oracle results per question type.

    Attributes:
        accuracy: qtype (and ``"all"``) → accuracy, abstentions counted as a uniform guess
            (``1 / number of choices``).
        abstained: qtype (and ``"all"``) → share of questions the view could not answer.
        count: qtype (and ``"all"``) → number of questions.
    """

    accuracy: dict[str, float]
    abstained: dict[str, float]
    count: dict[str, int]


def oracle_accuracy(
    samples: Iterable[QASample], graphs: Mapping[str, SceneGraph], view: View
) -> OracleScore:
    """Score the oracle on multiple-choice samples under a view.

    Raises:
        KeyError: a sample's video has no scene graph in ``graphs``.
    """
    right: dict[str, float] = defaultdict(float)
    abstain: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    for s in samples:
        graph = graphs[s.video_id]
        pick = oracle_choice(s, graph, view_frames(s, graph, view))
        for key in (s.qtype, "all"):
            count[key] += 1
            if pick is None:
                abstain[key] += 1
                right[key] += 1.0 / len(s.choices)
            elif pick == s.answer:
                right[key] += 1.0
    return OracleScore(
        accuracy={k: right[k] / n for k, n in count.items()},
        abstained={k: abstain[k] / n for k, n in count.items()},
        count=dict(count),
    )
