"""The inclusion criteria applied to one record: included, excluded (with the reason) or to screen.

Pure functions of a record's fields and a `Scope`: no I/O. Order of the criteria, first that decides wins:
1. the document kind (`exclude_doc_types`) and the years (`from_year`, `to_year`): a failed criterion excludes;
2. the topic: with a population phrase (children, young people, ...) and either a topic phrase in the title or two
   different topic phrases in the text, the record is included;
3. otherwise an `exclude` phrase (road safety, adult social care, ...) with no topic phrase excludes it;
4. otherwise a topic, related or population phrase puts it up for screening by a curator;
5. anything else (none of the scope's phrases) is excluded.
A curator's decision is laid over this verdict elsewhere (screen/decisions.py) and always wins.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from evidence.config import Scope

SCREEN_CHARS = 12_000  # the opening of a long report says what it is about; bounds time
INCLUDED, EXCLUDED, TO_SCREEN = "included", "excluded", "to_screen"
MAX_PHRASES = 6  # phrases kept per list in the verdict, for the "why"


@dataclass
class Verdict:
    """The rules' decision on one record, with the criterion or phrases behind it and a relevance score."""

    decision: str
    reason: str
    criterion: str  # doc_type | years | topic | population | exclude
    score: float
    phrases: dict[str, list[str]] = field(default_factory=dict)  # topic / related / population / exclude -> phrases found

    def as_dict(self) -> dict[str, Any]:
        """The JSON kept in record.classification["screening"]["rules"]."""
        return {"decision": self.decision, "reason": self.reason, "criterion": self.criterion, "score": self.score,
                "phrases": self.phrases}


LISTS = ("topic", "related", "population", "exclude")
_WORD = re.compile(r"[a-z0-9]+")
_POSSESSIVE = re.compile(r"(\w) s\b")  # shown as written: "children s homes" is "children's homes"


def _words(text: str) -> str:
    """Text as its lower-case words between single spaces (apostrophes, hyphens and punctuation as spaces)."""
    return " " + " ".join(_WORD.findall(text.lower())) + " "


class _Phrases:
    """Every phrase of a scope's lists in one Aho-Corasick automaton (pyahocorasick) over `_words` text: one pass a list."""

    def __init__(self, lists: tuple[tuple[str, ...], ...]):
        import ahocorasick

        self.automaton = ahocorasick.Automaton()
        keys: dict[str, list[tuple[int, bool]]] = {}
        for number, phrases in enumerate(lists):
            for phrase in phrases:
                wildcard = phrase.strip().endswith("*")
                bare = phrase.strip().rstrip("*").replace("\u2019", "'")
                for variant in {bare, bare.replace("'", "")}:  # "children's" also matches "childrens"
                    words = _words(variant).strip()
                    if words:
                        keys.setdefault(" " + words + ("" if wildcard else " "), []).append((number, wildcard))
        for key, targets in keys.items():
            self.automaton.add_word(key, (key, targets))
        self.empty = not keys
        if not self.empty:
            self.automaton.make_automaton()

    def found(self, text: str) -> list[dict[str, int]]:
        """For each list, the phrases found in `_words` text (as written there, a wildcard's whole word) and how often.

        Within a list, matches do not overlap: the leftmost, then longest, wins ("child sexual exploitation" is one
        topic phrase, not also "sexual exploitation"); lists are matched independently of each other."""
        matches: list[list[tuple[int, int, str]]] = [[] for _ in LISTS]
        if not self.empty:
            for end, (key, targets) in self.automaton.iter(text):
                start = end - len(key) + 1
                for number, wildcard in targets:
                    stop = text.index(" ", end + 1) if wildcard else end
                    matches[number].append((start, stop, _POSSESSIVE.sub(r"\1's", text[start + 1 : stop].strip())))
        counts: list[dict[str, int]] = [{} for _ in LISTS]
        for number, spans in enumerate(matches):
            reached = -1
            for start, stop, phrase in sorted(spans, key=lambda m: (m[0], -m[1])):
                if start >= reached:
                    counts[number][phrase] = counts[number].get(phrase, 0) + 1
                    reached = stop
        return counts


@lru_cache(maxsize=16)
def _phrases(lists: tuple[tuple[str, ...], ...]) -> _Phrases:
    return _Phrases(lists)


def found(phrases: tuple[str, ...], text: str) -> dict[str, int]:
    """Each phrase of the list found in `text` (lower-cased, apostrophes dropped; a wildcard's whole word), with its count."""
    return _phrases((phrases, (), (), ())).found(_words(text))[0]


def _year(published: str | None) -> int | None:
    match = re.match(r"^(\d{4})", published or "")
    return int(match.group(1)) if match else None


def screen_text(scope: Scope, title: str, text: str, *, doc_type: str | None = None, published: str | None = None) -> Verdict:
    """The verdict of the scope's rules on a title and its text (summary, full text)."""
    matcher = _phrases((scope.topic, scope.related, scope.population, scope.exclude))
    words_title = _words(title or "")
    topic, related, population, exclude = matcher.found(words_title + _words((text or "")[:SCREEN_CHARS]))
    in_title = matcher.found(words_title)[0]
    phrases = {name: sorted(hits, key=lambda p: -hits[p])[:MAX_PHRASES]
               for name, hits in (("topic", topic), ("related", related), ("population", population), ("exclude", exclude)) if hits}
    score = round(3.0 * len(in_title) + len(topic) + 0.5 * min(sum(topic.values()), 10) / 10 + 0.5 * len(related)
                  + (1.0 if population else 0.0) - 2.0 * len(exclude) * (not topic), 3)
    year = _year(published)
    if doc_type and doc_type.lower() in {d.lower() for d in scope.exclude_doc_types}:
        return Verdict(EXCLUDED, f"document kind `{doc_type}` is outside the scope", "doc_type", score, phrases)
    if year is not None and scope.from_year and year < scope.from_year:
        return Verdict(EXCLUDED, f"published {year}, before the scope's years (from {scope.from_year})", "years", score, phrases)
    if year is not None and scope.to_year and year > scope.to_year:
        return Verdict(EXCLUDED, f"published {year}, after the scope's years (to {scope.to_year})", "years", score, phrases)
    named = ", ".join(phrases.get("topic", [])[:3])
    if population and (in_title or len(topic) >= 2):
        return Verdict(INCLUDED, f"in scope: {named}", "topic", score, phrases)
    if topic and not population:
        return Verdict(TO_SCREEN, f"to screen: {named}, but no mention of children or young people", "population", score, phrases)
    if topic:
        return Verdict(TO_SCREEN, f"to screen: one topic phrase ({named}), not in the title", "topic", score, phrases)
    if exclude:
        return Verdict(EXCLUDED, f"outside the scope: about {', '.join(phrases['exclude'][:3])}", "exclude", score, phrases)
    if related:
        return Verdict(TO_SCREEN, f"to screen: near the topic ({', '.join(phrases['related'][:3])})", "topic", score, phrases)
    if population:
        return Verdict(TO_SCREEN, f"to screen: about {', '.join(phrases['population'][:2])}, no topic phrase", "topic", score, phrases)
    return Verdict(EXCLUDED, "outside the scope's topic: no topic phrase", "topic", score, phrases)


def screen_fields(scope: Scope, title: str, summary: str | None, text: str | None, doc_type: str | None, published: str | None) -> Verdict:
    """The verdict on a record's fields: its title, summary and the opening of its full text."""
    body = "\n".join(part for part in (summary or "", text or "") if part)
    return screen_text(scope, title, body, doc_type=doc_type, published=published)
