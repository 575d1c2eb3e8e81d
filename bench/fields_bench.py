"""Field fidelity on the real recordings (../shared/corpus/real), per source kind: inputs, records, fields right.

Each kind's recordings are served from 127.0.0.1 as the service would answer (a search answer listing the GOV.UK
content items, NICE listings, Europe PMC pages, feeds, a listing of GOV.UK pages, a page of PDF links) and
harvested by the real harvester; every item is compared with what a correct harvester gets right (the rules below,
from ../shared/corpus/real/README.md), then the candidates are stored in a fresh catalogue to count records.

Run it on any checkout: `PYTHONPATH=/path/to/checkout python3 bench/fields_bench.py` (the "before" figures in
bench/RESULTS.md came from main before the field-fidelity work). `--write` appends the table to bench/RESULTS.md,
`--errors` lists every wrong field.

`--losses` measures instead what a harvest keeps when part of a source fails (issue 12 item 5), through the real
pipeline into a fresh catalogue: listings whose second page answers 404 or 500 (GOV.UK pages with a `next` link,
NICE, a GOV.UK search, a Europe PMC cursor chain), title-only feed entries whose pages cannot be fetched (robots.txt
unreachable, 404, a timeout), and NICE research recommendations at `#anchors` of one page.
"""
from __future__ import annotations

import argparse
import email.utils
import html
import json
import re
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "corpus" / "real"
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from results import report  # noqa: E402
from server import RecordedServer  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from evidence import catalogue  # noqa: E402
from evidence.config import Source  # noqa: E402
from evidence.fetch import Fetcher  # noqa: E402
from evidence.models import Candidate, ItemFailure, Record  # noqa: E402
from evidence.pipeline import SourceResult, collect, store  # noqa: E402

# What each GOV.UK document type is, in the catalogue's words (speeches and statements are not guidance).
GOVUK_TYPES = {
    "research": "research_report", "independent_report": "research_report",
    "official_statistics": "statistics", "national_statistics": "statistics", "statistical_data_set": "statistics",
    "national_statistics_announcement": "statistics_announcement", "official_statistics_announcement": "statistics_announcement",
    "guidance": "guidance", "statutory_guidance": "guidance", "detailed_guide": "guidance", "guide": "guidance", "answer": "guidance",
    "policy_paper": "policy", "impact_assessment": "policy",
    "consultation": "consultation", "open_consultation": "consultation", "closed_consultation": "consultation",
    "consultation_outcome": "consultation", "call_for_evidence": "consultation", "open_call_for_evidence": "consultation",
    "closed_call_for_evidence": "consultation", "call_for_evidence_outcome": "consultation",
    "news_story": "news", "press_release": "news", "world_news_story": "news", "government_response": "news",
    "speech": "speech", "oral_statement": "statement", "written_statement": "statement", "authored_article": "comment",
    "html_publication": "report", "document_collection": "collection", "case_study": "case_study",
    "corporate_report": "corporate_report", "promotional": "promotional", "transparency": "transparency", "form": "form",
    "foi_release": "foi_release", "notice": "notice", "regulation": "regulation",
}
SPEECH_TYPES = {"speech", "oral_statement", "written_statement", "authored_article"}
# GOV.UK pages of 2014-16 (govuk-html-dgu): title, publisher and date as each page states them (None: not checked;
# organisation home pages and collections state no publication date). Values of the first nine from the upstream
# test file's expectations and the pages themselves.
DGU_PAGES: dict[str, tuple[str, str | None, str | None]] = {
    "collection_page.html": ("Individualised Learner Record (ILR)", "Skills Funding Agency", None),
    "organization_external.html": ("The Scottish Government", None, None),
    "organization_page.html": ("Skills Funding Agency", None, None),
    "publication_attachments_inline.html": ("Commodity prices", "Department for Environment, Food & Rural Affairs", "2013-04-11"),
    "publication_attachments_unmarked.html": ("Transport and disability (TSGB12)", "Department for Transport", "2013-12-12"),
    "publication_csv.html": ("Community interest companies: new CICs registered in July 2014",
                             "Office of the Regulator of Community Interest Companies", "2013-07-15"),
    "publication_external.html": ("Pet travel: planned changes to the EU scheme", "Department for Environment, Food & Rural Affairs", "2014-08-04"),
    "publication_from_minister.html": ("Controlled drugs list", "Home Office", "2010-05-28"),
    "publication_page.html": ("Individualised Learner Record (ILR): check that data is accurate", "Skills Funding Agency", "2014-02-25"),
    "publication_three_organizations.html": ("NHS trusts and foundation trusts in special measures: 1 year on", "Monitor", "2014-08-04"),
    "publication_two_organizations.html": ("UK Guarantees scheme: prequalified projects", "Infrastructure UK", "2013-10-22"),
    "publication_type.html": ("Water and sewerage companies in England: environmental performance report", "Environment Agency", "2015-07-30"),
    "cache_extracted/government_collections_spend_over_25000_2013.html": ("MOJ spend over £25,000: 2013", "Ministry of Justice", None),
    "cache_extracted/government_organisations_cabinet_office.html": ("Cabinet Office", None, None),
    "cache_extracted/government_organisations_ministry_of_justice.html": ("Ministry of Justice", None, None),
    "cache_extracted/government_publications_arms_length_bodies_spend_over_25000_december_2013.html": (
        "Arms length bodies spend over £25,000 - December 2013", "Ministry of Justice", "2014-05-01"),
    "cache_extracted/government_publications_arms_length_bodies_spend_over_25000_october_2013.html": (
        "Arms length bodies spend over £25,000 - October 2013", "Ministry of Justice", "2014-05-01"),
    "cache_extracted/government_publications_hmcts_spend_over_25000_2013.html": ("HMCTS spend over £25,000 - 2013", "Ministry of Justice", "2014-05-01"),
}
# Real PDFs (pdfplumber's test files): title and date where the document states them plainly on its first page.
PDF_GOLD: dict[str, tuple[str | None, str | None]] = {
    "150109DSP-Milw-505-90D.pdf": ("Child Death, Serious Injury or Egregious Incident", None),
    "2023-06-20-PV.pdf": (None, "2023-06-20"),
    "chelsea_pdta.pdf": ("Plan directeur de transport actif", "2021-01"),
    "issue-982-example.pdf": ("Creativity in Machine Learning", None),
}


# -- what is right -------------------------------------------------------------------------------------------------


def plain(value: Any) -> str:
    """Markup removed (only real tags: `<` before a letter or `/`), entities decoded once, whitespace folded."""
    text = re.sub(r"</?[A-Za-z][^<>]*>", " ", str(value or ""))
    return " ".join(html.unescape(text).split())


def squeeze(text: str | None) -> str:
    """Text without whitespace, for comparisons that markup spacing must not decide."""
    return re.sub(r"\s+", "", text or "").lower()


def calendar_day(raw: Any) -> str | None:
    """The calendar day a date string states, in the writer's own time zone (never shifted through UTC)."""
    text = str(raw or "").strip()
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
    if match:
        return "-".join(match.groups())
    match = re.match(r"(\d{4})/(\d{1,2})/(\d{1,2})\b", text)
    if match:
        return f"{int(match[1]):04d}-{int(match[2]):02d}-{int(match[3]):02d}"
    parsed = email.utils.parsedate_tz(text)
    if parsed:
        return f"{parsed[0]:04d}-{parsed[1]:02d}-{parsed[2]:02d}"
    return None


def path_of(url: str) -> str:
    return urlsplit(url).path.rstrip("/")


# -- the tally -----------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Per field: how many were checked and how many were right; the wrong ones kept for --errors."""

    inputs: int = 0
    candidates: int = 0
    item_errors: int = 0
    records: int = 0
    checked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    right: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    wrong: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, where: str, got: Any = None, want: Any = None) -> None:
        self.checked[name] += 1
        if ok:
            self.right[name] += 1
        else:
            self.wrong.append(f"{name}: {where}: got {str(got)[:90]!r}, want {str(want)[:90]!r}")


Harvested = list[tuple[Source, list[Any]]]  # each source with every item its harvester yielded, for storing


def items_of(source: Source, fetcher: Fetcher, harvested: Harvested) -> tuple[list[Candidate | ItemFailure], str | None]:
    items, failure = collect(source, fetcher)
    harvested.append((source, items))
    return [i for i in items if isinstance(i, (Candidate, ItemFailure))], failure


# -- per kind ------------------------------------------------------------------------------------------------------


def govuk(server: RecordedServer, fetcher: Fetcher, tally: Tally, harvested: Harvested) -> None:
    for folder in ("govuk-content", "govuk-content-pre2026"):
        files, links = [], []
        for path in sorted((REAL / folder).glob("*.json")):
            try:
                item = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                continue  # invalid JSON upstream (README): not an input
            link = f"/{folder}/{path.stem}"
            server.add(f"/{folder}/api/content{link}", json.dumps(item), content_type="application/json")
            files.append((path.name, item))
            links.append(link)
        results = [{"link": link, "title": item["title"]} for link, (_, item) in zip(links, files, strict=True)]
        server.add(f"/{folder}/search.json", json.dumps({"results": results, "total": len(results), "start": 0}), content_type="application/json")
        source = Source(id=folder, name=folder, kind="govuk", url=server.url(f"/{folder}/search.json"),
                        content_api=server.url(f"/{folder}/api/content"), rate_limit=0, max_items=1000, params={"count": 1000})
        items, failure = items_of(source, fetcher, harvested)
        assert failure is None, failure
        tally.inputs += len(files)
        for (name, item), got in zip(files, items, strict=True):
            if isinstance(got, ItemFailure):
                tally.item_errors += 1
                tally.wrong.append(f"item: {name}: {got.reason}")
                continue
            tally.candidates += 1
            where = f"{folder}/{name}"
            details = item.get("details") or {}
            tally.check("title", got.title == item["title"], where, got.title, item["title"])
            want_date = calendar_day(details.get("first_public_at") or item.get("first_published_at"))
            if want_date:
                tally.check("published", got.published == want_date, where, got.published, want_date)
            links = item.get("links") or {}
            orgs = [o for key in ("primary_publishing_organisation", "organisations") for o in links.get(key) or [] if o.get("title")]
            if orgs:
                want = html.unescape(orgs[0]["title"])
                tally.check("publisher", got.publisher == want, where, got.publisher, want)
            expected = govuk_attachments(details)
            if expected:
                have = {path_of(link["url"]) for link in got.links}
                tally.check("attachments", expected <= have, where, sorted(expected - have)[:2], len(expected))
            document_type = item.get("document_type")
            want_type = GOVUK_TYPES.get(document_type, document_type)
            tally.check("doc_type", got.doc_type == want_type, where, got.doc_type, want_type)
            tally.check("govuk_document_type kept", (got.extra or {}).get("govuk_document_type") == document_type, where,
                        (got.extra or {}).get("govuk_document_type"), document_type)


def govuk_attachments(details: dict[str, Any]) -> set[str]:
    """Paths of every attachment the content item lists (current schema), or every embedded one (older `documents` HTML)."""
    found = {path_of(str(a["url"])) for a in details.get("attachments") or [] if isinstance(a, dict) and a.get("url")}
    if found:
        return found
    from bs4 import BeautifulSoup

    for fragment in details.get("documents") or []:
        for section in BeautifulSoup(fragment, "lxml").select("section.attachment"):
            anchor = (section.select_one(".title a[href]") or section.select_one(".download a[href]")
                      or next((a for a in section.select("a[href]") if not a["href"].endswith("/preview")), None))
            if anchor is not None:
                found.add(path_of(str(anchor["href"])))
    return found


def europepmc(server: RecordedServer, fetcher: Fetcher, tally: Tally, harvested: Harvested) -> None:
    pages: list[tuple[str, dict[str, Any]]] = []
    for path in sorted((REAL / "europepmc-wabbit").glob("*.json"), key=lambda p: int(p.stem)):
        pages.append((f"wabbit-{path.stem}", json.loads(path.read_text(encoding="utf-8"))))
    chain = json.loads((REAL / "europepmc-pyepmc" / "fetch_10pages_cancer.json").read_text(encoding="utf-8"))
    pages += [(f"pyepmc-chain-{n}", page) for n, page in enumerate(chain)]
    pages.append(("pyepmc-1000", json.loads((REAL / "europepmc-pyepmc" / "search_1000results_cancer.json").read_text(encoding="utf-8"))))
    for name, page in pages:
        page = {**page, "nextCursorMark": None}  # one page per source: each recording is one answer
        server.add(f"/epmc/{name}", json.dumps(page), content_type="application/json")
        source = Source(id=f"epmc-{name}", name=name, kind="europepmc", url=server.url(f"/epmc/{name}"), rate_limit=0, max_items=5000)
        items, failure = items_of(source, fetcher, harvested)
        assert failure is None, failure
        results = page["resultList"]["result"]
        tally.inputs += len(results)
        for result, got in zip(results, items, strict=True):
            if isinstance(got, ItemFailure):
                tally.item_errors += 1
                continue
            tally.candidates += 1
            where = f"{name}/{result.get('id')}"
            tally.check("title", squeeze(got.title) == squeeze(plain(result.get("title"))), where, got.title, plain(result.get("title")))
            if result.get("abstractText"):
                want = plain(result["abstractText"])
                have, whole = squeeze(got.summary), squeeze(want)
                # the summary is bounded (4,000 characters): right when it is the abstract's text, whole or its start
                tally.check("abstract", have == whole[: len(have)] and len(have) >= min(len(whole), 3000), where, got.summary[-60:], want[-60:])
            types = [str(t).lower() for t in (result.get("pubTypeList") or {}).get("pubType") or []] + [
                t.strip().lower() for t in str(result.get("pubType") or "").split(";") if t.strip()]
            is_preprint = result.get("source") == "PPR" or "preprint" in types
            tally.check("preprint typed preprint" if is_preprint else "article not typed preprint",
                        (got.doc_type == "preprint") == is_preprint, where, got.doc_type, "preprint" if is_preprint else "not preprint")
            if result.get("firstPublicationDate"):
                tally.check("published", got.published == result["firstPublicationDate"], where, got.published, result["firstPublicationDate"])
            if result.get("doi"):
                tally.check("doi", (got.doi or "").lower() == result["doi"].lower(), where, got.doi, result["doi"])


def nice(server: RecordedServer, fetcher: Fetcher, tally: Tally, harvested: Harvested) -> None:
    for path in sorted((REAL / "nice-next-web").glob("*.json")):
        listing = json.loads(path.read_text(encoding="utf-8"))
        documents = listing.get("documents") if isinstance(listing, dict) else None
        if not documents or listing.get("failed"):
            continue  # single documents, failed and empty searches are not listings of documents
        listing = {**listing, "resultCount": len(documents), "lastResult": len(documents), "pagerLinks": {}}
        server.add(f"/nice/{path.stem}", json.dumps(listing), content_type="application/json")
        source = Source(id=f"nice-{path.stem}", name=path.stem, kind="nice", url=server.url(f"/nice/{path.stem}"), rate_limit=0, detail=False)
        items, failure = items_of(source, fetcher, harvested)
        assert failure is None, failure
        tally.inputs += len(documents)
        for document, got in zip(documents, items, strict=True):
            if isinstance(got, ItemFailure):
                tally.item_errors += 1
                continue
            tally.candidates += 1
            where = f"{path.name}/{document.get('id')}"
            want_title = plain(document.get("titleNoHtml") or document.get("title"))
            tally.check("title", got.title == want_title, where, got.title, want_title)
            tally.check("url", got.url == document.get("url"), where, got.url, document.get("url"))
            if document.get("publicationDate"):
                want = calendar_day(document["publicationDate"])
                tally.check("published", got.published == want, where, got.published, want)
            if document.get("guidanceRef"):
                tally.check("reference", got.project_ref == document["guidanceRef"], where, got.project_ref, document["guidanceRef"])


def feeds(server: RecordedServer, fetcher: Fetcher, tally: Tally, harvested: Harvested) -> None:
    import feedparser

    for path in sorted((REAL / "feeds").iterdir()):
        body = path.read_bytes()
        server.add(f"/feeds/{path.name}", body, content_type="application/xml")
        source = Source(id=f"feed-{path.stem.lower().replace('_', '-')}"[:60], name=path.name, kind="feed", url=server.url(f"/feeds/{path.name}"),
                        rate_limit=0, detail=False, max_items=1000)
        items, failure = items_of(source, fetcher, harvested)
        entries = feedparser.parse(body).entries
        tally.inputs += len(entries)
        if failure is not None:
            tally.item_errors += len(entries)
            tally.wrong.append(f"source: {path.name}: {failure}")
            continue
        items = [i for i in items if not (isinstance(i, ItemFailure) and "entries recovered" in i.reason)]
        for index, (entry, got) in enumerate(zip(entries, items, strict=True)):
            where = f"{path.name}#{index + 1}"
            if isinstance(got, ItemFailure):
                tally.item_errors += 1
                tally.wrong.append(f"item: {where}: {got.reason}")
                continue
            tally.candidates += 1
            if entry.get("title"):
                # whitespace aside: "ft<sup>2</sup>" is "ft2", as a reader sees it
                tally.check("title", squeeze(got.title) == squeeze(plain(entry["title"])), where, got.title, plain(entry["title"]))
            if entry.get("link", "").startswith("http"):
                tally.check("link", got.url == entry["link"], where, got.url, entry["link"])
            raw = next((entry[k] for k in ("published", "updated", "created") if entry.get(k)), None)
            want = calendar_day(raw)
            if want:
                tally.check("published", got.published == want, where, got.published, f"{want} ({raw})")


def html_pages(server: RecordedServer, fetcher: Fetcher, tally: Tally, harvested: Harvested) -> None:
    folder = REAL / "govuk-html-dgu"
    names = list(DGU_PAGES)
    for n, name in enumerate(names):
        server.add(f"/dgu/{n}", (folder / name).read_bytes())
    server.add("/dgu/", "<html><body>" + "".join(f"<article><h2><a href='/dgu/{n}'>page {n}</a></h2></article>" for n in range(len(names)))
               + "</body></html>")
    source = Source(id="govuk-html", name="GOV.UK pages", kind="html", url=server.url("/dgu/"), rate_limit=0)
    items, failure = items_of(source, fetcher, harvested)
    assert failure is None, failure
    tally.inputs += len(names)
    for name, got in zip(names, items, strict=True):
        if isinstance(got, ItemFailure):
            tally.item_errors += 1
            continue
        tally.candidates += 1
        title, publisher, published = DGU_PAGES[name]
        tally.check("title", got.title == title, name, got.title, title)
        if publisher:
            tally.check("publisher", got.publisher == publisher, name, got.publisher, publisher)
        if published:
            tally.check("published", got.published == published, name, got.published, published)


def pdfs(server: RecordedServer, fetcher: Fetcher, tally: Tally, harvested: Harvested) -> None:
    names = sorted(p.name for p in (REAL / "pdfs").glob("*.pdf"))
    for name in names:
        server.add(f"/pdfs/{quote(name)}", (REAL / "pdfs" / name).read_bytes(), content_type="application/pdf")
    server.add("/pdfs/", "<html><body>" + "".join(f"<a href='/pdfs/{quote(n)}'>{n}</a>" for n in names) + "</body></html>")
    source = Source(id="pdfs", name="PDFs", kind="pdf", url=server.url("/pdfs/"), rate_limit=0, max_items=1000)
    items, failure = items_of(source, fetcher, harvested)
    assert failure is None, failure
    tally.inputs += len(names)
    for name, got in zip(names, items, strict=True):
        if isinstance(got, ItemFailure):
            tally.item_errors += 1
            tally.check("unreadable PDF is a one-line error", "\n" not in got.reason, name, got.reason)
            continue
        tally.candidates += 1
        title, published = PDF_GOLD.get(name, (None, None))
        if title:
            tally.check("title", title.lower() in got.title.lower(), name, got.title, title)
        if published:
            tally.check("published", got.published == published, name, got.published, published)


KINDS: dict[str, Callable[[RecordedServer, Fetcher, Tally, Harvested], None]] = {
    "govuk (content API)": govuk, "europepmc": europepmc, "nice": nice, "feed": feeds, "html (GOV.UK pages)": html_pages, "pdf": pdfs,
}


def speeches_read_as_guidance(engine: Any) -> tuple[int, int]:
    """GOV.UK speeches, statements and authored articles classified as guidance, of all of them."""
    with Session(engine) as session:
        rows = [r for r in session.exec(select(Record)).all() if (r.extra or {}).get("govuk_document_type") in SPEECH_TYPES]
    return sum(r.study_design == "guidance" for r in rows), len(rows)


def run(selected: list[str]) -> tuple[dict[str, Tally], tuple[int, int]]:
    from evidence.classify.apply import classify_record_hook
    from evidence.curation import Curation

    tallies: dict[str, Tally] = {}
    server = RecordedServer()
    with tempfile.TemporaryDirectory() as tmp:
        engine = catalogue.connect(str(Path(tmp) / "fields.db"))
        hook = classify_record_hook(Curation(path=Path(tmp) / "curation.yaml"))
        with Fetcher(None, retries=0, timeout=30) as fetcher:
            for kind in selected:
                tally = tallies[kind] = Tally()
                harvested: Harvested = []
                KINDS[kind](server, fetcher, tally, harvested)
                for source, items in harvested:  # stored one source at a time, as a harvest does
                    with Session(engine) as session:
                        store(session, source, items, SourceResult(source.id), hook)
                        session.commit()
                with Session(engine) as session:
                    ids = {source.id for source, _ in harvested}
                    tally.records = sum(1 for r in session.exec(select(Record)).all() if r.source_id in ids)
        guidance = speeches_read_as_guidance(engine)
        engine.dispose()
    server.close()
    return tallies, guidance


def table(tallies: dict[str, Tally], guidance: tuple[int, int], label: str) -> str:
    lines = [f"Field fidelity on the real recordings ({label})", "",
             "| kind | inputs | candidates | item errors | records | field: right / checked |", "|---|---|---|---|---|---|"]
    for kind, tally in tallies.items():
        fields = "; ".join(f"{name} {tally.right[name]}/{n}" for name, n in tally.checked.items())
        lines.append(f"| {kind} | {tally.inputs} | {tally.candidates} | {tally.item_errors} | {tally.records} | {fields} |")
    lines += ["", f"GOV.UK speeches, statements and authored articles classified as guidance: {guidance[0]} of {guidance[1]}"]
    return "\n".join(lines)


# -- what a harvest keeps when part of a source fails (--losses) ------------------------------------------------------


class LoopbackOnly(httpx.HTTPTransport):
    """Refuses every host but 127.0.0.1: a page on a real host fails as an unreachable robots.txt, and nothing leaves."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host not in ("127.0.0.1", "localhost"):
            raise httpx.ConnectError(f"refused {request.url.host} (benchmarks stay on 127.0.0.1)")
        return super().handle_request(request)


def losses() -> list[tuple[str, int, int, int, int, str]]:
    """(case, items the source gave before it failed, items handed to the catalogue, records stored, records stored from a
    listing's or feed's fields (`detail_error`), the source's status) for each case."""
    from server import Answer, Route

    from evidence.pipeline import harvest_sources

    server = RecordedServer()
    cases: list[tuple[str, Source, int]] = []
    # GOV.UK pages of 2014-16 on a listing whose `next` page is gone
    names = [n for n in DGU_PAGES if "/" not in n]
    for n, name in enumerate(names):
        server.add(f"/dgu/{n}", (REAL / "govuk-html-dgu" / name).read_bytes())
    server.add("/dgu/list-1", "<html><body>" + "".join(f"<article><h2><a href='/dgu/{n}'>page {n}</a></h2></article>" for n in range(len(names)))
               + "<a class='next' href='/dgu/list-2'>Next</a></body></html>")
    cases.append(("html listing, page 2 answers 404", Source(id="html-list", name="html", kind="html", url=server.url("/dgu/list-1"),
                                                             next="a.next", rate_limit=0), len(names)))
    # NICE: the recorded first page of published guidance (350 results, 10 a page); its page 2 is gone
    listing = json.loads((REAL / "nice-next-web" / "guidance-published.json").read_text(encoding="utf-8"))
    server.add("/nice/guidance/published", json.dumps(listing), content_type="application/json")
    cases.append(("NICE listing, page 2 answers 404", Source(id="nice-list", name="nice", kind="nice", url=server.url("/nice/guidance/published"),
                                                             detail=False, rate_limit=0), len(listing["documents"])))
    # GOV.UK search: page 1 lists 40 recorded content items (of 80), page 2 answers 500
    items = []
    for path in sorted((REAL / "govuk-content").glob("*.json"))[:40]:
        item = json.loads(path.read_text(encoding="utf-8"))
        server.add(f"/gov/api/content/{path.stem}", json.dumps(item), content_type="application/json")
        items.append({"link": f"/{path.stem}", "title": item["title"]})
    server.add("/gov/search.json?count=40&start=0", json.dumps({"results": items, "total": 80, "start": 0}), content_type="application/json")
    server.add("/gov/search.json?count=40&start=40", "down", status=500)
    cases.append(("GOV.UK search, page 2 answers 500", Source(id="govuk-search", name="govuk", kind="govuk", url=server.url("/gov/search.json"),
                                                              content_api=server.url("/gov/api/content"), params={"count": 40}, rate_limit=0), 40))
    # Europe PMC: the first page of a real 10-page cursor chain (100 results); the next cursor answers 500
    chain = json.loads((REAL / "europepmc-pyepmc" / "fetch_10pages_cancer.json").read_text(encoding="utf-8"))
    server.add("/epmc/search?cursorMark=%2A&format=json&pageSize=100&resultType=core", json.dumps(chain[0]), content_type="application/json")
    cases.append(("Europe PMC cursor chain, page 2 answers 500", Source(id="epmc-chain", name="epmc", kind="europepmc",
                                                                        url=server.url("/epmc/search"), rate_limit=0, max_items=5000),
                  len(chain[0]["resultList"]["result"])))
    # feeds: every real feed with detail on; title-only entries' pages are on hosts that cannot be reached (robots.txt
    # unreachable), on 127.0.0.1 where they answer 404 (reddit's), or where they are too slow (kc0011's)
    import feedparser

    from evidence.harvesters import feed as feed_kind

    title_only = {"robots": 0, "404": 0, "timeout": 0}
    for path in sorted((REAL / "feeds").iterdir()):
        body = path.read_bytes()
        case = "404" if "reddit" in path.name else "timeout" if "kc0011" in path.name else "robots"
        entries = feedparser.parse(body).entries
        short = [e for e in entries if feed_kind.entry_link(e) and len(feed_kind._entry_summary(e)) < feed_kind.MIN_SUMMARY_CHARS]
        title_only[case] += len(short)
        if case == "404":
            body = body.replace(b"https://www.reddit.com", server.base.encode())
        if case == "timeout":
            body = body.replace(b"http://www.kc0011.net", server.base.encode())
            for entry in short:
                server.routes[urlsplit(str(feed_kind.entry_link(entry))).path] = Route([Answer(b"slow", delay=1.5)])
        server.add(f"/feeds/{path.name}", body, content_type="application/xml")
        cases.append((f"feed:{case}", Source(id=f"feed-{path.stem.lower().replace('_', '-')}"[:60], name=path.name, kind="feed",
                                             url=server.url(f"/feeds/{path.name}"), rate_limit=0, max_items=1000), len(entries)))
    # NICE research recommendations: 10 at #anchors of 3 pages
    recs = (REAL / "nice-next-web" / "researchrecs-published.json").read_text(encoding="utf-8").replace("https://test.nice.org.uk", server.base)
    recs_data = json.loads(recs)
    recs_data["pagerLinks"] = {}
    recs_data["resultCount"] = recs_data["lastResult"]
    server.add("/nice/recs", json.dumps(recs_data), content_type="application/json")
    cases.append(("NICE research recommendations at #anchors", Source(id="nice-recs", name="recs", kind="nice", url=server.url("/nice/recs"),
                                                                       detail=False, rate_limit=0), len(recs_data["documents"])))
    rows: list[tuple[str, int, int, int, int, str]] = []
    feeds: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    with tempfile.TemporaryDirectory() as tmp:
        engine = catalogue.connect(str(Path(tmp) / "losses.db"))
        with Fetcher(None, retries=0, backoff=0.01, timeout=0.5, transport=LoopbackOnly()) as fetcher:
            results = {r.source_id: r for r in harvest_sources(engine, [source for _, source, _ in cases], fetcher, workers=2)}
        with Session(engine) as session:
            held: dict[str, int] = defaultdict(int)
            partial: dict[str, int] = defaultdict(int)
            for record in session.exec(select(Record)).all():
                held[record.source_id] += 1
                partial[record.source_id] += bool((record.extra or {}).get("detail_error"))
        engine.dispose()
    for name, source, given in cases:
        if name.startswith("feed:"):
            tally = feeds[name[5:]]
            for n, value in enumerate((given, results[source.id].fetched, held[source.id], partial[source.id])):
                tally[n] += value
            continue
        rows.append((name, given, results[source.id].fetched, held[source.id], partial[source.id], results[source.id].status))
    for case, (given, fetched, stored, from_feed) in feeds.items():
        how = "behind an unreachable robots.txt" if case == "robots" else "answering 404" if case == "404" else "timing out"
        rows.append((f"feeds, title-only entries' pages {how} ({title_only[case]} such entries)", given, fetched, stored, from_feed, "ok"))
    server.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", action="append", choices=list(KINDS), help="only these kinds (default: all)")
    parser.add_argument("--label", default="this checkout", help="what the figures are of, for the table's heading")
    parser.add_argument("--errors", action="store_true", help="list every wrong field")
    parser.add_argument("--write", action="store_true", help="append the table to bench/RESULTS.md")
    parser.add_argument("--losses", action="store_true", help="what a harvest keeps when part of a source fails, instead")
    args = parser.parse_args()
    if not REAL.exists():
        raise SystemExit(f"{REAL} is not available (../shared/corpus beside the checkout)")
    if args.losses:
        lines = [f"What a harvest keeps when part of a source fails ({args.label})", "",
                 "| case | inputs the source gave | handed to the catalogue | records | of them from the listing's fields | status |",
                 "|---|---|---|---|---|---|"]
        lines += [f"| {row[0]} | " + " | ".join(str(v) for v in row[1:]) + " |" for row in losses()]
        report("\n".join(lines), args.write)
        return
    tallies, guidance = run(args.kind or list(KINDS))
    if args.errors:
        for kind, tally in tallies.items():
            for line in tally.wrong:
                print(f"[{kind}] {line}")
    report(table(tallies, guidance, args.label), args.write)


if __name__ == "__main__":
    main()
