"""Fields a plain text states: publisher, authors, project reference, DOI; and the candidate of a plain text."""
from __future__ import annotations

import re

from evidence.extract.dates import find_dates, parse_date
from evidence.extract.lines import labelled, lines_of
from evidence.extract.money import find_money
from evidence.extract.samples import find_sample_size
from evidence.models import MAX_TEXT_CHARS, Candidate

_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>]+)", re.I)
_REF = re.compile(r"\b([A-Z]{2,5}-\d{2}-\d{3,6}|NIHR\d{5,7}|ES/[A-Z0-9]{6,}/\d)\b")


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
        return [p.strip() for p in parts if looks_like_name(p.strip())]
    start = 1 if title and lines and lines[0] == title else 0
    for i in range(start, min(start + 3, len(lines) - 1)):
        if looks_like_name(lines[i]) and parse_date(lines[i + 1]):
            return [lines[i]]
    return []


def looks_like_name(text: str) -> bool:
    """True for two to five capitalised words without digits ("Dr Sophie Hallett")."""
    words = text.replace("Dr.", "Dr").split()
    if not 2 <= len(words) <= 5 or len(text) > 60:
        return False
    return all(w[0].isupper() or w.lower() in ("de", "van", "von", "o'") for w in words) and not any(ch.isdigit() for ch in text)


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
    summary = first_paragraph(lines, title)
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


def first_paragraph(lines: list[str], title: str | None) -> str:
    """The first long line after the title (a paragraph), else the first few lines."""
    for line in lines[1:40]:
        if len(line) >= 120 and line != title:
            return line[:1500]
    return " ".join(line for line in lines[1:6] if line != title)[:1500]
