"""Report PDFs, given directly or linked from a page: text with pypdf, title and date from the document."""
from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin

from evidence.config import Source
from evidence.extract import PdfError, pdf_candidate, safe_link, soup_of
from evidence.fetch import Fetcher, FetchError, Response
from evidence.harvesters import HarvestItem, SourceError, extracted
from evidence.models import ItemFailure


def is_pdf(response: Response) -> bool:
    """True when the body is a PDF, whatever the server calls it."""
    return response.content_type == "application/pdf" or response.body[:1024].lstrip().startswith(b"%PDF-")


def harvest(source: Source, fetcher: Fetcher) -> Iterator[HarvestItem]:
    """One candidate for a PDF URL; for a page, one per PDF it links to (selector `link`)."""
    response = fetcher.get(source.url, params=source.params or None, rate_limit=source.rate_limit)
    if is_pdf(response):
        yield from _one(source, response)
        return
    soup = soup_of(response.body)
    anchors = soup.select(source.link or 'a[href$=".pdf" i], a[href*=".pdf?" i]')
    urls: list[str] = []
    for anchor in anchors:
        url = safe_link(urljoin(response.url, str(anchor.get("href") or "")))
        if url and url not in urls:
            urls.append(url)
    if not urls:
        raise SourceError(f"{response.url}: no PDF links on the page")
    for url in urls[: source.max_items]:
        try:
            document = fetcher.get(url, rate_limit=source.rate_limit)
        except FetchError as exc:
            yield ItemFailure(url, exc.reason)
            continue
        if not is_pdf(document):
            yield ItemFailure(url, f"not a PDF (content type {document.content_type or 'unknown'})")
            continue
        yield from _one(source, document)


def _one(source: Source, response: Response) -> Iterator[HarvestItem]:
    def build() -> Iterator[HarvestItem]:
        try:
            yield pdf_candidate(response.body, response.url, publisher=source.publisher, doc_type=source.doc_type)
        except PdfError as exc:
            yield ItemFailure(response.url, str(exc))

    yield from extracted(response.url, response, build)
