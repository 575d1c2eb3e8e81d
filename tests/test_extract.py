"""The extract package's own rules, on small texts written here: dates keep the publisher's calendar day, markup
loses no words, a title is the document's (not a site banner's), a page's metadata list is read."""
from __future__ import annotations

from datetime import UTC

import pytest
from conftest import pdf_bytes

from evidence.extract import (
    PdfError,
    choose_title,
    find_money,
    html_candidate,
    known_publisher,
    list_metadata,
    local_day,
    london,
    markup_text,
    parse_date,
    pdf_candidate,
    soup_of,
    structured_metadata,
)


@pytest.mark.parametrize(("text", "day"), [
    ("2020/1/10 14:03:00", "2020-01-10"),  # feedparser reads this as 1 December
    ("2020.01.10", "2020-01-10"),
    ("10/01/2020", "2020-01-10"),  # numeric dates are day first, as UK publishers write them
    ("1/20/2020", "2020-01-20"),  # unless only month-first can be a date
    ("Published 5th July 2017, updated 01/02/2018", "2017-07-05"),  # the first date stated
    ("Fri, 24 Nov 2017 19:14:00 -0800", "2017-11-24"),
    ("2013-07-18T05:47:12+10:30", "2013-07-18"),
    ("July 2017", "2017-07"),
    ("2016", "2016"),
    ("31/02/2020", None),
    ("no date here", None),
])
def test_parse_date_keeps_the_day_as_written(text, day):
    assert parse_date(text) == day


def test_local_day_reads_a_timestamp_in_the_publishers_zone():
    zone = london()
    assert local_day("2022-05-22T23:30:00.000+00:00", zone) == "2022-05-23"  # 00:30 in London (BST)
    assert local_day("2020-01-22T23:30:00Z", zone) == "2020-01-22"  # GMT: the same day
    assert local_day("2013-05-23T00:00:00.000+01:00", zone) == "2013-05-23"
    assert local_day("2022-05-22T23:30:00+00:00") == "2022-05-22"  # without a zone: as written
    assert local_day("5 July 2017", zone) == "2017-07-05" and local_day(None, zone) is None


def test_markup_text_loses_no_words():
    assert markup_text("fell (p<0.05) after <i>t</i>") == "fell (p<0.05) after t"
    assert markup_text("10<sup>-8</sup> and CD4<sup>+</sup>") == "10-8 and CD4+"
    assert markup_text("<b>Children's attachment</b>: in care") == "Children's attachment: in care"
    assert markup_text("<h4>Results</h4>Fewer moves.<h4>Conclusion</h4>It helps.") == "Results Fewer moves. Conclusion It helps."
    assert markup_text("Business, Innovation &amp;amp; Skills") == "Business, Innovation &amp; Skills"  # decoded once only
    assert markup_text(None) == ""


def test_markup_text_drops_scripts_and_styles_with_their_content():
    """Feeds are parsed without feedparser's sanitizer (harvesters/feed.py): what a browser never shows is not text."""
    assert markup_text("<p>Support <script>track('x')</script>worked</p><style>p { color: red }</style>") == "Support worked"
    assert markup_text("<SCRIPT type='text/javascript'>\nvar a = 1 < 2;\n</SCRIPT>Findings") == "Findings"
    assert markup_text("a <noscript>enable JavaScript</noscript>b") == "a b"


def test_a_feed_entry_with_a_script_in_its_summary_keeps_only_its_text():
    from evidence.config import Source
    from evidence.fetch import Response
    from evidence.harvesters import feed

    body = (b"<rss version='2.0'><channel><title>F</title><item><title>Mentoring &lt;b&gt;works&lt;/b&gt;</title>"
            b"<link>https://example.org/a</link><description>&lt;p&gt;An evaluation of mentoring for young people at risk of "
            b"exploitation.&lt;script&gt;document.write('x')&lt;/script&gt; Missing episodes fell.&lt;/p&gt;</description></item>"
            b"</channel></rss>")
    response = Response(url="https://example.org/feed", status=200, headers={"content-type": "application/rss+xml"}, body=body)
    source = Source(id="f", name="F", kind="feed", url="https://example.org/feed", detail=False)
    [candidate] = list(feed.entries(source, None, response))  # type: ignore[arg-type]
    assert candidate.title == "Mentoring works"
    assert candidate.summary == "An evaluation of mentoring for young people at risk of exploitation. Missing episodes fell."


BANNER = ("<html><head><title>{title}</title>{head}</head><body><header><a class='content' href='/'>Site</a></header>"
          "<section><h1>Tell us what you think of GOV.UK</h1></section><main>{main}<p>{filler}</p></main></body></html>")
FILLER = "Text of the page, long enough to be its main content. " * 4


def title_of(title: str, main: str, head: str = "") -> str | None:
    soup = soup_of(BANNER.format(title=title, head=head, main=main, filler=FILLER))
    return choose_title(soup, structured_metadata(soup))


def test_the_title_is_a_heading_the_pages_titles_confirm():
    assert title_of("Commodity prices - Statistical data sets - GOV.UK", "<h1>Commodity prices</h1>") == "Commodity prices"
    assert title_of("Scottish Government - GOV.UK", "<h1>The <br>Scottish Government</h1>") == "The Scottish Government"  # main's <h1>
    assert title_of("It was hard to escape | Panel", "<h1>It was hard to escape</h1>",
                    "<meta property='og:title' content='It was hard to escape: safeguarding children'>") == "It was hard to escape: safeguarding children"
    assert title_of("Report - Site", "<p>no heading</p>", "<meta property='og:title' content='A report | The Rees Centre'>"
                    "<meta property='og:site_name' content='The Rees Centre'>") == "A report"
    assert title_of("A page - Site", "<p>no heading</p>") == "A page"


def test_a_pages_metadata_list_gives_publisher_and_date():
    soup = soup_of("<dl><dt>From:</dt><dd><a href='/o'>Home Office</a> and <a href='/p'>Ofsted</a></dd>"
                   "<dt>Published:</dt><dd><abbr title='2014-02-25T13:50:00+00:00'>25 February 2014</abbr></dd>"
                   "<dt>Updated:</dt><dd><time datetime='2014-08-01'>recently</time></dd><dt>Colour:</dt><dd>blue</dd></dl>")
    assert list_metadata(soup) == {"publisher": "Home Office", "published": "2014-02-25", "updated": "2014-08-01"}


def test_html_candidate_prefers_the_pages_labelled_date_to_its_other_dates():
    page = ("<html><head><meta property='article:modified_time' content='2021-09-09'></head><body><main><h1>Example evaluation</h1>"
            f"<p>Start date: 01/10/2016</p><p>End date: 05/11/2019</p><p>{FILLER}</p></main></body></html>")
    assert html_candidate(page, "https://example.org/evaluation").published == "2019-11-05"


def test_money_is_not_cut_at_a_thousands_comma():
    assert [m["amount"] for m in find_money("The scheme cost £120,000 in its first year and £2.5m later.")] == [120_000, 2_500_000]
    assert find_money("Subscriptions cost £120,000 a year") == []  # prices are not findings


def test_a_stale_pdf_metadata_title_loses_to_the_first_page():
    text = "Evaluation of family group conferences in four councils\nExample Research Centre\nMarch 2021\nThe evaluation found..."
    stale = pdf_candidate(pdf_bytes(text, title="Template for annual reports"), "https://example.org/fgc.pdf")
    assert stale.title == "Evaluation of family group conferences in four councils"
    kept = pdf_candidate(pdf_bytes(text, title="Evaluation of family group conferences"), "https://example.org/fgc.pdf")
    assert kept.title == "Evaluation of family group conferences"


def test_known_publishers_come_from_the_data_file():
    assert known_publisher("PHE") == "Public Health England"
    assert known_publisher("www.theguardian.com") == "The Guardian" and known_publisher("news.nice.org.uk") == "NICE"
    assert known_publisher("unknown.example.org") is None


def test_pdf_metadata_fills_author_and_date_and_unreadable_pdfs_say_why():
    from datetime import datetime

    from fpdf import FPDF

    document = FPDF()
    document.set_author("Example Author")
    document.set_creation_date(datetime(2019, 3, 14, 23, 30, tzinfo=UTC))
    document.add_page()
    document.set_font("Helvetica", size=10)
    document.multi_cell(0, 5, "A report on family help written for the tests\nIt states no date of its own anywhere in its text.")
    candidate = pdf_candidate(bytes(document.output()), "https://example.org/report.pdf")
    assert candidate.authors == ["Example Author"] and candidate.published == "2019-03-14"
    assert candidate.links == [{"url": "https://example.org/report.pdf", "title": candidate.title, "type": "pdf"}]
    with pytest.raises(PdfError, match="unreadable PDF"):
        pdf_candidate(b"%PDF-1.4 this is not really a PDF", "https://example.org/broken.pdf")
    blank = FPDF()
    blank.add_page()
    with pytest.raises(PdfError, match="no extractable text"):
        pdf_candidate(bytes(blank.output()), "https://example.org/blank.pdf")
