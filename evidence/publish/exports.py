"""The catalogue as open data: CSV, JSON, RIS and BibTeX. Harvested text is untrusted: every format is made inert."""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

CSV_FIELDS = ["id", "title", "publisher", "authors", "published", "doc_type", "study_design", "evidence_level", "direction",
              "confidence", "interventions", "outcomes", "populations", "url", "doi", "source_id", "first_seen", "last_seen",
              "curated", "summary", "places"]
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
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = {k: _csv_cell(row.get(k)) for k in CSV_FIELDS}
        cells["places"] = _csv_cell([p.get("url", "") for p in row.get("places") or []])  # every URL the document was reached at
        writer.writerow(cells)
    return out.getvalue()


def to_json(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """JSON: {"meta": ..., "records": [...]}, one record a line (readable, diffable, and written by json's C encoder,
    which an indent would turn off), with < > & escaped so it is safe inside HTML too."""
    records = ",\n".join(safe_json(row) for row in rows)
    return f'{{"meta": {safe_json(meta)},\n"records": [\n{records}\n]}}\n'


def safe_json(data: Any, indent: int | None = None) -> str:
    """JSON that cannot close a <script> element or start a comment when embedded in HTML."""
    text = json.dumps(data, ensure_ascii=False, indent=indent, default=str)
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
