"""Question templates: candidate questions about one synthetic video, each with its
answer, the wrong answers that may serve as distractors, the frames that ground it
("causal frames") and its interval in seconds.

Question types (``qtype``), mirroring NExT-QA's families (Xiao et al., CVPR 2021, §3.2)
and the causal questions of CLEVRER (Yi et al., ICLR 2020, §3):

=====  ============  =========================================================
code   family        question
=====  ============  =========================================================
DA     descriptive   What colour / shape is <object>?
DC     descriptive   How many (<size>|<material>) objects are in the scene at t?
DE     descriptive   Which of these objects is in the scene at t?
RS     relationship  Where is <A> relative to <B> at t?
TP     temporal      What did <A> do right before it <event>?
TN     temporal      What did <A> do right after it <event>?
TW     temporal      When did <A> <event>?
CW     causal        Why did <A> change direction at t?
CO     causal        What colour is the object that <A> collided with at t?
=====  ============  =========================================================

Candidates are not yet multiple-choice questions: :mod:`videoqa.synth.balance` picks a
balanced subset and draws the distractors.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from videoqa.synth.programs import (
    CAUSE_ANSWERS,
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
)
from videoqa.synth.scene_graph import Event, FrameGraph, ObjectInfo, ObjectState, SceneGraph
from videoqa.synth.vocab import COLOR_NAMES, MATERIALS, SHAPES, SIZES, CompositionRule

#: qtype → (family, meaning).
QTYPES: dict[str, tuple[str, str]] = {
    "DA": ("descriptive", "attribute"),
    "DC": ("descriptive", "count"),
    "DE": ("descriptive", "existence"),
    "RS": ("relationship", "spatial relation at a moment"),
    "TP": ("temporal", "previous event (before)"),
    "TN": ("temporal", "next event (after)"),
    "TW": ("temporal", "when"),
    "CW": ("causal", "why did it change direction"),
    "CO": ("causal", "what did it collide with"),
    "FA": ("frame", "attribute in one frame"),
    "FC": ("frame", "count in one frame"),
    "FE": ("frame", "existence in one frame"),
    "FR": ("frame", "spatial relation in one frame"),
}
NUM_SEGMENTS = 5

#: event types that can come right before / right after an event of the key type, from
#: the simulation's rules: colour and size changes, entering, leaving, stopping and
#: starting happen at most once per object; nothing happens after it left; at rest it can
#: only start, be hit, or change colour/size; it can only start after stopping. Anchors
#: with fewer than five possibilities are not asked (their distractors would give the
#: answer away).
PREVIOUS_TYPES: dict[str, tuple[str, ...]] = {
    "collision": ("enter", "collision", "bounce", "stop", "start", "color_change", "size_change"),
    "bounce": ("enter", "collision", "bounce", "start", "color_change", "size_change"),
    "stop": ("enter", "collision", "bounce", "color_change", "size_change"),
    "exit": ("enter", "collision", "bounce", "start", "color_change", "size_change"),
    "color_change": ("enter", "collision", "bounce", "stop", "start", "size_change"),
    "size_change": ("enter", "collision", "bounce", "stop", "start", "color_change"),
}
NEXT_TYPES: dict[str, tuple[str, ...]] = {
    "enter": ("collision", "bounce", "stop", "color_change", "size_change", "exit"),
    "collision": ("collision", "bounce", "stop", "color_change", "size_change", "exit"),
    "bounce": ("collision", "bounce", "stop", "color_change", "size_change", "exit"),
    "start": ("collision", "bounce", "color_change", "size_change", "exit"),
    "color_change": ("collision", "bounce", "stop", "start", "size_change", "exit"),
    "size_change": ("collision", "bounce", "stop", "start", "color_change", "exit"),
}
#: a direction change must turn the motion by at least this many degrees.
MIN_TURN_DEG = 25.0
#: attributes tried in referring expressions (fixed ones first).
REF_ATTRIBUTES: tuple[str, ...] = ("shape", "material", "size", "color")


def shortest_ref(
    target: Mapping[str, str],
    others: Sequence[Mapping[str, Collection[str]]],
    usable: Sequence[str],
    rng: np.random.Generator,
) -> ObjectRef | None:
    """A shortest set of the target's attribute values that no other object shares.

    Args:
        target: attribute → the target's value.
        others: for every other object, attribute → the values it takes.
        usable: attributes that may be mentioned.
        rng: picks among equally short references.

    Returns:
        The reference, or ``None`` when every other object can match all usable values.
    """
    for n in range(1, len(usable) + 1):
        found = [
            subset
            for subset in itertools.combinations(usable, n)
            if not any(all(target[a] in o[a] for a in subset) for o in others)
        ]
        if found:
            pick = found[int(rng.integers(len(found)))]
            return ObjectRef(**{a: target[a] for a in pick})
    return None


@dataclass(frozen=True)
class Candidate:
    """A question before balancing and distractor drawing.

    Attributes:
        video_id: the video.
        qtype: question type code (see :data:`QTYPES`).
        group: balancing group (``qtype`` plus what fixes the answer set, e.g. ``"DA:color"``).
        question: question text.
        answer: answer text.
        wrong: answers that are wrong for this question and plausible for its wording.
        program: the executable form.
        causal_frames: frames that suffice to answer it (0-based indices).
        interval: ``(start, end)`` seconds covered by the causal frames.
        participants: ids of the objects the question is about.
        frame: the frame of a frame-level (image) question.
    """

    video_id: str
    qtype: str
    group: str
    question: str
    answer: str
    wrong: tuple[str, ...]
    program: Program
    causal_frames: tuple[int, ...]
    interval: tuple[float, float]
    participants: tuple[int, ...]
    frame: int | None = None


class VideoContext:
    """Look-ups over one scene graph shared by the templates."""

    def __init__(self, graph: SceneGraph, rule: CompositionRule, rng: np.random.Generator):
        self.graph, self.rule, self.rng = graph, rule, rng
        self.fps = graph.fps
        self.infos: dict[int, ObjectInfo] = {o.id: o for o in graph.objects}
        self.by_frame = {fg.index: fg for fg in graph.frames}
        self._refs: dict[tuple[int, tuple[str, ...]], ObjectRef | None] = {}
        self.events_of: dict[int, list[Event]] = {i: [] for i in self.infos}
        for ev in graph.events:
            for p in ev.participants:
                self.events_of[p].append(ev)

    def time(self, frame: int) -> str:
        """``"1.25 s"``: the time of a frame as written in questions."""
        return f"{frame / self.fps:.2f} s"

    def third(self, frame: int) -> int:
        """Which third of the video (0, 1, 2) a frame is in: balancing groups of questions
        asked at a moment are split by it, since counts and relations drift over time."""
        return min(2, 3 * frame // self.graph.num_frames)

    def interval(self, start: int, end: int) -> tuple[float, float]:
        """Seconds covered by frames ``start..end`` (inclusive)."""
        return (round(start / self.fps, 4), round((end + 1) / self.fps, 4))

    def candidate(
        self,
        qtype: str,
        group: str,
        question: str,
        answer: str,
        wrong: Iterable[str],
        program: Program,
        frames: tuple[int, int],
        participants: Iterable[int],
    ) -> Candidate:
        """A :class:`Candidate` of this video grounded in frames ``frames[0]..frames[1]``."""
        start, end = frames
        return Candidate(
            video_id=self.graph.video_id,
            qtype=qtype,
            group=group,
            question=question,
            answer=answer,
            wrong=tuple(w for w in wrong if w != answer),
            program=program,
            causal_frames=tuple(range(start, end + 1)),
            interval=self.interval(start, end),
            participants=tuple(participants),
        )

    def ref(self, target: int, exclude: tuple[str, ...] = ()) -> ObjectRef | None:
        """A shortest referring expression that fits ``target`` and no other object of the
        video in any frame (random among the shortest, then fixed for the video); ``None``
        when none exists. Colour and size are only used when they never change."""
        key = (target, exclude)
        if key not in self._refs:
            info = self.infos[target]
            usable = [a for a in REF_ATTRIBUTES if a not in exclude and len(info.values(a)) == 1]
            values = {a: info.values(a)[0] for a in usable}
            others = [
                {a: o.values(a) for a in usable} for i, o in self.infos.items() if i != target
            ]
            self._refs[key] = shortest_ref(values, others, usable, self.rng)
        return self._refs[key]

    def sample_frames(self, n: int) -> list[int]:
        """``n`` distinct random frame indices, sorted."""
        n = min(n, self.graph.num_frames)
        return sorted(int(k) for k in self.rng.choice(self.graph.num_frames, n, replace=False))

    def velocity(self, obj: int, frame: int) -> tuple[float, float] | None:
        """Velocity ``(vx, vy)`` of object ``obj`` at ``frame`` (pixels per second), or
        ``None`` when it is not in that frame."""
        fg = self.by_frame.get(frame)
        state = fg.object(obj) if fg is not None else None
        return state.velocity if state is not None else None

    def pattern(self, ev: Event, subject: int) -> EventPattern | None:
        """The pattern naming ``ev`` for ``subject``, ``None`` when the collision partner
        has no referring expression or the pattern fits another event of the subject."""
        other = None
        if ev.type == "collision":
            other = self.ref(ev.other(subject))
            if other is None:
                return None
        pat = EventPattern(type=ev.type, other=other, wall=ev.wall, new=ev.new)
        same = [e for e in self.events_of[subject] if self._fits(pat, e, subject)]
        return pat if same == [ev] else None

    def _fits(self, pat: EventPattern, ev: Event, subject: int) -> bool:
        if ev.type != pat.type or (pat.wall, pat.new) != (ev.wall, ev.new):
            return False
        if ev.type == "collision":
            return pat.other.matches_info(self.infos[ev.other(subject)])
        return True

    def isolated(self, ev: Event, subject: int, margin: int = 2) -> bool:
        """No other event of ``subject`` within ``margin`` frames of ``ev``'s key frame."""
        return all(e is ev or abs(e.frame - ev.frame) > margin for e in self.events_of[subject])


# ----------------------------------------------------------------------- descriptive


def attribute_questions(ctx: VideoContext) -> list[Candidate]:
    """DA: the colour or shape of an object whose colour/shape never changes."""
    out = []
    for oid, info in ctx.infos.items():
        full = [
            fg.index
            for fg in ctx.graph.frames
            if (s := fg.object(oid)) is not None and unclipped(s, ctx.graph.width)
        ]
        if not full:
            continue
        for attr in ("color", "shape"):
            if len(info.values(attr)) != 1:
                continue
            ref = ctx.ref(oid, exclude=(attr,))
            if ref is None:
                continue
            answer = info.values(attr)[0]
            k = full[int(ctx.rng.integers(len(full)))]
            wrong = compatible_values(ctx.rule, ref, attr)
            program = AttributeQuery(target=ref, attribute=attr)
            q = f"What {attr} is {ref.phrase()}?"
            out.append(ctx.candidate("DA", f"DA:{attr}", q, answer, wrong, program, (k, k), [oid]))
    return out


def unclipped(state: ObjectState, width: int) -> bool:
    """Whether the whole object is inside the frame (its box was not clipped)."""
    x1, y1, x2, y2 = state.bbox
    return x1 > 0 and y1 > 0 and x2 < width and y2 < width


def compatible_values(rule: CompositionRule, ref: ObjectRef, attr: str) -> list[str]:
    """Values of ``attr`` an object fitting ``ref`` may have under ``rule``."""
    if attr == "color":
        return [c for c in COLOR_NAMES if rule.allowed(c, ref.shape)]
    if attr == "shape":
        return [s for s in SHAPES if rule.allowed(ref.color, s)]
    return list({"size": SIZES, "material": MATERIALS}[attr])


COUNT_FILTERS: tuple[tuple[str | None, str | None], ...] = (
    (None, None),
    *(("size", s) for s in SIZES),
    *(("material", m) for m in MATERIALS),
)


def count_range(attr: str | None) -> tuple[str, ...]:
    """The five numbers offered for a count: 1–5 for all objects, 0–4 with a filter."""
    return tuple(str(n) for n in (range(1, 6) if attr is None else range(5)))


class Count(NamedTuple):
    """A count askable in one frame: its answer is one of the numbers offered.

    Attributes:
        group: the filter's attribute, ``"all"`` without one (part of the balancing group).
        filter: which objects are counted.
        ids: ids of the counted objects; the answer is ``str(len(ids))``.
        choices: the numbers offered (:func:`count_range`).
    """

    group: str
    filter: ObjectRef
    ids: list[int]
    choices: tuple[str, ...]


def frame_counts(fg: FrameGraph) -> list[Count]:
    """The askable counts of one frame, one per filter of :data:`COUNT_FILTERS` whose
    count falls in its :func:`count_range`; shared by the DC and FC questions."""
    out = []
    for attr, value in COUNT_FILTERS:
        ref = ObjectRef(**({attr: value} if attr else {}))
        ids = [o.id for o in fg.objects if ref.matches_state(o)]
        choices = count_range(attr)
        if str(len(ids)) in choices:
            out.append(Count(attr or "all", ref, ids, choices))
    return out


class Presence(NamedTuple):
    """The answer of an existence question about one frame.

    Attributes:
        answer: ``"<color> <shape>"`` of an object in the frame.
        object_id: that object's id.
        wrong: the combinations the composition rule allows that are not in the frame.
    """

    answer: str
    object_id: int
    wrong: list[str]


def pick_present(
    fg: FrameGraph, rule: CompositionRule, rng: np.random.Generator
) -> Presence | None:
    """A random colour–shape combination present in one frame (one ``rng`` draw), with
    the absent ones as wrong answers; ``None`` for an empty frame. Shared by the DE and FE
    questions."""
    present = {(o.color, o.shape): o.id for o in fg.objects}
    if not present:
        return None
    (color, shape), oid = sorted(present.items())[int(rng.integers(len(present)))]
    wrong = [
        f"{c} {s}"
        for c in COLOR_NAMES
        for s in SHAPES
        if (c, s) not in present and rule.allowed(c, s)
    ]
    return Presence(f"{color} {shape}", oid, wrong)


def count_questions(ctx: VideoContext, frames: list[int]) -> list[Candidate]:
    """DC: how many (small / large / matte / metal / striped) objects at a moment."""
    out = []
    for k in frames:
        for counted, ref, ids, choices in frame_counts(ctx.by_frame[k]):
            q = f"How many {ref.filter_phrase()} are in the scene at {ctx.time(k)}?"
            program = CountQuery(filter=ref, frame=k)
            group = f"DC:{counted}:{ctx.third(k)}"
            out.append(ctx.candidate("DC", group, q, str(len(ids)), choices, program, (k, k), ids))
    return out


def exist_questions(ctx: VideoContext, frames: list[int]) -> list[Candidate]:
    """DE: which of five colour–shape combinations is in the scene at a moment."""
    out = []
    for k in frames:
        found = pick_present(ctx.by_frame[k], ctx.rule, ctx.rng)
        if found is None:
            continue
        q = f"Which of these objects is in the scene at {ctx.time(k)}?"
        program = ExistQuery(frame=k)
        answer, oid, wrong = found
        out.append(ctx.candidate("DE", "DE", q, answer, wrong, program, (k, k), [oid]))
    return out


# ---------------------------------------------------------------------- relationship


def relation_questions(ctx: VideoContext, frames: list[int]) -> list[Candidate]:
    """RS: where one object is relative to another at a moment (exactly one of left,
    right, above, below, touching holds)."""
    out = []
    for k in frames:
        fg = ctx.by_frame[k]
        for a, b in itertools.permutations([o.id for o in fg.objects], 2):
            preds = fg.predicates(a, b) & RELATION_ANSWERS.keys()
            if len(preds) != 1:
                continue
            ra, rb = ctx.ref(a), ctx.ref(b)
            if ra is None or rb is None:
                continue
            answer = RELATION_ANSWERS[preds.pop()]
            q = f"Where is {ra.phrase()} relative to {rb.phrase()} at {ctx.time(k)}?"
            program = RelationQuery(subject=ra, reference=rb, frame=k)
            wrong = RELATION_ANSWERS.values()
            group = f"RS:{ctx.third(k)}"
            out.append(ctx.candidate("RS", group, q, answer, wrong, program, (k, k), [a, b]))
    return out


# -------------------------------------------------------------------------- temporal


def order_questions(ctx: VideoContext) -> list[Candidate]:
    """TP / TN: an object's event right before / right after another of its events."""
    out = []
    for oid, evs in ctx.events_of.items():
        for i in range(1, len(evs)):
            prev, nxt = evs[i - 1], evs[i]
            if prev.frame == nxt.frame or prev.end_frame >= nxt.start_frame:
                continue
            if i >= 2 and evs[i - 2].frame == prev.frame:
                continue
            if i + 1 < len(evs) and evs[i + 1].frame == nxt.frame:
                continue
            # a colour or size named in the reference would rule out "it changed colour/size"
            ref = ctx.ref(oid, exclude=("color", "size"))
            if ref is None:
                continue
            span = (prev.start_frame, nxt.end_frame)
            for qtype, anchor, answer_ev, table in (
                ("TP", nxt, prev, PREVIOUS_TYPES),
                ("TN", prev, nxt, NEXT_TYPES),
            ):
                allowed = table.get(anchor.type, ())
                if len(allowed) < 5 or answer_ev.type not in allowed:
                    continue
                pat = ctx.pattern(anchor, oid)
                if pat is None:
                    continue
                word = "before" if qtype == "TP" else "after"
                q = f"What did {ref.phrase()} do right {word} it {pat.past()}?"
                program = EventOrderQuery(subject=ref, anchor=pat, direction=word)
                wrong = [EVENT_ANSWERS[t] for t in sorted(allowed)]
                answer = EVENT_ANSWERS[answer_ev.type]
                group = f"{qtype}:{anchor.type}"
                out.append(ctx.candidate(qtype, group, q, answer, wrong, program, span, [oid]))
    return out


def segments(num_frames: int, fps: float) -> tuple[list[tuple[int, int]], list[str]]:
    """The five equal time segments offered by ``when`` questions: ``[start, end)`` frame
    ranges and labels ``"between 0.0 s and 0.8 s"``."""
    bounds = [round(i * num_frames / NUM_SEGMENTS) for i in range(NUM_SEGMENTS + 1)]
    ranges = [(bounds[i], bounds[i + 1]) for i in range(NUM_SEGMENTS)]
    labels = [f"between {s / fps:.1f} s and {e / fps:.1f} s" for s, e in ranges]
    return ranges, labels


def when_questions(ctx: VideoContext) -> list[Candidate]:
    """TW: in which fifth of the video an event of an object happened."""
    ranges, labels = segments(ctx.graph.num_frames, ctx.fps)
    out = []
    for ev in ctx.graph.events:
        seg = [i for i, (s, e) in enumerate(ranges) if s <= ev.start_frame and ev.end_frame < e]
        if len(seg) != 1:
            continue
        for oid in ev.participants:
            ref, pat = ctx.ref(oid), ctx.pattern(ev, oid)
            if ref is None or pat is None:
                continue
            q = f"When did {ref.phrase()} {pat.base()}?"
            program = WhenQuery(subject=ref, event=pat, segments=ranges, labels=labels)
            span = (ev.start_frame, ev.end_frame)
            group = f"TW:{ev.type}"
            out.append(ctx.candidate("TW", group, q, labels[seg[0]], labels, program, span, [oid]))
    return out


# ---------------------------------------------------------------------------- causal


def _turn_deg(v0: tuple[float, float], v1: tuple[float, float]) -> float:
    n0, n1 = math.hypot(*v0), math.hypot(*v1)
    cos = (v0[0] * v1[0] + v0[1] * v1[1]) / (n0 * n1)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def causal_questions(ctx: VideoContext) -> list[Candidate]:
    """CW: why an object changed direction (a wall or a collision); CO: the colour of the
    object it collided with."""
    out = []
    min_speed = 0.05 * ctx.graph.width  # pixels per second
    for ev in ctx.graph.events:
        if ev.type not in ("collision", "bounce") or ev.frame == 0:
            continue
        for oid in ev.participants:
            ref = ctx.ref(oid)
            v0, v1 = ctx.velocity(oid, ev.frame - 1), ctx.velocity(oid, ev.frame)
            if ref is None or v0 is None or v1 is None or not ctx.isolated(ev, oid):
                continue
            span = (ev.start_frame, ev.end_frame)
            t = ctx.time(ev.frame)
            moving = min(math.hypot(*v0), math.hypot(*v1)) > min_speed
            if moving and _turn_deg(v0, v1) >= MIN_TURN_DEG:
                answer = WALL_ANSWERS[ev.wall] if ev.type == "bounce" else COLLISION_ANSWER
                q = f"Why did {ref.phrase()} change direction at {t}?"
                program = WhyQuery(subject=ref, frame=ev.frame)
                out.append(
                    ctx.candidate("CW", "CW", q, answer, CAUSE_ANSWERS, program, span, [oid])
                )
            if ev.type == "collision":
                other = ev.other(oid)
                state = ctx.by_frame[ev.frame].object(other)
                if state is None:
                    continue
                q = f"What color is the object that {ref.phrase()} collided with at {t}?"
                program = ColliderQuery(subject=ref, frame=ev.frame)
                ids = [oid, other]
                out.append(
                    ctx.candidate("CO", "CO", q, state.color, COLOR_NAMES, program, span, ids)
                )
    return out


def video_candidates(
    graph: SceneGraph, rule: CompositionRule, rng: np.random.Generator
) -> list[Candidate]:
    """All candidate questions of one video (before per-video selection and balancing).

    Args:
        graph: the video's ground-truth scene graph.
        rule: the split's composition rule (distractors stay within it).
        rng: random generator (reference wording, sampled moments).

    Returns:
        Candidates of every question type, in template order.
    """
    ctx = VideoContext(graph, rule, rng)
    moments = ctx.sample_frames(6)
    touching = sorted({ev.frame for ev in graph.events if ev.type == "collision"})
    return [
        *attribute_questions(ctx),
        *count_questions(ctx, moments),
        *exist_questions(ctx, moments),
        *relation_questions(ctx, sorted(set(moments[:3]) | set(touching))),
        *order_questions(ctx),
        *when_questions(ctx),
        *causal_questions(ctx),
    ]
