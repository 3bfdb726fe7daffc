"""Answer vocabularies for open-ended answering."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from videoqa.errors import DataFormatError, UsageError


def parse_vocabulary(text: str, source: str = "<text>") -> list[str]:
    """Parse a vocabulary text: one answer per line; blank lines and lines starting with
    ``#`` are ignored; duplicates keep their first position.

    Raises:
        DataFormatError: when no answer remains.
    """
    answers: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        answer = line.strip()
        if not answer or answer.startswith("#") or answer in seen:
            continue
        seen.add(answer)
        answers.append(answer)
    if not answers:
        raise DataFormatError(f"answer vocabulary {source} holds no answer")
    return answers


def load_answer_vocabulary(path: str | Path | None = None) -> list[str]:
    """Load an answer vocabulary file (see :func:`parse_vocabulary`); ``None`` loads the
    bundled ``videoqa/resources/answers.txt``.

    Raises:
        UsageError: the file does not exist.
        DataFormatError: the file holds no answer.
    """
    if path is None:
        text = resources.files("videoqa.resources").joinpath("answers.txt").read_text("utf-8")
        return parse_vocabulary(text, "answers.txt")
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"answer vocabulary file not found: {path}")
    return parse_vocabulary(path.read_text("utf-8"), str(path))
