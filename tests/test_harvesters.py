"""Each harvester against recorded answers of the real APIs and feeds (../shared/corpus/samples), served on 127.0.0.1."""
from __future__ import annotations

import json

from conftest import config_of, records, run, shared_path


def sample(*parts: str) -> bytes:
    return shared_path("samples", *parts).read_bytes()


def govuk_search_answer(paths: list[str], total: int | None = None) -> str:
    """A GOV.UK search.json answer (its shape as in the recorded sample) listing these content paths."""
    shape = json.loads(sample("govuk-search-api", "search_json__q_tax_suggest_autocomplete_count1.json"))
    template = shape["results"][0]
    results = [{**template, "link": path, "title": path.rsplit("/", 1)[-1].replace("-", " "), "_id": path} for path in paths]
    return json.dumps({**shape, "results": results, "total": total if total is not None else len(paths), "start": 0})


def test_govuk_search_then_content_with_attachments_and_documents_fallback(server, tmp_path, catalogue_path, fetcher):
    report = json.loads(sample("govuk-content-api", "publication__best-practice-independent-report__pre2026_with_documents.json"))
    attached = json.loads(sample("govuk-content-api", "publication__publication-with-featured-attachments.json"))
    research = json.loads(sample("govuk-content-api", "publication__best-practice-research.json"))
    withdrawn = json.loads(sample("govuk-content-api", "publication__withdrawn_publication.json"))
    items = [report, attached, research, withdrawn]
    server.add("/api/search.json", govuk_search_answer([i["base_path"] for i in items]), content_type="application/json")
    for item in items:
        server.add("/api/content" + item["base_path"], json.dumps(item), content_type="application/json")
    config = config_of(tmp_path, [{"id": "dfe-research", "kind": "govuk", "url": server.url("/api/search.json"),
                                   "content_api": server.url("/api/content"), "params": {"q": "child sexual exploitation", "count": 50}}])
    result = run(catalogue_path, config, fetcher)["dfe-research"]
    assert result.status == "ok" and result.new == 4, result
    by_url = {r.url: r for r in records(catalogue_path)}
    cse = by_url["https://www.gov.uk" + report["base_path"]]
    assert cse.title == "Child sexual exploitation: health working group report"
    assert cse.published == "2014-01-15"
    assert cse.doc_type == "research_report"
    assert cse.publisher  # from links.organisations
    assert any(link["url"].endswith("Child_sexual_exploitation.pdf") for link in cse.links)  # details.documents fallback
    pdfs = by_url["https://www.gov.uk" + attached["base_path"]].links
    assert pdfs[0]["url"].startswith("https://assets.publishing.service.gov.uk/") and pdfs[0]["type"] == "pdf"
    assert "withdrawn" in by_url["https://www.gov.uk" + withdrawn["base_path"]].extra
    request_paths = [path for path, _ in server.requests]
    assert any("start=0" in p and "count=50" in p for p in request_paths)


def test_govuk_pages_through_results(server, tmp_path, catalogue_path, fetcher):
    report = json.loads(sample("govuk-content-api", "publication__best-practice-research.json"))
    other = json.loads(sample("govuk-content-api", "publication__best-practice-policy-paper.json"))
    server.add("/api/search.json?count=1&start=0", govuk_search_answer([report["base_path"]], total=2), content_type="application/json")
    server.add("/api/search.json?count=1&start=1", govuk_search_answer([other["base_path"]], total=2), content_type="application/json")
    for item in (report, other):
        server.add("/api/content" + item["base_path"], json.dumps(item), content_type="application/json")
    config = config_of(tmp_path, [{"id": "g", "kind": "govuk", "url": server.url("/api/search.json"),
                                   "content_api": server.url("/api/content"), "params": {"count": 1}}])
    assert run(catalogue_path, config, fetcher)["g"].new == 2


def test_nice_listing_json_and_guidance_pages(server, tmp_path, catalogue_path, fetcher):
    server.rewrites[b"https://www.nice.org.uk"] = server.base.encode()
    listing = json.loads(sample("nice", "sse_search__guidance-published.json"))
    listing["resultCount"] = listing["lastResult"]  # one page
    server.add("/guidance/published", json.dumps(listing), content_type="application/json")
    for document in listing["documents"]:
        path = "/" + document["url"].split("/", 3)[3]
        server.add(path, f"<html><head><title>{document['title']}</title></head><body><main><h1>{document['title']}</h1>"
                         f"<p>This guideline covers {document['title'].lower()}.</p></main></body></html>")
    config = config_of(tmp_path, [{"id": "nice", "kind": "nice", "url": server.url("/guidance/published")}])
    result = run(catalogue_path, config, fetcher)["nice"]
    assert result.status == "ok" and result.new == len(listing["documents"])
    cg181 = next(r for r in records(catalogue_path) if r.project_ref == "CG181")
    assert cg181.published == "2014-07-18" and cg181.publisher == "NICE" and cg181.doc_type == "guideline"
    assert "This guideline covers" in cg181.text


def test_nice_listing_page_with_embedded_data(server, tmp_path, catalogue_path, fetcher):
    listing = json.loads(sample("nice", "sse_search__guidance-published.json"))
    listing["resultCount"] = listing["lastResult"]
    page = f"<html><body><script id='__NEXT_DATA__' type='application/json'>{json.dumps({'props': {'pageProps': {'results': listing}}})}</script></body></html>"
    server.add("/guidance/published", page)
    config = config_of(tmp_path, [{"id": "nice", "kind": "nice", "url": server.url("/guidance/published"), "detail": False}])
    assert run(catalogue_path, config, fetcher)["nice"].new == len(listing["documents"])


def test_nice_failed_search_fails_the_source_and_no_results_is_fine(server, tmp_path, catalogue_path, fetcher):
    server.add("/failed", sample("nice", "sse_search__failed.json"), content_type="application/json")
    server.add("/empty", sample("nice", "sse_search__no-results.json"), content_type="application/json")
    config = config_of(tmp_path, [{"id": "nice-failed", "kind": "nice", "url": server.url("/failed")},
                                  {"id": "nice-empty", "kind": "nice", "url": server.url("/empty")}])
    results = run(catalogue_path, config, fetcher)
    assert results["nice-failed"].status == "failed" and "Failed to retrieve search results" in results["nice-failed"].message
    assert results["nice-empty"].status == "ok" and results["nice-empty"].new == 0


def test_europepmc_core_results_with_cursor_paging(server, tmp_path, catalogue_path, fetcher):
    core = json.loads(sample("europepmc", "search_cancer_core.json"))
    server.add("/rest/search?cursorMark=%2A&format=json&pageSize=100&query=cse&resultType=core", json.dumps(core), content_type="application/json")
    server.add(f"/rest/search?cursorMark={core['nextCursorMark'].replace('=', '%3D')}&format=json&pageSize=100&query=cse&resultType=core",
               sample("europepmc", "search_no_results.json"), content_type="application/json")
    config = config_of(tmp_path, [{"id": "epmc", "kind": "europepmc", "url": server.url("/rest/search"), "params": {"query": "cse"}}])
    result = run(catalogue_path, config, fetcher)["epmc"]
    distinct = {r["id"] for r in core["resultList"]["result"]}
    assert result.status == "ok" and result.new + result.updated + result.unchanged == len(core["resultList"]["result"]), result
    rows = records(catalogue_path)
    assert len(rows) <= len(distinct)
    first = core["resultList"]["result"][0]
    record = next(r for r in rows if r.doi == first["doi"].lower())
    assert record.authors[0] == first["authorList"]["author"][0]["fullName"]
    assert record.extra["pub_types"] == first["pubTypeList"]["pubType"]
    assert record.published and record.published.startswith(str(first["pubYear"]))


def test_real_feeds_become_records(server, tmp_path, catalogue_path, fetcher):
    server.add("/guardian.rss", sample("guardian-rss", "guardian.rss"), content_type="application/rss+xml")
    server.add("/natasha.xml", sample("wordpress-feeds", "natasha.xml"), content_type="application/rss+xml")
    server.add("/allthis.atom", sample("wordpress-feeds", "allthis.atom"), content_type="application/atom+xml")
    config = config_of(tmp_path, [
        {"id": "guardian", "kind": "feed", "url": server.url("/guardian.rss"), "detail": False, "doc_type": "news"},
        {"id": "natasha", "kind": "feed", "url": server.url("/natasha.xml"), "detail": False},
        {"id": "allthis", "kind": "feed", "url": server.url("/allthis.atom"), "detail": False},
    ])
    results = run(catalogue_path, config, fetcher)
    for source_id, result in results.items():
        assert result.status == "ok" and result.new > 0, (source_id, result)
    guardian = records(catalogue_path, "guardian")
    assert all(r.url.startswith("https://www.theguardian.com/") for r in guardian)
    assert all(r.published for r in guardian)
    assert all(r.study_design == "commentary_or_news" for r in guardian)
