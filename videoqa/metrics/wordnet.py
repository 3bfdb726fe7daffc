"""Offline WordNet 3.0 for WUPS: loading, morphology and Wu–Palmer similarity.

WordNet's files are found, in order, in:

1. NLTK data (``corpora/wordnet`` or ``corpora/wordnet.zip`` found by ``nltk.data.find``;
   never downloaded);
2. the directory named by the environment variable ``VIDEOQA_WORDNET_DIR``;
3. Debian's ``wordnet-base`` package (``/usr/share/wordnet``, the system data location).

WUPS needs little of WordNet: the lemma index (lemma → synsets per part of speech), the
morphological exception lists, and the hypernym graph (``@`` and ``@i`` pointers) with
each synset's part of speech, name and depths. :class:`WordNetGraph` holds exactly that
in flat integer arrays, parsed from the ``index.*``, ``data.*`` and ``*.exc`` files once
and cached in the user cache directory (``$VIDEOQA_CACHE_DIR``, else
``$XDG_CACHE_HOME/videoqa``, else ``~/.cache/videoqa``) as ``wordnet/<sha256>.npz``,
keyed by the SHA-256 of those files (a NumPy archive without pickled objects, written to
a temporary file and renamed into place). A fresh process then loads WordNet in tens of
milliseconds instead of the seconds NLTK's reader takes; nothing else is ever written.

The graph algorithms follow NLTK's ``Synset`` methods (``synsets``, ``_morphy``,
``min_depth``, ``max_depth``, ``lowest_common_hypernyms``, ``shortest_path_distance``,
``wup_similarity``) on that data; ``tests/metrics/test_wordnet.py`` checks them against
NLTK's own reader word by word.

Two behaviours of NLTK changed after the version that produced the published NExT-OE
numbers (``nltk==3.3`` in NExT-OE's ``requirements.txt``), and both change WUPS:

* ``Synset.wup_similarity`` simulated a root only when the *first* synset needed one
  (verbs), so ``noun.wup(verb)`` was ``None`` but ``verb.wup(noun)`` was not; adjectives
  and adverbs never got a root. NLTK 3.6 made it symmetric and gave every non-noun a root.
* ``morphy`` kept applying the detachment rules until a form was found; NLTK 3.9 applies
  them once.

:class:`NltkSemantics` selects either behaviour; both are implemented here, so the result
does not depend on the installed NLTK (the detachment rules are NLTK's table).
"""

from __future__ import annotations

import enum
import hashlib
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from videoqa.errors import ModelUnavailableError

#: Environment variable naming a WordNet 3.0 ``dict`` directory (``data.noun``, ``index.noun``…).
WORDNET_DIR_ENV = "VIDEOQA_WORDNET_DIR"
#: Where Debian's ``wordnet-base`` package installs WordNet 3.0.
DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")
#: Environment variable naming videoqa's cache directory.
CACHE_DIR_ENV = "VIDEOQA_CACHE_DIR"

_POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
_REQUIRED_FILES = tuple(
    f"{kind}.{name}" for kind in ("data", "index") for name in _POS_FILES.values()
) + tuple(f"{name}.exc" for name in _POS_FILES.values())

# NLTK's synsets() visits parts of speech in this order; its first synset is WUPS's sense.
_POS_ORDER = ("n", "v", "a", "r")
_HYPERNYM_POINTERS = (b"@", b"@i")
_CACHE_FORMAT = 1  # bump when the arrays change
ROOT = -1  #: the simulated root synset (NLTK's ``*ROOT*``): depth 0, above every top
_ROOT_NAME = "*ROOT*"


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


# ------------------------------------------------------------------------------- files


@dataclass(frozen=True)
class WordNetFiles:
    """Where WordNet's files are: a ``dict`` directory, or NLTK's ``wordnet.zip``.

    Attributes:
        source: shown in messages (the directory or archive).
        root: the directory, or the zip archive.
        prefix: the folder inside the archive (``"wordnet/"``); empty for a directory.
    """

    source: str
    root: Path
    prefix: str = ""

    def read(self, name: str) -> bytes:
        """The bytes of one file (``data.noun``…).

        Raises:
            FileNotFoundError, KeyError: the file is missing.
        """
        if self.prefix or self.root.suffix == ".zip":
            with zipfile.ZipFile(self.root) as archive:
                return archive.read(self.prefix + name)
        return (self.root / name).read_bytes()

    def digest(self) -> str:
        """SHA-256 (hex) over the files WUPS uses, in a fixed order."""
        h = hashlib.sha256()
        for name in _REQUIRED_FILES:
            data = self.read(name)
            h.update(f"{name}:{len(data)}\n".encode())
            h.update(data)
        return h.hexdigest()


def _is_dict_dir(path: Path) -> bool:
    return all((path / name).is_file() for name in _REQUIRED_FILES)


def _nltk_data_files() -> WordNetFiles | None:
    """WordNet in NLTK data (a ``corpora/wordnet`` folder or ``wordnet.zip``), if any."""
    import nltk

    try:
        found = Path(str(nltk.data.find("corpora/wordnet")))
    except LookupError:
        found = None
    if found is not None and _is_dict_dir(found):
        return WordNetFiles(f"nltk_data {found}", found)
    for base in map(Path, nltk.data.path):
        archive = base / "corpora" / "wordnet.zip"
        if archive.is_file():
            return WordNetFiles(f"nltk_data {archive}", archive, "wordnet/")
    return None


def cache_dir() -> Path:
    """videoqa's cache directory: ``$VIDEOQA_CACHE_DIR``, else ``$XDG_CACHE_HOME/videoqa``,
    else ``~/.cache/videoqa``."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "videoqa"


# ------------------------------------------------------------------------------ graph


def _blob(strings: list[str]) -> np.ndarray:
    return np.frombuffer("\n".join(strings).encode("utf-8"), dtype=np.uint8)


def _unblob(array: np.ndarray) -> list[str]:
    return array.tobytes().decode("utf-8").split("\n") if array.size else []


_MARKER = re.compile(r"(.*?)(\(.*\))?$")


@dataclass
class WordNetGraph:
    """The parts of WordNet WUPS uses, as flat lists (synsets are ``0..S-1``).

    Attributes:
        version: WordNet's version (``"3.0"``), from the ``data.adj`` header.
        lemmas: lemma → row ``i``; its synsets of part of speech ``_POS_ORDER[p]`` are
            ``lemma_synsets[lemma_ptr[4 i + p] : lemma_ptr[4 i + p + 1]]`` in index order.
        pos: one character per synset: ``n v a s r`` (``s``: adjective satellite).
        min_depth, max_depth: NLTK's ``min_depth()`` / ``max_depth()`` (hypernym edges to
            the farthest / nearest top, 0 for a top).
        hyp_ptr, hyp_ids: hypernyms and instance hypernyms of ``s``:
            ``hyp_ids[hyp_ptr[s] : hyp_ptr[s + 1]]``.
        names: ``lemma.pos.NN`` of each synset, NLTK's synset names (they order ties);
            split from their stored text on first use.
        exceptions: part of speech → inflected form → base forms (``*.exc``).
    """

    version: str
    lemmas: dict[str, int]
    lemma_ptr: list[int]
    lemma_synsets: list[int]
    pos: str
    min_depth: list[int]
    max_depth: list[int]
    hyp_ptr: list[int]
    hyp_ids: list[int]
    names_text: str
    exceptions: dict[str, dict[str, list[str]]]

    @property
    def names(self) -> list[str]:
        """NLTK's name of each synset."""
        names = self.__dict__.get("_names")
        if names is None:
            names = self.__dict__["_names"] = self.names_text.split("\n")
        return names

    # ---- building from the WordNet files -------------------------------------------
    @classmethod
    def parse(cls, files: WordNetFiles) -> WordNetGraph:
        """Parse the ``index.*``, ``data.*`` and ``*.exc`` files (about 2 s).

        Raises:
            FileNotFoundError, KeyError, ValueError: a missing or malformed file.
        """
        ids: dict[tuple[str, int], int] = {}  # (data file pos, offset) -> synset
        pos_chars: list[str] = []
        first_lemma: list[str] = []
        pointers: list[list[tuple[str, int]]] = []
        version = ""
        for file_pos, name in _POS_FILES.items():
            for line in files.read(f"data.{name}").split(b"\n"):
                if not line or line.startswith(b"  "):
                    if not version and (m := re.search(rb"WordNet (\S+) Copyright", line)):
                        version = m.group(1).decode()
                    continue
                head = line.split(b" | ", 1)[0].split()
                words = int(head[3], 16)
                count = int(head[4 + 2 * words])
                ptrs = head[5 + 2 * words : 5 + 2 * words + 4 * count]
                ids[(file_pos, int(head[0]))] = len(pos_chars)
                pos_chars.append(head[2].decode())
                first_lemma.append(_MARKER.match(head[4].decode()).group(1).lower())  # type: ignore[union-attr]
                pointers.append(
                    [
                        (ptrs[k + 2].decode(), int(ptrs[k + 1]))
                        for k in range(0, len(ptrs), 4)
                        if ptrs[k] in _HYPERNYM_POINTERS
                    ]
                )
        hyp_ptr, hyp_ids = [0], []
        for targets in pointers:
            hyp_ids += [ids[("a" if p == "s" else p, off)] for p, off in targets]
            hyp_ptr.append(len(hyp_ids))
        lemma_rows: dict[str, list[list[int]]] = {}
        offsets: dict[tuple[str, str], list[int]] = {}  # (lemma, pos) -> offsets, as NLTK
        for p, name in _POS_FILES.items():
            for line in files.read(f"index.{name}").decode("utf-8").split("\n"):
                if not line or line.startswith(" "):
                    continue
                fields = line.split()
                n_synsets, n_pointers = int(fields[2]), int(fields[3])
                start = 6 + n_pointers
                offs = [int(x) for x in fields[start : start + n_synsets]]
                offsets[(fields[0], p)] = offs
                row = lemma_rows.setdefault(fields[0], [[], [], [], []])
                row[_POS_ORDER.index(p)] = [ids[(p, o)] for o in offs]
        offset_of = [0] * len(pos_chars)
        for (_, off), sid in ids.items():
            offset_of[sid] = off
        names = []  # NLTK: first lemma, pos, 1-based position among the lemma's synsets
        for s, (p, lemma) in enumerate(zip(pos_chars, first_lemma, strict=True)):
            offs = offsets.get((lemma, "a" if p == "s" else p), [])
            sense = offs.index(offset_of[s]) + 1 if offset_of[s] in offs else 1
            names.append(f"{lemma}.{p}.{sense:02d}")
        lemmas = list(lemma_rows)
        lemma_ptr, lemma_synsets = [0], []
        for lemma in lemmas:
            for part in lemma_rows[lemma]:
                lemma_synsets += part
                lemma_ptr.append(len(lemma_synsets))
        exceptions: dict[str, dict[str, list[str]]] = {}
        for p, name in _POS_FILES.items():
            table = exceptions[p] = {}
            for line in files.read(f"{name}.exc").decode("utf-8").split("\n"):
                terms = line.split()
                if terms:
                    table[terms[0]] = terms[1:]
        min_depth, max_depth = _depths(hyp_ptr, hyp_ids)
        return cls(
            version=version,
            lemmas={lemma: i for i, lemma in enumerate(lemmas)},
            lemma_ptr=lemma_ptr,
            lemma_synsets=lemma_synsets,
            pos="".join(pos_chars),
            min_depth=min_depth,
            max_depth=max_depth,
            hyp_ptr=hyp_ptr,
            hyp_ids=hyp_ids,
            names_text="\n".join(names),
            exceptions=exceptions,
        )

    # ---- the cache file ----------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the graph to ``path`` (``.npz``, no pickled objects) atomically: into a
        temporary file beside it, then renamed."""
        exc = [
            f"{p}\t{form}\t{' '.join(bases)}"
            for p, table in self.exceptions.items()
            for form, bases in table.items()
        ]
        arrays = {
            "format": np.array([_CACHE_FORMAT], dtype=np.int32),
            "version": _blob([self.version]),
            "lemmas": _blob(list(self.lemmas)),
            "lemma_ptr": np.array(self.lemma_ptr, dtype=np.int32),
            "lemma_synsets": np.array(self.lemma_synsets, dtype=np.int32),
            "pos": np.frombuffer(self.pos.encode("ascii"), dtype=np.uint8),
            "min_depth": np.array(self.min_depth, dtype=np.int16),
            "max_depth": np.array(self.max_depth, dtype=np.int16),
            "hyp_ptr": np.array(self.hyp_ptr, dtype=np.int32),
            "hyp_ids": np.array(self.hyp_ids, dtype=np.int32),
            "names": np.frombuffer(self.names_text.encode("utf-8"), dtype=np.uint8),
            "exceptions": _blob(exc),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path) -> WordNetGraph:
        """Read a graph written by :meth:`save`.

        Raises:
            OSError, ValueError, KeyError: unreadable, foreign or outdated file.
        """
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"][0]) != _CACHE_FORMAT:
                raise ValueError(f"{path}: cache format {int(z['format'][0])}")
            exceptions: dict[str, dict[str, list[str]]] = {p: {} for p in _POS_FILES}
            for line in _unblob(z["exceptions"]):
                p, form, bases = line.split("\t")
                exceptions[p][form] = bases.split(" ") if bases else []
            lemmas = _unblob(z["lemmas"])
            return cls(
                version=_unblob(z["version"])[0],
                lemmas=dict(zip(lemmas, range(len(lemmas)), strict=True)),
                lemma_ptr=z["lemma_ptr"].tolist(),
                lemma_synsets=z["lemma_synsets"].tolist(),
                pos=z["pos"].tobytes().decode("ascii"),
                min_depth=z["min_depth"].tolist(),
                max_depth=z["max_depth"].tolist(),
                hyp_ptr=z["hyp_ptr"].tolist(),
                hyp_ids=z["hyp_ids"].tolist(),
                names_text=z["names"].tobytes().decode("utf-8"),
                exceptions=exceptions,
            )


def _depths(hyp_ptr: list[int], hyp_ids: list[int]) -> tuple[list[int], list[int]]:
    """NLTK's ``min_depth()`` and ``max_depth()`` of every synset (iterative, memoised)."""
    n = len(hyp_ptr) - 1
    low, high = [-1] * n, [-1] * n
    for start in range(n):
        if low[start] >= 0:
            continue
        stack = [start]
        while stack:
            s = stack[-1]
            parents = hyp_ids[hyp_ptr[s] : hyp_ptr[s + 1]]
            pending = [h for h in parents if low[h] < 0]
            if pending:
                stack += pending
                continue
            stack.pop()
            if low[s] < 0:
                low[s] = 1 + min((low[h] for h in parents), default=-1)
                high[s] = 1 + max((high[h] for h in parents), default=-1)
    return low, high


# ------------------------------------------------------------------------------ wordnet


def _morphological_substitutions() -> dict[str, list[tuple[str, str]]]:
    """NLTK's detachment rules (``WordNetCorpusReader.MORPHOLOGICAL_SUBSTITUTIONS``)."""
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    rules = WordNetCorpusReader.MORPHOLOGICAL_SUBSTITUTIONS
    return {p: list(rules[p]) for p in _POS_ORDER}


class WordNet:
    """WordNet 3.0 with the look-ups WUPS needs, all memoised. Synsets are integers
    (:meth:`name` gives NLTK's name, e.g. ``dog.n.01``; :meth:`synset` the reverse).

    Args:
        graph: the parsed WordNet.
        source: where it was loaded from (for messages).

    Raises:
        WordNetUnavailableError: when the files are not WordNet 3.0.
    """

    def __init__(self, graph: WordNetGraph, source: str) -> None:
        if graph.version != "3.0":
            raise WordNetUnavailableError(
                f"WUPS needs WordNet 3.0, but {source} holds WordNet {graph.version or '?'}",
                model="wordnet",
            )
        self.graph = graph
        self.source = source
        self.version = graph.version
        self._rules = _morphological_substitutions()
        self._by_name: dict[str, int] | None = None
        self.first_synset = lru_cache(maxsize=None)(self._first_synset)
        self.word_similarity = lru_cache(maxsize=1_000_000)(self._word_similarity)
        self.morphy = lru_cache(maxsize=100_000)(self._morphy)
        self._distances = lru_cache(maxsize=None)(self._hypernym_distances)

    # ---- synsets ----------------------------------------------------------------------
    def name(self, synset: int) -> str:
        """NLTK's name of ``synset`` (``"dog.n.01"``; ``"*ROOT*"`` for :data:`ROOT`)."""
        return _ROOT_NAME if synset == ROOT else self.graph.names[synset]

    def pos(self, synset: int) -> str:
        """Part of speech of ``synset``: ``n v a s r``."""
        return self.graph.pos[synset]

    def synset(self, name: str) -> int:
        """The synset named ``name`` (``"run.v.01"``).

        Raises:
            KeyError: no synset has that name.
        """
        if self._by_name is None:
            self._by_name = {n: s for s, n in enumerate(self.graph.names)}
        return self._by_name[name]

    def hypernyms(self, synset: int) -> list[int]:
        """Hypernyms and instance hypernyms of ``synset``."""
        g = self.graph
        return g.hyp_ids[g.hyp_ptr[synset] : g.hyp_ptr[synset + 1]]

    def _lemma_synsets(self, lemma: str, pos: str) -> list[int]:
        row = self.graph.lemmas.get(lemma)
        if row is None:
            return []
        k = 4 * row + _POS_ORDER.index(pos)
        ptr = self.graph.lemma_ptr
        return self.graph.lemma_synsets[ptr[k] : ptr[k + 1]]

    # ---- morphology -------------------------------------------------------------------
    def _in_index(self, forms: list[str], pos: str) -> list[str]:
        kept: list[str] = []
        for form in forms:
            if form not in kept and self._lemma_synsets(form, pos):
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
        exceptions = self.graph.exceptions[pos]
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

    def _synsets(self, word: str, semantics: NltkSemantics) -> Iterator[int]:
        lemma = word.lower()
        for pos in _POS_ORDER:
            for form in self.morphy(lemma, pos, semantics):
                yield from self._lemma_synsets(form, pos)

    def has_synsets(self, word: str, semantics: NltkSemantics) -> bool:
        """True when ``wordnet.synsets(word)`` is non-empty."""
        return self.first_synset(word, semantics) is not None

    def _first_synset(self, word: str, semantics: NltkSemantics) -> int | None:
        """``wordnet.synsets(word)[0]`` (all parts of speech, noun first), or ``None``."""
        return next(self._synsets(word, semantics), None)

    def lemmatize(self, word: str, pos: str, semantics: NltkSemantics) -> str:
        """``WordNetLemmatizer().lemmatize(word, pos)``: the shortest base form, else ``word``."""
        forms = self.morphy(word, pos, semantics)
        return min(forms, key=len) if forms else word

    # ---- similarity -------------------------------------------------------------------
    def _needs_root(self, synset: int, semantics: NltkSemantics) -> bool:
        pos = self.pos(synset)
        if pos == "n":
            return False
        return pos == "v" or semantics is NltkSemantics.CURRENT

    def _hypernym_distances(self, synset: int) -> dict[int, int]:
        """Fewest hypernym edges from ``synset`` to each ancestor (itself at 0)."""
        dist = {synset: 0}
        frontier = [synset]
        while frontier:
            nxt = []
            for s in frontier:
                for h in self.hypernyms(s):
                    if h not in dist:
                        dist[h] = dist[s] + 1
                        nxt.append(h)
            frontier = nxt
        return dist

    def _min_depth(self, synset: int) -> int:
        return 0 if synset == ROOT else self.graph.min_depth[synset]

    def lowest_common_hypernyms(self, s1: int, s2: int, simulate_root: bool) -> list[int]:
        """NLTK's ``s1.lowest_common_hypernyms(s2, simulate_root, use_min_depth=True)``:
        the common hypernyms (each synset counts as its own) of greatest minimum depth,
        ordered by name; :data:`ROOT` is common to all when ``simulate_root``."""
        common = self._distances(s1).keys() & self._distances(s2).keys()
        if simulate_root:
            common.add(ROOT)
        if not common:
            return []
        deepest = max(self._min_depth(s) for s in common)
        return sorted((s for s in common if self._min_depth(s) == deepest), key=self.name)

    def _path_length(self, synset: int, target: int, root: bool) -> int | None:
        """NLTK's ``shortest_path_distance(target, simulate_root=root)``: the fewest edges
        over a common ancestor (the simulated root sits one edge above each deepest one)."""
        if synset == target:
            return 0
        d1 = self._distances(synset)
        to_root = max(d1.values()) + 1
        if target == ROOT:
            return to_root if root else None
        d2 = self._distances(target)
        best = min((d + d2[c] for c, d in d1.items() if c in d2), default=None)
        if root:
            via_root = to_root + max(d2.values()) + 1
            best = via_root if best is None else min(best, via_root)
        return best

    def synset_wup(self, s1: int, s2: int, semantics: NltkSemantics) -> float | None:
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
        subsumers = self.lowest_common_hypernyms(s1, s2, need_root)
        if not subsumers:
            return None
        subsumer = s1 if s1 in subsumers else subsumers[0]
        depth = (0 if subsumer == ROOT else self.graph.max_depth[subsumer]) + 1
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


# ------------------------------------------------------------------------------ loading

_LOADED: dict[str, WordNet] = {}


def load_graph(files: WordNetFiles, cache: Path | None = None) -> WordNetGraph:
    """The graph of ``files``: from the cache when a file for their SHA-256 is there,
    else parsed and cached (a cache that cannot be read or written is skipped).

    Args:
        files: WordNet's files.
        cache: the cache directory (default :func:`cache_dir`).
    """
    path = (cache or cache_dir()) / "wordnet" / f"{files.digest()}.npz"
    try:
        return WordNetGraph.load(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        pass
    graph = WordNetGraph.parse(files)
    try:
        graph.save(path)
    except OSError:
        pass  # a read-only home: parse again next time
    return graph


def _candidates(directory: str | os.PathLike[str] | None) -> list[WordNetFiles | Path]:
    if directory is not None:
        return [Path(directory)]
    found = _nltk_data_files()
    env = os.environ.get(WORDNET_DIR_ENV)
    return ([found] if found else []) + ([Path(env)] if env else []) + [DEBIAN_WORDNET_DIR]


def load_wordnet(directory: str | os.PathLike[str] | None = None) -> WordNet:
    """Load WordNet 3.0 once per process and return the shared instance (tens of
    milliseconds from the cache; about 2 s the first time, to parse and cache it).

    Args:
        directory: a WordNet ``dict`` directory to use. ``None`` searches NLTK data, then
            ``$VIDEOQA_WORDNET_DIR``, then Debian's ``/usr/share/wordnet``.

    Raises:
        WordNetUnavailableError: when no WordNet 3.0 is found; says how to install one.
    """
    key = "" if directory is None else str(Path(directory).resolve())
    if key in _LOADED:
        return _LOADED[key]
    candidates = _candidates(directory)
    for candidate in candidates:
        if isinstance(candidate, Path):
            if not _is_dict_dir(candidate):
                continue
            candidate = WordNetFiles(str(candidate), candidate)
        _LOADED[key] = WordNet(load_graph(candidate), candidate.source)
        return _LOADED[key]
    searched = ", ".join(str(c) for c in candidates)
    if directory is None:
        searched = "NLTK data, " + searched
    raise WordNetUnavailableError(
        f"WordNet 3.0 not found (searched {searched}). Install Debian's `wordnet-base` package, or NLTK's `wordnet` corpus "
        f"into an NLTK data directory, or set {WORDNET_DIR_ENV} to a WordNet dict directory.",
        model="wordnet",
    )
