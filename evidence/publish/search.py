"""The search index: Pagefind (the `pagefind` package from the Python index, with its binary), built after the
site from the records the site publishes (its downloads/catalogue.json).

Each record is indexed from a small page made for the index alone (in a temporary folder), not from its record
page: the searchable text is the record's own (its title, its summary or abstract, its authors), so excerpts never
show citation blocks, field labels or filter values (those sit in a data-pagefind-ignore block). Each result
carries its year, publisher, evidence level, study design and direction as metadata (the result cards show them),
and filters with readable labels: study design, evidence level, direction of findings, population, intervention,
outcome, publisher, year and document type. Result URLs are
`/records/<id>.html`; the search page resolves them from where it is served (any sub-path).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from evidence.catalogue import SAFE_ID
from evidence.classify.design import DESIGN_LABELS
from evidence.classify.taxonomy import load_taxonomy

TIMEOUT_SECONDS = 600
CATALOGUE = "downloads/catalogue.json"
LEVEL_LABELS = {5: "5: Systematic review", 4: "4: Randomised trial", 3: "3: Comparison group",
                2: "2: Before-and-after or observational", 1: "1: Qualitative or case review", 0: "0: Guidance or expert opinion"}
OFF_SCALE = "Off the scale (news, commentary, unclear)"
DIRECTION_LABELS = {"positive": "Positive findings", "mixed": "Mixed findings", "no_effect": "No effect found",
                    "negative": "Negative findings", "unclear": "Direction unclear", "not_applicable": "No findings reported"}
DOC_TYPE_LABELS = {"research_report": "Research report", "journal_article": "Journal article", "guidance": "Guidance",
                   "news": "News", "trial_registration": "Trial registration", "policy": "Policy", "statistics": "Statistics"}


class SearchUnavailable(Exception):
    """Pagefind is not installed or failed; the site still works without search."""


def _label(value: str | None, labels: dict[str, str]) -> str:
    if not value:
        return "Not stated"
    return labels.get(value) or value.replace("_", " ").capitalize()


def search_record(row: dict[str, Any], names: dict[str, dict[str, str]]) -> dict[str, Any]:
    """One record as Pagefind takes it: url, content (the record's own words), meta (shown on its result card), filters."""
    title = str(row.get("title") or row.get("id"))
    summary = str(row.get("summary") or "").strip()
    if summary.startswith(title):  # many summaries repeat the title first
        summary = summary[len(title):].lstrip(" .:-")
    authors = ", ".join(str(a) for a in row.get("authors") or [])
    content = "\n".join(part for part in (title, summary, authors) if part)
    level = row.get("evidence_level")
    level_label = LEVEL_LABELS.get(level, OFF_SCALE) if isinstance(level, int) else OFF_SCALE
    design = _label(row.get("study_design") or "unclear", DESIGN_LABELS)
    direction = _label(row.get("direction") or "unclear", DIRECTION_LABELS)
    year = str(row.get("published") or "")[:4]
    publisher = str(row.get("publisher") or "Publisher not stated")
    meta = {"title": title, "year": year or "Year not stated", "publisher": publisher, "level": level_label,
            "design": design, "direction": direction}
    filters: dict[str, list[str]] = {
        "Study design": [design], "Evidence level": [level_label], "Direction of findings": [direction],
        "Population": [names["populations"].get(p, p) for p in row.get("populations") or []],
        "Intervention": [names["interventions"].get(i, i) for i in row.get("interventions") or []],
        "Outcome": [names["outcomes"].get(o, o) for o in row.get("outcomes") or []],
        "Publisher": [publisher], "Document type": [_label(row.get("doc_type"), DOC_TYPE_LABELS)],
    }
    if year:
        filters["Year"] = [year]
    return {"url": f"records/{row['id']}.html", "content": content, "language": "en", "meta": meta,
            "filters": {k: v for k, v in filters.items() if v}, "sort": {"year": year or "0000"}}


def _records(site: Path) -> list[dict[str, Any]]:
    path = site / CATALOGUE
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["records"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SearchUnavailable(f"{path}: cannot read the records to index ({exc})") from None
    taxonomy = load_taxonomy()
    names = {kind: {t: taxonomy.terms[kind][t].label for t in taxonomy.ids(kind)} for kind in ("interventions", "outcomes", "populations")}
    return [search_record(row, names) for row in rows if isinstance(row, dict) and SAFE_ID.fullmatch(str(row.get("id") or ""))
            and row.get("inclusion") != "excluded"]  # excluded by the screening criteria: on no list, so not in search


def search_page(record: dict[str, Any]) -> str:
    """The small page Pagefind reads for one record: its own words as the body; metadata and filters as ignored text."""
    def tag(attr: str, key: str, value: str) -> str:
        return f'<span {attr}="{escape(key)}">{escape(value)}</span>'

    paragraphs = "".join(f"<p>{escape(part)}</p>" for part in record["content"].split("\n"))
    meta = "".join(tag("data-pagefind-meta", k, v) for k, v in record["meta"].items() if k != "title")
    filters = "".join(tag("data-pagefind-filter", k, v) for k, values in record["filters"].items() for v in values)
    sort = "".join(tag("data-pagefind-sort", k, v) for k, v in record["sort"].items())
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(record["meta"]["title"])}</title></head>'
            f'<body><main data-pagefind-body><h1 data-pagefind-meta="title">{escape(record["meta"]["title"])}</h1>{paragraphs[paragraphs.find("</p>") + 4:]}'
            f'<div data-pagefind-ignore>{meta}{filters}{sort}</div></main></body></html>')


def index_site(site: Path) -> int:
    """Index a built site in place (writes site/pagefind/); returns the number of records indexed."""
    site = Path(site)
    records = _records(site)
    with tempfile.TemporaryDirectory(prefix="evidence-search-") as tmp:
        folder = Path(tmp) / "records"
        folder.mkdir()
        for record in records:
            (Path(tmp) / record["url"]).write_text(search_page(record), encoding="utf-8")
        command = [sys.executable, "-m", "pagefind", "--site", tmp, "--output-path", str(site.resolve() / "pagefind"),
                   "--force-language", "en", "--quiet"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SearchUnavailable(f"pagefind could not run ({exc})") from None
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        hint = " (install it: python3 -m pip install 'pagefind[bin]')" if "No module named" in done.stderr else ""
        raise SearchUnavailable(f"pagefind failed: {reason[-1] if reason else done.returncode}{hint}")
    entry = site / "pagefind" / "pagefind-entry.json"
    try:
        languages = json.loads(entry.read_text(encoding="utf-8")).get("languages", {})
        return sum(int(lang.get("page_count", 0)) for lang in languages.values())
    except (OSError, ValueError):
        raise SearchUnavailable(f"{entry}: pagefind wrote no index") from None
