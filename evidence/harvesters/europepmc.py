"""Europe PMC REST search (resultType=core, cursor paging): scholarly articles with their publication types."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evidence.config import Source
from evidence.extract import markup_text, parse_date, safe_link
from evidence.fetch import Fetcher
from evidence.harvesters import HarvestItem, SourceError
from evidence.models import Candidate, ItemFailure


def harvest(source: Source, fetcher: Fetcher) -> Iterator[HarvestItem]:
    """Follow nextCursorMark until the results end, max_pages or max_items."""
    params: dict[str, Any] = {"resultType": "core", "format": "json", "pageSize": 100, **(source.params or {})}
    cursor = str(params.pop("cursorMark", "*"))
    yielded = 0
    for _page in range(source.max_pages):
        response = fetcher.get(source.url, params={**params, "cursorMark": cursor}, rate_limit=source.rate_limit)
        data = response.json()
        if not isinstance(data, dict) or not isinstance(data.get("resultList"), dict):
            raise SourceError(f"{response.url}: not a Europe PMC search answer (no `resultList`)")
        results = data["resultList"].get("result") or []
        for result in results:
            if yielded >= source.max_items:
                return
            yielded += 1
            yield from_result(result, source) if isinstance(result, dict) and result.get("title") else ItemFailure(response.url, "result without a title")
        next_cursor = data.get("nextCursorMark")
        if not results or not next_cursor or next_cursor == cursor:
            return
        cursor = str(next_cursor)


def from_result(result: dict[str, Any], source: Source | None = None) -> Candidate:
    """A candidate from one Europe PMC `core` result."""
    title = markup_text(result.get("title"))
    abstract = markup_text(result.get("abstractText"))
    authors = [a.get("fullName") for a in (result.get("authorList") or {}).get("author", []) if isinstance(a, dict) and a.get("fullName")]
    if not authors and result.get("authorString"):
        authors = [a.strip() for a in str(result["authorString"]).rstrip(".").split(",") if a.strip()]
    journal = ((result.get("journalInfo") or {}).get("journal") or {}).get("title") or result.get("journalTitle")
    pub_types = (result.get("pubTypeList") or {}).get("pubType") or ([result["pubType"]] if result.get("pubType") else [])
    doi = result.get("doi")
    ids = {"pmid": result.get("pmid"), "pmcid": result.get("pmcid"), "source": result.get("source"), "id": result.get("id")}
    url = (f"https://europepmc.org/article/{ids['source']}/{ids['id']}" if ids["source"] and ids["id"]
           else (safe_link(f"https://doi.org/{doi}") if doi else None))
    keywords = (result.get("keywordList") or {}).get("keyword") or []
    mesh = [m.get("descriptorName") for m in (result.get("meshHeadingList") or {}).get("meshHeading", []) if isinstance(m, dict)]
    return Candidate(
        url=url or f"https://europepmc.org/search?query={title[:80]}",
        title=title,
        publisher=str(journal) if journal else (source.publisher if source else None),
        authors=[str(a) for a in authors][:50],
        published=parse_date(result.get("firstPublicationDate")) or parse_date(str(result.get("pubYear") or "")),
        doc_type=_doc_type(result, [str(p) for p in pub_types]),
        summary=abstract[:4000],
        text=f"{title}\n\n{abstract}",
        doi=doi,
        extra={"pub_types": [str(p) for p in pub_types], "ids": {k: v for k, v in ids.items() if v},
               "keywords": [str(k) for k in keywords][:30], "mesh": [str(m) for m in mesh if m][:30]},
    )


# Europe PMC publication types that say what a record is, in the catalogue's words (the first that applies wins);
# anything else published in a journal is a journal article. Preprints come from source PPR.
PUB_TYPE_DOC_TYPES = (
    ("preprint", "preprint"),
    ("published erratum", "erratum"),
    ("correction", "erratum"),
    ("retraction of publication", "retraction"),
    ("editorial", "editorial"),
    ("letter", "letter"),
    ("news", "news"),
)


def _doc_type(result: dict[str, Any], pub_types: list[str]) -> str:
    """What the record is: a preprint (source PPR, or typed so), an erratum, editorial, letter, news item, or an article."""
    types = {t.strip().lower() for value in pub_types for t in value.split(";") if t.strip()}
    if str(result.get("source") or "").upper() == "PPR":
        return "preprint"
    for name, doc_type in PUB_TYPE_DOC_TYPES:
        if name in types:
            return doc_type
    return "journal_article"
