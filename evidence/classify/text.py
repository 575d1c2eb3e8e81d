"""The text as the classifier reads it: lines broken inside a sentence (PDF extraction) joined again."""
from __future__ import annotations

import re

# "randomly\nallocated", "allo-\ncated": a line broken inside a sentence, as PDF text extraction leaves it.
_HYPHEN_BREAK = re.compile(r"(?<=[a-z])-[ \t]*\r?\n[ \t]*(?=[a-z])")
_JOIN_BEFORE = frozenset("abcdefghijklmnopqrstuvwxyz,;")
_JOIN_AFTER = frozenset("abcdefghijklmnopqrstuvwxyz(")


def join_lines(text: str) -> str:
    """De-hyphenate words split across lines and join lines broken inside a sentence.

    A line break between two lower-case words becomes a space (offsets are unchanged); a
    hyphen at a line's end before a lower-case letter is dropped with the break ("allo-\\ncated" ->
    "allocated"). Headings and list items, which start with a capital, a digit or a bullet, stay on
    their own lines.
    """
    if "\n" not in text:
        return text
    if "-\n" in text or "- \n" in text or "-\r\n" in text:
        text = _HYPHEN_BREAK.sub("", text)
    lines = text.split("\n")  # one pass at C speed; each break is looked at once (a regex would try every position)
    out = [lines[0]]
    for line in lines[1:]:
        previous = out[-1].rstrip(" \t\r")
        out.append(" " if previous and previous[-1] in _JOIN_BEFORE and line.lstrip(" \t")[:1] in _JOIN_AFTER else "\n")
        out.append(line)
    return "".join(out)
