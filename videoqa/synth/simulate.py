"""Simulation of a synthetic scene: 2–6 objects that move, bounce off the walls, collide
elastically, enter and leave the frame, stop and start, and change colour or size.

Objects are discs for the physics (the drawn shape has about the disc's area). Positions
are in frame widths (the frame is the unit square, ``y`` down), velocities in frame
widths per second, one step per frame (``dt = 1 / fps``). Collisions are elastic with
masses proportional to the disc areas (the collision model of CLEVRER, Yi et al.,
"CLEVRER: CoLlision Events for Video REpresentation and Reasoning", ICLR 2020, §3, in
2-D): a collision changes both motions and is recorded as an event with both objects.

Everything random comes from one ``numpy.random.Generator``, so a seed gives the same
scene graph on every run and in every process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from videoqa.synth.config import (
    GENERATOR_VERSION,
    SPLIT_INDEX,
    SynthConfig,
    split_rule,
    video_id,
    video_seed,
)
from videoqa.synth.scene_graph import (
    Background,
    Event,
    FrameGraph,
    ObjectInfo,
    ObjectState,
    SceneGraph,
    spatial_relations,
)
from videoqa.synth.shapes import bbox as shape_bbox
from videoqa.synth.vocab import (
    HELD_OUT_PAIRS,
    MATERIALS,
    SHAPES,
    SIZE_RADIUS,
    SIZES,
    WALLS,
    CompositionRule,
)

#: an object counts as visible when at least this share of its box is inside the frame.
VISIBLE_SHARE = 0.25
#: frames shown by each event type, relative to the key frame: (before, after).
EVENT_WINDOWS: dict[str, tuple[int, int]] = {
    "collision": (2, 1),
    "bounce": (2, 1),
    "stop": (2, 0),
    "start": (2, 0),
    "color_change": (1, 0),
    "size_change": (1, 0),
    "enter": (1, 0),
    "exit": (0, 1),
}
_BACKGROUNDS = ("solid", "hgrad", "vgrad", "checker", "noise")


def elastic_collision(
    p1: np.ndarray, v1: np.ndarray, m1: float, p2: np.ndarray, v2: np.ndarray, m2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Velocities after a perfectly elastic collision of two discs (2-D, frictionless).

    Only the velocity components along the line of centres change; momentum
    ``m1 v1 + m2 v2`` and kinetic energy are conserved:
    ``v1' = v1 - 2 m2 / (m1 + m2) * <v1 - v2, n> n`` with ``n`` the unit vector from
    ``p2`` to ``p1`` (and symmetrically for ``v2'``).

    Args:
        p1, p2: ``(2,)`` centres.
        v1, v2: ``(2,)`` velocities (any unit).
        m1, m2: masses (> 0).

    Returns:
        ``(v1', v2')``.
    """
    n = (p1 - p2) / np.linalg.norm(p1 - p2)
    rel = float(np.dot(v1 - v2, n))
    return v1 - (2 * m2 / (m1 + m2)) * rel * n, v2 + (2 * m1 / (m1 + m2)) * rel * n


@dataclass
class _Body:
    id: int
    shape: str
    material: str
    color: str
    size: str
    pos: np.ndarray
    vel: np.ndarray
    state: str = "inside"  # waiting | entering | inside | exiting | gone
    side: str = "left"
    activate: int = 0
    exit_at: int = -1
    stop_at: int = -1
    stop_len: int = 0
    restart_at: int = -1
    stopped: bool = False
    color_at: int = -1
    size_at: int = -1
    visible: bool = False
    seen: bool = False
    colors: list[str] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)
    first: int = -1
    last: int = -1

    @property
    def r(self) -> float:
        return SIZE_RADIUS[self.size]

    @property
    def active(self) -> bool:
        return self.state in ("entering", "inside", "exiting")


class _Simulation:
    """One scene being simulated frame by frame."""

    def __init__(self, cfg: SynthConfig, split: str, rng: np.random.Generator) -> None:
        self.cfg, self.split, self.rng = cfg, split, rng
        self.rule: CompositionRule = split_rule(split)
        self.dt = 1.0 / cfg.fps
        self.T = cfg.frames
        self.px = float(cfg.size)
        self.events: list[Event] = []
        self.frames: list[FrameGraph] = []
        self.bodies = self._make_bodies()

    # ------------------------------------------------------------------ set-up
    def _velocity(self, angle: float | None = None) -> np.ndarray:
        lo, hi = self.cfg.speed
        speed = self.rng.uniform(lo, hi)
        if angle is None:
            angle = self.rng.uniform(0, 2 * math.pi)
        return np.array([speed * math.cos(angle), speed * math.sin(angle)])

    def _attributes(self, index: int) -> tuple[str, str, str, str]:
        rng = self.rng
        if self.split == "comp" and index == 0:
            color, shape = sorted(HELD_OUT_PAIRS)[rng.integers(len(HELD_OUT_PAIRS))]
        else:
            shape = SHAPES[rng.integers(len(SHAPES))]
            colors = self.rule.colors_for(shape)
            color = colors[rng.integers(len(colors))]
        material = MATERIALS[rng.integers(len(MATERIALS))]
        size = SIZES[rng.integers(len(SIZES))]
        return shape, color, material, size

    def _make_bodies(self) -> list[_Body]:
        cfg, rng, T = self.cfg, self.rng, self.T
        n = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
        bodies: list[_Body] = []
        for i in range(n):
            shape, color, material, size = self._attributes(i)
            b = _Body(i, shape, material, color, size, np.zeros(2), self._velocity())
            if i >= 2 and rng.random() < cfg.rates.enter:
                b.state, b.side = "waiting", WALLS[rng.integers(4)]
                b.activate = int(rng.integers(1, max(2, int(0.6 * T))))
            elif not self._place_inside(b, bodies):
                continue
            if rng.random() < cfg.rates.exit:
                b.exit_at = int(rng.integers(int(0.25 * T), int(0.8 * T)))
            if rng.random() < cfg.rates.stop:
                b.stop_at = int(rng.integers(max(2, int(0.1 * T)), int(0.7 * T)))
                b.stop_len = int(rng.integers(max(3, int(0.12 * T)), max(4, int(0.3 * T))))
            if rng.random() < cfg.rates.color_change:
                b.color_at = int(rng.integers(2, T - 1))
            if rng.random() < cfg.rates.size_change:
                b.size_at = int(rng.integers(2, T - 1))
            bodies.append(b)
        return bodies

    def _clear(self, b: _Body, pos: np.ndarray, r: float, others: list[_Body]) -> bool:
        for o in others:
            if o is b or not (o.active or o.state == "inside"):
                continue
            if np.linalg.norm(o.pos - pos) < r + o.r + 0.03:
                return False
        return True

    def _place_inside(self, b: _Body, placed: list[_Body]) -> bool:
        r = b.r
        for _ in range(200):
            pos = self.rng.uniform(r + 0.02, 1 - r - 0.02, size=2)
            if self._clear(b, pos, r, placed):
                b.pos = pos
                return True
        return False

    def background(self) -> Background:
        rng = self.rng
        kind = _BACKGROUNDS[rng.integers(len(_BACKGROUNDS))]
        base = rng.integers(185, 236)
        tint = rng.integers(-18, 19, size=3)
        a = np.clip(base + tint, 0, 255)
        b = np.clip(a + rng.integers(-30, 31) + rng.integers(-8, 9, size=3), 0, 255)
        return Background(
            kind=kind,
            color_a=tuple(int(v) for v in a),
            color_b=tuple(int(v) for v in b),
            tile=int(rng.integers(8, 21)),
            seed=int(rng.integers(2**31 - 1)),
        )

    # ------------------------------------------------------------------ events
    def _event(self, kind: str, k: int, ids: tuple[int, ...], **kw: str | None) -> None:
        before, after = EVENT_WINDOWS[kind]
        start, end = max(0, k - before), min(self.T - 1, k + after)
        self.events.append(
            Event(
                type=kind,
                frame=k,
                start_frame=start,
                end_frame=end,
                start_time=round(start / self.cfg.fps, 6),
                end_time=round((end + 1) / self.cfg.fps, 6),
                participants=ids,
                **kw,
            )
        )

    # ------------------------------------------------------------------ dynamics
    def _activate(self, b: _Body, k: int) -> None:
        r, rng = b.r, self.rng
        along = rng.uniform(r + 0.05, 1 - r - 0.05)
        out = -1.5 * r
        spawn = {
            "left": ((out, along), 0.0),
            "right": ((1 - out, along), math.pi),
            "top": ((along, out), math.pi / 2),
            "bottom": ((along, 1 - out), -math.pi / 2),
        }
        (x, y), normal = spawn[b.side]
        pos = np.array([x, y])
        if not self._clear(b, pos, r, self.bodies) or k > 0.8 * self.T:
            b.activate = k + 1 if k <= 0.8 * self.T else self.T  # try later / give up
            return
        b.pos = pos
        b.vel = self._velocity(normal + rng.uniform(-math.pi / 6, math.pi / 6))
        b.state = "entering"

    def _scripted(self, b: _Body, k: int) -> None:
        if b.state == "waiting" and b.activate <= k:
            self._activate(b, k)
        moving = not b.stopped
        if b.stop_at == k and b.state == "inside" and moving:
            b.vel = np.zeros(2)
            b.stopped, b.restart_at = True, k + b.stop_len
            self._event("stop", k, (b.id,))
        elif b.restart_at == k and b.stopped and k < self.T - 1:
            b.vel = self._velocity()
            b.stopped, b.restart_at = False, -1
            self._event("start", k, (b.id,))
        if b.color_at == k and b.visible:
            options = [c for c in self.rule.colors_for(b.shape) if c != b.color]
            new = options[self.rng.integers(len(options))]
            self._event("color_change", k, (b.id,), old=b.color, new=new)
            b.color = new
        if b.size_at == k and b.state == "inside":
            new = "large" if b.size == "small" else "small"
            r = SIZE_RADIUS[new]
            inside = bool(np.all(b.pos >= r) and np.all(b.pos <= 1 - r))
            if inside and self._clear(b, b.pos, r - 0.03, self.bodies):
                self._event("size_change", k, (b.id,), old=b.size, new=new)
                b.size = new
        if b.exit_at >= 0 and b.exit_at <= k and b.state == "inside" and not b.stopped:
            b.state = "exiting"

    def _walls(self, b: _Body, k: int) -> None:
        r = b.r
        if b.state == "entering" and bool(np.all(b.pos >= r) and np.all(b.pos <= 1 - r)):
            b.state = "inside"
        if b.state not in ("inside", "entering"):
            return
        checks = (("left", 0, -1), ("right", 0, 1), ("top", 1, -1), ("bottom", 1, 1))
        for wall, axis, sign in checks:
            if b.state == "entering" and wall == b.side:
                continue
            limit = r if sign < 0 else 1 - r
            beyond = b.pos[axis] < limit if sign < 0 else b.pos[axis] > limit
            if beyond and b.vel[axis] * sign > 0:
                b.pos[axis] = 2 * limit - b.pos[axis]
                b.vel[axis] = -b.vel[axis]
                if b.visible:  # a bounce of a body still out of view is not an event
                    self._event("bounce", k, (b.id,), wall=wall)

    def _collide(self, a: _Body, b: _Body, k: int) -> None:
        d = a.pos - b.pos
        dist = float(np.linalg.norm(d))
        if dist >= a.r + b.r or dist == 0.0 or float(np.dot(a.vel - b.vel, d)) >= 0:
            return
        ma, mb = a.r**2, b.r**2
        n = d / dist
        a.vel, b.vel = elastic_collision(a.pos, a.vel, ma, b.pos, b.vel, mb)
        overlap = a.r + b.r - dist
        a.pos = a.pos + n * overlap * mb / (ma + mb)
        b.pos = b.pos - n * overlap * ma / (ma + mb)
        for body in (a, b):
            if body.stopped:
                body.stopped, body.restart_at = False, -1
        self._event("collision", k, (a.id, b.id))

    def step(self, k: int) -> None:
        """Advance to frame ``k`` (``k >= 1``): scripted changes, motion, walls, collisions."""
        for b in self.bodies:
            self._scripted(b, k)
        for b in self.bodies:
            if b.active:
                b.pos = b.pos + b.vel * self.dt
                self._walls(b, k)
        live = [b for b in self.bodies if b.active and (b.visible or b.state != "entering")]
        for i, a in enumerate(live):
            for b in live[i + 1 :]:
                self._collide(a, b, k)

    # ------------------------------------------------------------------ recording
    def _state(self, b: _Body) -> tuple[ObjectState | None, float]:
        px = self.px
        x, y = b.pos.tolist()  # python floats: rounding numpy scalars is slow
        vx, vy = b.vel.tolist()
        cx, cy, r = x * px, y * px, b.r * px
        x1, y1, x2, y2 = shape_bbox(b.shape, cx, cy, r)
        cx1, cy1 = max(x1, 0.0), max(y1, 0.0)
        cx2, cy2 = min(x2, px), min(y2, px)
        inside = max(0.0, cx2 - cx1) * max(0.0, cy2 - cy1)
        share = inside / ((x2 - x1) * (y2 - y1))
        if share < VISIBLE_SHARE:
            return None, share
        state = ObjectState(
            id=b.id,
            shape=b.shape,
            color=b.color,
            size=b.size,
            material=b.material,
            center=(round(cx, 2), round(cy, 2)),
            radius=round(r, 2),
            bbox=(round(cx1, 2), round(cy1, 2), round(cx2, 2), round(cy2, 2)),
            velocity=(round(vx * px, 1), round(vy * px, 1)),
        )
        return state, share

    def record(self, k: int) -> None:
        """Append the graph of frame ``k`` and the enter/exit events it reveals."""
        states = []
        for b in self.bodies:
            if not b.active:
                continue
            state, _ = self._state(b)
            was = b.visible
            b.visible = state is not None
            if b.visible and not was and k > 0 and not b.seen:
                self._event("enter", k, (b.id,))
            if was and not b.visible and b.state == "exiting":
                b.state = "gone"
                self._event("exit", k - 1, (b.id,))
            if state is None:
                continue
            b.seen = True
            b.first = k if b.first < 0 else b.first
            b.last = k
            for values, v in ((b.colors, b.color), (b.sizes, b.size)):
                if v not in values:
                    values.append(v)
            states.append(state)
        relations = spatial_relations(states, int(self.px))
        self.frames.append(
            FrameGraph(
                index=k, time=round(k / self.cfg.fps, 6), objects=states, relations=relations
            )
        )

    def objects(self) -> list[ObjectInfo]:
        return [
            ObjectInfo(
                id=b.id,
                shape=b.shape,
                material=b.material,
                colors=tuple(b.colors),
                sizes=tuple(b.sizes),
                first_frame=b.first,
                last_frame=b.last,
                novel=any((c, b.shape) in HELD_OUT_PAIRS for c in b.colors),
            )
            for b in self.bodies
            if b.seen
        ]


def simulate(cfg: SynthConfig, split: str, index: int) -> SceneGraph:
    """Simulate video ``index`` of ``split`` and return its ground-truth scene graph.

    The generator is seeded by :func:`videoqa.synth.config.video_seed`, so the result only
    depends on ``(cfg, split, index)`` and the generator version.

    Args:
        cfg: generator parameters (frames, size in pixels, fps, object counts, rates).
        split: ``"train" | "val" | "test" | "comp"`` (the ``comp`` split gives object 0 a
            held-out colour–shape pair; the others never contain one).
        index: video number within the split.

    Returns:
        The :class:`SceneGraph`: ``cfg.frames`` frame graphs and the events sorted by frame.
    """
    rng = np.random.default_rng(video_seed(cfg.seed, split, index))
    sim = _Simulation(cfg, split, rng)
    background = sim.background()
    sim.record(0)
    for k in range(1, cfg.frames):
        sim.step(k)
        sim.record(k)
    order = {t: i for i, t in enumerate(EVENT_WINDOWS)}
    events = sorted(sim.events, key=lambda e: (e.frame, order[e.type], e.participants))
    return SceneGraph(
        version=GENERATOR_VERSION,
        video_id=video_id(split, index),
        split=split,
        seed=(cfg.seed, SPLIT_INDEX[split], index),
        fps=cfg.fps,
        num_frames=cfg.frames,
        width=cfg.size,
        height=cfg.size,
        background=background,
        objects=sim.objects(),
        frames=sim.frames,
        events=events,
    )
