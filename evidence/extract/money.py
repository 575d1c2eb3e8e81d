"""Money figures with the words that say what they are ("£1.6m in potential annual benefits", "Amount £237,395")."""
from __future__ import annotations

import re
from typing import Any

from evidence.extract.lines import lines_of

_MONEY = re.compile(r"£\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\d,]*\d)\s*(bn|billion|m|million|k|thousand)?\b", re.I)
# "a year" after a figure: with a scale ("£15 billion a year") an annual cost, a finding kept with its period; without
# one ("£15 / month", "£3.50 a week") a price, not a finding
_PERIOD = re.compile(r"\s*(?:/|per|an?|each)\s*(month|year|week|annum|issue|day)\b", re.I)
_WORDS_BEFORE_FILLER = {
    "of", "over", "under", "about", "around", "approximately", "nearly", "almost", "up", "to", "worth",
    "totalling", "totaling", "a", "an", "the", "some", "more", "than", "least", "at", "by", "for", "with",
    "was", "were", "is", "are", "be", "been", "estimated", "roughly", "just", "circa", "c",
}
_CONTEXT_BOUNDARY = {"reported", "reports", "saved", "said", "found", "showed", "shows", "and", "but", "which", "that", "including", "identified"}
# "£1.6m in potential annual benefits": the words after say what the figure is when those before do not
_CONTEXT_AFTER = re.compile(r"\s*(?:in|of|for)\s+((?:[a-z][a-z-]*\s?){1,5})(?=[.,;:)]|$)")
_VERBS_BEFORE_MONEY = {"bring", "brings", "brought", "save", "saves", "generate", "generates", "generated", "deliver", "delivers",
                       "delivered", "received", "receive", "receives", "awarded", "allocated", "provide", "provides", "provided", "invested"}


def find_money(text: str, lines: list[str] | None = None) -> list[dict[str, Any]]:
    """Money figures with the words that say what they are ("potential annual benefits", "Amount")."""
    found: list[dict[str, Any]] = []
    if "£" not in text:
        return found  # every figure starts with the pound sign: no need to split the text into lines
    lines = lines if lines is not None else lines_of(text)
    for i, line in enumerate(lines):
        for match in _MONEY.finditer(line):
            amount = _amount(match)
            if amount is None:
                continue
            period = _PERIOD.match(line, match.end())
            if period and not match.group(3):
                continue
            end = period.end() if period else match.end()
            before = line[: match.start()].strip()
            if not before and i > 0 and len(lines[i - 1]) <= 40:
                context = lines[i - 1].rstrip(":")  # a label on the line above ("Amount")
            else:
                context = _context_before(before)
                after = _CONTEXT_AFTER.match(line, end)
                if after and (not context or context.split()[-1].lower() in _VERBS_BEFORE_MONEY):
                    context = after.group(1).strip()  # "could bring £1.6m in potential annual benefits"
            figure = {"amount": amount, "currency": "GBP", "context": context, "text": line[match.start():end].strip()}
            if period:
                figure["per"] = "year" if period.group(1).lower() == "annum" else period.group(1).lower()
            found.append(figure)
            if len(found) >= 20:
                return found
    return found


def _amount(match: re.Match[str]) -> float | int | None:
    whole, fraction, scale = match.groups()
    try:
        value = float(whole.replace(",", "") + ("." + fraction if fraction else ""))
    except ValueError:
        return None
    factor = {"bn": 1e9, "billion": 1e9, "m": 1e6, "million": 1e6, "k": 1e3, "thousand": 1e3}.get((scale or "").lower(), 1)
    value *= factor
    return int(value) if value == int(value) else value


def _context_before(before: str) -> str:
    clause = re.split(r"[.;:!?()]", before)[-1]
    words = clause.replace(",", " ").split()
    while words and words[-1].lower() in _WORDS_BEFORE_FILLER:
        words.pop()
    for i in range(len(words) - 1, -1, -1):
        if words[i].lower() in _CONTEXT_BOUNDARY:
            words = words[i + 1 :]
            break
    return " ".join(words[-5:])
