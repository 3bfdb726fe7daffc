"""How each benchmark is scored: question-type conventions and open-ended answer matching.

This is the one place where dataset names meet scoring rules; the scorers themselves
dispatch on the *sample type* (:mod:`videoqa.eval.scoring`), never on names.

* NExT-QA multiple choice and ATP-hard (a NExT-QA subset): ``eval_mc.py`` conventions
  (Xiao et al., CVPR 2021, §5 and Table 3): ``TP`` counted as ``TN``, groups C/T/D.
* NExT-QA open-ended: ``eval_oe.py`` (doc-doc/NExT-OE): answers pass ``remove_stop``
  (:class:`~videoqa.metrics.wups.NextOENormalizer`), counting types ``DC``/``DB`` score by
  exact match, the others by WUPS (Malinowski & Fritz, NIPS 2014, §5).
* the synthetic benchmark (:mod:`videoqa.synth.questions`): its type codes' first letter
  is the question family (D descriptive, R relationship, T temporal, C causal, F frame),
  reported as groups; ``TP`` and ``TN`` stay apart (they are balanced separately).
* Everything else (MSRVTT-QA, MSVD-QA, ActivityNet-QA, AGQA, STAR, TVQA, MOMA-QA,
  …): types kept as the dataset names them, no groups; open-ended answers are
  compared after lower-casing and collapsing white space (the exact-match accuracy of Xu
  et al., ACM MM 2017, §5), WUPS on the same normalised text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from videoqa.metrics.accuracy import NEXTQA_MC, NEXTQA_OE, PLAIN, TypeConvention
from videoqa.registry import Registry


def simple_normalize(answer: str) -> str:
    """Lower-case ``answer`` and collapse runs of white space (``" A  Dog "`` → ``"a dog"``)."""
    return " ".join(answer.lower().split())


def _nextoe_normalizer() -> Callable[[str], str]:
    from videoqa.metrics.wups import NextOENormalizer

    return NextOENormalizer.official()  # NLTK's POS tagger when its data is installed


@dataclass(frozen=True)
class EvalProtocol:
    """Scoring rules of one benchmark.

    Attributes:
        convention: how question types are merged, ordered and named.
        groups: whether the benchmark defines type groups (first letter: NExT-QA's
            C/T/D); without them no per-group numbers are reported.
        normalizer_factory: builds the open-ended answer normaliser (called once per
            evaluation; the NExT-OE one loads WordNet lazily).
        exact_types: canonical types scored by exact match of the normalised answers
            instead of WUPS (NExT-OE's counting and yes/no types).
    """

    convention: TypeConvention = PLAIN
    groups: bool = False
    normalizer_factory: Callable[[], Callable[[str], str]] = field(default=lambda: simple_normalize)
    exact_types: frozenset[str] = frozenset()


#: The synthetic benchmark's families (first letter of its type codes).
SYNTHETIC = TypeConvention(
    names={
        "D": "descriptive",
        "R": "relationship",
        "T": "temporal",
        "C": "causal",
        "F": "frame",
        "all": "all",
    }
)

#: The protocol of every dataset not listed in :data:`PROTOCOLS`.
DEFAULT_PROTOCOL = EvalProtocol()

#: Dataset name → :class:`EvalProtocol`.
PROTOCOLS: Registry[EvalProtocol] = Registry("evaluation protocol")
PROTOCOLS.register("nextqa-mc", EvalProtocol(convention=NEXTQA_MC, groups=True))
PROTOCOLS.register("atp-hard", EvalProtocol(convention=NEXTQA_MC, groups=True))
PROTOCOLS.register("synthetic", EvalProtocol(convention=SYNTHETIC, groups=True))
PROTOCOLS.register(
    "nextqa-oe",
    EvalProtocol(
        convention=NEXTQA_OE,
        groups=True,
        normalizer_factory=_nextoe_normalizer,
        exact_types=frozenset({"DC", "DB"}),
    ),
)


def protocol_for(dataset: str) -> EvalProtocol:
    """The scoring rules of ``dataset`` (:data:`DEFAULT_PROTOCOL` when none is registered)."""
    return PROTOCOLS.get(dataset) if dataset in PROTOCOLS else DEFAULT_PROTOCOL
