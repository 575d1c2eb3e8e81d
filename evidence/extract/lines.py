"""Lines of a text and the values of labelled lines ("Published: 5 July 2017", "Publisher" then its value)."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator


def lines_of(text: str) -> list[str]:
    """Non-empty, whitespace-folded lines."""
    return [re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()]


def labelled_all(lines: list[str], labels: Iterable[str]) -> Iterator[str]:
    """Values of lines labelled with one of `labels`: "Label: value", or "Label" alone then the value."""
    wanted = {label.lower() for label in labels}
    for i, line in enumerate(lines):
        head, sep, tail = line.partition(":")
        if sep and head.strip().lower() in wanted and tail.strip():
            yield tail.strip()
        elif line.lower().rstrip(":").strip() in wanted and i + 1 < len(lines):
            yield lines[i + 1]


def labelled(lines: list[str], labels: Iterable[str]) -> str | None:
    """The value of the first line labelled with one of `labels`."""
    return next(labelled_all(lines, labels), None)
