"""Typed question programs: what each synthetic question asks, in a form a solver can
execute on a scene graph (the functional programs of CLEVR, Johnson et al., CVPR 2017,
§3, reduced to the question families of this benchmark).

Every question stores its program in ``extras["program"]``; :mod:`videoqa.synth.oracle`
executes it on the ground-truth scene graph (or on a view of some frames of it).
Also here: the fixed answer phrases shared by the generator and the oracle.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from videoqa.synth.scene_graph import ObjectInfo, ObjectState

#: phrase order of the attributes in a referring expression.
REF_ORDER: tuple[str, ...] = ("size", "color", "material", "shape")

#: spatial answers (exactly one holds when a relation question is asked).
RELATION_ANSWERS: dict[str, str] = {
    "left_of": "to the left of it",
    "right_of": "to the right of it",
    "above": "above it",
    "below": "below it",
    "touching": "touching it",
}
#: what an object did: answers of the before/after questions.
EVENT_ANSWERS: dict[str, str] = {
    "collision": "it collided with another object",
    "bounce": "it hit a wall",
    "stop": "it stopped",
    "start": "it started moving",
    "color_change": "it changed color",
    "size_change": "it changed size",
    "enter": "it entered the scene",
    "exit": "it left the scene",
}
#: why an object changed direction.
WALL_ANSWERS: dict[str, str] = {
    w: f"it hit the {w} wall" for w in ("left", "right", "top", "bottom")
}
COLLISION_ANSWER = "it collided with another object"
CAUSE_ANSWERS: tuple[str, ...] = (*WALL_ANSWERS.values(), COLLISION_ANSWER)


class ObjectRef(BaseModel):
    """A referring expression: the attribute values that single out one object.

    Attributes left ``None`` are not mentioned. Colour and size are only used for objects
    whose colour/size never changes, so a reference means the same object in every frame.
    """

    model_config = ConfigDict(frozen=True)

    size: str | None = None
    color: str | None = None
    material: str | None = None
    shape: str | None = None

    def items(self) -> dict[str, str]:
        """The mentioned attributes, in phrase order."""
        return {a: getattr(self, a) for a in REF_ORDER if getattr(self, a) is not None}

    def phrase(self) -> str:
        """``"the large red metal circle"``, ``"the striped object"``."""
        words = [getattr(self, a) for a in REF_ORDER[:3] if getattr(self, a) is not None]
        return "the " + " ".join([*words, self.shape or "object"])

    def filter_phrase(self) -> str:
        """The attributes as a plural noun phrase: ``"small objects"``, ``"metal objects"``."""
        words = [getattr(self, a) for a in REF_ORDER[:3] if getattr(self, a) is not None]
        return " ".join([*words, f"{self.shape}s" if self.shape else "objects"])

    def matches_state(self, obj: ObjectState) -> bool:
        """Whether an object in one frame fits the reference."""
        return all(obj.attribute(a) == v for a, v in self.items().items())

    def matches_info(self, info: ObjectInfo) -> bool:
        """Whether the object fits the reference in at least one frame of the video."""
        return all(v in info.values(a) for a, v in self.items().items())


class EventPattern(BaseModel):
    """An event of a known subject: its type and what tells it apart.

    Attributes:
        type: event type.
        other: the other object of a collision.
        wall: the wall of a bounce.
        new: the new colour / size of a change.
    """

    model_config = ConfigDict(frozen=True)

    type: str
    other: ObjectRef | None = None
    wall: str | None = None
    new: str | None = None

    def past(self) -> str:
        """Past-tense verb phrase: ``"collided with the blue square"``, ``"turned red"``."""
        return {
            "collision": lambda: f"collided with {self.other.phrase()}",
            "bounce": lambda: f"hit the {self.wall} wall",
            "stop": lambda: "stopped",
            "start": lambda: "started moving",
            "color_change": lambda: f"turned {self.new}",
            "size_change": lambda: "grew" if self.new == "large" else "shrank",
            "enter": lambda: "entered the scene",
            "exit": lambda: "left the scene",
        }[self.type]()

    def base(self) -> str:
        """Base-form verb phrase: ``"collide with the blue square"``, ``"turn red"``."""
        return {
            "collision": lambda: f"collide with {self.other.phrase()}",
            "bounce": lambda: f"hit the {self.wall} wall",
            "stop": lambda: "stop",
            "start": lambda: "start moving",
            "color_change": lambda: f"turn {self.new}",
            "size_change": lambda: "grow" if self.new == "large" else "shrink",
            "enter": lambda: "enter the scene",
            "exit": lambda: "leave the scene",
        }[self.type]()


class AttributeQuery(BaseModel):
    """``What <attribute> is <target>?`` — the attribute never changes for the target."""

    kind: Literal["attribute"] = "attribute"
    target: ObjectRef
    attribute: str


class CountQuery(BaseModel):
    """``How many <filter> objects are in the scene at <frame>?``"""

    kind: Literal["count"] = "count"
    filter: ObjectRef
    frame: int


class ExistQuery(BaseModel):
    """``Which of these objects is in the scene at <frame>?`` (choices: ``"<color> <shape>"``)."""

    kind: Literal["exist"] = "exist"
    frame: int


class RelationQuery(BaseModel):
    """``Where is <subject> relative to <reference> at <frame>?``"""

    kind: Literal["relation"] = "relation"
    subject: ObjectRef
    reference: ObjectRef
    frame: int


class EventOrderQuery(BaseModel):
    """``What did <subject> do right before/after it <anchor>?`` (its previous/next event)."""

    kind: Literal["event_order"] = "event_order"
    subject: ObjectRef
    anchor: EventPattern
    direction: Literal["before", "after"]


class WhenQuery(BaseModel):
    """``When did <subject> <event>?`` — choices are time segments.

    Attributes:
        segments: ``[start, end)`` frame ranges, one per label.
        labels: the choice text of each segment.
    """

    kind: Literal["when"] = "when"
    subject: ObjectRef
    event: EventPattern
    segments: list[tuple[int, int]]
    labels: list[str]


class WhyQuery(BaseModel):
    """``Why did <subject> change direction at <frame>?``"""

    kind: Literal["why"] = "why"
    subject: ObjectRef
    frame: int


class ColliderQuery(BaseModel):
    """``What <attribute> is the object that <subject> collided with at <frame>?``"""

    kind: Literal["collider"] = "collider"
    subject: ObjectRef
    frame: int
    attribute: str = "color"


Program = Annotated[
    AttributeQuery
    | CountQuery
    | ExistQuery
    | RelationQuery
    | EventOrderQuery
    | WhenQuery
    | WhyQuery
    | ColliderQuery,
    Field(discriminator="kind"),
]
PROGRAM_ADAPTER: TypeAdapter[Program] = TypeAdapter(Program)


def parse_program(data: dict) -> Program:
    """A program from its JSON form (``extras["program"]``).

    Raises:
        pydantic.ValidationError: not a known program.
    """
    return PROGRAM_ADAPTER.validate_python(data)
