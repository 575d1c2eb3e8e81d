"""Which extractor to trust for a web page's publication date, title and main text: a comparison on gold pages.

Pages with gold: trafilatura's and htmldate's evaluation pages (../shared/corpus/peer/{trafilatura,htmldate}) and the
real GOV.UK pages (../shared/corpus/real/govuk-html-dgu, gold in bench/fields_bench.py). Every library gets the
markup (bytes), never a URL, so none of them can fetch anything.

    python3 bench/extract_bench.py [--write] [--errors METHOD]

Date methods: the project's extractor as it stands (`evidence`: structured metadata, then labelled dates in the
text), htmldate (original date, extensive search), htmldate's default (latest date), trafilatura's metadata,
extruct (JSON-LD, microdata, Open Graph, Dublin Core), and combinations. Exact-day matches count; a year or
year-month counts as wrong.
"""
from __future__ import annotations

import argparse
import html as html_lib
import json
import re
import sys
import time
import unicodedata
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT / "bench"))

from fields_bench import DGU_PAGES  # noqa: E402
from results import report  # noqa: E402

warnings.filterwarnings("ignore")


def pages() -> list[dict[str, Any]]:
    """Every gold page: its bytes, URL, corpus, gold date, title and main-text snippets where annotated."""
    found: list[dict[str, Any]] = []
    peer = SHARED / "peer"
    gold = json.loads((peer / "trafilatura" / "evaldata_subset.json").read_text(encoding="utf-8"))
    for url, entry in gold.items():
        found.append({"corpus": "trafilatura", "url": url, "body": (peer / "trafilatura" / "pages" / entry["file"]).read_bytes(),
                      "date": _day(entry.get("date")), "title": entry.get("title") or None,
                      "with": entry.get("with") or [], "without": entry.get("without") or []})
    files = {p.name: p for p in (peer / "htmldate" / "pages").rglob("*") if p.is_file()}
    for name in ("eval_default_subset.json", "eval_mediacloud_2020_subset.json"):
        for url, entry in json.loads((peer / "htmldate" / name).read_text(encoding="utf-8")).items():
            path = files.get(Path(entry["file"]).name)
            if path:
                found.append({"corpus": "htmldate", "url": url, "body": path.read_bytes(), "date": _day(entry.get("date")),
                              "title": None, "with": [], "without": []})
    folder = SHARED / "real" / "govuk-html-dgu"
    for name, (title, _publisher, date) in DGU_PAGES.items():
        found.append({"corpus": "govuk-html-dgu", "url": f"https://www.gov.uk/{name}", "body": (folder / name).read_bytes(),
                      "date": date, "title": title, "with": [], "without": []})
    return found


def _day(value: Any) -> str | None:
    """A gold date when it is one (two htmldate entries say "nan": no date)."""
    return value if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", value) else None


# -- date methods ------------------------------------------------------------------------------------------------


def date_evidence_before(page: dict[str, Any]) -> str | None:
    """The extractor as html_candidate uses it: structured metadata first, then the text's labelled dates."""
    from evidence.extract import html_candidate

    return html_candidate(page["body"], page["url"]).published


def date_htmldate_original(page: dict[str, Any]) -> str | None:
    from htmldate import find_date

    return find_date(page["body"], original_date=True, extensive_search=True, url=page["url"])


def date_htmldate_latest(page: dict[str, Any]) -> str | None:
    from htmldate import find_date

    return find_date(page["body"], original_date=False, extensive_search=True, url=page["url"])


def date_trafilatura(page: dict[str, Any]) -> str | None:
    from trafilatura import extract_metadata

    return extract_metadata(_tree(page["body"]), default_url=page["url"]).date


def date_extruct(page: dict[str, Any]) -> str | None:
    from evidence.extract import parse_date

    return parse_date(_extruct_field(page, ("datePublished", "dateCreated"), ("article:published_time",), ("dc.date", "dcterms.issued", "dcterms.date")))


def _extruct_field(page: dict[str, Any], schema_keys: tuple[str, ...], og_keys: tuple[str, ...], dc_keys: tuple[str, ...]) -> str | None:
    import extruct

    try:
        data = extruct.extract(page["body"], base_url=page["url"], syntaxes=["json-ld", "microdata", "opengraph", "dublincore"], errors="ignore")
    except Exception:  # noqa: BLE001 - extruct raises on some markup: counted as no answer
        return None
    for node in _nodes(data.get("json-ld", [])) + [n.get("properties", {}) for n in _nodes(data.get("microdata", []))]:
        for key in schema_keys:
            value = node.get(key)
            if isinstance(value, list):
                value = value[0] if value else None
            if isinstance(value, str) and value.strip():
                return value
    for node in data.get("opengraph", []):
        for key, value in node.get("properties", []):
            if key in og_keys and value:
                return str(value)
    for node in data.get("dublincore", []):
        for element in node.get("elements", []):
            if str(element.get("name", "")).lower() in dc_keys and element.get("content"):
                return str(element["content"])
    return None


def _nodes(items: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = list(items)
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            if isinstance(node.get("@graph"), list):
                stack.extend(node["@graph"])
            else:
                out.append(node)
    return out


def date_structured_then_htmldate(page: dict[str, Any]) -> str | None:
    """The page's own structured metadata (JSON-LD, citation_*, Dublin Core, Open Graph), then htmldate."""
    from evidence.extract import parse_date, soup_of, structured_metadata

    found = parse_date(structured_metadata(soup_of(page["body"])).get("published"))
    return found if found and len(found) == 10 else date_htmldate_original(page)


def date_evidence_now(page: dict[str, Any]) -> str | None:
    """What html_candidate finds in the checkout being measured (after this work: metadata, labelled dates, htmldate)."""
    return date_evidence_before(page)


DATE_METHODS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "evidence (html_candidate of this checkout)": date_evidence_now,
    "htmldate, original date": date_htmldate_original,
    "htmldate, latest date (its default)": date_htmldate_latest,
    "trafilatura metadata": date_trafilatura,
    "extruct (JSON-LD, microdata, OG, DC)": date_extruct,
    "structured metadata, then htmldate": date_structured_then_htmldate,
}


# -- title methods -------------------------------------------------------------------------------------------------


def title_evidence(page: dict[str, Any]) -> str | None:
    from evidence.extract import html_candidate

    return html_candidate(page["body"], page["url"]).title


def title_trafilatura(page: dict[str, Any]) -> str | None:
    from trafilatura import extract_metadata

    return extract_metadata(_tree(page["body"]), default_url=page["url"]).title


def title_extruct(page: dict[str, Any]) -> str | None:
    return _extruct_field(page, ("headline", "name"), ("og:title",), ("dc.title", "dcterms.title"))


TITLE_METHODS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "evidence (html_candidate of this checkout)": title_evidence,
    "trafilatura metadata": title_trafilatura,
    "extruct (JSON-LD, microdata, OG, DC)": title_extruct,
}


# -- main-text methods ---------------------------------------------------------------------------------------------


def text_evidence(page: dict[str, Any]) -> str:
    from evidence.extract import page_text, soup_of

    return page_text(soup_of(page["body"]))


def text_trafilatura(page: dict[str, Any]) -> str:
    from trafilatura import extract

    return extract(_tree(page["body"]), url=page["url"], include_comments=False, include_tables=True) or ""


def text_evidence_candidate(page: dict[str, Any]) -> str:
    from evidence.extract import html_candidate

    return html_candidate(page["body"], page["url"]).text


TEXT_METHODS: dict[str, Callable[[dict[str, Any]], str]] = {
    "evidence page_text (main/article, boilerplate tags dropped)": text_evidence,
    "trafilatura extract": text_trafilatura,
    "evidence html_candidate text of this checkout": text_evidence_candidate,
}


def _tree(body: bytes) -> Any:
    from lxml import html as lxml_html

    return lxml_html.fromstring(body)


def norm(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", html_lib.unescape(text or "")).lower()
    return " ".join(re.sub(r"[^\w ]", " ", text).split())


def title_right(got: str | None, want: str) -> bool:
    return bool(got) and norm(got) == norm(want)


# -- run -----------------------------------------------------------------------------------------------------------


def measure(errors_for: str | None) -> str:
    all_pages = pages()
    corpora = ["trafilatura", "htmldate", "govuk-html-dgu"]
    lines = ["Publication date, exact day (pages with a gold date)", "",
             "| method | " + " | ".join(corpora) + " | all | ms/page |", "|---|" + "---|" * (len(corpora) + 2)]
    for name, method in DATE_METHODS.items():
        cells, right_all, total_all, spent = [], 0, 0, 0.0
        for corpus in corpora:
            dated = [p for p in all_pages if p["corpus"] == corpus and p["date"]]
            right = 0
            for page in dated:
                started = time.perf_counter()
                try:
                    got = method(page)
                except Exception as exc:  # noqa: BLE001 - a library failing on a page counts as no answer
                    got = f"error {type(exc).__name__}"
                spent += time.perf_counter() - started
                ok = got == page["date"]
                right += ok
                if not ok and errors_for == name:
                    print(f"date [{corpus}] {page['url']}: got {got}, want {page['date']}")
            cells.append(f"{right}/{len(dated)} ({right / len(dated):.0%})")
            right_all, total_all = right_all + right, total_all + len(dated)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {right_all}/{total_all} ({right_all / total_all:.0%}) | {1000 * spent / total_all:.0f} |")
    titled = [p for p in all_pages if p["title"]]
    lines += ["", "Title (pages with a gold title: trafilatura's and the GOV.UK pages)", "",
              "| method | trafilatura | govuk-html-dgu | all |", "|---|---|---|---|"]
    for name, method in TITLE_METHODS.items():
        cells, right_all = [], 0
        for corpus in ("trafilatura", "govuk-html-dgu"):
            subset = [p for p in titled if p["corpus"] == corpus]
            right = 0
            for page in subset:
                got = method(page)
                ok = title_right(got, page["title"])
                right += ok
                if not ok and errors_for == name:
                    print(f"title [{corpus}] {page['url']}: got {got!r}, want {page['title']!r}")
            cells.append(f"{right}/{len(subset)} ({right / len(subset):.0%})")
            right_all += right
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {right_all}/{len(titled)} ({right_all / len(titled):.0%}) |")
    snippets = [p for p in all_pages if p["with"] or p["without"]]
    lines += ["", f"Main text ({len(snippets)} trafilatura pages: gold snippets that must appear / must not)", "",
              "| method | with found (recall) | without kept out | precision | F1 | ms/page |", "|---|---|---|---|---|---|"]
    for name, method in TEXT_METHODS.items():
        tp = fn = tn = fp = 0
        spent = 0.0
        for page in snippets:
            started = time.perf_counter()
            text = norm(method(page))
            spent += time.perf_counter() - started
            for snippet in page["with"]:
                if norm(snippet) in text:
                    tp += 1
                else:
                    fn += 1
            for snippet in page["without"]:
                if norm(snippet) in text:
                    fp += 1
                else:
                    tn += 1
        precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
        f1 = 2 * precision * recall / max(1e-9, precision + recall)
        lines.append(f"| {name} | {tp}/{tp + fn} ({recall:.0%}) | {tn}/{tn + fp} | {precision:.2f} | {f1:.2f} | {1000 * spent / len(snippets):.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="append the tables to bench/RESULTS.md")
    parser.add_argument("--errors", metavar="METHOD", help="list the pages a method gets wrong (its name as in the table)")
    args = parser.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} is not available (../shared/corpus beside the checkout)")
    report(measure(args.errors), args.write)


if __name__ == "__main__":
    main()
