"""Property-based tests (hypothesis): arbitrary bytes and text into every extractor and the classifier.

Each extractor either returns its result or raises the one error it declares; never anything else.
Whatever comes out keeps only http(s) links, and ids made from any title are safe file names.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from conftest import SHARED, write_sources
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from evidence.catalogue import record_id, slugify, url_key
from evidence.classify import classify
from evidence.classify.design import DIRECTIONS, EVIDENCE_LEVELS
from evidence.classify.text import join_lines
from evidence.config import load_config
from evidence.extract import (
    PdfError,
    find_doi,
    find_money,
    find_sample_size,
    html_candidate,
    parse_date,
    pdf_candidate,
    safe_link,
    text_candidate,
)
from evidence.fetch import Response
from evidence.harvesters import SourceError, europepmc, feed, govuk
from evidence.models import Candidate, ItemFailure

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
URL = "https://example.org/report"

# Text that looks like what the field publishes, broken up by anything at all.
words = st.sampled_from(["foster care", "randomised controlled trial", "no significant difference", "£1.6m", "n = 120",
                         "<script>alert(1)</script>", "javascript:alert(1)", "systematic review", "young people", "10 case files",
                         "\x00", "\u202e", "Published 31 February 2020", "doi:10.1000/xyz", "did not", "</p>", "&amp;", "\n"])
texts = st.lists(st.one_of(words, st.text(max_size=40)), max_size=40).map(" ".join)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
                           max_leaves=25)


def _check_candidate(candidate: Candidate) -> None:
    assert isinstance(candidate.title, str) and isinstance(candidate.summary, str)
    assert candidate.url.startswith(("http://", "https://"))
    for link in candidate.links:
        assert link["url"].startswith(("http://", "https://")), link
    if candidate.published is not None:
        assert re.fullmatch(r"\d{4}(?:-\d{2}){0,2}", candidate.published)


@SETTINGS
@given(st.binary(max_size=3000))
def test_html_extractor_takes_any_bytes(body):
    _check_candidate(html_candidate(body, URL))


@SETTINGS
@given(texts, texts, st.sampled_from(["a", "p", "h1", "title", "script", "time", "meta", "link"]))
def test_html_extractor_takes_any_markup(head, body, tag):
    markup = (f"<html><head><title>{head}</title><meta property='og:title' content='{head}'>"
              f"<script type='application/ld+json'>{body}</script></head>"
              f"<body><{tag} href='{head}' datetime='{body}'>{body}</{tag}><a href='javascript:{body}'>x</a></body></html>")
    _check_candidate(html_candidate(markup, URL))


@SETTINGS
@given(texts)
def test_text_extractors_take_any_text(text):
    _check_candidate(text_candidate(text, URL))
    for money in find_money(text):
        assert money["amount"] >= 0 and money["currency"] == "GBP"
    size = find_sample_size(text)
    assert size is None or 0 < size < 10_000_000
    doi = find_doi(text)
    assert doi is None or doi.startswith("10.")
    date = parse_date(text)
    assert date is None or re.fullmatch(r"\d{4}(?:-\d{2}){0,2}", date)


@SETTINGS
@given(st.binary(max_size=2000))
def test_pdf_extractor_takes_any_bytes(body):
    try:
        _check_candidate(pdf_candidate(b"%PDF-1.4\n" + body, URL))
    except PdfError as exc:
        assert "\n" not in str(exc)


SAMPLE_PDF = SHARED / "peer" / "pdf" / "py-pdf_sample-files" / "001-trivial" / "minimal-document.pdf"


@pytest.mark.skipif(not SAMPLE_PDF.exists(), reason="../shared/corpus/peer/pdf is missing")
@SETTINGS
@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), min_size=1, max_size=30))
def test_pdf_extractor_takes_a_real_pdf_with_bytes_damaged(damage):
    body = bytearray(SAMPLE_PDF.read_bytes())
    for position, value in damage:
        body[position % len(body)] = value
    try:
        _check_candidate(pdf_candidate(bytes(body), URL))
    except PdfError as exc:
        assert "\n" not in str(exc)


_FEED_SOURCE = None


def _feed_source():
    global _FEED_SOURCE
    if _FEED_SOURCE is None:
        folder = Path(tempfile.mkdtemp())
        _FEED_SOURCE = load_config(write_sources(folder, [{"id": "f", "kind": "feed", "url": URL, "detail": False}])).sources[0]
    return _FEED_SOURCE


@SETTINGS
@given(st.one_of(st.binary(max_size=2000), texts.map(lambda t: t.encode("utf-8", "surrogatepass"))), texts, texts)
def test_feed_parser_takes_any_body(junk, title, link):
    bodies = [junk, (f"<?xml version='1.0'?><rss version='2.0'><channel><title>{title}</title><item><title>{title}</title>"
                     f"<link>{link}</link><description>{junk[:200]!r}</description></item></channel></rss>").encode("utf-8", "surrogatepass")]
    for body in bodies:
        response = Response(url=URL, status=200, headers={"content-type": "application/rss+xml"}, body=body)
        try:
            items = list(feed.entries(_feed_source(), None, response))  # type: ignore[arg-type]
        except SourceError as exc:
            assert "\n" not in str(exc) and URL in str(exc)
            continue
        for item in items:
            assert isinstance(item, (Candidate, ItemFailure))
            if isinstance(item, Candidate):
                _check_candidate(item)


@SETTINGS
@given(json_values)
def test_api_record_mappers_take_any_json(value):
    for mapper in (govuk.from_content, europepmc.from_result):
        try:
            candidate = mapper(value if isinstance(value, dict) else {"details": value, "title": value})
        except (ValueError, SourceError) as exc:
            assert "\n" not in str(exc)
            continue
        _check_candidate(candidate)


@SETTINGS
@given(texts, st.one_of(st.none(), texts))
@example("foster care \n foster care", "foster care \n foster care")  # a title that is the body, with a line the classifier joins
@example("Randomly allo-\ncated foster care placements", None)
def test_classifier_takes_any_text_and_its_why_points_into_the_text(text, title):
    result = classify(text, title=title)
    assert result.study_design in EVIDENCE_LEVELS and result.direction in DIRECTIONS
    assert result.evidence_level == EVIDENCE_LEVELS[result.study_design]
    assert 0.0 <= result.confidence <= 1.0
    joined = join_lines(text)  # offsets refer to the text as classified: its broken lines joined (same length)
    assert len(joined) == len(text) or "-\n" in text or "- \n" in text or "-\r\n" in text
    body = joined if not title or joined.lstrip().startswith(join_lines(title).strip()[:60]) else f"{title}\n\n{joined}"
    for tag in [*result.interventions, *result.outcomes, *result.populations]:
        assert 0 < tag.confidence <= 1
        for phrase in tag.evidence:
            assert body[phrase["start"]:phrase["end"]] == phrase["phrase"]


@SETTINGS
@given(st.text(max_size=400), st.text(max_size=200))
def test_ids_from_any_title_are_safe_file_names(title, url):
    rid = record_id(title, url_key("https://example.org/" + url))
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,79}", rid), rid
    assert ".." not in rid and "/" not in rid and "\x00" not in rid
    assert slugify(title) == slugify(slugify(title)) or slugify(title) == "record"


@SETTINGS
@given(st.sampled_from(["http://", "https://", "HTTPS://", "javascript:", "JaVaScRiPt:", " javascript:", "data:text/html,", "vbscript:",
                        "file:///", "//", "ftp://", "\x00javascript:", "java\tscript:", "http://[", ""]), st.text(max_size=200))
def test_only_http_links_survive(scheme, rest):
    safe = safe_link(scheme + rest)
    if safe is not None:
        assert safe.lower().startswith(("http://", "https://")) and not re.search(r"[\x00-\x1f\s]", safe), safe
    if not scheme.lower().startswith("http"):
        assert safe is None or scheme == "", (scheme, rest, safe)
