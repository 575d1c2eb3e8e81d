"""GOV.UK: the search API (paged with start/count), then the content API for each result."""
from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

from evidence.config import Source
from evidence.extract import (
    DOCUMENT_EXTENSIONS,
    document_links,
    find_money,
    find_sample_size,
    lines_of,
    local_day,
    london,
    page_text,
    safe_link,
    soup_of,
)
from evidence.fetch import Fetcher, FetchError, RobotsDisallowed
from evidence.harvesters import HarvestItem, SourceError, extracted, from_listing
from evidence.models import Candidate, ItemFailure

WWW = "https://www.gov.uk"
ASSETS = "https://assets.publishing.service.gov.uk"
LONDON = london()  # GOV.UK's publication days are London's
# GOV.UK document types, in the catalogue's words; a type not listed is kept as GOV.UK names it. Speeches, statements
# and authored articles are what they are, not guidance; the raw type is kept in extra["govuk_document_type"].
DOC_TYPES = {
    "research": "research_report",
    "independent_report": "research_report",
    "official_statistics": "statistics",
    "national_statistics": "statistics",
    "statistical_data_set": "statistics",
    "official_statistics_announcement": "statistics_announcement",
    "national_statistics_announcement": "statistics_announcement",
    "statistics_announcement": "statistics_announcement",
    "guidance": "guidance",
    "statutory_guidance": "guidance",
    "detailed_guide": "guidance",
    "guide": "guidance",
    "answer": "guidance",
    "policy_paper": "policy",
    "impact_assessment": "policy",
    "consultation": "consultation",
    "consultation_outcome": "consultation",
    "open_consultation": "consultation",
    "closed_consultation": "consultation",
    "call_for_evidence": "consultation",
    "open_call_for_evidence": "consultation",
    "closed_call_for_evidence": "consultation",
    "call_for_evidence_outcome": "consultation",
    "news_story": "news",
    "press_release": "news",
    "world_news_story": "news",
    "government_response": "news",
    "speech": "speech",
    "oral_statement": "statement",
    "written_statement": "statement",
    "authored_article": "comment",
    "html_publication": "report",
    "document_collection": "collection",
    "case_study": "case_study",
    "corporate_report": "corporate_report",
    "promotional": "promotional",
    "transparency": "transparency",
    "form": "form",
    "foi_release": "foi_release",
    "notice": "notice",
    "regulation": "regulation",
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
            candidate = _from_search(result, url, source)
            candidate.extra = {}
            yield candidate
        return
    path = "/" + link.lstrip("/")
    content_url = source.content_api.rstrip("/") + quote(path)
    try:
        response = fetcher.get(content_url, rate_limit=source.rate_limit)
    except FetchError as exc:
        if isinstance(exc, RobotsDisallowed) or not str(result.get("title") or "").strip():
            yield ItemFailure(WWW + path, exc.reason)
        else:  # the search answer's fields until the content item answers
            yield from_listing(_from_search(result, WWW + path, source), exc)
        return

    def build() -> Iterator[HarvestItem]:
        try:
            yield from_content(response.json(), source)
        except FetchError as exc:
            yield ItemFailure(WWW + path, exc.reason)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            yield ItemFailure(WWW + path, f"unexpected content item ({type(exc).__name__}: {exc})")

    yield from extracted(WWW + path, response, build)


def _from_search(result: dict[str, Any], url: str, source: Source) -> Candidate:
    """A candidate from one search result alone: its title, description, timestamp, organisations and format."""
    title = html.unescape(str(result.get("title") or url)).strip()
    description = html.unescape(str(result.get("description") or "")).strip()
    organisations = _names(result.get("organisations"))
    document_type = str(result.get("content_store_document_type") or result.get("format") or "")
    return Candidate(url=url, title=title, publisher=(organisations[0] if organisations else None) or source.publisher,
                     summary=description, published=local_day(result.get("public_timestamp"), LONDON),
                     doc_type=DOC_TYPES.get(document_type) or source.doc_type, text=f"{title}\n\n{description}",
                     extra={"govuk_document_type": document_type, "organisations": organisations})


def from_content(item: dict[str, Any], source: Source | None = None) -> Candidate:
    """A candidate from a GOV.UK content item (the JSON of /api/content/<path>)."""
    if not isinstance(item, dict) or not item.get("base_path") or not item.get("title"):
        raise ValueError("content item without base_path or title")
    details = item.get("details") or {}
    links = item.get("links") or {}
    organisations = _names(links.get("organisations"))
    primary = _names(links.get("primary_publishing_organisation"))
    named = primary or organisations
    publisher = named[0] if named else (source.publisher if source else None)
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
        # details.first_public_at is the publication date where given (first_published_at can be when the page moved
        # to GOV.UK, years later); the day is London's, whatever offset the timestamp was written in.
        published=local_day(details.get("first_public_at") or item.get("first_published_at") or item.get("public_updated_at"), LONDON),
        doc_type=DOC_TYPES.get(document_type, document_type or (source.doc_type if source else None)),
        summary=description or body_text[:1500],
        text=text,
        links=attachments,
        money=find_money(text, lines),
        sample_size=find_sample_size(text),
        extra=extra,
    )


def _names(organisations: Any) -> list[str]:
    """Organisation titles, HTML entities decoded once ("Department for Business, Innovation &amp; Skills")."""
    if not isinstance(organisations, list):
        return []
    return [html.unescape(str(o["title"])).strip() for o in organisations if isinstance(o, dict) and o.get("title")]


def _attachments(details: dict[str, Any]) -> list[dict[str, str]]:
    """Every attachment: details.attachments (current schema), else each embedded attachment of the older
    details.documents HTML (PDFs, spreadsheets, archives and HTML publications alike)."""
    found: list[dict[str, str]] = []
    for attachment in details.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        url = safe_link(_absolute(str(attachment.get("url") or "")))
        if not url:
            continue
        kind = _kind(url, str(attachment.get("content_type") or ""), str(attachment.get("attachment_type") or "file"))
        found.append({"url": url, "title": str(attachment.get("title") or url.rsplit("/", 1)[-1]), "type": kind})
    if found:
        return found
    seen: set[str] = set()
    for fragment in details.get("documents") or []:
        if not isinstance(fragment, str):
            continue
        soup = soup_of(fragment)
        for section in soup.select("section.attachment"):
            anchor = (section.select_one(".title a[href]") or section.select_one(".download a[href]")
                      or next((a for a in section.select("a[href]") if not str(a["href"]).endswith("/preview")), None))
            if anchor is None:
                continue
            url = safe_link(_absolute(str(anchor["href"])))
            heading = section.select_one(".title")
            if not url or url in seen:
                continue
            seen.add(url)
            label = section.select_one(".type")
            declared = label.get_text(" ", strip=True).lower() if label else ""
            kind = _kind(url, "", "html" if declared == "html" else "file")
            title = (heading or anchor).get_text(" ", strip=True)
            found.append({"url": url, "title": title[:300] or url.rsplit("/", 1)[-1], "type": kind})
        for section in soup.select("section.attachment"):
            section.decompose()
        for link in document_links(soup, WWW + "/"):  # documents linked outside an attachment section
            if link["url"] not in seen:
                seen.add(link["url"])
                found.append(link)
    return found


def _kind(url: str, content_type: str, fallback: str) -> str:
    """An attachment's type: its file extension when it has a known one, else what GOV.UK calls it."""
    path = urlsplit(url).path.lower()
    extension = next((ext for ext in DOCUMENT_EXTENSIONS if path.endswith("." + ext)), None)
    if extension:
        return extension
    if "pdf" in content_type:
        return "pdf"
    return fallback


def _absolute(url: str) -> str:
    if url.startswith("/government/uploads") or url.startswith("/media/"):
        return ASSETS + url
    if url.startswith("/"):
        return WWW + url
    return url
