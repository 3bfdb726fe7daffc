"""The closed vocabulary of the synthetic benchmark: shapes, colours, sizes, materials,
their RGB values and sizes in the frame, and the attribute combinations held out of
training for the compositional-generalization split.

The held-out pairs follow the idea of CLEVR-CoGenT (Johnson et al., "CLEVR: A Diagnostic
Dataset for Compositional Language and Elementary Visual Reasoning", CVPR 2017, §4.7):
some (colour, shape) pairs never occur in the training, validation and test videos and
occur in every video of the ``comp`` split.
"""

from __future__ import annotations

from dataclasses import dataclass

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "hexagon", "star")

#: colour name → RGB (0–255), saturated so that every colour stands out of the pale
#: backgrounds.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "green": (40, 155, 60),
    "blue": (45, 85, 215),
    "yellow": (235, 195, 30),
    "purple": (135, 60, 185),
    "cyan": (30, 180, 200),
    "orange": (240, 130, 25),
    "pink": (235, 110, 185),
}
COLOR_NAMES: tuple[str, ...] = tuple(COLORS)

SIZES: tuple[str, ...] = ("small", "large")
#: size name → physical radius of the object as a fraction of the frame width.
SIZE_RADIUS: dict[str, float] = {"small": 0.055, "large": 0.085}

MATERIALS: tuple[str, ...] = ("matte", "metal", "striped")

#: attribute name → its values, in the order questions list them.
ATTRIBUTE_VALUES: dict[str, tuple[str, ...]] = {
    "size": SIZES,
    "color": COLOR_NAMES,
    "material": MATERIALS,
    "shape": SHAPES,
}
#: attributes that never change during a video.
STATIC_ATTRIBUTES: tuple[str, ...] = ("shape", "material")

#: (colour, shape) pairs absent from train/val/test and present in the ``comp`` split.
HELD_OUT_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {
        ("red", "circle"),
        ("green", "square"),
        ("blue", "triangle"),
        ("yellow", "diamond"),
        ("purple", "hexagon"),
        ("cyan", "star"),
    }
)

WALLS: tuple[str, ...] = ("left", "right", "top", "bottom")


@dataclass(frozen=True)
class CompositionRule:
    """Which (colour, shape) pairs a split may contain.

    Attributes:
        forbidden: pairs that never occur (``HELD_OUT_PAIRS`` for train/val/test, empty
            for the ``comp`` split).
    """

    forbidden: frozenset[tuple[str, str]] = frozenset()

    def allowed(self, color: str | None, shape: str | None) -> bool:
        """Whether an object may have this colour and shape (``None`` = any value)."""
        if color is None or shape is None:
            if color is None and shape is None:
                return True
            if color is None:
                return any((c, shape) not in self.forbidden for c in COLOR_NAMES)
            return any((color, s) not in self.forbidden for s in SHAPES)
        return (color, shape) not in self.forbidden

    def colors_for(self, shape: str) -> tuple[str, ...]:
        """Colours an object of ``shape`` may take."""
        return tuple(c for c in COLOR_NAMES if (c, shape) not in self.forbidden)

    def shapes_for(self, color: str) -> tuple[str, ...]:
        """Shapes an object of ``color`` may have."""
        return tuple(s for s in SHAPES if (color, s) not in self.forbidden)


#: rule of the train/val/test splits and of the compositional split.
IID_RULE = CompositionRule(HELD_OUT_PAIRS)
OPEN_RULE = CompositionRule(frozenset())
