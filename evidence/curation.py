"""Curators' corrections: `curation.yaml`, keyed by canonical URL, applied over the automatic tags.

    https://www.gov.uk/government/publications/example:
      set: {study_design: rct, direction: positive}
      add: {intervention: [foster-care]}
      remove: {outcome: [education]}
      note: "Trial reported in the appendix"
      updated: "2026-11-21"

The file is plain YAML so corrections are reviewed in git. An entry naming an unknown id or a
record that no longer exists is a warning, never a crash, and is never dropped from the file.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from evidence.catalogue import canonical_url
from evidence.classify.design import DIRECTIONS, EVIDENCE_LEVELS
from evidence.classify.taxonomy import Taxonomy, load_taxonomy
from evidence.config import BOOKKEEPING, ConfigError, read_yaml_with_lines, strip_lines

DEFAULT_PATH = "curation.yaml"
SETTABLE = {"study_design", "direction", "doc_type", "publisher", "published", "title", "evidence_level"}
TAG_KINDS = {"intervention": "interventions", "outcome": "outcomes", "population": "populations"}
HEADER = (
    "# Curators' corrections, applied over the automatic classification on every harvest and reclassify.\n"
    "# Keyed by canonical record URL. Edit with `evidence curate ID --set field=value --add intervention=ID`.\n"
)


def curation_path(explicit: str | None = None) -> Path:
    """--curation, then EVIDENCE_CURATION, then ./curation.yaml."""
    return Path(explicit or os.environ.get("EVIDENCE_CURATION") or DEFAULT_PATH)


@dataclass
class Correction:
    """One record's corrections."""

    url: str
    set: dict[str, Any] = field(default_factory=dict)
    add: dict[str, list[str]] = field(default_factory=dict)
    remove: dict[str, list[str]] = field(default_factory=dict)
    note: str | None = None
    updated: str | None = None
    line: int = 0

    def as_yaml(self) -> dict[str, Any]:
        """The entry as written back to the file."""
        out: dict[str, Any] = {}
        for name in ("set", "add", "remove"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.note:
            out["note"] = self.note
        if self.updated:
            out["updated"] = self.updated
        return out


@dataclass
class Curation:
    """All corrections of a curation file, with the warnings found while reading it."""

    path: Path
    corrections: dict[str, Correction] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def for_url(self, url: str) -> Correction | None:
        """The correction for a record URL, if any."""
        return self.corrections.get(canonical_url(url))


def load_curation(path: str | Path | None = None, taxonomy: Taxonomy | None = None) -> Curation:
    """Read a curation file (missing: empty). Broken YAML is a ConfigError; unknown ids are warnings."""
    path = Path(path) if path else curation_path()
    curation = Curation(path=path)
    if not path.exists():
        return curation
    raw = read_yaml_with_lines(path)
    if raw is None:
        return curation
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}:1: expected a mapping of record URL to corrections")
    taxonomy = taxonomy or load_taxonomy()
    for url, entry in raw.items():
        if url in BOOKKEEPING:
            continue
        line = entry.get("__line__", 0) if isinstance(entry, dict) else 0
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: entry {url!r} must be a mapping with set/add/remove/note")
        unknown = [k for k in entry if k not in ("set", "add", "remove", "note", "updated", *BOOKKEEPING)]
        if unknown:
            raise ConfigError(f"{path}:{line}: {url}: unknown key `{unknown[0]}` (allowed: set, add, remove, note, updated)")
        entry = strip_lines(entry)
        correction = Correction(url=canonical_url(str(url)), set=dict(entry.get("set") or {}), add=_lists(entry.get("add")),
                                remove=_lists(entry.get("remove")), note=entry.get("note"), updated=str(entry.get("updated") or "") or None,
                                line=line)
        curation.warnings += validate(correction, taxonomy, path)
        curation.corrections[correction.url] = correction
    return curation


def _lists(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        return {}
    return {str(k): [str(v) for v in (vs if isinstance(vs, list) else [vs])] for k, vs in value.items()}


def validate(correction: Correction, taxonomy: Taxonomy, path: Path) -> list[str]:
    """Warnings for anything in a correction that cannot be applied (the entry is kept regardless)."""
    where = f"{path}:{correction.line}: {correction.url}"
    warnings = []
    for key, value in correction.set.items():
        if key not in SETTABLE:
            warnings.append(f"{where}: cannot set `{key}` (settable: {', '.join(sorted(SETTABLE))})")
        elif key == "study_design" and value not in EVIDENCE_LEVELS:
            warnings.append(f"{where}: unknown study_design `{value}`")
        elif key == "direction" and value not in DIRECTIONS:
            warnings.append(f"{where}: unknown direction `{value}`")
    for change in (correction.add, correction.remove):
        for kind, ids in change.items():
            if kind not in TAG_KINDS:
                warnings.append(f"{where}: unknown tag kind `{kind}` (intervention, outcome, population)")
                continue
            for term_id in ids:
                if term_id not in taxonomy.terms[TAG_KINDS[kind]]:
                    warnings.append(f"{where}: unknown {kind} `{term_id}` (not in the taxonomy)")
    return warnings


def save_curation(curation: Curation) -> None:
    """Write the file atomically, entries sorted by URL, so diffs stay small."""
    data = {url: curation.corrections[url].as_yaml() for url in sorted(curation.corrections)}
    text = HEADER + (yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100) if data else "{}\n")
    curation.path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=curation.path.parent, prefix=".curation-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, curation.path)


def record_correction(curation: Curation, url: str, *, set_fields: dict[str, Any], add: dict[str, list[str]],
                      remove: dict[str, list[str]], note: str | None) -> Correction:
    """Merge a curator's change into the correction for `url` (adding undoes a removal and vice versa)."""
    key = canonical_url(url)
    correction = curation.corrections.get(key) or Correction(url=key)
    for name, value in set_fields.items():
        if name == "evidence_level":
            value = None if str(value).lower() in ("none", "null", "") else int(value)
        correction.set[name] = value
    for kind, ids in add.items():
        for term_id in ids:
            _toggle(correction.add, correction.remove, kind, term_id)
    for kind, ids in remove.items():
        for term_id in ids:
            _toggle(correction.remove, correction.add, kind, term_id)
    if note:
        correction.note = note
    correction.updated = date.today().isoformat()
    curation.corrections[key] = correction
    return correction


def _toggle(into: dict[str, list[str]], out_of: dict[str, list[str]], kind: str, term_id: str) -> None:
    if term_id in out_of.get(kind, []):
        out_of[kind].remove(term_id)
        if not out_of[kind]:
            del out_of[kind]
    if term_id not in into.setdefault(kind, []):
        into[kind].append(term_id)
