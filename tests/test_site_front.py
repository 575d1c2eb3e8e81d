"""The site's front, checked as files (the browser tests are in test_browser.py): feeds with and without a base
URL, the --base-url check, the search index's excerpts, results and filters."""
from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from click.testing import CliRunner

from evidence.cli import cli
from evidence.publish.build import build_site
from evidence.publish.feeds import FEED_SIZE, atom_feed


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("demo")
    assert invoke("demo", "--out", str(out)).exit_code == 0
    return str(out / "catalogue.db")


@pytest.fixture(scope="module")
def bare_site(demo_db, tmp_path_factory) -> Path:
    """The site as `evidence demo` and a bare `evidence build` make it: no --base-url."""
    out = tmp_path_factory.mktemp("bare") / "site"
    build_site(demo_db, out)
    return out


@pytest.fixture(scope="module")
def based_site(demo_db, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("based") / "site"
    build_site(demo_db, out, "https://example.org/evidence/")
    return out


def _resolve(site: Path, served_at: str, feed_rel: str) -> feedparser.FeedParserDict:
    """A feed parsed as a reader fetching it from `served_at` + feed_rel would (relative links resolve from there)."""
    return feedparser.parse((site / feed_rel).read_bytes(), response_headers={"content-location": served_at + feed_rel,
                                                                            "content-type": "application/atom+xml"})


def _page(site: Path, served_at: str, url: str) -> Path:
    assert url.startswith(served_at), (url, served_at)
    return site / urlsplit(url).path[len(urlsplit(served_at).path):]


@pytest.mark.parametrize("served_at", ["http://127.0.0.1:8000/", "https://host.example/deep/sub/path/"])
def test_without_a_base_url_feed_links_resolve_from_the_feeds_own_location(bare_site, served_at):
    feeds = sorted((bare_site / "feeds").glob("*.xml"))
    assert len(feeds) > 2
    for path in feeds:
        rel = f"feeds/{path.name}"
        parsed = _resolve(bare_site, served_at, rel)
        assert not parsed.bozo, (rel, parsed.get("bozo_exception"))
        assert parsed.feed.id.startswith("tag:") and parsed.feed.id.endswith(rel)
        links = {link.rel: link.href for link in parsed.feed.links}
        assert links["self"] == served_at + rel
        assert _page(bare_site, served_at, links["alternate"]).is_file(), links["alternate"]
        for entry in parsed.entries:
            page = _page(bare_site, served_at, entry.link)
            assert page.is_file() and page.parent.name == "records", entry.link
            assert entry.id == f"tag:evidence.invalid,2024:records/{page.stem}"
    everything = _resolve(bare_site, served_at, "feeds/all.xml")
    assert 0 < len(everything.entries) <= FEED_SIZE


def test_a_feed_is_the_same_document_with_or_without_a_base_url_but_for_its_links(bare_site, based_site):
    bare = feedparser.parse((bare_site / "feeds/foster-care.xml").read_bytes())
    based = feedparser.parse((based_site / "feeds/foster-care.xml").read_bytes())
    assert not bare.bozo and not based.bozo
    assert bare.feed.id == based.feed.id and [e.id for e in bare.entries] == [e.id for e in based.entries] and bare.entries
    for b, a in zip(bare.entries, based.entries, strict=True):
        assert a.link == "https://example.org/evidence/" + posixpath.normpath(posixpath.join("feeds", b.link))
    assert {link.href for link in based.feed.links} == {"https://example.org/evidence/feeds/foster-care.xml",
                                                        "https://example.org/evidence/interventions/foster-care.html"}


def test_ids_are_stable_per_record_across_feeds_and_builds(demo_db, bare_site, tmp_path):
    again = tmp_path / "again"
    build_site(demo_db, again)
    first = feedparser.parse((bare_site / "feeds/all.xml").read_bytes())
    second = feedparser.parse((again / "feeds/all.xml").read_bytes())
    assert [e.id for e in first.entries] == [e.id for e in second.entries]
    assert len({e.id for e in first.entries}) == len(first.entries)
    by_link = {e.link: e.id for e in first.entries}
    for path in (bare_site / "feeds").glob("*.xml"):
        for entry in feedparser.parse(path.read_bytes()).entries:
            assert by_link.get(entry.link, entry.id) == entry.id  # one record, one id, in every feed


def test_hostile_text_in_a_feed_stays_text():
    from datetime import UTC, datetime

    entries = [{"title": "<script>alert(1)</script> & \x00\x1b", "url": "./records/a-1.html", "summary": "]]> </feed>",
                "first_seen": datetime(2024, 5, 1, tzinfo=UTC), "categories": ["a&b"]}]
    parsed = feedparser.parse(atom_feed("T <b>", "./feeds/x.xml", "./index.html", entries))
    assert not parsed.bozo
    assert parsed.entries[0].title.strip() == "<script>alert(1)</script> &" and parsed.entries[0].summary == "]]> </feed>"
    assert parsed.entries[0].link == "../records/a-1.html"


@pytest.mark.parametrize("value", ["example.org/evidence", "/evidence", "ftp://example.org/", "https://", "javascript:alert(1)",
                                   "https://example.org/a b", "https://example.org/?q=1"])
def test_a_base_url_that_is_not_an_absolute_http_url_is_refused_in_one_line(demo_db, tmp_path, value):
    result = CliRunner().invoke(cli, ["--db", demo_db, "build", "--out", str(tmp_path / "site"), "--no-search", "--base-url", value])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --base-url") and "absolute http(s) URL" in lines[0], lines
    assert not (tmp_path / "site").exists()


def test_an_absolute_base_url_is_taken(demo_db, tmp_path):
    result = CliRunner().invoke(cli, ["--db", demo_db, "build", "--out", str(tmp_path / "site"), "--no-search",
                                      "--base-url", "http://intranet.example:8080/evidence"])
    assert result.exit_code == 0, result.output
    parsed = feedparser.parse((tmp_path / "site" / "feeds/all.xml").read_bytes())
    assert parsed.entries[0].link.startswith("http://intranet.example:8080/evidence/records/")


# -- search ------------------------------------------------------------------------------------------------------

def _index_pages(site: Path) -> dict[str, dict]:
    """What Pagefind holds for each record: read back through its own files would need its wasm; instead the
    pages it was given, rebuilt the same way (search_page is what index_site writes for Pagefind)."""
    from evidence.publish.search import _records

    return {r["url"]: r for r in _records(site)}


def test_the_index_holds_each_records_own_words_with_its_facts_and_readable_filters(based_site):
    import json

    from bs4 import BeautifulSoup

    from evidence.publish.search import search_page

    rows = {r["id"]: r for r in json.loads((based_site / "downloads/catalogue.json").read_text(encoding="utf-8"))["records"]}
    indexed = _index_pages(based_site)
    assert len(indexed) == len([r for r in rows.values() if r.get("inclusion") != "excluded"]) > 10
    for url, record in indexed.items():
        row = rows[url.removeprefix("records/").removesuffix(".html")]
        assert (based_site / url).is_file()
        page = BeautifulSoup(search_page(record), "lxml")
        body = page.select_one("[data-pagefind-body]")
        ignored = body.select_one("[data-pagefind-ignore]")
        ignored.extract()
        text = body.get_text(" ")
        assert row["title"] in text
        assert not re.search(r"\b(?:TY|UR|KW|ER)  -|@\w+\{|Provenance|First seen", text), text  # no citation block, no field labels
        for value in record["filters"].get("Population", []) + record["filters"]["Evidence level"]:
            assert value not in text or value in (row["summary"] or "") + row["title"]
        assert set(record["meta"]) == {"title", "year", "publisher", "level", "design", "direction"}
        assert record["meta"]["year"] == ((row["published"] or "")[:4] or "Year not stated")
        for key, values in record["filters"].items():
            assert key[0].isupper() and all("_" not in v for v in values), (key, values)
        assert {"Study design", "Evidence level", "Direction of findings"} <= set(record["filters"])


def test_index_site_writes_a_pagefind_bundle_with_one_entry_per_record(demo_db, tmp_path):
    import json

    from evidence.publish.search import index_site

    site = tmp_path / "site"
    build_site(demo_db, site)
    count = index_site(site)
    assert count == len(_index_pages(site)) > 10
    assert (site / "pagefind" / "pagefind.js").is_file() and (site / "pagefind" / "pagefind-entry.json").is_file()
    entry = json.loads((site / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert entry["languages"]["en"]["page_count"] == count
    assert not list(site.glob("evidence-search-*"))  # the pages made for the index are not left in the site


def test_hostile_text_in_a_record_stays_text_in_its_search_page():
    from bs4 import BeautifulSoup

    from evidence.publish.search import search_page, search_record

    names = {"interventions": {}, "outcomes": {}, "populations": {}}
    row = {"id": "x-1", "title": "<img src=x onerror=alert(1)>", "summary": "</main><script>alert(2)</script>",
           "publisher": 'A "quoted" <b>publisher</b>', "published": "2020-01", "study_design": "rct", "evidence_level": 4,
           "direction": "positive", "populations": ["<p>"], "authors": []}
    page = BeautifulSoup(search_page(search_record(row, names)), "lxml")
    assert not page.find("img") and not page.find("script") and not page.find("b")
    assert page.select_one("[data-pagefind-meta=publisher]").get_text() == 'A "quoted" <b>publisher</b>'
    assert page.select_one("[data-pagefind-filter='Evidence level']").get_text() == "4: Randomised trial"


def test_a_site_without_its_catalogue_download_says_why_search_was_not_built(tmp_path):
    from evidence.publish.search import SearchUnavailable, index_site

    with pytest.raises(SearchUnavailable, match="catalogue.json: cannot read the records to index"):
        index_site(tmp_path)


def test_the_404_page_links_from_the_sites_root_at_any_depth(bare_site, based_site):
    from bs4 import BeautifulSoup

    for site, root in ((based_site, "/evidence/"), (bare_site, "/")):  # a server shows it for records/x/missing.html too
        page = BeautifulSoup((site / "404.html").read_text(encoding="utf-8"), "lxml")
        links = [a["href"] for a in page.select("main a")] + [page.select_one("link[rel=stylesheet]")["href"]]
        assert links and all(href.startswith(root) for href in links), links
        for href in links:
            assert (site / href.removeprefix(root)).is_file(), href


def test_a_sitemap_only_with_a_base_url_and_then_of_absolute_urls(bare_site, based_site):
    assert not (bare_site / "sitemap.xml").exists()  # its URLs must be absolute: there are none to give without --base-url
    locs = re.findall(r"<loc>([^<]+)</loc>", (based_site / "sitemap.xml").read_text(encoding="utf-8"))
    assert locs and all(loc.startswith("https://example.org/evidence/") and "//" not in loc[8:] for loc in locs)
    assert len(locs) == len(set(locs)) and "https://example.org/evidence/map.html" in locs
