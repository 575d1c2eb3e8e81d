"""GOV.UK: the search API (paged with start/count), then the content API for each result."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from evidence.config import Source
from evidence.extract import (
    document_links,
    find_money,
    find_sample_size,
    lines_of,
    page_text,
    parse_date,
    safe_link,
    soup_of,
)
from evidence.fetch import Fetcher, FetchError
from evidence.harvesters import HarvestItem, SourceError, extracted
from evidence.models import Candidate, ItemFailure

WWW = "https://www.gov.uk"
ASSETS = "https://assets.publishing.service.gov.uk"
# GOV.UK document types, in the catalogue's words.
DOC_TYPES = {
    "research": "research_report",
    "independent_report": "research_report",
    "official_statistics": "statistics",
    "national_statistics": "statistics",
    "statistical_data_set": "statistics",
    "guidance": "guidance",
    "statutory_guidance": "guidance",
    "detailed_guide": "guidance",
    "policy_paper": "policy",
    "impact_assessment": "policy",
    "consultation_outcome": "consultation",
    "open_consultation": "consultation",
    "closed_consultation": "consultation",
    "news_story": "news",
    "press_release": "news",
    "html_publication": "report",
    "promotional": "promotional",
    "transparency": "transparency",
    "form": "form",
    "foi_release": "foi_release",
}


def harvest(source: Source, fetcher: Fetcher) -> Iterator[HarvestItem]:
    """Page through the search API and yield a candidate per content item."""
    params = dict(source.params or {})
    count = int(params.pop("count", 50) or 50)
    start = int(params.pop("start", 0) or 0)
    yielded = 0
    for _page in range(source.max_pages):
        response = fetcher.get(source.url, params={**params, "start": start, "count": count}, rate_limit=source.rate_limit)
        data = response.json()
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise SourceError(f"{response.url}: not a GOV.UK search answer (no `results` list)")
        for result in results:
            if yielded >= source.max_items:
                return
            yielded += 1
            yield from _item(source, fetcher, result)
        start += len(results)
        total = data.get("total")
        if not results or (isinstance(total, int) and start >= total):
            return


def _item(source: Source, fetcher: Fetcher, result: Any) -> Iterator[HarvestItem]:
    link = result.get("link") if isinstance(result, dict) else None
    if not isinstance(link, str) or not link:
        yield ItemFailure(source.url, "search result without a link")
        return
    if link.startswith("http"):  # an external result: the search answer is all we have
        url = safe_link(link)
        if url:
            yield Candidate(url=url, title=str(result.get("title") or url), publisher=source.publisher,
                            summary=str(result.get("description") or ""), published=parse_date(result.get("public_timestamp")),
                            doc_type=source.doc_type, text=f"{result.get('title', '')}\n\n{result.get('description', '')}")
        return
    path = "/" + link.lstrip("/")
    content_url = source.content_api.rstrip("/") + quote(path)
    try:
        response = fetcher.get(content_url, rate_limit=source.rate_limit)
    except FetchError as exc:
        yield ItemFailure(WWW + path, exc.reason)
        return

    def build() -> Iterator[HarvestItem]:
        try:
            yield from_content(response.json(), source)
        except FetchError as exc:
            yield ItemFailure(WWW + path, exc.reason)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            yield ItemFailure(WWW + path, f"unexpected content item ({type(exc).__name__}: {exc})")

    yield from extracted(WWW + path, response, build)


def from_content(item: dict[str, Any], source: Source | None = None) -> Candidate:
    """A candidate from a GOV.UK content item (the JSON of /api/content/<path>)."""
    if not isinstance(item, dict) or not item.get("base_path") or not item.get("title"):
        raise ValueError("content item without base_path or title")
    details = item.get("details") or {}
    links = item.get("links") or {}
    organisations = [o.get("title") for o in links.get("organisations", []) if isinstance(o, dict) and o.get("title")]
    primary = [o.get("title") for o in links.get("primary_publishing_organisation", []) if isinstance(o, dict) and o.get("title")]
    publisher = (primary or organisations or [source.publisher if source else None])[0]
    body_html = details.get("body") or ""
    body_text = page_text(soup_of(body_html)) if body_html else ""
    description = str(item.get("description") or "")
    text = "\n\n".join(part for part in (item["title"], description, body_text) if part)
    attachments = _attachments(details)
    document_type = str(item.get("document_type") or "")
    withdrawn = item.get("withdrawn_notice") or {}
    extra: dict[str, Any] = {"govuk_document_type": document_type, "organisations": organisations}
    if withdrawn.get("explanation"):
        extra["withdrawn"] = page_text(soup_of(withdrawn["explanation"]))[:500]
        extra["withdrawn_at"] = withdrawn.get("withdrawn_at")
    lines = lines_of(text)
    return Candidate(
        url=WWW + item["base_path"],
        title=str(item["title"]),
        publisher=publisher,
        authors=[],
        published=parse_date(item.get("first_published_at") or details.get("first_public_at") or item.get("public_updated_at")),
        doc_type=DOC_TYPES.get(document_type, document_type or (source.doc_type if source else None)),
        summary=description or body_text[:1500],
        text=text,
        links=attachments,
        money=find_money(text, lines),
        sample_size=find_sample_size(text),
        extra=extra,
    )


def _attachments(details: dict[str, Any]) -> list[dict[str, str]]:
    """details.attachments (current schema), falling back to the HTML of details.documents (older)."""
    found: list[dict[str, str]] = []
    for attachment in details.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        url = safe_link(_absolute(str(attachment.get("url") or "")))
        if not url:
            continue
        content_type = str(attachment.get("content_type") or "")
        kind = "pdf" if "pdf" in content_type or url.lower().endswith(".pdf") else (attachment.get("attachment_type") or "file")
        found.append({"url": url, "title": str(attachment.get("title") or url.rsplit("/", 1)[-1]), "type": str(kind)})
    if found:
        return found
    for fragment in details.get("documents") or []:
        if isinstance(fragment, str):
            for link in document_links(soup_of(fragment), WWW + "/"):
                if link not in found:
                    found.append(link)
    return found


def _absolute(url: str) -> str:
    if url.startswith("/government/uploads") or url.startswith("/media/"):
        return ASSETS + url
    if url.startswith("/"):
        return WWW + url
    return url
