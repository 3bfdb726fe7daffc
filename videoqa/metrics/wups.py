"""WUPS (Wu–Palmer set similarity) exactly as NExT-OE's official ``metrics.py`` computes it.

Source: Malinowski & Fritz, "A Multi-World Approach to Question Answering about Real-World
Scenes based on Uncertain Input", NIPS 2014, Sec. 5 (WUPS); the variant used by
NExT-QA's open-ended task (Xiao et al., CVPR 2021, Sec. 5; ``doc-doc/NExT-OE``) that this
module reproduces differs from Malinowski's script:

* a word's sense is its **first** WordNet synset over all parts of speech (NLTK's
  ``synsets(word)[0]``), not the best pair over all noun synsets;
* identical words score 1 before any look-up; words without synsets score 0;
* a word similarity below the threshold ``t`` is multiplied by 0.1 (``t = 0`` keeps all);
* the directional score is the product, over the words of one answer that have a
  non-zero best match, of that best match in the other answer; it is 0 when no word
  matched (so an empty answer scores 0, even against another empty answer);
* the score is the minimum of the two directions.

Tokenisation mirrors ``nltk.word_tokenize`` without Punkt (unavailable offline):
sentences are split after ``.``, ``!`` or ``?`` followed by white space, then each is
split by NLTK's Treebank-style word tokenizer.

NExT-OE scores answers after ``remove_stop``: pywsd's POS-tagged lemmatisation, then a
NExT-QA stopword list. :class:`NextOENormalizer` reproduces it with NLTK's own averaged
perceptron tagger (``nltk.pos_tag``'s ``PerceptronTagger``) when its data is installed
where NLTK looks (``NLTK_DATA``, ``nltk.data.path``; ``python -m nltk.downloader
averaged_perceptron_tagger_eng``): :func:`load_pos_tagger`. Without it every word is
lemmatised as a noun, and scores can differ from the official ones (NExT-OE's HGA val
WUPS: 21.08 instead of 21.48); :data:`NO_TAGGER_NOTE` says so in the reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from videoqa.errors import UsageError
from videoqa.metrics.accuracy import NEXTQA_OE, ScoreBreakdown, TypeConvention, breakdown
from videoqa.metrics.registry import METRICS
from videoqa.metrics.wordnet import NltkSemantics, WordNet, load_wordnet

PosTagger = Callable[[list[str]], list[tuple[str, str]]]

#: What the reports say when NExT-OE answers are normalised without the POS tagger.
NO_TAGGER_NOTE = "no POS tagger: scores may differ from the official by up to ~0.4 WUPS"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

# The stopword list NExT-OE's eval_oe.py loads ("stopwords tailored for NExT-QA"; the file is
# not in the NExT-OE repository). This is the list redistributed with lmms-eval's NExT-QA task:
# NLTK's English stopwords without the words NExT-QA answers depend on (spatial and temporal
# prepositions such as before/after/in/on/up/down, negations, quantities such as more/few/both).
NEXTQA_STOPWORDS: frozenset[str] = frozenset(
    """
    i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself
    yourselves he him his himself she she's her hers herself it it's its itself they them
    their theirs themselves what which who whom this that that'll these those am is are was
    were be been being have has had having do does did doing a an the and but if or because
    as until while to from of at for with about into through during again further then here
    there when where why how all any each most other some such only own so than too very s t
    can will just don don't should should've now d ll m o re ve y ain aren aren't couldn
    couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma
    mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't
    weren weren't won won't wouldn wouldn't
    """.split()
)


@lru_cache(maxsize=1)
def _porter():
    from nltk.stem import PorterStemmer

    return PorterStemmer()


#: Optional dependencies ``import nltk`` pulls in when they are installed (through
#: ``nltk.collocations``, ``nltk.classify.scikitlearn``, ``nltk.parse.transitionparser``…)
#: and that the tokenizer, the tagger, the stemmer and WordNet never use.
NLTK_OPTIONAL_IMPORTS = ("sklearn", "scipy.stats", "scipy.sparse")


def import_nltk_light() -> None:
    """Import NLTK with its optional scikit-learn / SciPy helpers hidden, for processes
    that use NLTK only for WUPS (``videoqa eval``): ``import nltk`` costs ~1.3 s of CPU
    with them and ~0.3 s without (measured here). Afterwards, in this process, NLTK's
    scikit-learn and SciPy based helpers (``SklearnClassifier``, ``fisher_exact``
    association scores, the transition parser) are unavailable; SciPy and scikit-learn
    themselves import normally. Does nothing when NLTK is already imported.
    """
    import sys

    if "nltk" in sys.modules:
        return
    hidden = [name for name in NLTK_OPTIONAL_IMPORTS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # "import name" raises ImportError
    try:
        import nltk  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


@lru_cache(maxsize=1)
def load_pos_tagger() -> PosTagger | None:
    """NLTK's English averaged perceptron tagger (what ``nltk.pos_tag`` uses), loaded once
    from NLTK data (``taggers/averaged_perceptron_tagger_eng``, found through
    ``NLTK_DATA`` / ``nltk.data.path``; never downloaded), or ``None`` when absent.

    Returns:
        ``tokens -> [(token, Penn Treebank tag), ...]``, or ``None``.
    """
    from nltk.tag.perceptron import PerceptronTagger

    try:
        return PerceptronTagger().tag
    except (LookupError, OSError, ValueError):
        return None


# Text the Treebank tokenizer leaves as white-space separated words: letters, digits and
# spaces only, and none of the words its contraction rules split ("cannot" -> "can not").
_PLAIN = re.compile(r"[A-Za-z0-9 ]*")
_SPLIT_WORDS = frozenset({"cannot", "gimme", "gonna", "gotta", "lemme", "wanna"})


@lru_cache(maxsize=100_000)
def tokenize(text: str) -> tuple[str, ...]:
    """Split ``text`` into word tokens like ``nltk.word_tokenize`` (no Punkt model needed).

    Text made of letters, digits and spaces only (most answers) is split on spaces, which
    is what NLTK's tokenizer does with it unless a contraction rule applies ("cannot",
    "gonna", …: those go through NLTK); anything else goes through NLTK.

    Returns:
        the tokens, case preserved (``"The dog's toy."`` → ``The dog 's toy .``).
    """
    if _PLAIN.fullmatch(text) and _SPLIT_WORDS.isdisjoint(text.lower().split()):
        return tuple(text.split())
    from nltk.tokenize import word_tokenize

    return tuple(
        token
        for sentence in _SENTENCE_END.split(text.strip())
        for token in word_tokenize(sentence, preserve_line=True)
    )


def _directional(
    words1: Sequence[str], words2: Sequence[str], threshold: float, sim: Callable[..., float]
) -> float:
    """Product over ``words1`` of each word's best (thresholded) similarity in ``words2``."""
    score = 1.0
    matched = False
    for w1 in words1:
        best = 0.0
        for w2 in words2:
            s = sim(w1, w2)
            if s < threshold:
                s = 0.1 * s
            if s > best:
                best = s
        if best == 0:
            continue
        score *= best
        matched = True
    return score if matched else 0.0


def _check_threshold(threshold: float) -> None:
    if not 0.0 <= threshold <= 1.0:
        raise UsageError(f"WUPS threshold must be in [0, 1], got {threshold}")


def wups(
    prediction: str,
    reference: str,
    threshold: float,
    *,
    semantics: NltkSemantics = NltkSemantics.PINNED,
    wordnet: WordNet | None = None,
) -> float:
    """WUPS of one predicted answer against one reference answer.

    Args:
        prediction: predicted answer text (already normalised if the protocol requires it).
        reference: ground-truth answer text.
        threshold: ``t`` of WUPS@t, in [0, 1] (0.0 and 0.9 in the literature).
        semantics: which NLTK behaviour to reproduce (default: the pinned ``nltk==3.3``).
        wordnet: a loaded :class:`WordNet`; default :func:`load_wordnet`.

    Returns:
        the score in [0, 1]: ``min(S(pred→ref), S(ref→pred))`` (module docstring).

    Raises:
        UsageError: when ``threshold`` is outside [0, 1].
        WordNetUnavailableError: when WordNet 3.0 cannot be found.
    """
    _check_threshold(threshold)
    wn = wordnet if wordnet is not None else load_wordnet()

    def sim(w1: str, w2: str) -> float:
        return wn.word_similarity(w1, w2, semantics)

    pred, ref = tokenize(prediction), tokenize(reference)
    return min(_directional(pred, ref, threshold, sim), _directional(ref, pred, threshold, sim))


def wups_scores(
    predictions: Sequence[str],
    references: Sequence[str],
    threshold: float,
    *,
    semantics: NltkSemantics = NltkSemantics.PINNED,
    wordnet: WordNet | None = None,
) -> np.ndarray:
    """:func:`wups` for each (prediction, reference) pair.

    Args:
        predictions: ``N`` predicted answers.
        references: ``N`` reference answers.
        threshold: ``t`` of WUPS@t.

    Returns:
        float64 array of shape ``(N,)`` with values in [0, 1].

    Raises:
        UsageError: when the lengths differ or ``threshold`` is outside [0, 1].
    """
    if len(predictions) != len(references):
        raise UsageError(f"{len(predictions)} predictions but {len(references)} references")
    wn = wordnet if wordnet is not None else load_wordnet()
    return np.fromiter(
        (
            wups(p, r, threshold, semantics=semantics, wordnet=wn)
            for p, r in zip(predictions, references, strict=True)
        ),
        dtype=np.float64,
        count=len(predictions),
    )


def wups_corpus(
    predictions: Sequence[str],
    references: Sequence[str],
    threshold: float,
    *,
    semantics: NltkSemantics = NltkSemantics.PINNED,
) -> float:
    """Mean WUPS@``threshold`` over a corpus, in percent (unrounded; tables print 2 dp).

    Raises:
        UsageError: when the corpus is empty or the lengths differ.
    """
    if not predictions:
        raise UsageError("WUPS of an empty corpus is undefined")
    return float(wups_scores(predictions, references, threshold, semantics=semantics).mean()) * 100


@dataclass(frozen=True)
class NextOENormalizer:
    """NExT-OE's ``remove_stop``: pywsd ``lemmatize_sentence`` then stopword removal.

    Per token (lower-cased): its Penn tag maps to a WordNet POS (NN→n, JJ→a, VB→v,
    RB→r; any other tag: the tagger is asked about the word alone and falls back to
    noun); the lemma is WordNet's shortest base form for that POS; if the lemma has no
    synsets the Porter stem is used when it has synsets, else the word itself. Tokens in
    ``stopwords`` are then dropped and the rest joined with single spaces.

    Attributes:
        stopwords: words removed after lemmatisation (default :data:`NEXTQA_STOPWORDS`).
        pos_tagger: a Penn Treebank tagger such as ``nltk.pos_tag`` (:func:`load_pos_tagger`
            loads NLTK's). ``None``: every token is treated as a noun, which is what pywsd
            does for untagged words; verbs are then lemmatised as nouns ("running" stays
            "running"), so scores can differ from the official (:attr:`note`).
        semantics: NLTK behaviour for WordNet morphology.
    """

    stopwords: frozenset[str] = NEXTQA_STOPWORDS
    pos_tagger: PosTagger | None = None
    semantics: NltkSemantics = NltkSemantics.PINNED
    _cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _word_tags: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def official(cls, semantics: NltkSemantics = NltkSemantics.PINNED) -> NextOENormalizer:
        """The normaliser of ``eval_oe.py``: with NLTK's tagger when it is installed."""
        return cls(pos_tagger=load_pos_tagger(), semantics=semantics)

    @property
    def note(self) -> str | None:
        """:data:`NO_TAGGER_NOTE` without a tagger (scores may differ from the official)."""
        return NO_TAGGER_NOTE if self.pos_tagger is None else None

    @property
    def description(self) -> str:
        """One line for reports: the tagger used, or :data:`NO_TAGGER_NOTE`."""
        if self.pos_tagger is None:
            return NO_TAGGER_NOTE
        return "NExT-OE remove_stop: NLTK averaged perceptron POS tags, WordNet lemmas, stopwords"

    @staticmethod
    def _morphy_pos(tag: str) -> str:
        return {"NN": "n", "JJ": "a", "VB": "v", "RB": "r"}.get(tag[:2], "")

    def _lemma(self, word: str, pos: str, wn: WordNet) -> str:
        if not pos:
            tag = self._word_tags.get(word)
            if tag is None:
                tagged = self.pos_tagger([word]) if self.pos_tagger is not None else [(word, "")]
                tag = self._word_tags[word] = tagged[0][1]
            pos = self._morphy_pos(tag) or "n"
        lemma = wn.lemmatize(word, pos, self.semantics)
        if wn.has_synsets(lemma, self.semantics):
            return lemma
        stem = _porter().stem(word)
        return stem if wn.has_synsets(stem, self.semantics) else word

    def __call__(self, sentence: str) -> str:
        """Normalise one answer.

        Raises:
            WordNetUnavailableError: when WordNet 3.0 cannot be found.
        """
        if sentence in self._cache:
            return self._cache[sentence]
        wn = load_wordnet()
        tokens = list(tokenize(sentence))
        tags = self.pos_tagger(tokens) if self.pos_tagger is not None else [(t, "") for t in tokens]
        lemmas = [
            self._lemma(tok.lower(), self._morphy_pos(tag), wn)
            for tok, (_, tag) in zip(tokens, tags, strict=True)
        ]
        out = " ".join(w for w in lemmas if w not in self.stopwords)
        self._cache[sentence] = out
        return out


@dataclass(frozen=True)
class NextOEReport:
    """NExT-OE results: WUPS@0 and WUPS@0.9 per question type, group and overall.

    Attributes:
        wups0: WUPS@0 breakdown (the number NExT-QA tables report).
        wups9: WUPS@0.9 breakdown.
    """

    wups0: ScoreBreakdown
    wups9: ScoreBreakdown


def _question_scores(
    pred: str,
    refs: list[str],
    exact: bool,
    semantics: NltkSemantics,
    wn: WordNet,
) -> tuple[float, float]:
    if exact:  # counting questions: exact match with any reference, at both thresholds
        hit = float(any(pred == r for r in refs))
        return hit, hit
    w0 = max(wups(pred, r, 0.0, semantics=semantics, wordnet=wn) for r in refs)
    w9 = max(wups(pred, r, 0.9, semantics=semantics, wordnet=wn) for r in refs)
    return w0, w9


def nextoe_wups(
    predictions: Sequence[str],
    references: Sequence[str],
    qtypes: Sequence[str],
    *,
    extra_references: Sequence[str | None] | None = None,
    normalizer: Callable[[str], str] | None = None,
    convention: TypeConvention = NEXTQA_OE,
    semantics: NltkSemantics = NltkSemantics.PINNED,
) -> NextOEReport:
    """Score open-ended answers as NExT-OE's ``eval_oe.py`` does.

    Both answers are normalised (``remove_stop``); counting types (``DC``, ``DB``) score
    1 on exact match of the normalised strings, the others WUPS; with an additional
    reference (the test set's ``add_reference_answer``) the maximum over both is taken.
    Percentages are rounded to 2 decimals like the official table.

    Args:
        predictions: ``N`` raw predicted answers.
        references: ``N`` raw ground-truth answers.
        qtypes: ``N`` NExT-QA type codes (``TP`` is counted as ``TN``).
        extra_references: optional ``N`` second references (``None`` where absent).
        normalizer: answer normalisation; default :meth:`NextOENormalizer.official` (NLTK's
            POS tagger when installed).

    Returns:
        :class:`NextOEReport` with per-type counts.

    Raises:
        UsageError: when the input lengths differ or there are no questions.
    """
    n = len(predictions)
    if not (len(references) == len(qtypes) == n) or (
        extra_references is not None and len(extra_references) != n
    ):
        raise UsageError("predictions, references, qtypes (and extra_references) differ in length")
    norm = normalizer if normalizer is not None else NextOENormalizer.official(semantics)
    wn = load_wordnet()
    s0 = np.zeros(n)
    s9 = np.zeros(n)
    for i, (pred, ref, qtype) in enumerate(zip(predictions, references, qtypes, strict=True)):
        refs = [norm(ref)]
        extra = extra_references[i] if extra_references is not None else None
        if extra is not None:
            refs.append(norm(extra))
        canonical = convention.canonical(qtype)
        s0[i], s9[i] = _question_scores(norm(pred), refs, canonical in ("DC", "DB"), semantics, wn)
    return NextOEReport(
        wups0=breakdown(s0, qtypes, convention, scale_last=True),
        wups9=breakdown(s9, qtypes, convention, scale_last=True),
    )


METRICS.register("wups", wups)
METRICS.register("wups_scores", wups_scores)
METRICS.register("wups_corpus", wups_corpus)
METRICS.register("nextoe_wups", nextoe_wups)
