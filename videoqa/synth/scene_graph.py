"""Ground-truth scene graphs of a synthetic video: per-frame objects and relations, and
timed events.

The layout follows the spatio-temporal scene graphs of Action Genome / MOMA (Ji et al.,
"Action Genome", CVPR 2020, §3; Luo et al., "MOMA", NeurIPS 2021, §3): one graph per
frame (objects with attributes and boxes, pairwise relations), plus events with
intervals and participants (CLEVRER-style collisions, Yi et al., ICLR 2020, §3).

Units: positions and boxes in pixels (``x`` right, ``y`` down, origin top-left),
velocities in pixels per second, times in seconds, frames as 0-based indices.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal[
    "collision", "bounce", "enter", "exit", "stop", "start", "color_change", "size_change"
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
Predicate = Literal["left_of", "right_of", "above", "below", "near", "touching"]
PREDICATES: tuple[str, ...] = get_args(Predicate)

#: file of a benchmark folder holding its scene-graph label space (:func:`label_space`).
LABELS_FILE = "scene_graph_labels.json"
#: attribute order of the scene-graph label space (the predictor's heads and tokens).
LABEL_ATTRIBUTES: tuple[str, ...] = ("shape", "color", "size", "material")


def label_space() -> dict[str, object]:
    """The scene-graph label space of the benchmark, in the schema of
    :class:`videoqa.perception.scene_graph.config.SceneGraphLabels`: the attributes
    (shape 6, colour 8, size 2, material 3 values, :data:`LABEL_ATTRIBUTES` order), the
    six :data:`PREDICATES`, and the phrase order of an object ("small red metal
    circle"). ``videoqa synth`` writes it to ``LABELS_FILE``."""
    from videoqa.synth.vocab import ATTRIBUTE_VALUES

    return {
        "attributes": {name: list(ATTRIBUTE_VALUES[name]) for name in LABEL_ATTRIBUTES},
        "predicates": list(PREDICATES),
        "phrase_order": ["size", "color", "material", "shape"],
    }


#: two objects whose circles are at most this far apart (fraction of the frame width)
#: are ``touching``.
TOUCH_GAP = 0.012
#: ``near``: gap between circles at most this many times the mean of the two radii.
NEAR_FACTOR = 1.0


class ObjectState(BaseModel):
    """One object in one frame.

    Attributes:
        id: object id, stable over the video.
        shape, color, size, material: attribute values in this frame.
        center: ``(x, y)`` pixels.
        radius: radius of the object's collision circle, pixels.
        bbox: ``(x1, y1, x2, y2)`` pixels, clipped to the frame.
        velocity: ``(vx, vy)`` pixels per second after this frame's collisions.
    """

    model_config = ConfigDict(frozen=True)

    id: int
    shape: str
    color: str
    size: str
    material: str
    center: tuple[float, float]
    radius: float
    bbox: tuple[float, float, float, float]
    velocity: tuple[float, float]

    def attribute(self, name: str) -> str:
        """Value of ``"shape"``, ``"color"``, ``"size"`` or ``"material"``."""
        return getattr(self, name)


class FrameGraph(BaseModel):
    """The scene graph of one frame: visible objects and relations ``(subject, predicate,
    object)`` between every ordered pair of them."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=0)
    time: float = Field(ge=0)
    objects: list[ObjectState]
    relations: list[tuple[int, Predicate, int]]

    def object(self, object_id: int) -> ObjectState | None:
        """The state of ``object_id`` in this frame, ``None`` when it is not visible."""
        for obj in self.objects:
            if obj.id == object_id:
                return obj
        return None

    def predicates(self, subject: int, obj: int) -> set[str]:
        """Predicates holding from ``subject`` to ``obj`` in this frame."""
        return {p for s, p, o in self.relations if s == subject and o == obj}


class Event(BaseModel):
    """Something that happens at a moment, with the frames that show it.

    Attributes:
        type: one of :data:`EVENT_TYPES`.
        frame: key frame (first frame showing the new state: after the bounce, the new
            colour, the object at rest; for ``enter`` the first visible frame, for
            ``exit`` the last one).
        start_frame, end_frame: inclusive frame range that shows the change.
        start_time, end_time: ``start_frame / fps`` and ``(end_frame + 1) / fps`` seconds.
        participants: object ids (the subject first; two for collisions).
        wall: ``"left" | "right" | "top" | "bottom"`` for bounces.
        old, new: attribute values before/after a colour or size change.
    """

    model_config = ConfigDict(frozen=True)

    type: EventType
    frame: int = Field(ge=0)
    start_frame: int = Field(ge=0)
    end_frame: int = Field(ge=0)
    start_time: float = Field(ge=0)
    end_time: float = Field(ge=0)
    participants: tuple[int, ...]
    wall: str | None = None
    old: str | None = None
    new: str | None = None

    def involves(self, object_id: int) -> bool:
        """Whether ``object_id`` takes part in the event."""
        return object_id in self.participants

    def other(self, object_id: int) -> int | None:
        """The other participant of a collision."""
        others = [p for p in self.participants if p != object_id]
        return others[0] if others else None


class ObjectInfo(BaseModel):
    """An object over the whole video.

    Attributes:
        id: object id.
        shape, material: fixed attributes.
        colors, sizes: the values it takes, in order of appearance.
        first_frame, last_frame: first and last frame where it is visible.
        novel: whether it ever has a held-out (colour, shape) pair.
    """

    model_config = ConfigDict(frozen=True)

    id: int
    shape: str
    material: str
    colors: tuple[str, ...]
    sizes: tuple[str, ...]
    first_frame: int
    last_frame: int
    novel: bool = False

    def values(self, attribute: str) -> tuple[str, ...]:
        """All values ``attribute`` takes for this object during the video."""
        if attribute == "color":
            return self.colors
        if attribute == "size":
            return self.sizes
        return (getattr(self, attribute),)


class Background(BaseModel):
    """Background recipe: ``kind`` in ``solid | hgrad | vgrad | checker | noise``, two
    RGB colours (0–255), a tile size in pixels and a seed for the noise texture."""

    model_config = ConfigDict(frozen=True)

    kind: str
    color_a: tuple[int, int, int]
    color_b: tuple[int, int, int]
    tile: int = 16
    seed: int = 0


class SceneGraph(BaseModel):
    """Everything known about one synthetic video.

    Attributes:
        version: generator version.
        video_id: id (file stem of the video).
        split: train / val / test / comp.
        seed: ``[base seed, split index, video index]``.
        fps, num_frames, width, height: video geometry (frames of ``1 / fps`` s).
        background: background recipe.
        objects: per-object summary.
        frames: ``num_frames`` frame graphs (fewer in a :meth:`restrict` view).
        events: events sorted by key frame.
    """

    model_config = ConfigDict(frozen=True)

    version: str
    video_id: str
    split: str
    seed: tuple[int, ...]
    fps: float
    num_frames: int
    width: int
    height: int
    background: Background
    objects: list[ObjectInfo]
    frames: list[FrameGraph]
    events: list[Event]

    @property
    def duration(self) -> float:
        """Seconds: ``num_frames / fps``."""
        return self.num_frames / self.fps

    def object_info(self, object_id: int) -> ObjectInfo:
        """Summary of object ``object_id``.

        Raises:
            KeyError: no object has that id.
        """
        for info in self.objects:
            if info.id == object_id:
                return info
        raise KeyError(object_id)

    def frame(self, index: int) -> FrameGraph | None:
        """The graph of frame ``index``, ``None`` when it is not part of this view."""
        for fg in self.frames:
            if fg.index == index:
                return fg
        return None

    def restrict(self, frames: Iterable[int]) -> SceneGraph:
        """A view holding only the given frames and the events all of whose frames
        (``start_frame..end_frame``) are among them."""
        keep = set(frames)
        return self.model_copy(
            update={
                "frames": [fg for fg in self.frames if fg.index in keep],
                "events": [
                    ev
                    for ev in self.events
                    if all(f in keep for f in range(ev.start_frame, ev.end_frame + 1))
                ],
            }
        )


def spatial_relations(objects: list[ObjectState], width: int) -> list[tuple[int, str, int]]:
    """Relations between every ordered pair of visible objects.

    ``left_of``/``right_of``/``above``/``below``: the boxes do not overlap along that axis
    and the subject is on that side. ``touching``: the collision circles are at most
    ``TOUCH_GAP * width`` pixels apart. ``near``: the gap is at most ``NEAR_FACTOR`` times
    the mean radius.

    Args:
        objects: the frame's objects (pixels).
        width: frame width in pixels.

    Returns:
        ``(subject_id, predicate, object_id)`` sorted by subject, object, predicate order.
    """
    out: list[tuple[int, str, int]] = []
    for a in objects:
        for b in objects:
            if a.id == b.id:
                continue
            ax1, ay1, ax2, ay2 = a.bbox
            bx1, by1, bx2, by2 = b.bbox
            gap = math.dist(a.center, b.center) - a.radius - b.radius
            holds = {
                "left_of": ax2 <= bx1,
                "right_of": ax1 >= bx2,
                "above": ay2 <= by1,
                "below": ay1 >= by2,
                "near": gap <= NEAR_FACTOR * 0.5 * (a.radius + b.radius),
                "touching": gap <= TOUCH_GAP * width,
            }
            out.extend((a.id, p, b.id) for p in PREDICATES if holds[p])
    return out
