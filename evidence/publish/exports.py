"""The catalogue as open data: CSV, JSON, RIS and BibTeX. Harvested text is untrusted: every format is made inert."""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from evidence.catalogue import from_json

CSV_FIELDS = ["id", "title", "publisher", "authors", "published", "doc_type", "study_design", "evidence_level", "direction",
              "confidence", "interventions", "outcomes", "populations", "url", "doi", "source_id", "first_seen", "last_seen",
              "curated", "summary", "needs_review", "inclusion", "inclusion_reason", "withdrawn_on", "curated_by", "curator_note",
              "tag_confidence", "pairs", "tags_json", "pairs_json", "curation_json", "places"]
# Record fields of the JSON download and `evidence export --format json` (the JSON Schema below describes them): the
# page row's own fields, then the tags, pairs and curation built from it
ROW_FIELDS = ("id", "title", "publisher", "authors", "published", "doc_type", "study_design", "evidence_level", "direction",
              "confidence", "interventions", "outcomes", "populations", "url", "doi", "source_id", "first_seen", "last_seen",
              "curated", "summary", "money", "sample_size", "project_ref", "needs_review", "inclusion", "inclusion_reason",
              "withdrawn", "withdrawn_on")
OPEN_FIELDS = (*ROW_FIELDS, "tags", "pairs", "curation")
TAG_LISTS = {"intervention": "interventions", "outcome": "outcomes", "population": "populations"}
PAIR_FIELDS = ("intervention", "outcome", "direction", "confidence", "phrase", "basis")
CURATION_FIELDS = ("by", "updated", "note", "replaced", "removed", "added")


def loads_json(text: str, default: Any) -> Any:
    """JSON text decoded as the catalogue decodes its JSON columns (`catalogue.from_json`), or `default`."""
    try:
        return from_json(text)
    except ValueError:  # both decoders' errors are ValueErrors
        return default


def _phrases(evidence: Any) -> list[str]:
    """A tag's phrases from its evidence (the JSON text the catalogue keeps, or the list itself)."""
    if isinstance(evidence, str):
        evidence = loads_json(evidence or "[]", [])
    return [str(p["phrase"]) for p in evidence if isinstance(p, dict) and p.get("phrase")] if isinstance(evidence, list) else []


def open_record(row: dict[str, Any]) -> dict[str, Any]:
    """One record as open data: its fields, each tag with its confidence, direction and phrases, each
    intervention-outcome pair with its own direction, and the curator's marks and note."""
    out: dict[str, Any] = {}
    for key in ROW_FIELDS:
        value = row.get(key)
        out[key] = value.isoformat() if isinstance(value, (datetime, date)) else value
    out["curated"] = bool(out["curated"])
    out["needs_review"] = bool(out["needs_review"])
    out["withdrawn"] = bool(out["withdrawn"])
    tags = row.get("tags") or {}
    out["tags"] = {plural: [{"id": t["tag"], "confidence": t["confidence"], "direction": t["direction"], "curated": bool(t["curated"]),
                             "phrases": _phrases(t.get("evidence_json", t.get("evidence")))} for t in tags.get(kind, [])]
                   for kind, plural in TAG_LISTS.items()}
    out["pairs"] = [{**{k: p.get(k) for k in PAIR_FIELDS}, "direction": p.get("direction") or row.get("direction") or "unclear"}
                    for p in row.get("pairs") or []]
    curation = row.get("curation")
    out["curation"] = {k: curation.get(k) for k in CURATION_FIELDS} if isinstance(curation, dict) else None
    for key in EXTRA_OPEN_FIELDS:  # fields other work adds to the rows (e.g. `places`) travel too
        if key in row:
            out[key] = row[key]
    return out


EXTRA_OPEN_FIELDS = ("places",)


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    curation = row.get("curation") or {}
    tags = row.get("tags") or {}
    return {**row, "curated_by": curation.get("by"), "curator_note": curation.get("note"),
            "tag_confidence": [f"{t['id']} {t['confidence']:.2f}" for group in tags.values() for t in group],
            "pairs": [f"{p['intervention']} > {p['outcome']}: {p['direction']} ({float(p['confidence'] or 0):.2f})" for p in row.get("pairs") or []],
            "tags_json": json.dumps(tags, ensure_ascii=False) if tags else "",
            "pairs_json": json.dumps(row.get("pairs") or [], ensure_ascii=False) if row.get("pairs") else "",
            "curation_json": json.dumps(row.get("curation"), ensure_ascii=False, default=str) if row.get("curation") else ""}


_NULLABLE_STR = {"type": ["string", "null"]}
_TAG = {"type": "object", "required": ["id", "confidence", "direction", "curated", "phrases"], "additionalProperties": False,
        "properties": {"id": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                       "direction": _NULLABLE_STR, "curated": {"type": "boolean"},
                       "phrases": {"type": "array", "items": {"type": "string"}}}}
_DIRECTION = {"enum": ["positive", "mixed", "no_effect", "negative", "unclear", "not_applicable"]}
CATALOGUE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "catalogue.schema.json",
    "title": "evidence catalogue (downloads/catalogue.json, evidence export --format json)",
    "type": "object", "required": ["meta", "records"],
    "properties": {
        "meta": {"type": "object", "required": ["generator", "built_at", "scale_version", "taxonomy_version", "records"],
                 "properties": {"generator": {"type": "string"}, "built_at": {"type": "string"}, "scale_version": {"type": "string"},
                                "taxonomy_version": {"type": "string"}, "records": {"type": "integer", "minimum": 0},
                                "schema": {"type": "string"}}},
        "records": {"type": "array", "items": {
            "type": "object", "required": list(OPEN_FIELDS),
            "properties": {
                "id": {"type": "string", "pattern": "^[a-z0-9-]+$"}, "title": {"type": "string"}, "publisher": _NULLABLE_STR,
                "authors": {"type": "array", "items": {"type": "string"}},
                "published": {"type": ["string", "null"], "description": "ISO date, or a year or year-month as published"},
                "doc_type": _NULLABLE_STR, "study_design": _NULLABLE_STR,
                "evidence_level": {"type": ["integer", "null"], "minimum": 0, "maximum": 5},
                "direction": {"anyOf": [_DIRECTION, {"type": "null"}]}, "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "interventions": {"type": "array", "items": {"type": "string"}},
                "outcomes": {"type": "array", "items": {"type": "string"}},
                "populations": {"type": "array", "items": {"type": "string"}},
                "url": {"type": "string"}, "doi": _NULLABLE_STR, "source_id": {"type": "string"},
                "first_seen": {"type": "string"}, "last_seen": {"type": "string"}, "curated": {"type": "boolean"},
                "summary": {"type": ["string", "null"]}, "money": {"type": "array"}, "sample_size": {"type": ["integer", "null"]},
                "project_ref": _NULLABLE_STR, "needs_review": {"type": "boolean",
                                                               "description": "true: the classifier asked a curator to check it"},
                "inclusion": {"anyOf": [{"enum": ["included", "excluded", "to_screen"]}, {"type": "null"}]},
                "inclusion_reason": _NULLABLE_STR, "withdrawn": {"type": "boolean"}, "withdrawn_on": _NULLABLE_STR,
                "tags": {"type": "object", "required": ["interventions", "outcomes", "populations"],
                         "properties": {k: {"type": "array", "items": _TAG} for k in ("interventions", "outcomes", "populations")}},
                "pairs": {"type": "array", "items": {
                    "type": "object", "required": list(PAIR_FIELDS),
                    "properties": {"intervention": {"type": "string"}, "outcome": {"type": "string"}, "direction": _DIRECTION,
                                   "confidence": {"type": "number", "minimum": 0, "maximum": 1}, "phrase": {"type": "string"},
                                   "basis": {"enum": ["sentence", "section", "single_intervention", "curator"]}}}},
                "curation": {"anyOf": [{"type": "null"}, {
                    "type": "object", "required": list(CURATION_FIELDS),
                    "properties": {"by": _NULLABLE_STR, "updated": _NULLABLE_STR, "note": _NULLABLE_STR,
                                   "replaced": {"type": "object"}, "removed": {"type": "object"}, "added": {"type": "object"}}}]},
                "places": {"type": "array", "items": {"type": "object"}},
            }}},
    },
}


RIS_TYPES = {"journal_article": "JOUR", "news": "NEWS", "guideline": "GOVDOC", "guidance": "GOVDOC", "research_report": "RPRT",
             "report": "RPRT", "evidence_summary": "RPRT", "project_summary": "RPRT", "statistics": "DATA", "policy": "GOVDOC"}
BIB_TYPES = {"journal_article": "article", "news": "misc", "research_report": "techreport", "report": "techreport"}


def _csv_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run: leading = + - @ tab or CR gets a quote prefix (OWASP)."""
    if value is None:
        return ""
    text = "; ".join(map(str, value)) if isinstance(value, (list, tuple, set)) else str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV with one row per record (lists joined with '; ')."""
    return csv_header() + "".join(csv_line(row) for row in rows)


def csv_header() -> str:
    """The CSV download's first line: the column names."""
    return ",".join(CSV_FIELDS) + "\n"  # the names need no quoting


def csv_line(row: dict[str, Any]) -> str:
    """One open-data record as its CSV line (the same text csv.DictWriter writes for it in a whole file)."""
    flat = _csv_row(row)
    cells = [_csv_cell(flat.get(k)) for k in CSV_FIELDS[:-1]]
    cells.append(_csv_cell([p.get("url", "") for p in row.get("places") or []]))  # every URL the document was reached at
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def to_json(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """JSON: {"meta": ..., "records": [...]}, one record a line (readable, diffable, and written by json's C encoder,
    which an indent would turn off), with < > & escaped so it is safe inside HTML too."""
    return json_document([safe_json(row) for row in rows], meta)


def json_document(records: list[str], meta: dict[str, Any]) -> str:
    """The JSON download from its records' JSON texts (safe_json of each open-data record)."""
    joined = ",\n".join(records)
    return f'{{"meta": {safe_json(meta)},\n"records": [\n{joined}\n]}}\n'


def safe_json(data: Any, indent: int | None = None, compact: bool = False) -> str:
    """JSON that cannot close a <script> element or start a comment when embedded in HTML (`compact`: no spaces)."""
    text = json.dumps(data, ensure_ascii=False, indent=indent, default=str, separators=(",", ":") if compact else None)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_BREAKS = re.compile(r"[\r\n\t\x00]+")


def _line(value: Any) -> str:
    """A value on one line: line breaks, tabs and NULs become one space."""
    text = str(value or "")
    if "\n" in text or "\r" in text or "\t" in text or "\x00" in text:
        text = _BREAKS.sub(" ", text)
    return text.strip()


def ris_entry(row: dict[str, Any]) -> str:
    """One RIS record."""
    lines = [f"TY  - {RIS_TYPES.get(row.get('doc_type') or '', 'GEN')}", f"TI  - {_line(row['title'])}"]
    lines += [f"AU  - {_line(a)}" for a in row.get("authors") or []]
    if row.get("published"):
        lines.append(f"PY  - {_line(row['published'])[:4]}")
        lines.append(f"DA  - {_line(row['published']).replace('-', '/')}")
    if row.get("publisher"):
        lines.append(f"PB  - {_line(row['publisher'])}")
    if row.get("summary"):
        lines.append(f"AB  - {_line(row['summary'])}")
    if row.get("doi"):
        lines.append(f"DO  - {_line(row['doi'])}")
    lines.append(f"UR  - {_line(row['url'])}")
    lines += [f"KW  - {_line(k)}" for k in (row.get("interventions") or []) + (row.get("outcomes") or [])]
    lines.append(f"ID  - {_line(row['id'])}")
    lines.append("ER  - ")
    return "\n".join(lines) + "\n"


def to_ris(rows: list[dict[str, Any]], entries: dict[str, str] | None = None) -> str:
    """Every record as RIS (`entries`: ris_entry already made, by record id)."""
    entries = entries or {}
    return "\n".join(entries.get(r["id"]) or ris_entry(r) for r in rows)


def _bib(value: Any) -> str:
    """A BibTeX field value: braces balanced away, backslashes and TeX specials escaped."""
    text = _line(value)
    text = text.replace("\\", "\\textbackslash{}").replace("{", "\\{").replace("}", "\\}")
    for ch in "&%$#_":
        text = text.replace(ch, "\\" + ch)
    return text.replace("~", "\\textasciitilde{}").replace("^", "\\textasciicircum{}")


def bibtex_entry(row: dict[str, Any]) -> str:
    """One BibTeX entry (the key is the record id, which is a safe slug)."""
    kind = BIB_TYPES.get(row.get("doc_type") or "", "misc")
    fields = [("title", row["title"]), ("author", " and ".join(row.get("authors") or [])), ("year", (row.get("published") or "")[:4]),
              ("publisher" if kind != "techreport" else "institution", row.get("publisher")), ("doi", row.get("doi")),
              ("url", row["url"]), ("abstract", row.get("summary")),
              ("note", f"Evidence level: {row.get('evidence_level')}; design: {row.get('study_design')}")]
    body = ",\n".join(f"  {name} = {{{_bib(value)}}}" for name, value in fields if value)
    key = re.sub(r"[^A-Za-z0-9_-]", "", row["id"])
    return f"@{kind}{{{key},\n{body}\n}}\n"


def to_bibtex(rows: list[dict[str, Any]], entries: dict[str, str] | None = None) -> str:
    """Every record as BibTeX (`entries`: bibtex_entry already made, by record id)."""
    entries = entries or {}
    return "\n".join(entries.get(r["id"]) or bibtex_entry(r) for r in rows)


def _json(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    return to_json(rows, meta)


# Format name -> exporter (rows, meta) -> text. The CLI's --format choices and the site's downloads read this one mapping.
EXPORTERS: dict[str, Callable[[list[dict[str, Any]], dict[str, Any]], str]] = {
    "csv": lambda rows, meta: to_csv(rows),
    "json": _json,
    "ris": lambda rows, meta: to_ris(rows),
    "bibtex": lambda rows, meta: to_bibtex(rows),
}


def export(rows: list[dict[str, Any]], fmt: str, meta: dict[str, Any]) -> str:
    """The rows in one of the EXPORTERS' formats."""
    try:
        exporter = EXPORTERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt} (one of {', '.join(EXPORTERS)})") from None
    return exporter(rows, meta)
