"""RSS and Atom feeds (feedparser). Each entry is a candidate; a title-only entry's page is fetched, and when that page
cannot be fetched (robots.txt unreachable, 404, timeout) the entry is stored from the feed's own fields, marked
`detail_error`, to be completed at a later harvest."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import feedparser

from evidence import offload
from evidence.config import Source
from evidence.extract import find_money, find_sample_size, html_candidate, local_day, markup_text, safe_link
from evidence.fetch import Fetcher, FetchError, Response, RobotsDisallowed
from evidence.harvesters import HarvestItem, PageCache, SourceError, extracted, from_listing
from evidence.harvesters.safexml import refuse_hostile_xml
from evidence.models import Candidate, ItemFailure, Unchanged

MIN_SUMMARY_CHARS = 80  # an entry with less than this is "title only": its page is fetched
BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def harvest(source: Source, fetcher: Fetcher) -> Iterator[HarvestItem]:
    """Yield a candidate per feed entry; a 304 on the feed yields one source-wide Unchanged."""
    response = fetcher.get(source.url, params=source.params or None, rate_limit=source.rate_limit)
    if response.not_modified:
        yield Unchanged(response.url, scope="source", rebuild=lambda: entries(source, fetcher, response))
        return
    yield from entries(source, fetcher, response)


def parse(response: Response) -> Any:
    """feedparser's result for a response, after refusing entity tricks; SourceError when it is no feed.

    Parsed in the harvest's worker process when it has one (offload.py): parsing is most of a feed's cost."""
    return offload.call(parse_feed, response.body, response.headers.get("content-type", "application/xml"), response.url)


def parse_feed(body: bytes, content_type: str, url: str) -> Any:
    """feedparser's result for a feed's body (see `parse`); a parse error it reports is kept as `FeedProblem`, with the
    same message, so the result can be sent between processes."""
    refuse_hostile_xml(body, url)
    parsed = feedparser.parse(
        body,
        # No content-location: given the feed's URL, feedparser joins it to the base of every element it opens (a
        # quarter of its time); the few links read are joined to it below instead (`_resolve_links`).
        response_headers={"content-type": content_type},
        # Neither pass is needed: entries are kept as plain text (`_plain` drops tags, scripts and styles), never as
        # HTML, and no link is read from inside their content. Together they were 60% of parsing a feed; on 257 test
        # and real feeds (680 entries) the text kept is the same but for one noise file's literal "<>" (bench/RESULTS.md).
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    _resolve_links(parsed, url)
    problem = parsed.get("bozo_exception")
    if problem is not None and not isinstance(problem, BENIGN_BOZO):
        parsed["bozo_exception"] = FeedProblem(str(problem))  # a SAXParseException holds its open parser: it does not pickle
    if parsed.get("bozo") and not parsed.entries:
        reason = str(parsed.get("bozo_exception") or "unknown error").splitlines()[0][:200]
        raise SourceError(f"{url}: malformed feed ({reason})")
    if not parsed.entries and not parsed.feed.get("title") and parsed.get("version", "") == "":
        raise SourceError(f"{url}: not an RSS or Atom feed")
    return parsed


def _resolve_links(parsed: Any, url: str) -> None:
    """Join the links an entry gives (link, links' href, id) to the feed's URL, as feedparser does when it knows the
    URL (a relative xml:base is joined to it the same way; an absolute one, or an id such as `tag:`, stays as it is)."""
    for entry in parsed.entries:
        for key in ("link", "id"):
            value = entry.get(key)
            if isinstance(value, str) and value:
                entry[key] = _join(url, value)
        for link in entry.get("links", []):
            href = link.get("href")
            if isinstance(href, str) and href:
                link["href"] = _join(url, href)


def _join(base: str, uri: str) -> str:
    try:
        return urljoin(base, uri.strip())
    except ValueError:  # a malformed URI (an unclosed IPv6 bracket): no link, as feedparser gives
        return ""


class FeedProblem(Exception):
    """What feedparser reported wrong with a feed it still read (its message kept)."""


def entries(source: Source, fetcher: Fetcher, response: Response) -> Iterator[HarvestItem]:
    """The candidates of a fetched feed."""
    parsed = parse(response)
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), BENIGN_BOZO):
        reason = str(parsed.get("bozo_exception")).splitlines()[0][:200]
        yield ItemFailure(response.url, f"malformed feed, {len(parsed.entries)} entries recovered ({reason})")
    publisher = source.publisher or _plain(parsed.feed.get("title")) or None
    pages = PageCache(fetcher, source.rate_limit)
    for index, entry in enumerate(parsed.entries[: source.max_items]):
        link = _entry_link(entry)
        if link is None:
            yield ItemFailure(f"{response.url}#entry-{index + 1}", "entry has no http(s) link")
            continue
        title = _plain(entry.get("title"))
        summary = _entry_summary(entry)
        if source.detail and len(summary) < MIN_SUMMARY_CHARS:
            yield from _from_page(source, pages, link, entry, title, summary, _entry_publisher(entry) or publisher)
            continue
        if not title:
            yield ItemFailure(link, "entry has neither title nor page to read one from")
            continue
        yield _from_entry(source, entry, link, title, summary, _entry_publisher(entry) or publisher)


def from_entry(source: Source, entry: Any, link: str, feed_publisher: str | None = None) -> Candidate:
    """The candidate of one parsed feed entry as the harvester stores it, from the entry's own fields (`link` given)."""
    return _from_entry(source, entry, link, _plain(entry.get("title")), _entry_summary(entry), _entry_publisher(entry) or feed_publisher)


def entry_link(entry: Any) -> str | None:
    """The entry's http(s) link: its alternate link, else a permalink guid."""
    return _entry_link(entry)


def _from_entry(source: Source, entry: Any, link: str, title: str, summary: str, publisher: str | None) -> Candidate:
    authors = [a.get("name", "").strip() for a in entry.get("authors", []) if a.get("name")]
    if not authors and entry.get("author"):
        authors = [_plain(entry.get("author"))]
    tags = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
    text = f"{title}\n\n{summary}"
    return Candidate(
        url=link,
        title=title,
        publisher=publisher,
        authors=[a for a in authors if a],
        published=_entry_date(entry),
        doc_type=source.doc_type,
        summary=summary[:4000],
        text=text,
        money=find_money(text),  # "£45 million over three years" in an announcement's summary
        sample_size=find_sample_size(text),
        doi=None,
        extra={"feed_tags": tags[:20]} if tags else {},
    )


def _from_page(source: Source, pages: PageCache, link: str, entry: Any, title: str, summary: str,
               publisher: str | None) -> Iterator[HarvestItem]:
    try:
        page = pages.get(link)
    except FetchError as exc:
        if isinstance(exc, RobotsDisallowed) or not title:  # the site asks us not to read it, or nothing names it
            yield ItemFailure(link, exc.reason if title else f"entry has no title and its page failed ({exc.reason})")
            return
        yield from_listing(_from_entry(source, entry, link, title, summary, publisher), exc)  # the feed's fields meanwhile
        return

    def build() -> Iterator[HarvestItem]:
        candidate = html_candidate(page.body, link, publisher=publisher, doc_type=source.doc_type)
        candidate.title = title or candidate.title
        candidate.published = candidate.published or _entry_date(entry)
        yield candidate

    yield from extracted(link, page, build)


def _entry_publisher(entry: Any) -> str | None:
    """An entry's own publisher: dc:publisher, or the title of its RSS <source> (digest feeds mix publishers)."""
    source = entry.get("source") or {}
    detail = entry.get("publisher_detail") or {}
    name = (detail.get("name") if isinstance(detail, dict) else None) or entry.get("publisher") or (source.get("title") if isinstance(source, dict) else None)
    return _plain(name) or None


def _entry_link(entry: Any) -> str | None:
    for candidate in [entry.get("link")] + [link.get("href") for link in entry.get("links", []) if link.get("rel") in (None, "alternate")]:
        safe = safe_link(candidate)
        if safe:
            return safe
    guid = entry.get("id")
    return safe_link(guid) if entry.get("guidislink", False) or (guid and str(guid).startswith("http")) else None


def _entry_summary(entry: Any) -> str:
    contents = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
    raw = max(contents, key=len) if contents else (entry.get("summary") or "")
    return _plain(raw)


def _entry_date(entry: Any) -> str | None:
    """The entry's date as its publisher wrote it: the calendar day of the raw string, in the offset it was written
    with (feedparser's *_parsed values are shifted to UTC, a day off for an evening in New York or a morning in
    Adelaide, and it reads "2020/1/10" as 1 December); feedparser's value only when the string says nothing."""
    for key in ("published", "updated", "created", "dc_date"):
        raw = entry.get(key)
        if raw:
            found = local_day(raw)
            if found and len(found) == 10:
                return found
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return time.strftime("%Y-%m-%d", value)
            except (TypeError, ValueError):
                continue
    return None


def _plain(markup: Any) -> str:
    """Feed text (sanitised HTML from feedparser) as plain text: tags dropped without splitting words, entities decoded once."""
    return markup_text(markup)
