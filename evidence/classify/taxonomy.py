"""The taxonomy (interventions, outcomes, populations) and the phrase matching that tags a text."""
from __future__ import annotations

import functools
import os
import re
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from evidence.config import ConfigError, read_yaml_with_lines, strip_lines

TAXONOMY_PATH = Path(__file__).with_name("taxonomy.yaml")
_TAXONOMY_TEXT = str(TAXONOMY_PATH)
KINDS = ("interventions", "outcomes", "populations")
MAX_EVIDENCE = 6  # phrases kept per tag as its "why"
WEAK_ONLY_SCORE = 0.9  # below the tag threshold: an intervention needs one of its strong phrases


class Compiled(NamedTuple):
    """A compiled pattern with the literals one of which every match contains, and how far a match reaches (see `scan`)."""

    pattern: re.Pattern[str]
    literals: tuple[str, ...]  # () when no literal is required: the whole text is scanned
    before: int  # how far a match can start before the literal: 0 when the pattern begins with it
    tail: int  # how far a match can end after the literal's start


@dataclass
class Term:
    """One taxonomy entry with its compiled patterns."""

    id: str
    kind: str
    label: str
    description: str
    strong: list[Compiled] = field(default_factory=list)
    weak: list[Compiled] = field(default_factory=list)

    @functools.cached_property
    def patterns(self) -> list[tuple[Compiled, float, bool]]:
        """Every pattern with its weight and whether it is weak: the strong ones first, in file order."""
        return [(c, 1.0, False) for c in self.strong] + [(c, 0.5, True) for c in self.weak]

    @functools.cached_property
    def index(self) -> LiteralIndex:
        """Which of `patterns` a text's anchor literals make worth trying."""
        return LiteralIndex(c for c, _, _ in self.patterns)


@dataclass
class Taxonomy:
    """All the terms of a taxonomy file, by kind."""

    version: str
    terms: dict[str, dict[str, Term]]
    path: Path
    automaton: Any = field(default=None, repr=False, compare=False)  # the classifier's Anchors, built on first use

    def anchors(self) -> list[str]:
        """Every pattern's anchor literal."""
        return [literal for kind in self.terms.values() for term in kind.values() for c in term.strong + term.weak for literal in c.literals]

    def ids(self, kind: str) -> list[str]:
        """The ids of one kind, in file order."""
        return list(self.terms[kind])

    def label(self, kind: str, term_id: str) -> str:
        """The label of a term, or the id itself when unknown."""
        term = self.terms.get(kind, {}).get(term_id)
        return term.label if term else term_id

    def kind_of(self, term_id: str) -> str | None:
        """Which kind (interventions, outcomes, populations) an id belongs to."""
        for kind, terms in self.terms.items():
            if term_id in terms:
                return kind
        return None


def lower_pattern(pattern: str) -> str:
    """A pattern for lower-cased text: literal letters lowered, escapes (\\W, \\S...) left as they are."""
    return re.sub(r"(\\.)|([A-Z])", lambda m: m.group(1) or m.group(2).lower(), pattern)


def lowered(text: str) -> str:
    """The text lower-cased with every offset kept (re.IGNORECASE is several times slower)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)


def _compile(path: Path, kind: str, term_id: str, pattern: Any) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern.strip():
        raise ConfigError(f"{path}: {kind}.{term_id}: every pattern must be non-empty text")
    try:
        return re.compile(f"(?:{lower_pattern(pattern)})")
    except re.error as exc:
        raise ConfigError(f"{path}: {kind}.{term_id}: bad pattern {pattern!r} ({exc})") from None


def _combined(path: Path, kind: str, term_id: str, patterns: list[Any]) -> list[Compiled]:
    """The compiled patterns of a term, each with the literal it cannot match without (see `anchor`)."""
    if not isinstance(patterns, list):
        raise ConfigError(f"{path}: {kind}.{term_id}: `patterns` must be a list")
    compiled = [_compile(path, kind, term_id, p) for p in patterns]
    return [compiled_with_anchor(c) for c in compiled]


def anchor(pattern: str) -> str:
    """The longest literal run every match must contain ("" if none): texts without it are skipped cheaply."""
    literals = compiled_with_anchor(re.compile(pattern)).literals
    return literals[0] if len(literals) == 1 else ""


UNBOUNDED = -1
WINDOW_SEARCH_MAX = 24  # more occurrences of the anchor than this: one scan of the whole text is cheaper
MIN_LITERAL = 3
LOOKAHEAD_MARGIN = 80  # characters a lookahead may read past a match (the window must not cut it short)


def compiled_with_anchor(compiled: re.Pattern[str], *, exact: bool = False) -> Compiled:
    """A pattern with the literals one of which every match contains, and how far a match reaches around it.

    A pattern that does not begin with a literal is tried by the regex engine at every position of the
    text; knowing where its literal occurs (one Aho-Corasick pass, `Anchors.positions`) and how far a
    match reaches around it, the search runs only in those windows. In order of preference: a literal
    the pattern begins with; an alternation of literals it begins with ("(?:negative|adverse) effects");
    the longest literal run anywhere in it; else none (the whole text is scanned). With `exact` (for
    `Phrases`), the literal set whose shortest literal is longest is taken wherever it stands, and
    `before` is never less than a match can reach (see the known gap below).
    """
    try:
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_parse  # type: ignore[no-redef]
    try:
        parsed = sre_parse.parse(compiled.pattern, compiled.flags & ~re.UNICODE)
    except re.error:
        return Compiled(compiled, (), UNBOUNDED, UNBOUNDED)
    state = parsed.state
    items = list(parsed)
    while len(items) == 1 and items[0][0] is sre_parse.SUBPATTERN:  # a pattern wrapped in one group: look inside it
        items = list(items[0][1][-1])

    lookahead = LOOKAHEAD_MARGIN if "(?=" in compiled.pattern or "(?!" in compiled.pattern else 0

    def reach(part: list[Any]) -> int:
        if not part:
            return 0
        width = sre_parse.SubPattern(state, part).getwidth()[1]
        return UNBOUNDED if width >= 10_000 else int(width) + lookahead  # a lookahead reads past the match: give it room

    def lead(part: list[Any]) -> int:
        """How far before its literal a match can start: 0 when only assertions (\\b, a look-behind) come first."""
        if sre_parse.SubPattern(state, part).getwidth() == (0, 0):
            return 0  # every match starts where the literal does
        width = reach(part)
        return max(width, 1) if width != UNBOUNDED else UNBOUNDED

    def leading_literal(part: list[Any]) -> str:
        run = ""
        for op, value in part:
            if op is not sre_parse.LITERAL:
                break
            run += chr(value)
        return run

    def branch_literals(item: Any) -> tuple[str, ...] | None:
        op, value = item
        if op is sre_parse.SUBPATTERN:
            inner = list(value[-1])
            return branch_literals(inner[0]) if len(inner) == 1 else None
        if op is not sre_parse.BRANCH:
            return None
        heads = tuple(leading_literal(list(alt)) for alt in value[1])
        return heads if all(len(h) >= MIN_LITERAL for h in heads) else None

    if exact:  # the literal set whose shortest literal is longest (the rarest, roughly); the earliest on a tie
        candidates: list[tuple[tuple[str, ...], int]] = []
        run, run_start = "", 0
        for index, (op, value) in enumerate(items):
            if op is sre_parse.LITERAL:
                run, run_start = (run + chr(value), run_start) if run else (chr(value), index)
                continue
            if len(run) >= MIN_LITERAL:
                candidates.append(((run,), run_start))
            run = ""
            if heads := branch_literals((op, value)):
                candidates.append((tuple(dict.fromkeys(heads)), index))
        if len(run) >= MIN_LITERAL:
            candidates.append(((run,), run_start))
        if not candidates:
            return Compiled(compiled, (), UNBOUNDED, UNBOUNDED)
        literals, at = max(candidates, key=lambda c: (min(map(len, c[0])), -c[1]))
        return Compiled(compiled, literals, lead(items[:at]), reach(items[at:]))
    first = leading_literal(items)
    if len(first) >= MIN_LITERAL:
        return Compiled(compiled, (first,), 0, reach(items))
    if items and (heads := branch_literals(items[0])):
        return Compiled(compiled, tuple(dict.fromkeys(heads)), 0, reach(items))
    best, best_at, run, run_start = "", 0, "", 0
    for index, (op, value) in enumerate(items):
        if op is sre_parse.LITERAL:
            if not run:
                run_start = index
            run += chr(value)
            if len(run) > len(best):
                best, best_at = run, run_start
        else:
            run = ""
    if len(best) >= MIN_LITERAL:
        return Compiled(compiled, (best,), lead(items[:best_at]), reach(items[best_at:]))
    for index, item in enumerate(items):
        if heads := branch_literals(item):
            before = lead(items[:index])
            if before == UNBOUNDED:  # a match may start any distance before the literal ("\\d[\\d.]*% (?:fewer|reduction)"):
                break  # no window can hold it; the whole text is searched
            return Compiled(compiled, tuple(dict.fromkeys(heads)), before, reach(items[index:]))
    return Compiled(compiled, (), UNBOUNDED, UNBOUNDED)


def scan(compiled: Compiled, low: str, positions: dict[str, list[int]] | None) -> Iterable[re.Match[str]]:
    """`pattern.finditer(low)`, trying the pattern only where its literals occur when they are known.

    A pattern that begins with one of its literals can match only where one occurs: it is matched there
    (`pattern.match` at each occurrence, left to right, none inside the last match), which finds what
    finditer finds without the engine walking the rest of the text. Another is searched in windows
    around its literals' occurrences when they are few.
    """
    pattern, literals, before, tail = compiled
    if positions is None or not literals:
        return pattern.finditer(low)
    if len(literals) == 1:
        starts = positions.get(literals[0])
        if not starts:
            return ()
    else:
        groups = [positions[lit] for lit in literals if lit in positions]
        if not groups:
            return ()
        starts = groups[0] if len(groups) == 1 else sorted({at for group in groups for at in group})
    found: list[re.Match[str]] = []
    last = 0
    if before == 0:
        match_at = pattern.match
        for at in starts:
            if at >= last and (match := match_at(low, at)) is not None:
                last = match.end()
                found.append(match)
        return found
    if before == UNBOUNDED or tail == UNBOUNDED or len(starts) > WINDOW_SEARCH_MAX:
        return pattern.finditer(low, max(0, starts[0] - before) if before != UNBOUNDED else 0)
    size, reach = len(low), tail + 1  # +1: an assertion after the match sees the real next character
    for at in starts:
        if at < last:
            continue
        lo = at - before
        match = pattern.search(low, lo if lo > last else last, min(size, at + reach))
        if match is not None and match.end() > match.start():
            last = match.end()
            found.append(match)
    return found


def alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex: "A|B" gives A and B; "\\b(?:A|B)\\b" gives "\\bA\\b" and "\\bB\\b"."""
    prefix = r"\b" if pattern.startswith(r"\b(?:") else ""
    body, suffix = pattern[len(prefix):], ""
    closing = next((at for at, ch, depth in _structure(body) if ch == ")" and depth == 0), None) if body.startswith("(?:") else None
    if closing is not None and body[closing + 1 :] in ("", r"\b"):  # one group holds the whole pattern: split inside it
        body, suffix = body[3:closing], body[closing + 1 :]
    else:
        body, prefix = pattern, ""
    cuts = [at for at, ch, depth in _structure(body) if ch == "|" and depth == 0]
    return [prefix + body[a + 1 : b] + suffix for a, b in zip([-1, *cuts], [*cuts, len(body)], strict=True)]


def _structure(pattern: str) -> Iterator[tuple[int, str, int]]:
    """Each "(", ")" and "|" of a regex outside escapes and character classes, with the group depth after it."""
    depth, index, in_class = 0, 0, False
    while index < len(pattern):
        ch = pattern[index]
        if ch == "\\":
            index += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            index += 1 if pattern[index + 1 : index + 2] == "^" else 0
            index += 1 if pattern[index + 1 : index + 2] == "]" else 0  # a leading "]" is a literal in the class
        elif ch in "()|":
            depth += {"(": 1, ")": -1, "|": 0}[ch]
            yield index, ch, depth
        index += 1


class Phrases:
    """A regex of many alternatives, searched as the leftmost of its alternatives' first matches.

    The regex engine tries an alternation led by \\b at every position of a text. Each alternative alone
    carries a literal (`compiled_with_anchor`): one that begins with it is matched only where it occurs;
    another, of bounded width, is searched only in a window around each occurrence wide enough to hold any
    match containing it. At one position the earlier alternative wins, as in the alternation, so `search`
    finds the match `re.search` would (same start and end).
    """

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.regex = re.compile(pattern, flags)
        self.parts = [_Part.of(re.compile(part, flags)) for part in alternatives(pattern)]

    def search(self, low: str) -> re.Match[str] | None:
        """The leftmost match in `low` (None when there is none)."""
        best: re.Match[str] | None = None
        for part in self.parts:
            found = part.first(low, len(low) if best is None else best.start())
            if found is not None and (best is None or found.start() < best.start()):
                best = found
        return best


class _Part(NamedTuple):
    """One alternative of `Phrases`: its pattern, literals, how far before one a match starts, and its widest match."""

    pattern: re.Pattern[str]
    literals: tuple[str, ...]
    before: int
    width: int  # UNBOUNDED, or when a window cannot be trusted (a look-ahead or `$` reads past the match)

    @classmethod
    def of(cls, compiled: re.Pattern[str]) -> _Part:
        try:
            from re import _parser as sre_parse  # type: ignore[attr-defined]
        except ImportError:  # pragma: no cover - Python < 3.11
            import sre_parse  # type: ignore[no-redef]
        anchored = compiled_with_anchor(compiled, exact=True)
        widest = int(sre_parse.parse(compiled.pattern, compiled.flags & ~re.UNICODE).getwidth()[1])
        reads_past = any(token in compiled.pattern for token in ("(?=", "(?!", "$", "\\Z"))
        width = UNBOUNDED if widest >= 10_000 or reads_past else widest
        return cls(compiled, anchored.literals, anchored.before, width)

    def first(self, low: str, limit: int) -> re.Match[str] | None:
        """The first match in `low`, if it starts before `limit`."""
        pattern, literals, before, width = self
        if not literals or before == UNBOUNDED or (before and width == UNBOUNDED):
            found = pattern.search(low)
            return found if found is not None and found.start() < limit else None
        starts: list[int] = []
        for literal in literals:
            at = low.find(literal)
            while 0 <= at < limit + before:
                starts.append(at)
                at = low.find(literal, at + 1)
        if len(literals) > 1:
            starts.sort()
        if not before:  # every match starts where a literal does
            for at in starts:
                if at >= limit:
                    return None
                if (found := pattern.match(low, at)) is not None:
                    return found
            return None
        # a match holding the literal at `at` starts in [at - before, at] and ends before at + width: a window that
        # wide finds it whole (the +1 lets an assertion after the match see the real next character)
        unchecked, size = 0, len(low)
        for at in starts:
            lo = max(unchecked, at - before)
            if lo >= limit:
                return None
            found = pattern.search(low, lo, min(size, at + width + 1))
            if found is not None and found.start() <= at:
                return found if found.start() < limit else None
            unchecked = at + 1
        return None


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch in "_-"


def taxonomy_path() -> Path:
    """The taxonomy in use: EVIDENCE_TAXONOMY (set by `evidence --taxonomy FILE`), else the packaged file."""
    return Path(os.environ.get("EVIDENCE_TAXONOMY") or TAXONOMY_PATH)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and compile a taxonomy file (the one in use by default); a malformed one is a one-line
    ConfigError naming the file. Compiled once per file version: an edited file is read again."""
    # a plain os.stat of the path's text on every call (no Path objects: this runs once per classified text)
    path_text = os.fspath(path) if path else (os.environ.get("EVIDENCE_TAXONOMY") or _TAXONOMY_TEXT)
    try:
        stat = os.stat(path_text)
    except OSError as exc:
        raise ConfigError(f"{Path(path_text)}: cannot read the taxonomy ({exc.strerror})") from None
    return _load(path_text, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load(path_text: str, mtime_ns: int, size: int) -> Taxonomy:
    path = Path(path_text)
    data = strip_lines(read_yaml_with_lines(path))
    if not isinstance(data, dict) or not all(isinstance(data.get(kind), dict) for kind in KINDS):
        raise ConfigError(f"{path}: a taxonomy needs mappings `interventions`, `outcomes` and `populations`")
    terms: dict[str, dict[str, Term]] = {}
    for kind in KINDS:
        terms[kind] = {}
        for term_id, entry in data[kind].items():
            if not isinstance(entry, dict) or not entry.get("label") or not entry.get("patterns"):
                raise ConfigError(f"{path}: {kind}.{term_id}: needs `label` and a list of `patterns`")
            if not re.match(r"^[a-z0-9][a-z0-9-]*$", str(term_id)):
                raise ConfigError(f"{path}: {kind}.{term_id}: ids are lower-case slugs")
            terms[kind][term_id] = Term(
                id=term_id,
                kind=kind,
                label=str(entry["label"]),
                description=str(entry.get("description") or ""),
                strong=_combined(path, kind, term_id, entry.get("patterns") or []),
                weak=_combined(path, kind, term_id, entry.get("weak") or []),
            )
    return Taxonomy(version=str(data.get("version") or "unversioned"), terms=terms, path=path)


@dataclass
class Match:
    """One phrase that supports a tag: the words and where they stand in the text."""

    phrase: str
    start: int
    end: int
    weight: float
    weak: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The JSON form kept in the catalogue."""
        return {"phrase": self.phrase, "start": self.start, "end": self.end}


class Anchors:
    """Which of many anchor literals occur in a text, found in one Aho-Corasick pass (pyahocorasick).

    Every matcher skips a pattern whose anchor is absent; asking `literal in found` of the set this
    returns replaces one substring search per pattern (hundreds per text) with a single scan.
    """

    def __init__(self, literals: Iterable[str]) -> None:
        import ahocorasick

        self._automaton = ahocorasick.Automaton()
        for literal in set(filter(None, literals)):
            self._automaton.add_word(literal, (literal, len(literal) - 1))  # what each hit gives: the literal, how far back it starts
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def found_in(self, low: str) -> set[str]:
        """The anchor literals that occur in `low` (a lowered text)."""
        return set() if self._empty else {literal for _, (literal, _back) in self._automaton.iter(low)}

    def positions(self, low: str) -> dict[str, list[int]]:
        """Where each anchor literal occurs in `low`: literal -> start offsets, in order."""
        found: dict[str, list[int]] = {}
        if not self._empty:
            get = found.get
            for end, (literal, back) in self._automaton.iter(low):
                starts = get(literal)
                if starts is None:
                    found[literal] = [end - back]
                else:
                    starts.append(end - back)
        return found


class LiteralIndex:
    """Which patterns of a list a text's anchor literals make worth trying, in list order.

    A pattern none of whose literals occurs in the text cannot match (every match holds one), so only the
    patterns of the literals found, and any pattern with no literal, are tried: a few set operations
    instead of one test per pattern.
    """

    def __init__(self, compiled: Iterable[Compiled]) -> None:
        self._compiled = list(compiled)
        self._always = tuple(i for i, c in enumerate(self._compiled) if not c.literals)
        by_literal: dict[str, list[int]] = {}
        for index, c in enumerate(self._compiled):
            for literal in c.literals:
                by_literal.setdefault(literal, []).append(index)
        self._by_literal = {literal: tuple(indices) for literal, indices in by_literal.items()}
        self._literals = frozenset(by_literal)

    def active(self, present: Container[str]) -> list[int]:
        """The indices of the patterns to try, given the anchor literals `present` (a set, or the lowered text itself)."""
        if not isinstance(present, (set, frozenset)):
            return [i for i, c in enumerate(self._compiled) if not c.literals or any(lit in present for lit in c.literals)]
        hits = self._literals.intersection(present)
        if not self._always and len(hits) <= 1:
            return list(self._by_literal[next(iter(hits))]) if hits else []
        found = set(self._always)
        for literal in hits:
            found.update(self._by_literal[literal])
        return sorted(found)


def match_term(term: Term, text: str, title_end: int = 0, low: str | None = None,
               present: Container[str] | None = None, positions: dict[str, list[int]] | None = None) -> tuple[float, list[Match]]:
    """Score a term against a text: strong matches count 1, weak 0.5, a match in the title counts double.

    `low` is `lowered(text)`, passed in when many terms are matched against one text; `present` is
    the set of anchor literals found in it (`Anchors.found_in`), or None to search for each; `positions`
    where they occur (`Anchors.positions`), so that patterns are tried only around them.
    """
    low = low if low is not None else lowered(text)
    active = term.index.active(present if present is not None else low)
    if not active:
        return 0.0, []  # none of its literals is in the text: most terms, for most texts
    patterns = term.patterns
    size = len(low)
    matches: list[Match] = []
    taken: list[tuple[int, int]] = []
    for index in active:
        compiled, weight, weak = patterns[index]
        for found in (scan(compiled, low, positions) if positions is not None else compiled.pattern.finditer(low)):
            start, end = found.span()
            if start == end or (start > 0 and _is_word(low[start - 1])) or (end < size and _is_word(low[end])):
                continue  # matches stand on word boundaries
            if any(start < b and a < end for a, b in taken):
                continue
            taken.append((start, end))
            matches.append(Match(text[start:end], start, end, weight * (2.0 if start < title_end else 1.0), weak))
    if not matches:
        return 0.0, []
    matches.sort(key=lambda m: m.start)
    # A weak word counts once however often it recurs ("safe, safe" is not two signals). An outcome's
    # weak word counts double in the title only when another phrase after the title bears it out: a
    # title names the setting ("Keeping children safe in education", "Virtual School Heads", "Spring
    # Budget") more often than what was measured. An intervention named in the title keeps its double
    # weight: a title naming the service ("Therapeutic residential care") is about that service.
    corroborated = True
    if term.kind != "interventions":
        title_weak = {m.phrase.lower() for m in matches if m.weak and m.start < title_end}
        corroborated = any(m.start >= title_end and m.phrase.lower() not in title_weak for m in matches)
    weak_seen: set[str] = set()
    score = 0.0
    for m in matches:
        if m.weak:
            key = m.phrase.lower()
            if key in weak_seen:
                continue
            weak_seen.add(key)
        uncorroborated_title_word = m.weak and m.start < title_end and not corroborated
        score += m.weight / 2 if uncorroborated_title_word else m.weight
    if term.kind == "interventions" and matches and all(m.weak for m in matches) and len(weak_seen) < 2:
        score = min(score, WEAK_ONLY_SCORE)  # one weak word alone, however often ("families"), names a topic, not a service: two different ones may
    return score, matches


def confidence_of(score: float, distinct: int) -> float:
    """A 0-1 confidence for a tag from its score and how many different phrases support it."""
    return round(min(0.98, 0.45 + 0.12 * score + 0.05 * distinct), 2)
