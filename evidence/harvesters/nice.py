"""NICE guidance: a guidance listing (NICE's search JSON, or a listing page carrying it), then each guidance page."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin

from evidence.config import Source
from evidence.extract import find_money, first_paragraph, html_candidate, lines_of, local_day, markup_text, safe_link, section_text, soup_of
from evidence.fetch import Fetcher, FetchError, Response, RobotsDisallowed
from evidence.harvesters import HarvestItem, PageCache, SourceError, extracted, from_listing
from evidence.models import Candidate, ItemFailure

NICE = "https://www.nice.org.uk"


def harvest(source: Source, fetcher: Fetcher) -> Iterator[HarvestItem]:
    """Yield a candidate per guidance document listed; each guidance page adds its text."""
    url, params = source.url, dict(source.params or {})
    pages = PageCache(fetcher, source.rate_limit)  # research recommendations at #anchors of one page share it
    yielded = 0
    for page_number in range(1, source.max_pages + 1):
        response = fetcher.get(url, params=params or None, rate_limit=source.rate_limit)
        listing = _listing(response)
        documents = listing.get("documents") or []
        if page_number == 1 and not documents and not listing.get("resultCount"):
            return  # a real "no results" answer: nothing new, not a failure
        for document in documents:
            if yielded >= source.max_items:
                return
            yielded += 1
            yield from _document(source, pages, document, response.url)
        last, total = listing.get("lastResult"), listing.get("resultCount")
        next_link = (listing.get("pagerLinks") or {}).get("next") if isinstance(listing.get("pagerLinks"), dict) else None
        if not documents or not isinstance(last, int) or not isinstance(total, int) or last >= total:
            return
        if isinstance(next_link, dict) and next_link.get("fullUrl"):
            url, params = urljoin(response.url, next_link["fullUrl"]), {}
        else:
            params = {**params, "pa": page_number + 1}


def _listing(response: Response) -> dict[str, Any]:
    """NICE's search JSON, read directly or from a listing page's embedded Next.js data."""
    if "json" in response.content_type or response.body.lstrip()[:1] in (b"{", b"["):
        data = response.json()
    else:
        script = soup_of(response.body).find("script", id="__NEXT_DATA__")
        if script is None or not script.string:
            raise SourceError(f"{response.url}: no guidance listing found on the page")
        try:
            data = json.loads(script.string)
        except ValueError as exc:
            raise SourceError(f"{response.url}: unreadable listing data ({exc})") from None
    listing = _find_listing(data)
    if listing is None:
        raise SourceError(f"{response.url}: not a NICE guidance listing (no `documents`)")
    if listing.get("failed"):
        raise SourceError(f"{response.url}: NICE search failed ({listing.get('errorMessage') or 'no reason given'})")
    return listing


def _find_listing(data: Any, depth: int = 0) -> dict[str, Any] | None:
    if depth > 8:
        return None
    if isinstance(data, dict):
        if isinstance(data.get("documents"), list) and ("resultCount" in data or "failed" in data):
            return data
        children = list(data.values())
    elif isinstance(data, list):
        children = data
    else:
        return None
    for child in children:
        found = _find_listing(child, depth + 1)
        if found is not None:
            return found
    return None


def _document(source: Source, pages: PageCache, document: dict[str, Any], listing_url: str) -> Iterator[HarvestItem]:
    if not isinstance(document, dict):
        yield ItemFailure(listing_url, "listing entry is not an object")
        return
    url = safe_link(urljoin(listing_url, str(document.get("url") or document.get("pathAndQuery") or "")))
    title = markup_text(document.get("titleNoHtml") or document.get("title"))
    if not url or not title:
        yield ItemFailure(listing_url, f"guidance entry {document.get('guidanceRef') or document.get('id')} has no link or title")
        return
    base = _from_listing(source, document, url, title)
    if not source.detail:
        yield base
        return
    try:
        page = pages.get(url)
    except RobotsDisallowed as exc:
        yield ItemFailure(url, exc.reason)  # the site asks us not to read it
        return
    except FetchError as exc:
        yield from_listing(base, exc)  # the listing's fields still make a useful record
        return

    def build() -> Iterator[HarvestItem]:
        detail = html_candidate(page.body, url, publisher="NICE", doc_type=base.doc_type)
        fragment = urldefrag(url)[1]
        section = section_text(soup_of(page.body), fragment) if fragment else None
        base.summary = base.summary or (first_paragraph(lines_of(section), base.title) if section else detail.summary)
        base.text = f"{base.title}\n\n{section or detail.text}"  # an item at an #anchor: its own section of the page
        base.links = detail.links
        base.money = find_money(section, lines_of(section)) if section else detail.money
        yield base

    yield from extracted(url, page, build)


def _from_listing(source: Source, document: dict[str, Any], url: str, title: str) -> Candidate:
    kinds = [str(k) for k in (document.get("niceGuidanceType") or []) + (document.get("niceDocType") or [])]
    summary = markup_text(document.get("metaDescription") or document.get("abstract") or document.get("teaser"))
    reference = document.get("guidanceRef")
    return Candidate(
        url=url,
        title=title,
        publisher=source.publisher or "NICE",
        published=local_day(document.get("publicationDate")),
        doc_type=source.doc_type or _doc_type(document, kinds),
        summary=summary if summary != reference else "",
        text=f"{title}\n\n{summary}",
        project_ref=str(reference) if reference else None,
        extra={"nice_types": kinds, "last_updated": local_day(document.get("lastUpdated")), "status": document.get("guidanceStatus"),
               "nice_source": document.get("sourceName") or document.get("niceResultType")},
    )


def _doc_type(document: dict[str, Any], kinds: list[str]) -> str:
    """What NICE says the document is: a guideline (NICE, clinical, social care, public health guidelines), a quality
    standard, an indicator, a research recommendation, a topic page, else guidance (technology appraisals,
    interventional procedures, diagnostics, advice)."""
    lowered = [k.lower() for k in kinds] + [str(document.get(key) or "").lower() for key in ("sourceName", "niceResultType")]
    if any("guideline" in k for k in lowered):
        return "guideline"
    if any("quality standard" in k for k in lowered):
        return "quality_standard"
    if any(k.startswith("indicator") for k in lowered):
        return "indicator"
    if any("research recommendation" in k for k in lowered):
        return "research_recommendation"
    if any("topic page" in k for k in lowered):
        return "topic_page"
    return "guidance"
