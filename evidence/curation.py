"""Curators' corrections: `curation.yaml`, keyed by canonical URL, applied over the machine's values.

    https://www.gov.uk/government/publications/example:   # comments and order survive every save
      set: {study_design: rct, direction: positive}
      add: {intervention: [foster-care], pair: ["foster-care:placement-stability:positive"]}
      remove: {outcome: [education]}
      note: "Trial reported in the appendix"
      by: alice
      updated: "2026-11-21"
      screen: {decision: include, by: alice, at: "2026-11-21T10:02:00Z"}   # a list when several curators screened it
      coders: {alice: {set: {study_design: rct}}, bob: {set: {study_design: qualitative}}}   # independent codings
      resolved: {study_design: {value: rct, by: carol, at: "2026-11-22T09:00:00Z"}}
      not_same: [https://example.org/other]   # identity: these URLs are other documents
      same_as: https://example.org/the-same   # identity: this record is that document

Every value is checked when written (by `evidence curate`) and when a hand-edited file is read: designs,
levels, directions and tag ids against the scale and the taxonomy, dates as ISO year, year-month or date.
A mistake is a ConfigError naming the argument or the file and line; nothing is changed. A record that
is no longer in the catalogue is a warning, and its entry is kept. The file is read and written with
ruamel.yaml, so curators' comments and the order of entries survive a save.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import getpass
import io
import logging
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.emitter import Emitter
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from sqlmodel import Session, col, select

from evidence.catalogue import canonical_url, url_key
from evidence.classify.design import DIRECTIONS, EVIDENCE_LEVELS
from evidence.classify.taxonomy import Taxonomy, load_taxonomy
from evidence.config import ConfigError
from evidence.models import MAX_TITLE_CHARS, Record, RecordPlace

log = logging.getLogger(__name__)

DEFAULT_PATH = "curation.yaml"
METADATA = ("doc_type", "publisher", "published", "title")  # harvested fields: the machine's value is kept to restore
SETTABLE = ("study_design", "evidence_level", "direction", *METADATA)
TAG_KINDS = {"intervention": "interventions", "outcome": "outcomes", "population": "populations"}
KINDS = (*TAG_KINDS, "pair")  # what --add and --remove take
DECISIONS = ("include", "exclude")
ENTRY_KEYS = ("set", "add", "remove", "note", "by", "updated", "screen", "coders", "resolved", "not_same", "same_as")
CODING_FIELDS = ("study_design", "evidence_level", "direction", *TAG_KINDS)
LEVELS = sorted({level for level in EVIDENCE_LEVELS.values() if level is not None})
ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
MAX_NOTE_CHARS = 2000
MAX_NAME_CHARS = 100
HEADER = (
    "# Curators' corrections, applied over the automatic classification on every harvest and reclassify.\n"
    "# Keyed by canonical record URL. Edit with `evidence curate ID --set field=value --add intervention=ID`\n"
    "# and `evidence screen`; a hand edit is checked when the file is read (comments are kept).\n"
)


def curation_path(explicit: str | None = None) -> Path:
    """--curation, then EVIDENCE_CURATION, then ./curation.yaml."""
    return Path(explicit or os.environ.get("EVIDENCE_CURATION") or DEFAULT_PATH)


def curator_name(explicit: str | None = None) -> str:
    """Who is curating: --by, else git's user.name, else the OS user."""
    if explicit and explicit.strip():
        return explicit.strip()[:MAX_NAME_CHARS]
    try:
        result = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True, timeout=5, check=False)  # noqa: S607
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip()[:MAX_NAME_CHARS]
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return getpass.getuser()[:MAX_NAME_CHARS]
    except (OSError, KeyError):
        return "curator"


def now_stamp() -> str:
    """Now in UTC, to the second, as written into curation.yaml."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# -- the entries --------------------------------------------------------------------------------------------------------


@dataclass
class ScreenDecision:
    """One curator's screening decision on one record."""

    decision: str  # include | exclude
    by: str | None = None
    at: str | None = None
    reason: str | None = None

    def as_yaml(self) -> dict[str, Any]:
        """The decision as written to the file."""
        out: dict[str, Any] = {"decision": self.decision}
        if self.reason:
            out["reason"] = self.reason
        for name in ("by", "at"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


@dataclass
class Coding:
    """What one curator asked for on one record (kept apart when two curators code it independently)."""

    set: dict[str, Any] = field(default_factory=dict)
    add: dict[str, list[str]] = field(default_factory=dict)
    remove: dict[str, list[str]] = field(default_factory=dict)

    def as_yaml(self) -> dict[str, Any]:
        """The coding as written to the file."""
        return {name: getattr(self, name) for name in ("set", "add", "remove") if getattr(self, name)}


@dataclass
class Correction:
    """One record's corrections: the values that apply, who made them, and each curator's own coding."""

    url: str
    set: dict[str, Any] = field(default_factory=dict)
    add: dict[str, list[str]] = field(default_factory=dict)
    remove: dict[str, list[str]] = field(default_factory=dict)
    note: str | None = None
    updated: str | None = None
    by: str | None = None
    screen: list[ScreenDecision] = field(default_factory=list)
    coders: dict[str, Coding] = field(default_factory=dict)
    resolved: dict[str, dict[str, Any]] = field(default_factory=dict)  # field (or kind:id) -> {value, by, at}
    not_same: list[str] = field(default_factory=list)
    same_as: str | None = None
    line: int = 0
    key: str | None = None  # the entry's key as written in the file (maybe not canonical)

    def as_yaml(self) -> dict[str, Any]:
        """The entry as written back to the file."""
        out: dict[str, Any] = {}
        for name in ("set", "add", "remove", "note", "by", "updated"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.screen:
            decisions = [d.as_yaml() for d in self.screen]
            out["screen"] = decisions[0] if len(decisions) == 1 else decisions
        if self.coders:
            out["coders"] = {name: coding.as_yaml() for name, coding in self.coders.items()}
        if self.resolved:
            out["resolved"] = self.resolved
        if self.not_same:
            out["not_same"] = self.not_same
        if self.same_as:
            out["same_as"] = self.same_as
        return out

    def is_empty(self) -> bool:
        """True when nothing is left to apply or keep."""
        return not any((self.set, self.add, self.remove, self.note, self.screen, self.coders, self.resolved, self.not_same,
                        self.same_as))

    def codes(self) -> bool:
        """True when the entry corrects the classification or metadata (not only screening or identity)."""
        return bool(self.set or self.add or self.remove or self.note or
                    any(not name.startswith("inclusion") for name in self.resolved))

    def inclusion(self) -> tuple[str | None, str]:
        """The curators' screening decision that applies: include, exclude, `conflict`, or None; and why."""
        if "inclusion" in self.resolved:
            res = self.resolved["inclusion"]
            return str(res["value"]), f"resolved by {res.get('by') or 'a curator'}"
        if not self.screen:
            return None, ""
        decisions = {d.decision for d in self.screen}
        if len(decisions) > 1:
            votes = ", ".join(f"{d.by or 'a curator'} {d.decision}" for d in self.screen)
            return "conflict", f"curators disagree ({votes}); resolve with `evidence curate ID --resolve --set inclusion=...`"
        names = ", ".join(d.by or "a curator" for d in self.screen)
        reasons = "; ".join(d.reason for d in self.screen if d.reason)
        verb = "included" if self.screen[0].decision == "include" else "excluded"
        return self.screen[0].decision, f"{verb} by {names}" + (f": {reasons}" if reasons else "")


@dataclass
class Curation:
    """All corrections of a curation file, with the warnings found while reading it."""

    path: Path
    corrections: dict[str, Correction] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    document: CommentedMap | None = None  # the parsed file, updated in place on save so comments survive

    def for_url(self, url: str) -> Correction | None:
        """The correction for a record URL, if any."""
        return self.corrections.get(canonical_url(url))

    def for_record(self, session: Session, record: Record) -> Correction | None:
        """The correction for a record: keyed by its URL, or by another place it was reached at (a curator's entry
        keeps applying when a better place of the same document becomes the record's URL)."""
        if not self.corrections:
            return None
        found = self.for_url(record.url)
        if found is not None or record in session.new:  # a record made by this harvest has no other place yet
            return found
        for url in session.exec(select(RecordPlace.url).where(RecordPlace.record_id == record.id).order_by(col(RecordPlace.url))).all():
            found = self.for_url(url)
            if found is not None:
                return found
        return None


# -- checking values ------------------------------------------------------------------------------------------------------


class InvalidValue(ValueError):
    """A value that cannot be stored; the message says why and lists the valid choices."""


def _choice(kind: str, value: Any, choices: list[str]) -> str:
    text = re.sub(r"[\s\-]+", "_", str(value).strip().casefold())
    if text in choices:
        return text
    close = difflib.get_close_matches(text, choices, n=1, cutoff=0.6)
    hint = f"did you mean `{close[0]}`? " if close else ""
    raise InvalidValue(f"unknown {kind} `{value}` ({hint}valid: {', '.join(choices)})")


def _term(kind: str, value: Any, taxonomy: Taxonomy) -> str:
    choices = sorted(taxonomy.terms[TAG_KINDS[kind]])
    text = str(value).strip().casefold().replace("_", "-").replace(" ", "-")
    if text in choices:
        return text
    close = difflib.get_close_matches(text, choices, n=1, cutoff=0.6)
    hint = f"did you mean `{close[0]}`? " if close else ""
    raise InvalidValue(f"unknown {kind} `{value}` (not in the taxonomy; {hint}valid: {', '.join(choices)})")


def check_published(value: Any) -> str:
    """An ISO year, year-month or date (a real one), as text."""
    text = value.isoformat() if isinstance(value, date) else str(value).strip()
    match = ISO_DATE.match(text)
    if not match:
        raise InvalidValue(f"published `{value}` is not an ISO date (YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        date(year or 0, month or 1, day or 1)
    except ValueError:
        raise InvalidValue(f"published `{value}` is not a real date") from None
    if not 1800 <= (year or 0) <= 2100:
        raise InvalidValue(f"published `{value}`: the year must be between 1800 and 2100")
    return text


def check_value(name: str, value: Any) -> Any:
    """A settable field's value, normalised (case folded), or InvalidValue."""
    if name not in SETTABLE:
        raise InvalidValue(f"cannot set `{name}` (settable: {', '.join(SETTABLE)}, inclusion)")
    if name == "study_design":
        return _choice("study_design", value, list(EVIDENCE_LEVELS))
    if name == "direction":
        return _choice("direction", value, list(DIRECTIONS))
    if name == "evidence_level":
        if value is None or str(value).strip().casefold() in ("none", "null", ""):
            return None
        text = str(value).strip()
        if isinstance(value, bool) or not re.fullmatch(r"\d+", text) or int(text) not in LEVELS:
            raise InvalidValue(f"evidence_level `{value}` is not on the scale (valid: {', '.join(map(str, LEVELS))}, none)")
        return int(text)
    if name == "published":
        return check_published(value)
    text = " ".join(str(value).split()) if value is not None else ""
    if not text:
        raise InvalidValue(f"{name} cannot be empty (to restore the harvested value: --unset {name})")
    if name == "doc_type":
        slug = re.sub(r"[\s\-]+", "_", text.casefold())
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", slug):
            raise InvalidValue(f"doc_type `{value}` must be a short name of letters, digits and _ (e.g. research_report, news)")
        return slug
    limit = MAX_TITLE_CHARS if name == "title" else 200
    if len(text) > limit:
        raise InvalidValue(f"{name} is longer than {limit} characters")
    return text


def check_tag(kind: str, value: Any, taxonomy: Taxonomy) -> str:
    """A tag id (or an intervention:outcome[:direction] pair) checked against the taxonomy, normalised."""
    if kind not in KINDS:
        raise InvalidValue(f"unknown tag kind `{kind}` (valid: {', '.join(KINDS)})")
    if kind != "pair":
        return _term(kind, value, taxonomy)
    parts = [p.strip() for p in str(value).split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidValue(f"pair `{value}` must be INTERVENTION:OUTCOME or INTERVENTION:OUTCOME:DIRECTION")
    out = [_term("intervention", parts[0], taxonomy), _term("outcome", parts[1], taxonomy)]
    if len(parts) == 3:
        out.append(_choice("direction", parts[2], list(DIRECTIONS)))
    return ":".join(out)


def check_level_against_design(level: Any, design: str | None) -> None:
    """A level that contradicts the study design is refused (the scale maps each design to one level)."""
    if design is None or design not in EVIDENCE_LEVELS:
        return
    expected = EVIDENCE_LEVELS[design]
    if level != expected:
        fitting = [d for d, lv in EVIDENCE_LEVELS.items() if lv == level]
        hint = f"; to correct the design: --set study_design={fitting[0]}" if fitting else ""
        raise InvalidValue(f"evidence_level {level if level is not None else 'none'} contradicts study_design `{design}` "
                           f"(level {expected if expected is not None else 'none'}){hint}")


def _url(value: Any) -> str:
    text = str(value).strip()
    if not re.match(r"^https?://[^\s/]+", text):
        raise InvalidValue(f"`{value}` is not an http(s) URL")
    return canonical_url(text)


def _stamp(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue(f"`{value}` is not an ISO date or time") from None
    return text


# -- reading ----------------------------------------------------------------------------------------------------------------


class _Emitter(Emitter):
    """Writes record URLs of up to 1,024 characters as plain keys (YAML 1.2's limit) rather than `? ` complex keys."""

    MAX_SIMPLE_KEY_LENGTH = 1024


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 120
    yaml.preserve_quotes = True
    yaml.Emitter = _Emitter
    return yaml


def _line(node: Any, key: Any, default: int) -> int:
    try:
        if isinstance(node, CommentedMap):
            return int(node.lc.key(key)[0]) + 1
        if isinstance(node, CommentedSeq):
            return int(node.lc.item(key)[0]) + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        pass
    return default


class _EntryReader:
    """Turns one parsed entry into a Correction; every problem is a ConfigError naming the file and line."""

    def __init__(self, path: Path, url: str, entry: Any, line: int, taxonomy: Taxonomy):
        self.path, self.url, self.entry, self.line, self.taxonomy = path, url, entry, line, taxonomy

    def fail(self, line: int, message: str) -> ConfigError:
        return ConfigError(f"{self.path}:{line}: {self.url}: {message}")

    def mapping(self, parent: Any, key: Any, line: int) -> Any:
        value = parent[key]
        if value is None:
            return CommentedMap()
        if not isinstance(value, dict):
            raise self.fail(line, f"`{key}` must be a mapping")
        return value

    def text(self, value: Any, line: int, what: str, limit: int) -> str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or not str(value).strip():
            raise self.fail(line, f"`{what}` must be text")
        text = " ".join(str(value).split())
        if len(text) > limit:
            raise self.fail(line, f"`{what}` is longer than {limit} characters")
        return text

    def coding(self, node: Any, line: int) -> Coding:
        coding = Coding()
        node = node if isinstance(node, dict) else CommentedMap()
        for name in node:
            if name not in ("set", "add", "remove"):
                raise self.fail(_line(node, name, line), f"unknown key `{name}` in a coding (allowed: set, add, remove)")
        if "set" in node:
            sets = self.mapping(node, "set", _line(node, "set", line))
            for name in sets:
                where = _line(sets, name, line)
                try:
                    coding.set[str(name)] = check_value(str(name), sets[name])
                except InvalidValue as exc:
                    raise self.fail(where, str(exc)) from None
            if "evidence_level" in coding.set and "study_design" in coding.set:
                try:
                    check_level_against_design(coding.set["evidence_level"], coding.set["study_design"])
                except InvalidValue as exc:
                    raise self.fail(_line(sets, "evidence_level", line), str(exc)) from None
        for change in ("add", "remove"):
            if change not in node:
                continue
            kinds = self.mapping(node, change, _line(node, change, line))
            target = getattr(coding, change)
            for kind in kinds:
                where = _line(kinds, kind, line)
                node_ids = kinds[kind]
                ids = list(node_ids) if isinstance(node_ids, list) else [node_ids]
                checked = []
                for index, term in enumerate(ids):
                    try:
                        checked.append(check_tag(str(kind), term, self.taxonomy))
                    except InvalidValue as exc:
                        raise self.fail(_line(node_ids, index, where) if isinstance(node_ids, list) else where, str(exc)) from None
                target[str(kind)] = list(dict.fromkeys(checked))
        return coding

    def decision(self, node: Any, line: int) -> ScreenDecision:
        if isinstance(node, str):
            node = CommentedMap(decision=node)
        if not isinstance(node, dict) or "decision" not in node:
            raise self.fail(line, "`screen` must be {decision: include|exclude, reason: ..., by: ..., at: ...} or a list of them")
        unknown = [k for k in node if k not in ("decision", "reason", "by", "at")]
        if unknown:
            raise self.fail(line, f"unknown key `{unknown[0]}` in `screen` (allowed: decision, reason, by, at)")
        try:
            decision = check_decision(node["decision"])
            at = _stamp(node["at"]) if node.get("at") else None
        except InvalidValue as exc:
            raise self.fail(line, str(exc)) from None
        reason = self.text(node["reason"], line, "reason", MAX_NOTE_CHARS) if node.get("reason") else None
        by = self.text(node["by"], line, "by", MAX_NAME_CHARS) if node.get("by") else None
        return ScreenDecision(decision=decision, by=by, at=at, reason=reason)

    def read(self) -> Correction:
        entry = self.entry
        unknown = [k for k in entry if k not in ENTRY_KEYS]
        if unknown:
            raise self.fail(_line(entry, unknown[0], self.line), f"unknown key `{unknown[0]}` (allowed: {', '.join(ENTRY_KEYS)})")
        main = self.coding(CommentedMap((k, entry[k]) for k in ("set", "add", "remove") if k in entry), self.line)
        correction = Correction(url=self.url, set=main.set, add=main.add, remove=main.remove, line=self.line)
        if entry.get("note") is not None:
            correction.note = self.text(entry["note"], _line(entry, "note", self.line), "note", MAX_NOTE_CHARS)
        if entry.get("by") is not None:
            correction.by = self.text(entry["by"], _line(entry, "by", self.line), "by", MAX_NAME_CHARS)
        if entry.get("updated") is not None:
            try:
                correction.updated = _stamp(entry["updated"])
            except InvalidValue as exc:
                raise self.fail(_line(entry, "updated", self.line), str(exc)) from None
        if entry.get("screen") is not None:
            node, line = entry["screen"], _line(entry, "screen", self.line)
            items = list(node) if isinstance(node, list) else [node]
            correction.screen = [self.decision(item, _line(node, i, line) if isinstance(node, list) else line)
                                 for i, item in enumerate(items)]
        if entry.get("coders") is not None:
            coders = self.mapping(entry, "coders", _line(entry, "coders", self.line))
            correction.coders = {str(name): self.coding(coders[name], _line(coders, name, self.line)) for name in coders}
        if entry.get("resolved") is not None:
            resolved = self.mapping(entry, "resolved", _line(entry, "resolved", self.line))
            for name in resolved:
                item = resolved[name]
                where = _line(resolved, name, self.line)
                if not isinstance(item, dict) or "value" not in item:
                    raise self.fail(where, f"resolved `{name}` must be {{value: ..., by: ..., at: ...}}")
                correction.resolved[str(name)] = self.resolution(str(name), item, where)
        for name in ("not_same", "same_as"):
            if entry.get(name) is None:
                continue
            where = _line(entry, name, self.line)
            try:
                if name == "not_same":
                    urls = entry[name] if isinstance(entry[name], list) else [entry[name]]
                    correction.not_same = [_url(u) for u in urls]
                else:
                    correction.same_as = _url(entry[name])
            except InvalidValue as exc:
                raise self.fail(where, f"{name}: {exc}") from None
        return correction

    def resolution(self, name: str, item: Any, where: int) -> dict[str, Any]:
        try:
            if name == "inclusion":
                value: Any = check_decision(item["value"])
            elif ":" in name:
                kind, _, term = name.partition(":")
                check_tag(kind, term, self.taxonomy)
                value = _choice("resolution", item["value"], ["present", "absent"])
            else:
                value = check_value(name, item["value"])
            out = {"value": value}
            if item.get("by"):
                out["by"] = self.text(item["by"], where, "by", MAX_NAME_CHARS)
            if item.get("at"):
                out["at"] = _stamp(item["at"])
            return out
        except InvalidValue as exc:
            raise self.fail(where, f"resolved {name}: {exc}") from None


def check_decision(value: Any) -> str:
    """include or exclude (included, excluded, in, out accepted), or InvalidValue."""
    text = str(value).strip().casefold()
    text = {"included": "include", "in": "include", "excluded": "exclude", "out": "exclude"}.get(text, text)
    if text not in DECISIONS:
        raise InvalidValue(f"unknown screening decision `{value}` (valid: include, exclude)")
    return text


def load_curation(path: str | Path | None = None, taxonomy: Taxonomy | None = None, *, must_exist: bool = False) -> Curation:
    """Read and check a curation file (missing: empty, or an error with `must_exist`); every mistake is a ConfigError."""
    path = Path(path) if path else curation_path()
    curation = Curation(path=path)
    if not path.exists():
        if must_exist:
            raise ConfigError(f"{path}: curation file not found (leave out --curation to use ./curation.yaml)")
        return curation
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        document = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}" if mark else ""
        problem = (exc.problem or exc.context or "").strip()
        raise ConfigError(f"{path}{where}: invalid YAML: {problem}") from None
    except YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if document is None:
        return curation
    if not isinstance(document, CommentedMap):
        raise ConfigError(f"{path}:1: expected a mapping of record URL to corrections")
    curation.document = document
    taxonomy = taxonomy or load_taxonomy()
    for key in document:
        line = _line(document, key, 1)
        url = str(key)
        if not re.match(r"^https?://", url):
            raise ConfigError(f"{path}:{line}: `{url}` is not a record URL (entries are keyed by the record's http(s) URL)")
        entry = document[key]
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}:{line}: {url}: the entry must be a mapping with set/add/remove/note/screen")
        correction = _EntryReader(path, canonical_url(url), entry, line, taxonomy).read()
        correction.key = url
        if correction.url in curation.corrections:
            first = curation.corrections[correction.url].line
            raise ConfigError(f"{path}:{line}: {url}: a second entry for the same record (first at line {first})")
        curation.corrections[correction.url] = correction
    return curation


# -- writing ----------------------------------------------------------------------------------------------------------------


def _node(value: Any, depth: int = 0) -> Any:
    """Plain data as ruamel nodes: inner mappings and lists of ids in flow style, so entries stay short."""
    if isinstance(value, dict):
        node = CommentedMap()
        for k, v in value.items():
            node[k] = _node(v, depth + 1)
        if depth >= 1 and all(not isinstance(v, dict) or depth >= 2 for v in value.values()):
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        seq = CommentedSeq(_node(v, depth + 1) for v in value)
        if all(not isinstance(v, (dict, list)) for v in value) or depth >= 2:
            seq.fa.set_flow_style()
        return seq
    return value


def _same(old: Any, new: Any) -> bool:
    """A stored scalar already holds the new value (so its quoting and comments are left alone)."""
    if isinstance(old, (dict, list)):
        return False
    if isinstance(old, date) and isinstance(new, str):
        return _stamp(old) == new
    if isinstance(new, str) or isinstance(old, str):
        return isinstance(old, str) and isinstance(new, str) and str(old) == new
    if isinstance(new, bool) or isinstance(old, bool):
        return old is new
    return bool(old == new)


def _sync(target: CommentedMap, new: dict[str, Any], depth: int) -> None:
    """Make `target` hold `new`, touching only what changed (comments and key order of the rest are kept)."""
    for key in [k for k in target if k not in new]:
        del target[key]
    for key, value in new.items():
        old = target.get(key)
        if isinstance(old, CommentedMap) and isinstance(value, dict):
            _sync(old, value, depth + 1)
        elif isinstance(old, CommentedSeq) and isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
            if list(old) != value:
                old[:] = value
        elif key in target and _same(old, value):
            continue
        else:
            target[key] = _node(value, depth)


def save_curation(curation: Curation) -> None:
    """Write the file atomically; existing entries are updated in place, new ones go in URL order."""
    document = curation.document if curation.document is not None else CommentedMap()
    by_key = {c.key or c.url: c for c in curation.corrections.values()}
    for key in [k for k in document if str(k) not in by_key]:
        del document[key]
    for key, correction in by_key.items():
        data = correction.as_yaml()
        if key in document:
            _sync(document[key], data, 1)
            continue
        keys = [str(k) for k in document]
        position = next((i for i, k in enumerate(keys) if k > key), len(keys))
        document.insert(position, key, _node(data, 1))
        correction.key = key
    stream = io.StringIO()
    if len(document):
        _yaml().dump(document, stream)
    else:
        stream.write("{}\n")
    text = stream.getvalue()
    if curation.document is None or not text.lstrip().startswith("#"):
        text = HEADER + text
    curation.document = document
    curation.path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=curation.path.parent, prefix=".curation-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, curation.path)


# -- changing ---------------------------------------------------------------------------------------------------------------


@dataclass
class Change:
    """One `evidence curate` (or `evidence screen`) command: what a curator asks for on one record."""

    by: str
    set: list[tuple[str, str]] = field(default_factory=list)  # (field, value) as typed
    add: list[tuple[str, str]] = field(default_factory=list)  # (kind, id)
    remove: list[tuple[str, str]] = field(default_factory=list)
    unset: list[str] = field(default_factory=list)  # FIELD, KIND or KIND=ID
    note: str | None = None
    screen: str | None = None  # include | exclude
    reason: str | None = None
    resolve: bool = False
    drop: bool = False
    not_same: list[str] = field(default_factory=list)  # URLs of the record that are other documents (split them off)
    same_as: str | None = None  # another record (id, id prefix or URL) that is this document (join it)

    def is_empty(self) -> bool:
        """True when the command asks for nothing."""
        return not (self.set or self.add or self.remove or self.unset or self.note or self.screen or self.drop or self.identity())

    def identity(self) -> bool:
        """True when the command splits or joins records (--not-same, --same-as)."""
        return bool(self.not_same or self.same_as)

    def without_identity(self) -> Change:
        """The same command without its --not-same and --same-as."""
        return dataclasses.replace(self, not_same=[], same_as=None)


def _argument(option: str, name: str, value: str | None = None) -> str:
    return f"{option} {name}" + (f"={value}" if value is not None else "")


def _same_tag(kind: str, a: str, b: str) -> bool:
    """Two ids name the same tag; a pair is matched on intervention:outcome, whatever its direction."""
    return a == b if kind != "pair" else a.split(":")[:2] == b.split(":")[:2]


def _toggle(into: dict[str, list[str]], out_of: dict[str, list[str]], kind: str, term: str) -> None:
    """Put `term` into one list of `kind` and out of the other (adding undoes a removal and vice versa)."""
    for target in (out_of, into):
        if kind in target:
            target[kind] = [t for t in target[kind] if not _same_tag(kind, t, term)]
            if not target[kind]:
                del target[kind]
    into.setdefault(kind, []).append(term)


def _unset(view: Coding | Correction, what: str) -> bool:
    """Remove one field, a whole kind or one tag from a coding; True if something was there."""
    name, _, term = what.partition("=")
    if name in SETTABLE:
        return view.set.pop(name, _MISSING) is not _MISSING
    found = False
    for target in (view.add, view.remove):
        ids = target.get(name)
        if not ids:
            continue
        keep = [t for t in ids if not _same_tag(name, t, term)] if term else []
        found = found or len(keep) != len(ids)
        if keep:
            target[name] = keep
        else:
            del target[name]
    return found


_MISSING = object()


def apply_change(curation: Curation, url: str, change: Change, taxonomy: Taxonomy, *, machine_design: str | None = None) -> Correction | None:
    """Merge a curator's change into the entry for `url`, checked first: a mistake raises ConfigError and changes nothing.

    Returns the entry as it now stands, or None when it was dropped (or nothing is left in it).
    """
    key = canonical_url(url)
    existing = curation.corrections.get(key)
    if change.drop:
        if existing is None:
            raise ConfigError(f"--drop: {curation.path} has no entry for {key}")
        del curation.corrections[key]
        return None
    correction = copy.deepcopy(existing) if existing else Correction(url=key)
    stamp = now_stamp()
    sets: dict[str, Any] = {}
    for name, raw in change.set:
        if name == "inclusion":
            try:
                check_decision(raw)
            except InvalidValue as exc:
                raise ConfigError(f"{_argument('--set', name, raw)}: {exc}") from None
            continue
        try:
            sets[name] = check_value(name, raw)
        except InvalidValue as exc:
            raise ConfigError(f"{_argument('--set', name, raw)}: {exc}") from None
    tags: list[tuple[str, str, str]] = []  # (add|remove, kind, id)
    for option, pairs in (("--add", change.add), ("--remove", change.remove)):
        for kind, raw in pairs:
            try:
                tags.append((option[2:], kind, check_tag(kind, raw, taxonomy)))
            except InvalidValue as exc:
                raise ConfigError(f"{_argument(option, kind, raw)}: {exc}") from None
    unsets: list[str] = []
    for what in change.unset:
        name, _, term = what.partition("=")
        if name not in (*SETTABLE, *KINDS, "inclusion", "note"):
            raise ConfigError(f"--unset {what}: unknown field (valid: {', '.join((*SETTABLE, *KINDS, 'inclusion', 'note'))})")
        if term and name not in KINDS:
            raise ConfigError(f"--unset {what}: only a tag kind takes =ID (e.g. --unset intervention=foster-care)")
        try:
            unsets.append(f"{name}={check_tag(name, term, taxonomy)}" if term else name)
        except InvalidValue as exc:
            raise ConfigError(f"--unset {what}: {exc}") from None
    coding = bool(sets or tags) or any(u.partition("=")[0] not in ("inclusion", "note") for u in unsets)
    reason, note = change.reason, change.note
    if change.screen and not coding and reason is None and note:
        reason, note = note, None  # `--set inclusion=exclude --note why`: the note is the decision's reason
    views: list[Coding | Correction] = [correction]
    if coding and not change.resolve:
        others = set(correction.coders) or ({correction.by} if correction.by and (correction.set or correction.add or correction.remove) else set())
        if others and change.by not in others and not correction.coders:
            first = correction.by or "unknown"
            correction.coders[first] = Coding(copy.deepcopy(correction.set), copy.deepcopy(correction.add), copy.deepcopy(correction.remove))
        if correction.coders:
            views.append(correction.coders.setdefault(change.by, Coding()))
    for view in views:
        view.set.update(sets)
        for which, kind, term in tags:
            if which == "add":
                _toggle(view.add, view.remove, kind, term)
            else:
                _toggle(view.remove, view.add, kind, term)
    for what in unsets:
        name = what.partition("=")[0]
        if name == "note":
            if not correction.note:
                raise ConfigError(f"--unset note: no note on {key}")
            correction.note = None
        elif name == "inclusion":
            mine = [d for d in correction.screen if d.by == change.by]
            if not mine and not correction.resolved.get("inclusion"):
                names = ", ".join(sorted({d.by or "?" for d in correction.screen})) or "nobody"
                raise ConfigError(f"--unset inclusion: no screening decision by {change.by} on {key} (decisions by: {names}; --by NAME)")
            correction.screen = [d for d in correction.screen if d.by != change.by]
            correction.resolved.pop("inclusion", None)
        else:
            found = [_unset(view, what) for view in views]
            if not found[0]:
                raise ConfigError(f"--unset {what}: {key} has no such correction (see curation.yaml)")
    if change.resolve:
        for name, value in sets.items():
            correction.resolved[name] = {"value": value, "by": change.by, "at": stamp}
        for which, kind, term in tags:
            correction.resolved[f"{kind}:{term}"] = {"value": "present" if which == "add" else "absent", "by": change.by, "at": stamp}
    screen = change.screen
    if any(name == "inclusion" for name, _ in change.set):
        screen = check_decision(next(raw for name, raw in change.set if name == "inclusion"))
    if screen:
        if change.resolve:
            correction.resolved["inclusion"] = {"value": screen, "by": change.by, "at": stamp}
        else:
            correction.screen = [d for d in correction.screen if d.by != change.by]
            correction.screen.append(ScreenDecision(screen, by=change.by, at=stamp,
                                                    reason=" ".join(reason.split())[:MAX_NOTE_CHARS] if reason else None))
    if note:
        correction.note = " ".join(note.split())[:MAX_NOTE_CHARS]
    if "evidence_level" in correction.set:
        design = correction.set.get("study_design", machine_design)
        try:
            check_level_against_design(correction.set["evidence_level"], design)
        except InvalidValue as exc:
            raise ConfigError(f"--set evidence_level={correction.set['evidence_level']}: {exc}") from None
    correction.by = change.by
    correction.updated = date.today().isoformat()
    if correction.is_empty():
        curation.corrections.pop(key, None)
        return None
    curation.corrections[key] = correction
    return correction


def identity_rules(curation: Curation) -> Any:
    """The curators' identity decisions (`not_same`, `same_as`) as catalogue.IdentityRules of URL keys."""
    from evidence.catalogue import IdentityRules

    rules = IdentityRules()
    for key, correction in curation.corrections.items():
        for other in correction.not_same:
            rules.apart.append((url_key(key), url_key(other)))
        if correction.same_as:
            rules.same.append((url_key(key), url_key(correction.same_as)))
    return rules


# -- finding the record -------------------------------------------------------------------------------------------------------


def find_record(session: Session, ref: str, db: str = "the catalogue") -> Record:
    """The record named by its id, a unique prefix of its id, or its URL (or another URL it was reached at)."""
    ref = ref.strip()
    if re.match(r"^https?://", ref):
        record = session.exec(select(Record).where(Record.url_key == url_key(ref))).first()
        if record is None:
            place = session.exec(select(RecordPlace).where(RecordPlace.url_key == url_key(ref))).first()
            record = session.get(Record, place.record_id) if place else None
        if record is None:
            raise ConfigError(f"no record at {ref} in {db} (see `evidence review` or the site's record pages)")
        return record
    record = session.get(Record, ref)
    if record is not None:
        return record
    if len(ref) >= 3:
        pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        ids = list(session.exec(select(Record.id).where(col(Record.id).like(pattern, escape="\\")).order_by(col(Record.id)).limit(6)).all())
        if len(ids) == 1:
            found = session.get(Record, ids[0])
            assert found is not None
            return found
        if ids:
            more = ", ..." if len(ids) > 5 else ""
            raise ConfigError(f"`{ref}` is the start of several record ids: {', '.join(ids[:5])}{more} (give more of the id)")
    raise ConfigError(f"no record with id, id prefix or URL `{ref}` in {db} (see `evidence review` or the site's record pages)")


# -- applying -------------------------------------------------------------------------------------------------------------------


def restore_machine_values(record: Record) -> None:
    """Put back the harvested values of fields a curator had overridden (unless a harvest has replaced them since)."""
    kept = record.machine or {}
    if kept.get("content_hash") == record.content_hash:
        for name, value in (kept.get("fields") or {}).items():
            if name in METADATA:
                setattr(record, name, value)
    if kept:
        record.machine = {}


def conflicts(correction: Correction, machine: dict[str, Any]) -> list[str]:
    """Fields on which the curators' independent codings disagree and no resolution was recorded."""
    if len(correction.coders) < 2:
        return []
    out = []
    views = list(correction.coders.values())
    for name in ("study_design", "evidence_level", "direction"):
        if name not in correction.resolved and len({repr(v.set.get(name, machine.get(name))) for v in views}) > 1:
            out.append(name)
    for kind in TAG_KINDS:
        base = set(machine.get(kind) or [])
        seen = [(base | set(v.add.get(kind, []))) - set(v.remove.get(kind, [])) for v in views]
        differing = set.union(*seen) - set.intersection(*seen)
        if any(f"{kind}:{term}" not in correction.resolved for term in differing):
            out.append(kind)
    return out


def apply_correction(record: Record, tags: dict[tuple[str, str], dict[str, Any]], correction: Correction,
                     taxonomy: Taxonomy | None = None) -> None:
    """Lay a curator's correction over a freshly classified record and its tag rows (keyed by (kind, id)).

    Records what the site needs in record.classification["curation"]: the fields replaced (machine's and
    curator's values), the tags and pairs removed and added, the note, who, and unresolved conflicts.
    """
    taxonomy = taxonomy or load_taxonomy()
    classification = dict(record.classification or {})
    reason = f"curator: {correction.note}" if correction.note else "curator"
    machine = {"study_design": record.study_design, "evidence_level": record.evidence_level, "direction": record.direction,
               **{name: getattr(record, name) for name in METADATA}}
    kept: dict[str, Any] = {}
    replaced: dict[str, dict[str, Any]] = {}
    for name, value in correction.set.items():
        if name == "study_design":
            record.study_design = value
            record.evidence_level = EVIDENCE_LEVELS[value]  # the level follows the design: never one it contradicts
        elif name in METADATA:
            kept[name] = getattr(record, name)
            setattr(record, name, value)
        elif name == "direction":
            record.direction = value
    for name in ("study_design", "evidence_level", "direction", *METADATA):
        if getattr(record, name) != machine[name]:
            replaced[name] = {"machine": machine[name], "curator": getattr(record, name)}
    if kept:
        record.machine = {"content_hash": record.content_hash, "fields": kept}
    removed: dict[str, list[Any]] = {}
    added: dict[str, list[Any]] = {}
    for kind, ids in correction.remove.items():
        if kind == "pair":
            continue
        for term in ids:
            if tags.pop((kind, term), None) is not None:
                removed.setdefault(TAG_KINDS[kind], []).append(term)
    pairs = [dict(p) for p in classification.get("pairs") or [] if isinstance(p, dict)]
    gone_i, gone_o = set(correction.remove.get("intervention", [])), set(correction.remove.get("outcome", []))
    drop_pairs = {tuple(p.split(":")[:2]) for p in correction.remove.get("pair", [])}
    kept_pairs = []
    for pair in pairs:
        if pair.get("intervention") in gone_i or pair.get("outcome") in gone_o or (pair.get("intervention"), pair.get("outcome")) in drop_pairs:
            removed.setdefault("pairs", []).append({"intervention": pair.get("intervention"), "outcome": pair.get("outcome")})
        else:
            kept_pairs.append(pair)
    for kind, ids in correction.add.items():
        for term in ids:
            if kind == "pair":
                intervention, outcome, *direction = term.split(":")
                kept_pairs = [p for p in kept_pairs if (p.get("intervention"), p.get("outcome")) != (intervention, outcome)]
                kept_pairs.append({"intervention": intervention, "outcome": outcome, "direction": direction[0] if direction else record.direction,
                                   "confidence": 1.0, "phrase": reason, "start": -1, "end": -1, "basis": "curator"})
                added.setdefault("pairs", []).append({"intervention": intervention, "outcome": outcome})
                new_tags = [("intervention", intervention), ("outcome", outcome)]
            else:
                new_tags = [(kind, term)]
            for tag_kind, tag in new_tags:
                if tag not in taxonomy.terms[TAG_KINDS[tag_kind]] or (kind == "pair" and (tag_kind, tag) in tags):
                    continue  # a pair keeps the machine's own tags of its intervention and outcome
                if (tag_kind, tag) not in tags:
                    added.setdefault(TAG_KINDS[tag_kind], []).append(tag)
                tags[(tag_kind, tag)] = {"record_id": record.id, "kind": tag_kind, "tag": tag, "confidence": 1.0, "direction": None,
                                         "evidence": [{"phrase": reason, "start": -1, "end": -1}], "curated": True}  # the curator's word
    if pairs or kept_pairs:
        classification["pairs"] = kept_pairs
    machine_tags = {kind: [t["id"] for t in classification.get(TAG_KINDS[kind]) or [] if isinstance(t, dict) and "id" in t] for kind in TAG_KINDS}
    unresolved = conflicts(correction, {**machine, **machine_tags})
    record.curated = correction.codes()
    if record.curated:
        record.needs_review = bool(unresolved)
    decision, why = correction.inclusion()
    classification["curation"] = {
        "note": correction.note, "updated": correction.updated, "by": correction.by,
        "set": correction.set, "add": correction.add, "remove": correction.remove,
        "replaced": replaced, "removed": removed, "added": added,
        "screen": {"decision": decision, "reason": why} if decision else None,
        "conflicts": unresolved,
    }
    record.classification = classification
