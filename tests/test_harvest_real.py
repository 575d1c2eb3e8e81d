"""Nothing a source gave is dropped, on the real recordings of ../shared/corpus/real (README there; skipped with a reason
when absent): NICE research recommendations at distinct #anchors of one page, listings whose later page fails, and
title-only feed entries whose pages cannot be fetched. Served from 127.0.0.1; pages on real hosts are never reached (the
test fetcher refuses them, so their robots.txt is unreachable)."""
from __future__ import annotations

import json
from urllib.parse import urldefrag, urlsplit

import feedparser
from conftest import config_of, make_fetcher, records, run, shared_path
from server import Answer, Route

from evidence.harvesters import feed
from evidence.models import Candidate
from evidence.pipeline import collect


def recorded(*parts: str) -> str:
    return shared_path("real", *parts).read_text(encoding="utf-8")


def test_nice_research_recommendations_at_anchors_of_one_page_stay_distinct(server, tmp_path, fetcher):
    listing = json.loads(recorded("nice-next-web", "researchrecs-published.json").replace("https://test.nice.org.uk", server.base))
    listing.update(pagerLinks={}, resultCount=listing["lastResult"])
    server.add("/search", json.dumps(listing), content_type="application/json")
    documents = listing["documents"]
    pages: dict[str, list[dict]] = {}
    for document in documents:
        pages.setdefault(urldefrag(document["url"])[0], []).append(document)
    assert len(documents) == 10 and len(pages) == 3  # 10 recommendations on 3 chapter pages: 7 would collapse by page
    for url, anchored in pages.items():  # each chapter page with a section per recommendation (written here)
        sections = "".join(f"<h3 id='{urldefrag(d['url'])[1]}'>{d['guidanceRef']}</h3><p>{d['titleNoHtml']}</p>" for d in anchored)
        server.add(urlsplit(url).path, f"<html><body><main><h1>Recommendations for research</h1>{sections}</main></body></html>")
    for detail in (False, True):
        (source,) = config_of(tmp_path, [{"id": "recs", "kind": "nice", "url": server.url("/search"), "detail": detail}]).sources
        items, failure = collect(source, fetcher)
        candidates = [i for i in items if isinstance(i, Candidate)]
        assert failure is None and [c.url for c in candidates] == [d["url"] for d in documents]  # every #anchor kept
        assert len({c.project_ref for c in candidates}) == 10 and {c.doc_type for c in candidates} == {"research_recommendation"}
        if detail:
            for candidate, document in zip(candidates, documents, strict=True):
                assert candidate.text.startswith(f"{candidate.title}\n\n{document['guidanceRef']}\n")  # its own section
    for url in pages:
        assert server.hits(urlsplit(url).path) == 1  # each page fetched once for all its anchors


def test_real_listings_whose_second_page_fails_keep_their_first_page(server, tmp_path, catalogue_path, fetcher):
    nice = json.loads(recorded("nice-next-web", "guidance-published.json"))  # 10 of 350; its next page is not served
    server.sequence("/guidance/published", [Answer(json.dumps(nice).encode(), 200, {"Content-Type": "application/json"}),
                                            Answer(b"gone", 404)])  # page 1, then its `next` (?pa=2...) is gone
    chain = json.loads(recorded("europepmc-pyepmc", "fetch_10pages_cancer.json"))
    server.add("/rest/search?cursorMark=%2A&format=json&pageSize=100&resultType=core", json.dumps(chain[0]), content_type="application/json")
    server.add(f"/rest/search?cursorMark={chain[0]['nextCursorMark']}&format=json&pageSize=100&resultType=core", "down", status=500)
    items = []
    for path in sorted(shared_path("real", "govuk-content").glob("publication__*.json"))[:12]:
        item = json.loads(path.read_text(encoding="utf-8"))
        server.add(f"/api/content/{path.stem}", json.dumps(item), content_type="application/json")
        items.append({"link": f"/{path.stem}", "title": item["title"]})
    server.add("/api/search.json?count=12&start=0", json.dumps({"results": items, "total": 24, "start": 0}), content_type="application/json")
    config = config_of(tmp_path, [
        {"id": "nice", "kind": "nice", "url": server.url("/guidance/published"), "detail": False},
        {"id": "epmc", "kind": "europepmc", "url": server.url("/rest/search")},
        {"id": "govuk", "kind": "govuk", "url": server.url("/api/search.json"), "content_api": server.url("/api/content"), "params": {"count": 12}},
    ])
    results = run(catalogue_path, config, fetcher)
    assert all(r.status == "failed" for r in results.values()), results
    assert "HTTP 404" in results["nice"].message and "HTTP 404" in results["govuk"].message and "HTTP 500" in results["epmc"].message
    assert (results["nice"].fetched, results["epmc"].fetched, results["govuk"].fetched) == (10, 100, 12)
    assert {r.project_ref for r in records(catalogue_path, "nice")} == {d["guidanceRef"] for d in nice["documents"]}
    assert len(records(catalogue_path, "epmc")) == len({r["id"] for r in chain[0]["resultList"]["result"]})
    assert records(catalogue_path, "govuk")


def test_real_feed_entries_whose_pages_fail_are_stored_from_the_feed(server, tmp_path, catalogue_path, captures):
    reddit = shared_path("real", "feeds", "rssparser__reddit-atom.rss").read_bytes()  # 21 title-only entries
    kc = shared_path("real", "feeds", "rsparser__kc0011.rss").read_bytes()  # 13, one of them dated "2020/1/10"
    medium = shared_path("real", "feeds", "rsparser__EMarley.rss").read_bytes()  # 6, on a real host: robots.txt unreachable
    server.add("/reddit.atom", reddit.replace(b"https://www.reddit.com", server.base.encode()), content_type="application/atom+xml")
    server.add("/kc.rss", kc.replace(b"http://www.kc0011.net", server.base.encode()), content_type="application/rss+xml")
    server.add("/medium.rss", medium, content_type="application/rss+xml")
    title_only = {}
    for name, body in (("reddit", reddit), ("kc", kc), ("medium", medium)):
        entries = feedparser.parse(body).entries
        title_only[name] = [e for e in entries if feed.entry_link(e) and len(feed._entry_summary(e)) < feed.MIN_SUMMARY_CHARS]
    for entry in title_only["kc"]:  # kc0011's pages answer too slowly
        server.routes[urlsplit(str(feed.entry_link(entry)).replace("http://www.kc0011.net", server.base)).path] = Route([Answer(b"x", delay=1.5)])
    assert [len(v) for v in title_only.values()] == [21, 13, 6]
    config = config_of(tmp_path, [{"id": "reddit", "kind": "feed", "url": server.url("/reddit.atom")},
                                  {"id": "kc", "kind": "feed", "url": server.url("/kc.rss")},
                                  {"id": "medium", "kind": "feed", "url": server.url("/medium.rss")}])
    with make_fetcher(captures, timeout=0.5, retries=0) as fetcher:
        results = run(catalogue_path, config, fetcher)
    reasons = {"reddit": "HTTP 404", "kc": "timed out", "medium": "robots.txt could not be read"}
    for name, reason in reasons.items():
        marked = [r for r in records(catalogue_path, name) if r.extra.get("detail_error")]
        assert results[name].status == "ok" and len(marked) == len(title_only[name]), (name, results[name])
        assert all(reason in r.extra["detail_error"] and "\n" not in r.extra["detail_error"] for r in marked), name
        assert all(r.title and r.url.startswith("http") for r in marked)
    dated = next(r for r in records(catalogue_path, "kc") if r.extra.get("detail_error") and r.published == "2020-01-10")
    assert dated.title  # the feed's own date, its publisher's calendar day
