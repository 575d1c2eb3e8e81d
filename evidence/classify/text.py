"""The text as the classifier reads it: lines broken inside a sentence (PDF extraction) joined again."""
from __future__ import annotations

import re

# "randomly\nallocated", "allo-\ncated": a line broken inside a sentence, as PDF text extraction leaves it.
_HYPHEN_BREAK = re.compile(r"(?<=[a-z])-[ \t]*\r?\n[ \t]*(?=[a-z])")
_LINE_BREAK = re.compile(r"(?<=[a-z,;])[ \t]*\r?\n(?=[ \t]*[a-z(])")


def join_lines(text: str) -> str:
    """De-hyphenate words split across lines and join lines broken inside a sentence.

    A line break between two lower-case words becomes a space (offsets after it are unchanged); a
    hyphen at a line's end before a lower-case letter is dropped with the break ("allo-\\ncated" ->
    "allocated"). Headings and list items, which start with a capital, a digit or a bullet, stay on
    their own lines.
    """
    if "\n" not in text:
        return text
    if "-\n" in text or "- \n" in text or "-\r\n" in text:
        text = _HYPHEN_BREAK.sub("", text)
    return _LINE_BREAK.sub(" ", text)
