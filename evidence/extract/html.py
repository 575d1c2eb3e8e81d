"""Web pages: structured metadata first (JSON-LD, `citation_*`, Dublin Core, Open Graph, the page's own metadata
list), then htmldate for the publication date and trafilatura for the main text, then the page's labelled lines.

The libraries get the markup, never a URL: neither can fetch anything.
"""
from __future__ import annotations

import html as html_lib
import json
import logging
import re
import unicodedata
import warnings
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, Tag, XMLParsedAsHTMLWarning

from evidence.extract.dates import dateline, labelled_date, page_date, parse_date
from evidence.extract.lines import lines_of
from evidence.extract.money import find_money
from evidence.extract.samples import find_sample_size
from evidence.extract.text import find_authors, find_doi, find_project_ref, find_publisher, first_paragraph
from evidence.models import MAX_TEXT_CHARS, Candidate

log = logging.getLogger(__name__)

_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form", "iframe")
_TITLE_SUFFIX = re.compile(r"\s*[|\-–—]\s*([A-Z][\w&'. ]{1,40})$")
_MAIN = ("main", "[role=main]", "article", "#content", ".content")  # in order of trust
# Labels of a page's own metadata list (<dt>From:</dt><dd>...</dd>), as GOV.UK and many publishers print it.
_LIST_LABELS = {
    "published": "published", "first published": "published", "date published": "published", "publication date": "published",
    "date of publication": "published", "from": "publisher", "published by": "publisher", "publisher": "publisher",
    "organisation": "publisher", "organisations": "publisher", "updated": "updated", "last updated": "updated",
}
DOCUMENT_EXTENSIONS = ("pdf", "docx", "doc", "odt", "xlsx", "xls", "ods", "csv", "pptx", "ppt", "odp", "rtf", "zip", "epub")
MAX_MAIN_TEXT_INPUT = 5_000_000  # bytes of markup given to trafilatura; a larger page is read with page_text alone


def soup_of(markup: str | bytes) -> BeautifulSoup:
    """Parse HTML leniently (lxml); bytes are decoded by BeautifulSoup's own sniffing. A page that turns out
    to be XML (an XHTML page, a sitemap served as a listing) is still read as HTML, on purpose: no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)  # harvested text that happens to be a URL
        return BeautifulSoup(markup, "lxml")


def main_root(soup: BeautifulSoup) -> Tag | None:
    """The element holding the page's main content: <main>, role=main, <article>, #content, .content (the first that
    holds some text: a logo link with class "content" is not the page)."""
    for selector in _MAIN:
        for element in soup.select(selector)[:5]:
            if len(element.get_text(" ", strip=True)) >= 100:
                return element
    return None


def page_text(soup: BeautifulSoup | Tag) -> str:
    """The readable text of a page's main content, one block per line."""
    root: Any = soup
    if isinstance(soup, BeautifulSoup):
        root = main_root(soup) or soup.body or soup
    root = soup_of(str(root))  # a copy, so removing boilerplate leaves the caller's tree intact
    for tag in root.find_all(_DROP_TAGS):
        tag.decompose()
    return "\n".join(lines_of(root.get_text("\n")))


def structured_metadata(soup: BeautifulSoup) -> dict[str, Any]:
    """Title, authors, date, publisher, description, DOI, type from JSON-LD and meta tags (first wins)."""
    meta: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if value and key not in meta:
            meta[key] = value

    for node in _json_ld(soup):
        kind = node.get("@type")
        kind = kind[0] if isinstance(kind, list) and kind else kind
        if kind in ("WebSite", "Organization", "BreadcrumbList", "SearchAction", "Person", "ImageObject"):
            continue
        put("title", _text(node.get("headline") or node.get("name")))
        put("published", _text(node.get("datePublished") or node.get("dateCreated")))
        put("description", _text(node.get("description") or node.get("abstract")))
        put("publisher", _name(node.get("publisher")))
        authors = node.get("author")
        if authors:
            names = [_name(a) for a in (authors if isinstance(authors, list) else [authors])]
            put("authors", [n for n in names if n])
        put("type", kind if isinstance(kind, str) else None)
        identifier = node.get("identifier") or node.get("sameAs")
        if isinstance(identifier, str) and find_doi(identifier):
            put("doi", find_doi(identifier))

    def metas(*names: str) -> list[str]:
        out = []
        for tag in soup.find_all("meta"):
            key = str(tag.get("name") or tag.get("property") or "").strip().lower()
            if key in names and tag.get("content"):
                out.append(str(tag["content"]).strip())
        return out

    for key, meta_names in (
        ("title", ("citation_title", "dc.title", "dcterms.title", "og:title", "twitter:title")),
        ("published", ("citation_publication_date", "citation_date", "citation_online_date", "dc.date", "dcterms.date",
                       "dcterms.issued", "dc.date.issued", "article:published_time", "date", "pubdate")),
        ("publisher", ("citation_publisher", "dc.publisher", "dcterms.publisher", "citation_journal_title")),
        ("description", ("citation_abstract", "dc.description", "dcterms.abstract", "description", "og:description")),
        ("doi", ("citation_doi", "dc.identifier", "prism.doi")),
        ("pdf", ("citation_pdf_url",)),
        ("site_name", ("og:site_name", "application-name")),
        ("og_type", ("og:type",)),
    ):
        values = metas(*meta_names)
        if values:
            put(key, values[0])
    authors = metas("citation_author", "dc.creator", "dcterms.creator", "author", "article:author")
    if authors:
        put("authors", [a for a in authors if a and not a.startswith("http")])
    if "doi" in meta:
        meta["doi"] = find_doi(str(meta["doi"]))
    return meta


def _json_ld(soup: BeautifulSoup) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for script in soup.find_all("script", type=lambda t: t and "ld+json" in t.lower()):
        try:
            data = json.loads(script.string or "")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack and len(nodes) < 50:
            node = stack.pop(0)
            if isinstance(node, dict):
                if "@graph" in node and isinstance(node["@graph"], list):
                    stack.extend(node["@graph"])
                else:
                    nodes.append(node)
    return nodes


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name")
    return str(value).strip() if value else None


def _name(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return _text(value.get("name"))
    return _text(value)


JSON_LD_DOC_TYPES = {
    "NewsArticle": "news", "ReportageNewsArticle": "news", "BlogPosting": "news", "OpinionNewsArticle": "news",
    "Report": "research_report", "ScholarlyArticle": "journal_article", "MedicalScholarlyArticle": "journal_article",
    "Dataset": "dataset", "Book": "book", "Thesis": "thesis", "Guideline": "guideline", "MedicalGuideline": "guideline",
}


_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)\b[^<>]*>")
_HIDDEN = re.compile(r"<(script|style|noscript|template)\b[^>]*>.*?</\1\s*>", re.S | re.I)
_BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "br", "hr", "div", "li", "ul", "ol", "table", "tr", "td", "th", "dt", "dd",
               "blockquote", "section", "article", "abstract", "sec", "title"}


def markup_text(value: Any) -> str:
    """A short marked-up text (a title, an abstract) as plain text, losing none of its words.

    Only real tags are markup: a `<` that starts no tag is a less-than sign ("p<0.05": an HTML parser reads it as
    the start of a processing instruction and drops the text up to the next `>`). Inline tags (<b>, <i>, <sup>)
    join their text to its neighbours ("10<sup>-8</sup>" is "10-8", "<b>Children's attachment</b>: ..." keeps its
    colon in place); block tags (<p>, <h4>, <br>) separate; scripts and styles are dropped with their content.
    Entities are decoded once.
    """
    if not value:
        return ""
    text = str(value)
    if "<" in text:
        text = _HIDDEN.sub(" ", text)  # what a browser never shows as text: scripts, styles
        text = _TAG.sub(lambda m: " " if m.group(1).lower() in _BLOCK_TAGS else "", text)
        text = re.sub(r"<!--.*?-->|<!\[CDATA\[|\]\]>", " ", text, flags=re.S)
    if "&" in text:
        text = html_lib.unescape(text)
    return " ".join(text.split()).strip()


def main_text(markup: str | bytes, url: str | None = None) -> str | None:
    """The page's main text by trafilatura (boilerplate, navigation and comments left out), or None if it finds none."""
    body = markup.encode("utf-8") if isinstance(markup, str) else markup
    if not body.strip() or len(body) > MAX_MAIN_TEXT_INPUT:
        return None
    from trafilatura import extract

    try:
        found = extract(body, url=url, include_comments=False, include_tables=True, deduplicate=False)
    except Exception as exc:  # noqa: BLE001 - trafilatura meets markup nobody foresaw: fall back to the page's text
        log.debug("trafilatura failed on %s: %s: %s", url, type(exc).__name__, exc)
        return None
    return found.strip() if found and found.strip() else None


def list_metadata(soup: BeautifulSoup) -> dict[str, str]:
    """Publisher and dates from the page's own metadata list (<dt>From:</dt><dd>Home Office</dd>, <dt>Published:</dt>...)."""
    found: dict[str, str] = {}
    for term in soup.find_all("dt"):
        key = _LIST_LABELS.get(term.get_text(" ", strip=True).rstrip(":").strip().lower())
        if key is None or key in found:
            continue
        value = term.find_next_sibling()
        if not isinstance(value, Tag) or value.name != "dd":
            continue
        if key == "publisher":
            link = value.find("a")
            name = " ".join((link or value).get_text(" ").split())
            if name and len(name) <= 120:
                found[key] = name
        else:
            stamp = value.find(["time", "abbr"])
            day = parse_date(value.get_text(" ", strip=True))
            if not day and isinstance(stamp, Tag):
                day = parse_date(stamp.get("datetime") or stamp.get("title"))
            if day:
                found[key] = day
    return found


def _norm(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def _headings(soup: BeautifulSoup) -> list[str]:
    """The page's <h1> texts, those inside its main content first."""
    main = main_root(soup)
    inside = list(main.find_all("h1")) if main is not None else []
    ordered = inside + [h for h in soup.find_all("h1") if h not in inside]
    texts = [" ".join(h.get_text(" ").split()) for h in ordered]
    return [t for t in texts if t][:10]


def _page_title_tag(soup: BeautifulSoup) -> str | None:
    return " ".join(soup.title.get_text(" ").split()) or None if soup.title else None


def _without_site(title: str, site: str | None) -> str:
    """A title without its site's name at the end ("Report - GOV.UK", "Study | The Rees Centre")."""
    if site:
        match = re.match(rf"^(.*\S)\s*[|\-–—:·]\s*{re.escape(site.strip())}\s*$", title, re.I)
        if match:
            return match.group(1)
    return title


def _subtitle_follows(title: str, head: str) -> bool:
    """True when the title goes on after the heading with a subtitle (": ..."), not with a site's name (" | Site")."""
    at = title.lower().find(head.lower())
    rest = title[at + len(head):].lstrip() if at >= 0 else ""
    return rest.startswith(":")


def choose_title(soup: BeautifulSoup, meta: dict[str, Any]) -> str | None:
    """The document's title: a heading the page's own titles confirm, else the metadata's title, the main <h1>, the <title>.

    A heading outside the main content that no title repeats (a site banner, "Tell us what you think of GOV.UK") loses.
    """
    heads = _headings(soup)
    tag_title = _page_title_tag(soup)
    for named in (meta.get("title"), tag_title):
        wanted = _norm(named)
        for head in heads:
            got = _norm(head)
            if not got or not (wanted == got or wanted.startswith(got + " ") or wanted.endswith(" " + got)):
                continue
            if named and wanted.startswith(got + " ") and _subtitle_follows(str(named), head):
                return _without_site(str(named), meta.get("site_name"))  # "It was hard to escape: safeguarding children..."
            return head
    if meta.get("title"):
        return _without_site(str(meta["title"]), meta.get("site_name"))
    main = main_root(soup)
    main_head = main.find("h1") if main is not None else None
    if isinstance(main_head, Tag) and main_head.get_text(strip=True):
        return " ".join(main_head.get_text(" ").split())
    if tag_title:
        return _TITLE_SUFFIX.sub("", _without_site(tag_title, meta.get("site_name"))) or tag_title
    return heads[0] if heads else None


def html_candidate(markup: str | bytes, url: str, publisher: str | None = None, doc_type: str | None = None) -> Candidate:
    """A candidate from a detail page: structured metadata first, then the libraries, then the page's labelled lines."""
    soup = soup_of(markup)
    meta = structured_metadata(soup)
    listed = list_metadata(soup)
    full_text = page_text(soup)  # every block of the main content: labelled fields, money, references
    lines = lines_of(full_text)
    title = choose_title(soup, meta) or (lines[0] if lines else url)
    title = re.sub(r"\s+", " ", str(title)).strip()
    if lines and lines[0] != title and title in lines[:5]:
        lines = lines[lines.index(title):]
    text = main_text(markup, url) or full_text
    base = _base_url(soup, url)
    # What the page labels as its date (its metadata list, a "Published:" line), then htmldate (it reads JSON-LD,
    # meta tags, <time>, the URL and the text, and beats structured-metadata-first: bench/RESULTS.md), then a
    # dateline, then a partial date from the metadata.
    published = (listed.get("published") or labelled_date(lines) or page_date(markup if isinstance(markup, bytes) else markup.encode("utf-8"), url)
                 or dateline(lines) or parse_date(meta.get("published")))
    summary = meta.get("description") or first_paragraph(lines_of(text), title)
    return Candidate(
        url=url,
        title=title,
        publisher=listed.get("publisher") or meta.get("publisher") or find_publisher(lines) or publisher or meta.get("site_name"),
        authors=meta.get("authors") or find_authors(lines, title),
        published=published,
        doc_type=JSON_LD_DOC_TYPES.get(str(meta.get("type")), None) or doc_type or ("news" if meta.get("og_type") == "article" and not doc_type else None),
        summary=re.sub(r"\s+", " ", str(summary)).strip(),
        text=text[:MAX_TEXT_CHARS],
        links=document_links(soup, base),
        money=find_money(full_text, lines),
        sample_size=find_sample_size(full_text),
        project_ref=find_project_ref(lines),
        doi=meta.get("doi") or find_doi(full_text),
    )


def _base_url(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    if base:
        candidate = urljoin(url, str(base["href"]))
        if safe_link(candidate):
            return candidate
    return url


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s")


def safe_link(url: str | None) -> str | None:
    """The URL if it is absolute http(s), else None (javascript:, data:, mailto: and the like are dropped)."""
    if not url:
        return None
    url = url.strip()
    if _CONTROL.search(url):
        return None  # control characters hide schemes and split headers: such a link is not kept
    url = _SPACE.sub(lambda m: quote(m.group(0)), url)  # spaces inside a path are percent-encoded, as browsers do
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # "http://[" and other unparseable authorities
        return None
    if parts.scheme.lower() in ("http", "https") and host:
        return url
    return None


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def section_text(soup: BeautifulSoup, fragment: str) -> str | None:
    """The text of the part of a page a `#fragment` names: the element with that id (or an `<a name>`), and when it is
    a heading, what follows it up to the next heading of the same or a higher level. None when the page has no such part."""
    if not fragment:
        return None
    target = soup.find(id=fragment) or soup.find("a", attrs={"name": fragment})
    if not isinstance(target, Tag):
        return None
    heading = target if target.name in _HEADINGS else (target.parent if isinstance(target.parent, Tag) and target.parent.name in _HEADINGS
                                                       and not target.get_text(strip=True) else None)
    if heading is None:
        text = "\n".join(lines_of(target.get_text("\n")))
        return text or None
    level = int(heading.name[1])
    parts = [heading.get_text(" ", strip=True)]
    for sibling in heading.find_next_siblings():
        if sibling.name in _HEADINGS and int(sibling.name[1]) <= level:
            break
        parts.append(sibling.get_text("\n"))
    text = "\n".join(lines_of("\n".join(parts)))
    return text or None


def document_links(soup: BeautifulSoup | Tag, base: str) -> list[dict[str, str]]:
    """Links to documents (PDF, office files, spreadsheets, archives) on the page, absolute and http(s) only."""
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for anchor in soup.find_all("a", href=True):
        href = safe_link(urljoin(base, str(anchor["href"])))
        if not href or href in seen:
            continue
        path = urlsplit(href).path.lower()
        kind = next((ext for ext in DOCUMENT_EXTENSIONS if path.endswith("." + ext)), None)
        if kind:
            seen.add(href)
            links.append({"url": href, "title": anchor.get_text(" ", strip=True)[:300] or path.rsplit("/", 1)[-1], "type": kind})
    return links[:50]
