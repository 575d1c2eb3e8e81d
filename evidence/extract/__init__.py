"""From a page or document, the fields of a record. Pure functions over strings and bytes; no I/O.

Structured metadata first (the API's own fields, JSON-LD, `citation_*`, Dublin Core, Open Graph, a page's own
metadata list), then well-kept libraries (htmldate for publication dates, trafilatura for main text), then the
text: labelled lines ("Published : 5th July 2017", "Project Reference / SC-16-1220"), bylines, money figures with
their context, sample sizes and DOIs. One module per concern:

    dates.py       parse_date, local_day (the publisher's calendar day), page_date (htmldate), find_dates
    lines.py       lines_of, labelled lines
    text.py        publisher, authors, project reference, DOI of a text; text_candidate
    money.py       find_money             samples.py   find_sample_size
    html.py        soup_of, page_text, main_text (trafilatura), structured_metadata, html_candidate, safe_link
    pdf.py         pdf_candidate (pypdf)  publishers.py + publishers.yaml   names known by acronym or host
"""
from __future__ import annotations

from evidence.extract.dates import MONTHS, dateline, find_dates, labelled_date, local_day, london, page_date, parse_date
from evidence.extract.html import (
    DOCUMENT_EXTENSIONS,
    JSON_LD_DOC_TYPES,
    choose_title,
    document_links,
    html_candidate,
    list_metadata,
    main_text,
    markup_text,
    page_text,
    safe_link,
    section_text,
    soup_of,
    structured_metadata,
)
from evidence.extract.lines import labelled, labelled_all, lines_of
from evidence.extract.money import find_money
from evidence.extract.pdf import PdfError, pdf_candidate
from evidence.extract.publishers import item_publisher, known_publisher, known_publishers
from evidence.extract.samples import SAMPLE_LEADS, find_sample_size
from evidence.extract.text import find_authors, find_doi, find_project_ref, find_publisher, first_paragraph, text_candidate

__all__ = [
    "DOCUMENT_EXTENSIONS", "JSON_LD_DOC_TYPES", "MONTHS", "SAMPLE_LEADS", "PdfError", "choose_title", "dateline", "document_links", "find_authors",
    "find_dates", "find_doi", "find_money", "find_project_ref", "find_publisher", "find_sample_size", "first_paragraph",
    "html_candidate", "item_publisher", "known_publisher", "labelled_date", "known_publishers", "labelled", "labelled_all", "lines_of",
    "list_metadata", "local_day", "london", "main_text", "markup_text", "page_date", "page_text", "parse_date", "pdf_candidate", "safe_link",
    "section_text", "soup_of", "structured_metadata", "text_candidate",
]
