"""PDFs: text with pypdf; title and date from the first page, then the document's metadata."""
from __future__ import annotations

import io
import re
from typing import Any

from evidence.extract.dates import find_dates, parse_date
from evidence.extract.html import safe_link
from evidence.extract.lines import lines_of
from evidence.extract.text import looks_like_name, text_candidate
from evidence.models import MAX_TEXT_CHARS, Candidate


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
    page_title = _first_page_title(first_lines, publisher)
    if meta_title and page_title and not _stated_on(meta_title, pages[0]):
        meta_title = None  # a stale title left in the file's metadata (a template's, an earlier draft's): the page wins
    title = meta_title or page_title or url.rsplit("/", 1)[-1]
    candidate = text_candidate(text, url, publisher=publisher, doc_type=doc_type or "research_report", title=title)
    candidate.published = find_dates(first_lines) or _first_page_date(first_lines) or parse_date(_pdf_date(info.get("/CreationDate"))) or candidate.published
    if not candidate.authors:
        author = _clean_meta(info.get("/Author"))
        if author and looks_like_name(author):
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


def _stated_on(title: str, page: str) -> bool:
    """True when most of a title's words occur on the page (so the metadata describes this document)."""
    words = [w for w in re.findall(r"\w+", title.lower()) if len(w) >= 3]
    if not words:
        return True
    on_page = set(re.findall(r"\w+", page.lower()))
    return sum(w in on_page for w in words) >= 0.8 * len(words)


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
