"""Harvest runs end to end: incremental and idempotent, duplicates merged, faults isolated, offline rebuilds."""
from __future__ import annotations

import email.utils
import json
from pathlib import Path

import feedparser
import pytest
from conftest import config_of, last_seen, make_fetcher, records, run, shared_path
from sqlmodel import Session, select

from evidence import catalogue
from evidence.capture import CaptureStore
from evidence.models import HarvestRun


def rss(base: str, items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>{base}{path}</link><description>{summary}</description>"
        f"<pubDate>Wed, 04 Jan 2017 10:00:00 GMT</pubDate></item>" for title, path, summary in items)
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Research news</title><link>{base}/</link>{entries}</channel></rss>"


SUMMARY = ("An evaluation of specialist foster care for young people at risk of child sexual exploitation found "
           "improvements in placement stability and a reduction in missing episodes over twelve months.")


def feed_source(server, path="/feed.xml", **extra):
    return {"id": "news", "kind": "feed", "url": server.url(path), "detail": False, **extra}


def test_second_harvest_adds_nothing_and_changes_only_last_seen(server, tmp_path, catalogue_path, fetcher):
    server.add("/feed.xml", rss(server.base, [("Specialist foster care evaluation", "/a", SUMMARY),
                                              ("Return home interviews study", "/b", SUMMARY.replace("foster", "residential"))]),
               content_type="application/rss+xml")
    config = config_of(tmp_path, [feed_source(server)])
    first = run(catalogue_path, config, fetcher)["news"]
    seen = last_seen(catalogue_path)
    before = {r.id: (r.content_hash, r.first_seen, seen[r.id], r.classification) for r in records(catalogue_path)}
    second = run(catalogue_path, config, fetcher)["news"]
    seen = last_seen(catalogue_path)
    after = {r.id: (r.content_hash, r.first_seen, seen[r.id], r.classification) for r in records(catalogue_path)}
    assert (first.new, second.new, second.updated, second.unchanged) == (2, 0, 0, 2)
    assert set(before) == set(after)
    for record_id, (digest, first_seen, seen_before, classification) in before.items():
        assert after[record_id][0] == digest and after[record_id][1] == first_seen and after[record_id][3] == classification
        assert after[record_id][2] >= seen_before


def test_a_harvest_of_unchanged_sources_rewrites_no_record_row(server, tmp_path, catalogue_path, fetcher):
    """An all-304 harvest marks the places it reached as seen, and only them: a record's row (with its full text) is
    not rewritten, yet the record reads as seen at that harvest (its latest place's time)."""
    from sqlalchemy import text

    server.add("/feed.xml", rss(server.base, [("Specialist foster care evaluation", "/a", SUMMARY)]), content_type="application/rss+xml",
               etag='"feed-v1"')
    config = config_of(tmp_path, [feed_source(server)])
    run(catalogue_path, config, fetcher)
    engine = catalogue.connect(catalogue_path)
    with engine.begin() as conn:  # the place as if last seen long ago
        conn.execute(text("UPDATE recordplace SET last_seen = first_seen - INTERVAL '1 day'" if engine.dialect.name == "postgresql"
                          else "UPDATE recordplace SET last_seen = datetime(first_seen, '-1 day')"))
    with engine.connect() as conn:
        rows_before = conn.execute(text("SELECT * FROM record")).all()
    seen_before = last_seen(catalogue_path)
    result = run(catalogue_path, config, fetcher)["news"]
    with engine.connect() as conn:
        rows_after = conn.execute(text("SELECT * FROM record")).all()
    engine.dispose()
    assert (result.new, result.updated, result.unchanged) == (0, 0, 1)
    assert rows_after == rows_before
    (rid,) = seen_before
    assert last_seen(catalogue_path)[rid] > seen_before[rid]


def test_changed_content_updates_and_keeps_first_seen(server, tmp_path, catalogue_path, fetcher):
    server.add("/feed.xml", rss(server.base, [("Specialist foster care evaluation", "/a", SUMMARY)]), content_type="application/rss+xml")
    config = config_of(tmp_path, [feed_source(server)])
    run(catalogue_path, config, fetcher)
    (before,) = records(catalogue_path)
    server.add("/feed.xml", rss(server.base, [("Specialist foster care evaluation", "/a", SUMMARY + " A randomised controlled trial followed.")]),
               content_type="application/rss+xml")
    result = run(catalogue_path, config, fetcher)["news"]
    (after,) = records(catalogue_path)
    assert result.updated == 1 and after.first_seen == before.first_seen and after.content_hash != before.content_hash
    assert "randomised controlled trial" in after.summary


def test_feed_304_touches_the_source_without_re_extraction(server, tmp_path, catalogue_path, fetcher):
    server.add("/feed.xml", rss(server.base, [("Specialist foster care evaluation", "/a", SUMMARY)]), content_type="application/rss+xml",
               etag='"feed-v1"')
    config = config_of(tmp_path, [feed_source(server)])
    run(catalogue_path, config, fetcher)
    result = run(catalogue_path, config, fetcher)["news"]
    assert (result.new, result.updated, result.unchanged) == (0, 0, 1)
    assert server.requests[-1][1].get("If-None-Match") == '"feed-v1"'


def test_304_with_an_empty_catalogue_rebuilds_from_the_capture(server, tmp_path, fetcher, new_catalogue):
    server.add("/feed.xml", rss(server.base, [("Specialist foster care evaluation", "/a", SUMMARY)]), content_type="application/rss+xml",
               etag='"feed-v1"')
    config = config_of(tmp_path, [feed_source(server)])
    one, two = new_catalogue("one"), new_catalogue("two")
    run(one, config, fetcher)
    result = run(two, config, fetcher)["news"]  # same captures, new catalogue, server says 304
    assert result.new == 1 and len(records(two)) == 1


def test_same_report_from_two_sources_is_one_record_with_two_places(server, tmp_path, catalogue_path, fetcher):
    title = "Child sexual exploitation: support in children's residential homes"
    server.add("/feed.xml", rss(server.base, [(title, "/dfe/report", SUMMARY)]), content_type="application/rss+xml")
    server.add("/other.xml", rss(server.base, [(title.upper() + ".", "/news/report-published?utm_source=rss", SUMMARY)]),
               content_type="application/rss+xml")
    config = config_of(tmp_path, [feed_source(server), feed_source(server, "/other.xml", id="trade-press")])
    run(catalogue_path, config, fetcher, ("news",))
    run(catalogue_path, config, fetcher, ("trade-press",))
    rows = records(catalogue_path)
    assert len(rows) == 1
    engine = catalogue.connect(catalogue_path)
    with Session(engine) as session:
        places = catalogue.record_places(session, rows[0].id)
    assert sorted((p["source"], p["url"]) for p in places) == [("news", server.url("/dfe/report")),
                                                                ("trade-press", server.url("/news/report-published"))]


def test_canonical_urls_match_despite_tracking_parameters_and_case():
    assert catalogue.url_key("HTTPS://WWW.Example.org/Report/?utm_source=x&b=2&a=1") == catalogue.url_key("http://example.org/report?a=1&b=2")
    # a #fragment names a distinct document (items at anchors of one page)
    assert catalogue.url_key("https://example.org/report#top") != catalogue.url_key("https://example.org/report")


def test_a_failing_source_never_stops_the_others(server, tmp_path, catalogue_path, fetcher):
    server.add("/feed.xml", rss(server.base, [("Specialist foster care evaluation", "/a", SUMMARY)]), content_type="application/rss+xml")
    server.add("/broken.xml", "<rss><channel><item><title>unclosed", content_type="application/rss+xml")
    server.add("/listing", "<html><body><p>No items today</p></body></html>")
    server.add("/api.json", "{oops", content_type="application/json")
    config = config_of(tmp_path, [
        feed_source(server),
        {"id": "broken-feed", "kind": "feed", "url": server.url("/broken.xml")},
        {"id": "empty-listing", "kind": "html", "url": server.url("/listing"), "item": "article"},
        {"id": "bad-json", "kind": "govuk", "url": server.url("/api.json")},
        {"id": "gone", "kind": "feed", "url": server.url("/404.xml")},
        {"id": "unreachable", "kind": "feed", "url": "http://127.0.0.1:9/feed.xml"},
    ])
    results = run(catalogue_path, config, fetcher)
    assert results["news"].status == "ok" and results["news"].new == 1
    assert "has no items" in results["empty-listing"].message
    assert "invalid JSON" in results["bad-json"].message
    assert "HTTP 404" in results["gone"].message
    assert "connection failed" in results["unreachable"].message
    # feedparser recovers one empty entry from the truncated feed: the source is read, the damage and the entry without a link are item errors
    broken = results["broken-feed"]
    assert (broken.status, broken.new, broken.errors) == ("ok", 0, 2), broken
    assert "malformed feed, 1 entries recovered (" in broken.item_errors[0] and "no element found" in broken.item_errors[0]
    assert broken.item_errors[1].endswith("entry has no http(s) link")
    for source_id in ("empty-listing", "bad-json", "gone", "unreachable"):
        assert results[source_id].status == "failed" and "\n" not in results[source_id].message
    engine = catalogue.connect(catalogue_path)
    with Session(engine) as session:
        runs = {run.source_id: run for run in session.exec(select(HarvestRun)).all()}
    assert runs["gone"].status == "failed" and runs["news"].status == "ok" and runs["news"].finished_at


def test_robots_disallowed_items_are_reported_and_skipped(server, tmp_path, catalogue_path, fetcher):
    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.add("/feed.xml", rss(server.base, [("Open page", "/open", ""), ("Private page", "/private/p", "")]), content_type="application/rss+xml")
    server.add("/open", "<html><head><title>Open page</title></head><body><main><p>Foster care study text.</p></main></body></html>")
    config = config_of(tmp_path, [{"id": "news", "kind": "feed", "url": server.url("/feed.xml")}])
    result = run(catalogue_path, config, fetcher)["news"]
    assert result.new == 1 and result.errors == 1
    assert "disallowed by robots.txt" in result.item_errors[0]
    assert server.hits("/private/p") == 0


def test_hostile_entities_are_refused(server, tmp_path, catalogue_path, fetcher):
    laughs = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><rss version="2.0"><channel><title>&c;</title></channel></rss>')
    xxe = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<rss version="2.0"><channel><title>&x;</title><item><title>t</title><link>http://e.org/</link></item></channel></rss>')
    server.add("/laughs.xml", laughs, content_type="application/rss+xml")
    server.add("/xxe.xml", xxe, content_type="application/rss+xml")
    config = config_of(tmp_path, [{"id": "laughs", "kind": "feed", "url": server.url("/laughs.xml")},
                                  {"id": "xxe", "kind": "feed", "url": server.url("/xxe.xml")}])
    results = run(catalogue_path, config, fetcher)
    for result in results.values():
        assert result.status == "failed" and "refused" in result.message
    assert records(catalogue_path) == []


def test_offline_rebuilds_the_catalogue_from_captures(server, tmp_path, fetcher, new_catalogue):
    server.add("/feed.xml", rss(server.base, [("Specialist foster care evaluation", "/a", SUMMARY)]), content_type="application/rss+xml")
    config = config_of(tmp_path, [feed_source(server)])
    online_db, offline_db = new_catalogue("online"), new_catalogue("offline")
    run(online_db, config, fetcher)
    server.close()
    with make_fetcher(CaptureStore(tmp_path / "captures"), offline=True) as offline:
        result = run(offline_db, config, offline)["news"]
    assert result.status == "ok" and result.new == 1
    online, offline_rows = records(online_db), records(offline_db)
    assert [(r.id, r.content_hash, r.study_design) for r in online] == [(r.id, r.content_hash, r.study_design) for r in offline_rows]


def _feedparser_files() -> list[Path]:
    root = shared_path("peer", "feedparser")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".xml", ".rss", ".atom", ".rdf") and "json" not in p.parts)


def test_feedparser_corpus_never_crashes_the_harvester(server, tmp_path, catalogue_path, fetcher):
    """Every well-formed and ill-formed feed of feedparser's own tests: records or a recorded error, never a crash."""
    files = _feedparser_files()
    expectations = json.loads(shared_path("peer", "feedparser", "expectations.json").read_text(encoding="utf-8"))
    sources = []
    for index, path in enumerate(files):
        server.add(f"/fp/{index}", path.read_bytes(), content_type="application/xml")
        sources.append({"id": f"fp-{index}", "kind": "feed", "url": server.url(f"/fp/{index}"), "detail": False})
    config = config_of(tmp_path, sources)
    results = run(catalogue_path, config, fetcher)
    internal = {r.source_id: r.message for r in results.values() if r.message and "internal error" in r.message}
    assert not internal, internal
    assert len(results) == len(files) and len(files) > 100
    ill = [i for i, p in enumerate(files) if "illformed" in p.parts]
    flagged = [i for i in ill if results[f"fp-{i}"].status == "failed" or results[f"fp-{i}"].errors]
    assert ill and len(flagged) >= len(ill) * 0.5, f"{len(flagged)} of {len(ill)} ill-formed feeds recorded an error"
    by_path = {e["path"]: e for e in expectations}
    root = shared_path("peer", "feedparser")
    for index, path in enumerate(files):  # what feedparser flags as not well formed, the harvester reports (or refuses)
        expect = by_path.get(str(path.relative_to(root)), {}).get("expect", "")
        if expect.strip() == "bozo":
            result = results[f"fp-{index}"]
            assert result.status == "failed" or any("malformed feed" in e for e in result.item_errors), (path.name, result)


# What feedparser's expectations say about the fields we store, and how our candidate must show each.
STORED_FIELDS = {
    ("title",): "title", ("link",): "link", ("links", 0, "href"): "link",
    ("description",): "summary", ("summary",): "summary", ("summary_detail", "value"): "summary", ("content", 0, "value"): "summary",
    ("author",): "author", ("author_detail", "name"): "author", ("publisher",): "publisher", ("publisher_detail", "name"): "publisher",
    ("published",): "date", ("updated",): "date", ("created",): "date",
    ("published_parsed",): "date", ("updated_parsed",): "date", ("created_parsed",): "date",
}


def _entry_claims(expect: str) -> list[tuple[tuple, object]]:
    """The `entries[0][...] == constant` comparisons of an expectation, as (field path, expected value)."""
    import ast

    claims = []
    for node in ast.walk(ast.parse(expect, mode="eval")):
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)):
            continue
        right = node.comparators[0]
        if not isinstance(right, (ast.Constant, ast.Tuple)):
            continue
        keys, target = [], node.left
        while isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
            keys.insert(0, target.slice.value)
            target = target.value
        if keys and keys[0] == 0 and isinstance(target, ast.Name) and target.id == "entries":
            claims.append((tuple(keys[1:]), ast.literal_eval(right)))
    return claims


def test_feedparser_expectations_hold_for_the_fields_we_store():
    """Each expectation of feedparser's own suite about an entry's title, link, summary, author, publisher or date is
    first checked against feedparser as the harvester calls it, then against the candidate the harvester makes."""
    from evidence.config import Source
    from evidence.extract import markup_text
    from evidence.fetch import Response
    from evidence.harvesters import SourceError, feed

    root = shared_path("peer", "feedparser")
    source = Source(id="fp", name="fp", kind="feed", url="http://127.0.0.1/feed")
    compared: dict[str, int] = {}
    for expectation in json.loads((root / "expectations.json").read_text(encoding="utf-8")):
        claims = [(keys, value) for keys, value in _entry_claims(expectation["expect"]) if keys in STORED_FIELDS]
        if not claims:
            continue
        headers = {k.lower(): v for k, v in (expectation.get("http_headers") or {}).items()} or {"content-type": "application/xml"}
        body = (root / expectation["path"]).read_bytes()
        try:
            parsed = feed.parse(Response(url="http://127.0.0.1/feed", status=200, headers=headers, body=body))
        except SourceError:
            continue  # refused (entity declarations): nothing stored, so nothing to compare
        # feedparser's expectations are of its sanitised HTML; the harvester parses without the sanitizer and keeps
        # plain text, so the expectation is checked on feedparser's own call and the candidate against its value
        reference = feedparser.parse(body, response_headers={"content-location": "http://127.0.0.1/feed", **headers})
        namespace = {**reference, "entries": reference.entries, "feed": reference.feed}
        assert eval(expectation["expect"], {}, namespace), expectation  # noqa: S307 - feedparser's own test expressions
        entry = parsed.entries[0]
        candidate = feed.from_entry(source, entry, feed.entry_link(entry) or "http://127.0.0.1/entry")
        for keys, value in claims:
            kind = STORED_FIELDS[keys]
            where = (expectation["path"], keys, value)
            if kind == "title":
                assert candidate.title == markup_text(value), (where, candidate.title)
            elif kind == "link":
                assert feed.entry_link(entry) == value, where
            elif kind == "summary":
                if keys[0] != "content" and entry.get("content"):
                    continue  # the longer content body is the summary we keep, as the next claim checks
                assert candidate.summary == markup_text(value), (where, candidate.summary)
            elif kind == "author":
                assert value in candidate.authors, (where, candidate.authors)
            elif kind == "publisher":
                assert candidate.publisher == value, (where, candidate.publisher)
            else:
                field = keys[0].removesuffix("_parsed")
                if next((k for k in ("published", "updated", "created") if entry.get(k)), None) != field:
                    continue  # we store the first of published, updated, created
                raw = entry.get(field)
                stated = email.utils.parsedate_tz(raw) if isinstance(raw, str) and not raw[:4].isdigit() else None
                day = raw[:10] if isinstance(raw, str) and raw[:4].isdigit() else (f"{stated[0]:04d}-{stated[1]:02d}-{stated[2]:02d}" if stated else None)
                want = day or (f"{value[0]:04d}-{value[1]:02d}-{value[2]:02d}" if isinstance(value, tuple) else None)
                assert candidate.published == want, (where, candidate.published)
            compared[kind] = compared.get(kind, 0) + 1
    print(f"\nfeedparser expectations compared: {compared}")
    assert compared.get("title", 0) >= 7 and compared.get("summary", 0) >= 15 and compared.get("date", 0) >= 8, compared
    assert compared.get("link", 0) >= 5 and compared.get("author", 0) >= 2 and compared.get("publisher", 0) >= 2, compared


@pytest.mark.parametrize("kind", ["html", "feed", "pdf"])
def test_invalid_bodies_fail_the_source_with_a_reason(server, tmp_path, catalogue_path, fetcher, kind):
    server.add("/junk", b"\x00\x01\x02 not a document", content_type="application/octet-stream")
    config = config_of(tmp_path, [{"id": "junk", "kind": kind, "url": server.url("/junk")}])
    result = run(catalogue_path, config, fetcher)["junk"]
    assert result.status == "failed" and result.message and server.url("/junk") in result.message
