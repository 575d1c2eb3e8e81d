"""Europe PMC REST search (resultType=core, cursor paging): scholarly articles with their publication types."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evidence.config import Source
from evidence.extract import lines_of, parse_date, safe_link, soup_of
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
    title = _plain(result.get("title"))
    abstract = _plain(result.get("abstractText"))
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
        doc_type="journal_article",
        summary=abstract[:4000],
        text=f"{title}\n\n{abstract}",
        doi=doi,
        extra={"pub_types": [str(p) for p in pub_types], "ids": {k: v for k, v in ids.items() if v},
               "keywords": [str(k) for k in keywords][:30], "mesh": [str(m) for m in mesh if m][:30]},
    )


def _plain(value: Any) -> str:
    if not value:
        return ""
    text = str(value)
    if "<" in text or "&" in text:
        text = soup_of(text).get_text(" ")
    return " ".join(lines_of(text)).strip()
