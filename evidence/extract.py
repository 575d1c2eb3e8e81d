"""From a page or document, the fields of a record.

Structured metadata first (JSON-LD, `citation_*`, Dublin Core, Open Graph), then the text:
labelled lines ("Published : 5th July 2017", "Project Reference / SC-16-1220"), bylines, money
figures with their context, sample sizes and DOIs. Pure functions over strings and bytes; no I/O.
"""
from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Container, Iterable, Iterator
from datetime import date
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning

from evidence.models import MAX_TEXT_CHARS, Candidate

MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ]
    )
    for m in names
}
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DAY_FIRST = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\s*,?\s+((?:19|20)\d\d)\b", re.I)
_MONTH_FIRST = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s+((?:19|20)\d\d)\b", re.I)
_MONTH_YEAR = re.compile(rf"\b{_MONTH}\s+((?:19|20)\d\d)\b", re.I)
_ISO = re.compile(r"\b((?:19|20)\d\d)-(\d\d)(?:-(\d\d))?(?:[T ][0-9:.+\-Z]*)?\b")
_YEAR = re.compile(r"^\s*((?:19|20)\d\d)\s*$")
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>]+)", re.I)
_MONEY = re.compile(
    r"£\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*(bn|billion|m|million|k|thousand)?\b"
    r"(?!\s*(?:/|per|a)\s*(?:month|year|week|annum|issue))",  # prices ("£15 / month") are not findings
    re.I,
)
_REF = re.compile(r"\b([A-Z]{2,5}-\d{2}-\d{3,6}|NIHR\d{5,7}|ES/[A-Z0-9]{6,}/\d)\b")
# How texts state a sample size. Each pattern is tried right after one of its lead words (found with
# str.find, at C speed): a regex that starts with a digit or an alternation would be run at every position.
_COUNT = r"(?:a total of |more than |over |about |around |approximately )?(\d[\d,]*)"
_PEOPLE = r"(?:young people|children|families|parents|carers|care leavers|practitioners|professionals|patients|adults|pupils)\b"
_SAMPLE_PATTERNS: list[tuple[tuple[str, ...], re.Pattern[str]]] = [
    (("n=", "n =", "n  ="), re.compile(r"\s*(\d[\d,]*)")),
    (("analysis of ", "review of ", "audit of "), re.compile(r"(\d[\d,]*)\s+(?:\w+\s+)?(?:case files|cases|files|records)\b")),
    (("sample of ",), re.compile(_COUNT)),
    (("worked with ", "supported ", "interviewed ", "interviews with ", "surveyed ", "recruited ", "enrolled ", "followed up ",
      "followed ", "involving ", "study of ", "evaluation of ", "survey of ", "cohort of ", "trial of "),
     re.compile(_COUNT + r"\s+" + _PEOPLE)),
]
# Counts followed by a phrase that says what they are ("10 case files", "120 participants"): read backwards from the phrase.
_NUMBER_BEFORE = re.compile(r"(?<![\w,])(\d[\d,]*)\s+$")
_PEOPLE_NUMBER_BEFORE = re.compile(r"(?<![\w,])(\d[\d,]*)\s+(?:young people|children)\s+$")
_COUNTED: list[tuple[str, re.Pattern[str]]] = [("case files", _NUMBER_BEFORE), ("case records", _NUMBER_BEFORE),
                                               ("participants", _NUMBER_BEFORE), ("respondents", _NUMBER_BEFORE),
                                               ("took part", _PEOPLE_NUMBER_BEFORE)]
SAMPLE_LEADS = [lead for leads, _ in _SAMPLE_PATTERNS for lead in leads] + [word for word, _ in _COUNTED]
_WORDS_BEFORE_FILLER = {
    "of", "over", "under", "about", "around", "approximately", "nearly", "almost", "up", "to", "worth",
    "totalling", "totaling", "a", "an", "the", "some", "more", "than", "least", "at", "by", "for", "with",
    "was", "were", "is", "are", "be", "been", "estimated", "roughly", "just", "circa", "c",
}
_CONTEXT_BOUNDARY = {"reported", "reports", "saved", "said", "found", "showed", "shows", "and", "but", "which", "that", "including", "identified"}
# "£1.6m in potential annual benefits": the words after say what the figure is when those before do not
_CONTEXT_AFTER = re.compile(r"\s*(?:in|of|for)\s+((?:[a-z][a-z-]*\s?){1,5})(?=[.,;:)]|$)")
_VERBS_BEFORE_MONEY = {"bring", "brings", "brought", "save", "saves", "generate", "generates", "generated", "deliver", "delivers",
                       "delivered", "received", "receive", "receives", "awarded", "allocated", "provide", "provides", "provided", "invested"}
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form", "iframe")
_PUBLISHER_SUFFIX = re.compile(r"\s*[|\-–—]\s*([A-Z][\w&'. ]{1,40})$")


# -- dates --------------------------------------------------------------------------------------


def parse_date(value: Any) -> str | None:
    """An ISO date from free text, keeping a bare year or year-month as given (never invented)."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()[:10]
    text = str(value).strip()
    if not text:
        return None
    match = _ISO.search(text)
    if match:
        year, month, day = match.groups()
        return _valid(year, month, day)
    for pattern, order in ((_DAY_FIRST, "dmy"), (_MONTH_FIRST, "mdy")):
        match = pattern.search(text)
        if match:
            a, b, year = match.groups()
            day, month_name = (a, b) if order == "dmy" else (b, a)
            return _valid(year, str(MONTHS[month_name.lower().rstrip(".")]), day)
    match = _MONTH_YEAR.search(text)
    if match:
        month_name, year = match.groups()
        return _valid(year, str(MONTHS[month_name.lower().rstrip(".")]), None)
    match = _YEAR.match(text)
    if match:
        return match.group(1)
    return None


def _valid(year: str, month: str | None, day: str | None) -> str | None:
    try:
        y, m = int(year), int(month) if month else None
        if m is None:
            return f"{y:04d}"
        if day is None:
            date(y, m, 1)
            return f"{y:04d}-{m:02d}"
        return date(y, m, int(day)).isoformat()
    except ValueError:
        return None


# -- text-level fields ----------------------------------------------------------------------------


def lines_of(text: str) -> list[str]:
    """Non-empty, whitespace-folded lines."""
    return [re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()]


def labelled_all(lines: list[str], labels: Iterable[str]) -> Iterator[str]:
    """Values of lines labelled with one of `labels`: "Label: value", or "Label" alone then the value."""
    wanted = {label.lower() for label in labels}
    for i, line in enumerate(lines):
        head, sep, tail = line.partition(":")
        if sep and head.strip().lower() in wanted and tail.strip():
            yield tail.strip()
        elif line.lower().rstrip(":").strip() in wanted and i + 1 < len(lines):
            yield lines[i + 1]


def labelled(lines: list[str], labels: Iterable[str]) -> str | None:
    """The value of the first line labelled with one of `labels`."""
    return next(labelled_all(lines, labels), None)


def find_dates(lines: list[str]) -> str | None:
    """The publication date a page states in its text, in order of trust."""
    for label in (("published", "date published", "publication date", "published online", "published on", "date of publication"),
                  ("end date", "completed", "date completed")):
        for value in labelled_all(lines, label):
            if parse_date(value):
                return parse_date(value)
    for line in lines[:60]:
        match = re.search(r"\bpublished(?: online)?:?\s+(.*)$", line, re.I)
        if match and parse_date(match.group(1)):
            return parse_date(match.group(1))
    for line in lines[1:12]:  # a dateline near the top, alone on its line
        if len(line) <= 40 and parse_date(line) and not _YEAR.match(line):
            return parse_date(line)
    return None


def find_publisher(lines: list[str]) -> str | None:
    """A publisher named in the text ("Publisher : The Rees Centre  [ More From This Publisher ]")."""
    value = labelled(lines, ("publisher", "published by"))
    if value:
        value = re.sub(r"\[.*?\]", "", value).strip(" .")
        return value or None
    return None


def find_authors(lines: list[str], title: str | None = None) -> list[str]:
    """Authors from a labelled line, or from a byline that follows the title and precedes a date."""
    value = labelled(lines, ("researchers", "authors", "author", "research lead", "written by", "by"))
    if value:
        value = re.sub(r"\((?:author|editor|eds?\.?)\)", "", value, flags=re.I)
        parts = re.split(r"\s*(?:,|;|\band\b|&)\s*", value)
        return [p.strip() for p in parts if _looks_like_name(p.strip())]
    start = 1 if title and lines and lines[0] == title else 0
    for i in range(start, min(start + 3, len(lines) - 1)):
        if _looks_like_name(lines[i]) and parse_date(lines[i + 1]):
            return [lines[i]]
    return []


def _looks_like_name(text: str) -> bool:
    words = text.replace("Dr.", "Dr").split()
    if not 2 <= len(words) <= 5 or len(text) > 60:
        return False
    return all(w[0].isupper() or w.lower() in ("de", "van", "von", "o'") for w in words) and not any(ch.isdigit() for ch in text)


def find_money(text: str, lines: list[str] | None = None) -> list[dict[str, Any]]:
    """Money figures with the words that say what they are ("potential annual benefits", "Amount")."""
    found: list[dict[str, Any]] = []
    if "£" not in text:
        return found  # every figure starts with the pound sign: no need to split the text into lines
    lines = lines if lines is not None else lines_of(text)
    for i, line in enumerate(lines):
        for match in _MONEY.finditer(line):
            amount = _amount(match)
            if amount is None:
                continue
            before = line[: match.start()].strip()
            if not before and i > 0 and len(lines[i - 1]) <= 40:
                context = lines[i - 1].rstrip(":")  # a label on the line above ("Amount")
            else:
                context = _context_before(before)
                after = _CONTEXT_AFTER.match(line, match.end())
                if after and (not context or context.split()[-1].lower() in _VERBS_BEFORE_MONEY):
                    context = after.group(1).strip()  # "could bring £1.6m in potential annual benefits"
            found.append({"amount": amount, "currency": "GBP", "context": context, "text": match.group(0).strip()})
            if len(found) >= 20:
                return found
    return found


def _amount(match: re.Match[str]) -> float | int | None:
    whole, fraction, scale = match.groups()
    try:
        value = float(whole.replace(",", "") + ("." + fraction if fraction else ""))
    except ValueError:
        return None
    factor = {"bn": 1e9, "billion": 1e9, "m": 1e6, "million": 1e6, "k": 1e3, "thousand": 1e3}.get((scale or "").lower(), 1)
    value *= factor
    return int(value) if value == int(value) else value


def _context_before(before: str) -> str:
    clause = re.split(r"[.;:!?()]", before)[-1]
    words = clause.replace(",", " ").split()
    while words and words[-1].lower() in _WORDS_BEFORE_FILLER:
        words.pop()
    for i in range(len(words) - 1, -1, -1):
        if words[i].lower() in _CONTEXT_BOUNDARY:
            words = words[i + 1 :]
            break
    return " ".join(words[-5:])


def find_sample_size(text: str, low: str | None = None, present: Container[str] | None = None) -> int | None:
    """The study's sample size when the text states one plainly ("10 case files", "n = 120", "interviewed 30 young people").

    `low` is the lower-cased text and `present` the lead words known to occur in it (the classifier finds
    both once for all its patterns); without them each lead word is searched for.
    """
    low = low if low is not None else text.lower()
    present = present if present is not None else low
    found: list[tuple[int, int]] = []  # (position, value): the first statement in the text wins
    for leads, pattern in _SAMPLE_PATTERNS:
        for lead in leads:
            if lead in present:
                match = next(filter(None, (pattern.match(low, at + len(lead)) for at in _positions(low, lead)
                                           if at == 0 or not low[at - 1].isalnum())), None)
                if match:  # ordered by where its lead word stands
                    found.append((match.start() - len(lead), _count(match.group(1))))
    for word, before in _COUNTED:
        if word in present:
            match = next(filter(None, (before.search(low, max(0, at - 40), at) for at in _positions(low, word))), None)
            if match:
                found.append((match.start(), _count(match.group(1))))
    values = [value for _, value in sorted(found) if 0 < value < 10_000_000]
    return values[0] if values else None


def _positions(low: str, literal: str) -> Iterator[int]:
    """Every offset at which `literal` occurs in `low` (str.find: a C-speed scan)."""
    at = low.find(literal)
    while at != -1:
        yield at
        at = low.find(literal, at + 1)


def _count(digits: str) -> int:
    return int(digits.replace(",", ""))


def find_project_ref(lines: list[str]) -> str | None:
    """A funder's project reference ("Project Reference / SC-16-1220")."""
    value = labelled(lines, ("project reference", "project ref", "reference number", "grant reference", "award reference"))
    if value and len(value) <= 40:
        return value
    for line in lines:
        match = _REF.search(line)
        if match:
            return match.group(1)
    return None


def find_doi(text: str) -> str | None:
    """The first DOI in a text."""
    match = _DOI.search(text)
    return match.group(1).rstrip(".,;)") if match else None


def text_candidate(text: str, url: str, publisher: str | None = None, doc_type: str | None = None, title: str | None = None) -> Candidate:
    """A candidate from plain text: the first line is the title unless one is given."""
    lines = lines_of(text)
    title = title or (lines[0] if lines else url)
    summary = _first_paragraph(lines, title)
    return Candidate(
        url=url,
        title=title,
        publisher=find_publisher(lines) or publisher,
        authors=find_authors(lines, title),
        published=find_dates(lines),
        doc_type=doc_type,
        summary=summary,
        text=text[:MAX_TEXT_CHARS],
        money=find_money(text, lines),
        sample_size=find_sample_size(text),
        project_ref=find_project_ref(lines),
        doi=find_doi(text),
    )


def _first_paragraph(lines: list[str], title: str | None) -> str:
    for line in lines[1:40]:
        if len(line) >= 120 and line != title:
            return line[:1500]
    return " ".join(line for line in lines[1:6] if line != title)[:1500]


# -- HTML -----------------------------------------------------------------------------------------


def soup_of(markup: str | bytes) -> BeautifulSoup:
    """Parse HTML leniently (lxml); bytes are decoded by BeautifulSoup's own sniffing. A page that turns out
    to be XML (an XHTML page, a sitemap served as a listing) is still read as HTML, on purpose: no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        return BeautifulSoup(markup, "lxml")


def page_text(soup: BeautifulSoup | Tag) -> str:
    """The readable text of a page's main content, one block per line."""
    root: Any = soup
    if isinstance(soup, BeautifulSoup):
        root = soup.select_one("main, article, [role=main], #content, .content") or soup.body or soup
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


def html_candidate(markup: str | bytes, url: str, publisher: str | None = None, doc_type: str | None = None) -> Candidate:
    """A candidate from a detail page: structured metadata first, then the page's text."""
    soup = soup_of(markup)
    meta = structured_metadata(soup)
    text = page_text(soup)
    lines = lines_of(text)
    title = meta.get("title") or _heading(soup) or _page_title(soup) or (lines[0] if lines else url)
    title = re.sub(r"\s+", " ", str(title)).strip()
    if lines and lines[0] != title and title in lines[:5]:
        lines = lines[lines.index(title):]
    base = _base_url(soup, url)
    links = document_links(soup, base)
    published = parse_date(meta.get("published")) or find_dates(lines)
    summary = meta.get("description") or _first_paragraph(lines, title)
    return Candidate(
        url=url,
        title=title,
        publisher=meta.get("publisher") or find_publisher(lines) or publisher or meta.get("site_name"),
        authors=meta.get("authors") or find_authors(lines, title),
        published=published,
        doc_type=JSON_LD_DOC_TYPES.get(str(meta.get("type")), None) or doc_type or ("news" if meta.get("og_type") == "article" and not doc_type else None),
        summary=re.sub(r"\s+", " ", str(summary)).strip(),
        text=text[:MAX_TEXT_CHARS],
        links=links,
        money=find_money(text, lines),
        sample_size=find_sample_size(text),
        project_ref=find_project_ref(lines),
        doi=meta.get("doi") or find_doi(text),
    )


def _heading(soup: BeautifulSoup | Tag) -> str | None:
    h1 = soup.find("h1")
    return h1.get_text(" ", strip=True) if h1 and h1.get_text(strip=True) else None


def _page_title(soup: BeautifulSoup) -> str | None:
    if soup.title and soup.title.string:
        return _PUBLISHER_SUFFIX.sub("", soup.title.string.strip()) or None
    return None


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


def document_links(soup: BeautifulSoup | Tag, base: str) -> list[dict[str, str]]:
    """Links to documents (PDF, Word, ODT) on the page, absolute and http(s) only."""
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for anchor in soup.find_all("a", href=True):
        href = safe_link(urljoin(base, str(anchor["href"])))
        if not href or href in seen:
            continue
        path = urlsplit(href).path.lower()
        kind = next((ext for ext in ("pdf", "docx", "doc", "odt", "xlsx", "csv") if path.endswith("." + ext)), None)
        if kind:
            seen.add(href)
            links.append({"url": href, "title": anchor.get_text(" ", strip=True)[:300] or path.rsplit("/", 1)[-1], "type": kind})
    return links[:50]


# -- PDF ------------------------------------------------------------------------------------------


class PdfError(ValueError):
    """A PDF whose text cannot be read (damaged, or encrypted with a password)."""


def pdf_candidate(body: bytes, url: str, publisher: str | None = None, doc_type: str | None = None, max_pages: int = 300) -> Candidate:
    """A candidate from a PDF: text with pypdf; title and date from the first page, then the metadata."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(body), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PdfError("encrypted PDF needs a password")
        pages: list[str] = []
        size = 0
        for page in reader.pages[:max_pages]:
            try:
                chunk = page.extract_text() or ""
            except Exception:  # noqa: BLE001 - one bad page must not lose the document
                chunk = ""
            pages.append(chunk)
            size += len(chunk)
            if size > MAX_TEXT_CHARS:
                break
        info: dict[str, Any] = {}
        try:
            raw: dict[str, Any] = reader.metadata or {}
            info = {str(k): raw.get(k) for k in raw}
        except Exception:  # noqa: BLE001 - broken metadata is common and not fatal
            info = {}
    except PdfError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged files (found by tests/test_properties.py)
        raise PdfError(f"unreadable PDF ({type(exc).__name__}: {str(exc)[:120]})") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise PdfError("no extractable text (scanned or empty PDF)")
    first_lines = lines_of(pages[0] if pages else "")
    meta_title = _clean_meta(info.get("/Title"))
    title = meta_title or _first_page_title(first_lines, publisher) or url.rsplit("/", 1)[-1]
    candidate = text_candidate(text, url, publisher=publisher, doc_type=doc_type or "research_report", title=title)
    candidate.published = find_dates(first_lines) or _first_page_date(first_lines) or parse_date(_pdf_date(info.get("/CreationDate"))) or candidate.published
    if not candidate.authors:
        author = _clean_meta(info.get("/Author"))
        if author and _looks_like_name(author):
            candidate.authors = [author]
    candidate.links = [{"url": url, "title": title, "type": "pdf"}] if safe_link(url) else []
    return candidate


def _clean_meta(value: Any) -> str | None:
    if not value:
        return None
    text = re.sub(r"\s+", " ", str(value)).strip()
    if len(text) < 4 or re.match(r"^(untitled|microsoft word|document\d*|.*\.(docx?|pdf|indd))", text, re.I):
        return None
    return text


def _first_page_title(lines: list[str], publisher: str | None) -> str | None:
    for line in lines[:15]:
        if publisher and line.lower() == publisher.lower():
            continue
        if len(line.split()) >= 4 and not parse_date(line):
            return line
    return None


def _first_page_date(lines: list[str]) -> str | None:
    for line in lines[:30]:
        if len(line) <= 40:
            found = parse_date(line)
            if found and len(found) >= 7:
                return found
    return None


def _pdf_date(value: Any) -> str | None:
    match = re.match(r"D:(\d{4})(\d{2})?(\d{2})?", str(value or ""))
    if not match:
        return None
    return "-".join(part for part in match.groups() if part)


# -- publishers -----------------------------------------------------------------------------------

# Names UK bodies go by in bylines and link hosts, spelled out as the catalogue shows them.
KNOWN_PUBLISHERS = {
    "phe": "Public Health England",
    "dfe": "Department for Education",
    "dhsc": "Department of Health and Social Care",
    "ukhsa": "UK Health Security Agency",
    "nice": "NICE",
    "nihr": "NIHR",
    "ofsted": "Ofsted",
    "home office": "Home Office",
    "theguardian.com": "The Guardian",
    "sciencedaily.com": "ScienceDaily",
    "cypnow.co.uk": "CYP Now",
    "communitycare.co.uk": "Community Care",
    "childrenssociety.org.uk": "The Children's Society",
    "nice.org.uk": "NICE",
    "nihr.ac.uk": "NIHR",
    "researchinpractice.org.uk": "Research in Practice",
    "csacentre.org.uk": "Centre of expertise on child sexual abuse",
    "basw.co.uk": "BASW",
    "healthandcareresearchwales.org": "Health and Care Research Wales",
    "reescentre.education.ox.ac.uk": "The Rees Centre",
}


def known_publisher(name_or_host: str | None) -> str | None:
    """The full name of a publisher known by an acronym or web host ("PHE", "theguardian.com")."""
    if not name_or_host:
        return None
    key = name_or_host.strip().lower()
    if key.startswith("www."):
        key = key[4:]
    if key in KNOWN_PUBLISHERS:
        return KNOWN_PUBLISHERS[key]
    for host, name in KNOWN_PUBLISHERS.items():
        if "." in host and key.endswith("." + host):
            return name
    return None


def item_publisher(lines: list[str], title: str, link: str | None) -> str | None:
    """The publisher of one digest item: a "Source | date" byline, a "... | PHE" subtitle, or the link's host."""
    start = lines.index(title) + 1 if title in lines else 0
    for line in lines[start : start + 2]:
        if "|" not in line:
            continue
        for part in (p.strip() for p in line.split("|")):
            if part and len(part) <= 40 and not parse_date(part) and not part.lower().startswith("published"):
                return known_publisher(part) or part
    if link:
        return known_publisher(urlsplit(link).hostname)
    return None
