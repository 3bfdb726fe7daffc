"""Offline WordNet 3.0 for WUPS: loading, morphology and Wu–Palmer similarity.

WordNet is read with NLTK's ``WordNetCorpusReader`` from, in order:

1. NLTK data (``corpora/wordnet`` found by ``nltk.data.find``; never downloaded);
2. the directory named by the environment variable ``VIDEOQA_WORDNET_DIR``;
3. Debian's ``wordnet-base`` package (``/usr/share/wordnet``, the system data location).

Debian's files lack ``lexnames`` (the 45 lexicographer file names) and the sense index;
:class:`_DictDirReader` supplies the standard names in memory and skips the sense-key
mapping, which WUPS never uses. NLTK only opens corpora under ``nltk.data.path``, so a
plain directory is appended to that list (nothing is written anywhere).

Two behaviours of NLTK changed after the version that produced the published NExT-OE
numbers (``nltk==3.3`` in NExT-OE's ``requirements.txt``), and both change WUPS:

* ``Synset.wup_similarity`` simulated a root only when the *first* synset needed one
  (verbs), so ``noun.wup(verb)`` was ``None`` but ``verb.wup(noun)`` was not; adjectives
  and adverbs never got a root. NLTK 3.6 made it symmetric and gave every non-noun a root.
* ``morphy`` kept applying the detachment rules until a form was found; NLTK 3.9 applies
  them once.

:class:`NltkSemantics` selects either behaviour; both are implemented here on top of
NLTK's public graph methods, so the result does not depend on the installed NLTK.
"""

from __future__ import annotations

import enum
import io
import os
import warnings
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from videoqa.errors import ModelUnavailableError

#: Environment variable naming a WordNet 3.0 ``dict`` directory (``data.noun``, ``index.noun``…).
WORDNET_DIR_ENV = "VIDEOQA_WORDNET_DIR"
#: Where Debian's ``wordnet-base`` package installs WordNet 3.0.
DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")

_REQUIRED_FILES = tuple(
    f"{kind}.{pos}" for kind in ("data", "index") for pos in ("noun", "verb", "adj", "adv")
) + tuple(f"{pos}.exc" for pos in ("noun", "verb", "adj", "adv"))

# The WordNet 3.0 lexicographer files, numbered 0..44 (WordNet's lexnames(5WN) page).
_LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group "
    "noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant "
    "noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
    "noun.substance noun.time verb.body verb.change verb.cognition verb.communication "
    "verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_SYNTACTIC_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

# NLTK's synsets() visits parts of speech in this order; its first synset is WUPS's sense.
_POS_ORDER = ("n", "v", "a", "r")


class WordNetUnavailableError(ModelUnavailableError):
    """No usable WordNet 3.0 was found (nothing is ever downloaded)."""


class NltkSemantics(enum.Enum):
    """Which NLTK behaviour the official NExT-OE ``metrics.py`` is reproduced under.

    ``PINNED``: ``nltk==3.3`` as pinned by NExT-OE (the published tables): one-sided root
    simulation in Wu–Palmer, no root for adjectives/adverbs, iterated ``morphy`` rules.
    ``CURRENT``: NLTK ≥ 3.9, what ``eval_oe.py`` computes when run today.
    """

    PINNED = "nltk-3.3"
    CURRENT = "nltk-3.9+"


class _DictDirReader:
    """Factory for a ``WordNetCorpusReader`` over a bare WordNet ``dict`` directory."""

    @staticmethod
    def build(root: Path) -> Any:
        from nltk.corpus.reader.wordnet import WordNetCorpusReader

        class Reader(WordNetCorpusReader):
            def open(self, file: str):  # type: ignore[override]
                if file == "lexnames" and not (root / "lexnames").is_file():
                    lines = (
                        f"{i:02d}\t{name}\t{_SYNTACTIC_CATEGORY[name.split('.')[0]]}\n"
                        for i, name in enumerate(_LEXNAMES)
                    )
                    return io.StringIO("".join(lines))
                return super().open(file)

            def map_wn(self, version: str = "wordnet") -> None:  # sense keys are not needed
                return None

        with warnings.catch_warnings():  # "multilingual functions are not available"
            warnings.simplefilter("ignore", UserWarning)
            return Reader(str(root), None)


def _authorise(root: Path) -> None:
    """Let NLTK's path guard open files under ``root`` (it only trusts ``nltk.data.path``)."""
    import nltk

    resolved = str(root.resolve())
    if resolved not in nltk.data.path:
        nltk.data.path.append(resolved)


def _is_dict_dir(path: Path) -> bool:
    return all((path / name).is_file() for name in _REQUIRED_FILES)


def _reader_from_nltk_data() -> tuple[Any, str] | None:
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
    except LookupError:
        try:
            nltk.data.find("corpora/wordnet.zip")
        except LookupError:
            return None
    from nltk.corpus import wordnet

    wordnet.ensure_loaded()
    return wordnet, "nltk_data corpora/wordnet"


class WordNet:
    """WordNet 3.0 with the look-ups WUPS needs, all memoised.

    Args:
        reader: an NLTK ``WordNetCorpusReader`` over WordNet 3.0.
        source: where it was loaded from (for messages).

    Raises:
        WordNetUnavailableError: when the reader is not WordNet 3.0.
    """

    def __init__(self, reader: Any, source: str) -> None:
        version = reader.get_version()
        if version != "3.0":
            raise WordNetUnavailableError(
                f"WUPS needs WordNet 3.0, but {source} holds WordNet {version}", model="wordnet"
            )
        self.reader = reader
        self.source = source
        self._index: dict[str, dict[str, list[int]]] = reader._lemma_pos_offset_map
        self._exceptions: dict[str, dict[str, list[str]]] = reader._exception_map
        self._rules = reader.MORPHOLOGICAL_SUBSTITUTIONS
        self.first_synset = lru_cache(maxsize=None)(self._first_synset)
        self.word_similarity = lru_cache(maxsize=1_000_000)(self._word_similarity)
        self.morphy = lru_cache(maxsize=100_000)(self._morphy)
        self._distances = lru_cache(maxsize=None)(self._hypernym_distances)

    # ---- morphology -------------------------------------------------------------------
    def _in_index(self, forms: list[str], pos: str) -> list[str]:
        kept: list[str] = []
        for form in forms:
            entry = self._index.get(form)
            if entry is not None and pos in entry and form not in kept:
                kept.append(form)
        return kept

    def _detach(self, forms: list[str], pos: str) -> list[str]:
        return [
            form[: -len(old)] + new
            for form in forms
            for old, new in self._rules[pos]
            if form.endswith(old)
        ]

    def _morphy(self, form: str, pos: str, semantics: NltkSemantics) -> tuple[str, ...]:
        """Base forms of ``form`` that WordNet lists for ``pos`` (NLTK's ``_morphy``)."""
        exceptions = self._exceptions[pos]
        if form in exceptions:
            return tuple(self._in_index([form, *exceptions[form]], pos))
        forms = self._detach([form], pos)
        found = self._in_index([form, *forms], pos)
        if found or semantics is NltkSemantics.CURRENT:
            return tuple(found)
        while forms:  # NLTK <= 3.8: keep detaching until something is found
            forms = self._detach(forms, pos)
            found = self._in_index(forms, pos)
            if found:
                return tuple(found)
        return ()

    def _synset_offsets(self, word: str, semantics: NltkSemantics) -> Iterator[tuple[str, int]]:
        lemma = word.lower()
        for pos in _POS_ORDER:
            for form in self.morphy(lemma, pos, semantics):
                for offset in self._index[form].get(pos, ()):
                    yield pos, offset

    def has_synsets(self, word: str, semantics: NltkSemantics) -> bool:
        """True when ``wordnet.synsets(word)`` is non-empty."""
        return next(self._synset_offsets(word, semantics), None) is not None

    def _first_synset(self, word: str, semantics: NltkSemantics) -> Any | None:
        """``wordnet.synsets(word)[0]`` (all parts of speech, noun first), or ``None``."""
        first = next(self._synset_offsets(word, semantics), None)
        if first is None:
            return None
        return self.reader.synset_from_pos_and_offset(*first)

    # ---- similarity -------------------------------------------------------------------
    @staticmethod
    def _needs_root(synset: Any, semantics: NltkSemantics) -> bool:
        pos = synset.pos()
        if pos == "n":
            return False
        return pos == "v" or semantics is NltkSemantics.CURRENT

    @staticmethod
    def _hypernym_distances(synset: Any) -> dict[Any, int]:
        """Fewest hypernym edges from ``synset`` to each ancestor (itself at 0)."""
        dist = {synset: 0}
        frontier = [synset]
        while frontier:
            nxt = []
            for s in frontier:
                for h in s.hypernyms() + s.instance_hypernyms():
                    if h not in dist:
                        dist[h] = dist[s] + 1
                        nxt.append(h)
            frontier = nxt
        return dist

    def _path_length(self, synset: Any, target: Any, root: bool) -> int | None:
        """NLTK's ``shortest_path_distance(target, simulate_root=root)``: the fewest edges
        over a common ancestor (the simulated root sits one edge above each deepest one)."""
        if synset == target:
            return 0
        d1 = self._distances(synset)
        to_root = max(d1.values()) + 1
        if target.name() == "*ROOT*":
            return to_root if root else None
        d2 = self._distances(target)
        best = min((d + d2[c] for c, d in d1.items() if c in d2), default=None)
        if root:
            via_root = to_root + max(d2.values()) + 1
            best = via_root if best is None else min(best, via_root)
        return best

    def synset_wup(self, s1: Any, s2: Any, semantics: NltkSemantics) -> float | None:
        """Wu–Palmer similarity ``2·d(lcs) / (d(s1) + d(s2))`` as NLTK computes it.

        Depths count nodes (root depth 1); the LCS is taken with NLTK's ``use_min_depth``
        rule and a simulated root where :class:`NltkSemantics` says so. Source: Wu &
        Palmer, "Verb semantics and lexical selection", ACL 1994, eq. 1.

        Returns:
            the similarity in (0, 1], or ``None`` when the synsets share no ancestor.
        """
        if semantics is NltkSemantics.PINNED:
            need_root = self._needs_root(s1, semantics)
        else:
            need_root = self._needs_root(s1, semantics) or self._needs_root(s2, semantics)
        subsumers = s1.lowest_common_hypernyms(s2, simulate_root=need_root, use_min_depth=True)
        if not subsumers:
            return None
        subsumer = s1 if s1 in subsumers else subsumers[0]
        depth = subsumer.max_depth() + 1
        len1 = self._path_length(s1, subsumer, need_root)
        len2 = self._path_length(s2, subsumer, need_root)
        if len1 is None or len2 is None:
            return None
        return (2.0 * depth) / ((len1 + depth) + (len2 + depth))

    def _word_similarity(self, word1: str, word2: str, semantics: NltkSemantics) -> float:
        """NExT-OE's word similarity before thresholding: 1 for identical strings, else the
        Wu–Palmer similarity of the first synsets (0 when either word has none or they
        are unconnected). Order matters under :attr:`NltkSemantics.PINNED`."""
        if word1 == word2:
            return 1.0
        s1 = self.first_synset(word1, semantics)
        if s1 is None:
            return 0.0
        s2 = self.first_synset(word2, semantics)
        if s2 is None:
            return 0.0
        sim = self.synset_wup(s1, s2, semantics)
        return 0.0 if sim is None else sim

    def lemmatize(self, word: str, pos: str, semantics: NltkSemantics) -> str:
        """``WordNetLemmatizer().lemmatize(word, pos)``: the shortest base form, else ``word``."""
        forms = self.morphy(word, pos, semantics)
        return min(forms, key=len) if forms else word


_LOADED: dict[str, WordNet] = {}


def load_wordnet(directory: str | os.PathLike[str] | None = None) -> WordNet:
    """Load WordNet 3.0 once per process (about 1 s) and return the shared instance.

    Args:
        directory: a WordNet ``dict`` directory to use. ``None`` searches NLTK data, then
            ``$VIDEOQA_WORDNET_DIR``, then Debian's ``/usr/share/wordnet``.

    Raises:
        WordNetUnavailableError: when no WordNet 3.0 is found; says how to install one.
    """
    key = "" if directory is None else str(Path(directory).resolve())
    if key in _LOADED:
        return _LOADED[key]
    if directory is not None:
        candidates = [Path(directory)]
    else:
        found = _reader_from_nltk_data()
        if found is not None:
            _LOADED[key] = WordNet(*found)
            return _LOADED[key]
        env = os.environ.get(WORDNET_DIR_ENV)
        candidates = ([Path(env)] if env else []) + [DEBIAN_WORDNET_DIR]
    for root in candidates:
        if _is_dict_dir(root):
            _authorise(root)
            _LOADED[key] = WordNet(_DictDirReader.build(root), str(root))
            return _LOADED[key]
    searched = ", ".join(str(c) for c in candidates)
    if directory is None:
        searched = "NLTK data, " + searched
    raise WordNetUnavailableError(
        f"WordNet 3.0 not found (searched {searched}). Install Debian's `wordnet-base` package, or NLTK's `wordnet` corpus "
        f"into an NLTK data directory, or set {WORDNET_DIR_ENV} to a WordNet dict directory.",
        model="wordnet",
    )
