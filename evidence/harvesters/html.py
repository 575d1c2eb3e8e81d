"""Listing pages with CSS selectors (item, link, title, date, summary, next), then detail pages.

With `detail: false` the listing itself holds the items (a digest page): each item is a record. An item whose detail
page cannot be fetched is stored from the listing's fields (title, link, date, summary), marked `detail_error`; items
linking to distinct `#fragments` of one page stay distinct (the page is fetched once).
"""
from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urldefrag, urljoin

from bs4 import Tag

from evidence.catalogue import slugify
from evidence.config import Source
from evidence.extract import (
    PdfError,
    find_money,
    first_paragraph,
    html_candidate,
    item_publisher,
    lines_of,
    parse_date,
    pdf_candidate,
    safe_link,
    section_text,
    soup_of,
    text_candidate,
)
from evidence.fetch import Fetcher, FetchError, Response, RobotsDisallowed
from evidence.harvesters import HarvestItem, PageCache, SourceError, extracted, from_listing
from evidence.models import ItemFailure


def harvest(source: Source, fetcher: Fetcher) -> Iterator[HarvestItem]:
    """Walk the listing pages (following `next`) and yield a candidate per item."""
    url: str | None = source.url
    seen: set[str] = set()
    pages = PageCache(fetcher, source.rate_limit)
    yielded = 0
    for page_number in range(source.max_pages):
        if url is None or url in seen:
            return
        seen.add(url)
        response = fetcher.get(url, params=(source.params or None) if page_number == 0 else None, rate_limit=source.rate_limit)
        soup = soup_of(response.body)
        items = soup.select(source.item or "article")
        if not items and page_number == 0:
            raise SourceError(f"{response.url}: the listing has no items (selector `{source.item or 'article'}` matched nothing)")
        for index, item in enumerate(items):
            if yielded >= source.max_items:
                return
            yielded += 1
            yield from _item(source, pages, item, response, index)
        next_link = soup.select_one(source.next) if source.next else None
        url = safe_link(urljoin(response.url, str(next_link.get("href")))) if next_link and next_link.get("href") else None


def _item(source: Source, pages: PageCache, item: Tag, listing: Response, index: int) -> Iterator[HarvestItem]:
    title_tag = item.select_one(source.title) if source.title else item.find(["h1", "h2", "h3", "h4"])
    link_tag = item.select_one(source.link) if source.link else (title_tag.find("a", href=True) if title_tag else None) or item.find("a", href=True)
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else ""
    link = safe_link(urljoin(listing.url, str(link_tag.get("href")))) if link_tag and link_tag.get("href") else None
    if not source.detail:
        yield _digest_item(source, item, listing, index, title, link)
        return
    if link is None:
        yield ItemFailure(f"{listing.url}#item-{index + 1}", "item has no http(s) link to a detail page")
        return
    try:
        page = pages.get(link)
    except FetchError as exc:
        if isinstance(exc, RobotsDisallowed) or not title:  # the site asks us not to read it, or nothing names it
            yield ItemFailure(link, exc.reason)
            return
        candidate = _digest_item(source, item, listing, index, title, link)
        candidate.doc_type = source.doc_type or candidate.doc_type
        yield from_listing(candidate, exc)
        return

    def build() -> Iterator[HarvestItem]:
        is_pdf = page.content_type == "application/pdf" or page.body[:5] == b"%PDF-"
        try:
            if is_pdf:
                candidate = pdf_candidate(page.body, link, publisher=source.publisher, doc_type=source.doc_type)
            else:
                candidate = html_candidate(page.body, link, publisher=source.publisher, doc_type=source.doc_type)
        except PdfError as exc:
            yield ItemFailure(link, str(exc))
            return
        fragment = urldefrag(link)[1]
        section = section_text(soup_of(page.body), fragment) if fragment and not is_pdf else None
        if section:  # an item at an #anchor of a page is that part of the page, under the listing's title
            candidate.text = section
            candidate.summary = first_paragraph(lines_of(section), title or candidate.title) or candidate.summary
            candidate.money = find_money(section, lines_of(section))
        if title and (not candidate.title or candidate.title == link or fragment):
            candidate.title = title
        if not candidate.published and source.date:
            date_tag = item.select_one(source.date)
            candidate.published = parse_date(date_tag.get("datetime") or date_tag.get_text(" ")) if date_tag else None
        if not candidate.summary and source.summary:
            summary_tag = item.select_one(source.summary)
            candidate.summary = " ".join(summary_tag.get_text(" ").split()) if summary_tag is not None else ""
        yield candidate

    yield from extracted(link, page, build)


def _digest_item(source: Source, item: Tag, listing: Response, index: int, title: str, link: str | None):
    """One item of a digest page, read from the page itself."""
    text = "\n".join(lines_of(item.get_text("\n")))
    title = title or (lines_of(text)[0] if text.strip() else f"Item {index + 1}")
    url = link or f"{listing.url.split('#')[0]}#item-{slugify(title, 40)}"
    candidate = text_candidate(text, url, publisher=None, doc_type=source.doc_type, title=title)
    candidate.publisher = candidate.publisher or item_publisher(lines_of(text), title, link) or source.publisher
    if source.date:
        date_tag = item.select_one(source.date)
        if date_tag is not None:
            candidate.published = parse_date(date_tag.get("datetime") or date_tag.get_text(" ")) or candidate.published
    if source.summary:
        summary_tag = item.select_one(source.summary)
        if summary_tag is not None:
            candidate.summary = " ".join(summary_tag.get_text(" ").split())
    return candidate
