"""Sample sizes a text states plainly ("10 case files", "n = 120", "interviewed 30 young people")."""
from __future__ import annotations

import re
from collections.abc import Container, Iterator

# How texts state a sample size. Each pattern is tried right after one of its lead words (found with
# str.find, at C speed): a regex that starts with a digit or an alternation would be run at every position.
_COUNT = r"(?:a total of |more than |over |about |around |approximately )?(\d[\d,]*)"
_PEOPLE = r"(?:young people|children|families|parents|carers|care leavers|practitioners|professionals|patients|adults|pupils)\b"
_SAMPLE_PATTERNS: list[tuple[tuple[str, ...], re.Pattern[str]]] = [
    (("n=", "n =", "n  ="), re.compile(r"\s*(\d[\d,]*)")),
    (("analysis of ", "review of ", "audit of "), re.compile(r"(\d[\d,]*)\s+(?:\w+\s+)?(?:case files|cases|files|records)\b")),
    (("sample of ",), re.compile(_COUNT)),
    (("worked with ", "supported ", "interviewed ", "interviews with ", "surveyed ", "recruited ", "enrolled ", "followed up ",
      "followed ", "involving ", "study of ", "evaluation of ", "survey of ", "cohort of ", "trial of "),
     re.compile(_COUNT + r"\s+" + _PEOPLE)),
]
# Counts followed by a phrase that says what they are ("10 case files", "120 participants"): read backwards from the phrase.
_NUMBER_BEFORE = re.compile(r"(?<![\w,])(\d[\d,]*)\s+$")
_PEOPLE_NUMBER_BEFORE = re.compile(r"(?<![\w,])(\d[\d,]*)\s+(?:young people|children)\s+$")
_COUNTED: list[tuple[str, re.Pattern[str]]] = [("case files", _NUMBER_BEFORE), ("case records", _NUMBER_BEFORE),
                                               ("participants", _NUMBER_BEFORE), ("respondents", _NUMBER_BEFORE),
                                               ("took part", _PEOPLE_NUMBER_BEFORE)]
SAMPLE_LEADS = [lead for leads, _ in _SAMPLE_PATTERNS for lead in leads] + [word for word, _ in _COUNTED]


def find_sample_size(text: str, low: str | None = None, present: Container[str] | None = None) -> int | None:
    """The study's sample size when the text states one plainly ("10 case files", "n = 120", "interviewed 30 young people").

    `low` is the lower-cased text and `present` the lead words known to occur in it (the classifier finds
    both once for all its patterns); without them each lead word is searched for.
    """
    low = low if low is not None else text.lower()
    present = present if present is not None else low
    found: list[tuple[int, int]] = []  # (position, value): the first statement in the text wins
    for leads, pattern in _SAMPLE_PATTERNS:
        for lead in leads:
            if lead in present:
                match = next(filter(None, (pattern.match(low, at + len(lead)) for at in _positions(low, lead)
                                           if at == 0 or not low[at - 1].isalnum())), None)
                if match:  # ordered by where its lead word stands
                    found.append((match.start() - len(lead), _count(match.group(1))))
    for word, before in _COUNTED:
        if word in present:
            match = next(filter(None, (before.search(low, max(0, at - 40), at) for at in _positions(low, word))), None)
            if match:
                found.append((match.start(), _count(match.group(1))))
    values = [value for _, value in sorted(found) if 0 < value < 10_000_000]
    return values[0] if values else None


def _positions(low: str, literal: str) -> Iterator[int]:
    """Every offset at which `literal` occurs in `low` (str.find: a C-speed scan)."""
    at = low.find(literal)
    while at != -1:
        yield at
        at = low.find(literal, at + 1)


def _count(digits: str) -> int:
    return int(digits.replace(",", ""))
