"""Each harvester against recorded answers served on 127.0.0.1: the project's own (tests/fixtures/answers, every kind
and every sources.yaml key, no ../shared needed) and the real APIs' and feeds' samples (../shared/corpus/samples)."""
from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from conftest import FIXTURES, config_of, pdf_bytes, records, run, shared_path

from evidence.extract import html_candidate, main_text, page_date
from evidence.fetch import Fetcher
from evidence.models import Candidate, ItemFailure
from evidence.pipeline import collect

ANSWERS = FIXTURES / "answers"


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


# -- the project's own recorded answers (tests/fixtures/answers) -----------------------------------------------------


def serve(server, path: str, *parts: str, content_type: str = "text/html; charset=utf-8", status: int = 200) -> None:
    """Serve one recorded answer at `path`, its BASE placeholder replaced by the loopback server's address."""
    body = ANSWERS.joinpath(*parts).read_bytes().replace(b"BASE", server.base.encode())
    server.add(path, body, content_type=content_type, status=status)


def harvest(tmp_path: Path, fetcher: Fetcher, entry: dict[str, Any]) -> tuple[list[Candidate], list[ItemFailure], str | None]:
    """Run one source's harvester to the end: its candidates, its item failures and, if it failed, why."""
    (source,) = config_of(tmp_path, [entry]).sources
    items, failure = collect(source, fetcher)
    return ([i for i in items if isinstance(i, Candidate)], [i for i in items if isinstance(i, ItemFailure)], failure)


def by_title(candidates: list[Candidate]) -> dict[str, Candidate]:
    return {c.title: c for c in candidates}


def serve_govuk(server) -> None:
    serve(server, "/api/search.json?count=4&q=safeguarding&start=0", "govuk", "search-1.json", content_type="application/json")
    serve(server, "/api/search.json?count=4&q=safeguarding&start=4", "govuk", "search-2.json", content_type="application/json")
    for path in sorted((ANSWERS / "govuk" / "content").glob("*.json")):
        item = json.loads(path.read_text(encoding="utf-8"))
        serve(server, "/api/content" + item["base_path"], "govuk", "content", path.name, content_type="application/json")


def test_govuk_search_pages_then_content_items(server, tmp_path, fetcher):
    serve_govuk(server)
    candidates, failures, failure = harvest(tmp_path, fetcher, {
        "id": "dfe", "kind": "govuk", "url": server.url("/api/search.json"), "content_api": server.url("/api/content"),
        "params": {"q": "safeguarding", "count": 4}, "publisher": "Department for Education", "doc_type": "report"})
    assert failure is None
    found = by_title(candidates)
    assert len(candidates) == 8 and len(failures) == 2, (sorted(found), failures)
    assert any("content item without base_path or title" in f.reason for f in failures)
    assert any(f.reason == "search result without a link" for f in failures)
    cse = found["Child sexual exploitation: definition and guide for practitioners"]
    assert cse.url == "https://www.gov.uk/government/publications/child-sexual-exploitation-definition-and-guide-for-practitioners"
    assert (cse.published, cse.publisher, cse.doc_type) == ("2017-02-16", "Department for Education", "guidance")
    assert cse.links == [{"url": "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/attachment_data/file/591903/"
                                 "CSE_Guidance_Core_Document_13.02.2017.pdf",
                          "title": "Child sexual exploitation: definition and guide for practitioners", "type": "pdf"}]
    harms = found["Online Harms White Paper"]
    assert harms.publisher == "Department for Digital, Culture, Media & Sport"  # "&amp;" decoded once
    assert harms.extra["organisations"] == ["Department for Digital, Culture, Media & Sport", "Home Office"]
    assert (harms.doc_type, harms.extra["govuk_document_type"]) == ("consultation", "open_consultation")
    assert [link["type"] for link in harms.links] == ["pdf", "html"]
    assert harms.published == "2019-04-08"  # 00:15 in London (+01:00) is still 8 April
    together = found["Working together to safeguard children 2023"]
    assert together.published == "2023-12-15"  # details.first_public_at, not the first_published_at of 2024
    assert [link["type"] for link in together.links] == ["pdf", "html", "xlsx", "ods", "zip"]  # every attachment of the older HTML
    assert together.links[2]["title"] == "Changes to the guidance: summary table"
    assert not any(link["url"].endswith("/preview") for link in together.links)
    assert together.links[1]["url"].startswith("https://www.gov.uk/government/publications/working-together")
    assert found["Independent review of children's social care: final report"].published == "2022-05-23"  # 23:30 UTC = 00:30 in London
    speech = found["Example: a minister's speech on children's social care reform"]
    assert (speech.doc_type, speech.extra["govuk_document_type"]) == ("speech", "speech")
    assert speech.money[0]["amount"] == 45_000_000 and speech.sample_size == 1200
    assert found["Example: written ministerial statement on children's homes"].doc_type == "statement"
    withdrawn = found["Example: withdrawn guidance on missing children"]
    assert withdrawn.publisher == "Department for Education"  # no organisation named: the source's publisher
    assert withdrawn.extra["withdrawn"].startswith("This guidance has been replaced") and withdrawn.extra["withdrawn_at"].startswith("2018-07-26")
    external = found["Research and resources (an external result)"]
    assert external.url == "https://www.csacentre.org.uk/research-resources/" and external.published == "2021-06-23"
    assert external.doc_type == "report"  # the source's doc_type for a record that states none
    asked = [path for path, _ in server.requests if path.startswith("/api/search.json")]
    assert len(asked) == 2 and all("q=safeguarding" in p and "count=4" in p for p in asked)


def test_govuk_stops_at_max_items_and_max_pages_and_fails_on_a_non_search_answer(server, tmp_path, fetcher):
    serve_govuk(server)
    source = {"id": "dfe", "kind": "govuk", "url": server.url("/api/search.json"), "content_api": server.url("/api/content"),
              "params": {"q": "safeguarding", "count": 4}}
    candidates, _, _ = harvest(tmp_path, fetcher, {**source, "max_items": 3})
    assert len(candidates) == 3
    candidates, _, _ = harvest(tmp_path, fetcher, {**source, "max_pages": 1})
    assert len(candidates) == 4 and not any("start=4" in path for path, _ in server.requests)
    server.add("/api/not-search.json", json.dumps({"error": "no"}), content_type="application/json")
    _, _, failure = harvest(tmp_path, fetcher, {**source, "url": server.url("/api/not-search.json")})
    assert failure and "not a GOV.UK search answer" in failure


def serve_nice(server) -> None:
    serve(server, "/search/guidance?q=children", "nice", "search-1.json", content_type="application/json")
    serve(server, "/search/guidance?pa=2", "nice", "search-2.json", content_type="application/json")
    for name in ("ng76", "ng205", "ng26", "qs31"):
        serve(server, f"/guidance/{name}", "nice", "pages", f"{name}.html")
    serve(server, "/guidance/ng76/chapter/Recommendations-for-research", "nice", "pages", "research.html")


def test_nice_listing_pages_then_guidance_pages(server, tmp_path, fetcher):
    serve_nice(server)
    candidates, failures, failure = harvest(tmp_path, fetcher, {"id": "nice", "kind": "nice", "url": server.url("/search/guidance"),
                                                                "params": {"q": "children"}})
    assert failure is None
    assert len(candidates) == 7 and len(failures) == 2, failures
    refs = {c.project_ref: c for c in candidates}
    ng76 = refs["NG76"]
    assert (ng76.title, ng76.published, ng76.publisher, ng76.doc_type) == ("Child abuse and neglect", "2017-10-02", "NICE", "guideline")
    assert ng76.summary.startswith("This guideline covers recognising and responding to abuse")
    assert "spot the signs early" in ng76.text  # the guidance page's own text
    assert [link["url"] for link in ng76.links] == [server.url("/media/ng76-evidence-review.pdf")]
    assert ng76.extra["status"] == ["Published"] and ng76.extra["last_updated"] == "2017-10-02"
    assert refs["NG26"].title.startswith("Children's attachment: attachment in children")  # markup in the title dropped
    assert refs["QS31"].doc_type == "quality_standard" and refs["QS31"].published is None
    research = [c for c in candidates if c.doc_type == "research_recommendation"]
    assert len({c.url for c in research}) == 2 and all("#" in c.url for c in research)  # distinct #anchors of one page
    developing = next(c for c in candidates if c.title == "Example guideline in development")
    assert "HTTP 404" in developing.extra["detail_error"]  # its page failed: the listing's fields still make the record
    assert {f.reason.split(" has ")[0] for f in failures} >= {"listing entry is not an object"}
    assert server.hits("/search/guidance?pa=2") == 1


def test_nice_without_detail_reads_the_listing_embedded_in_a_page(server, tmp_path, fetcher):
    serve(server, "/guidance/published", "nice", "embedded.html")
    candidates, _, failure = harvest(tmp_path, fetcher, {"id": "nice", "kind": "nice", "url": server.url("/guidance/published"),
                                                         "detail": False, "doc_type": "guideline", "max_items": 3})
    assert failure is None and len(candidates) == 3
    assert all(c.doc_type == "guideline" for c in candidates)  # the source's doc_type wins over NICE's types
    assert server.hits("/guidance/ng76") == 0


def test_nice_failed_search_fails_and_no_results_is_an_empty_success(server, tmp_path, fetcher):
    serve(server, "/failed", "nice", "failed.json", content_type="application/json")
    serve(server, "/empty", "nice", "no-results.json", content_type="application/json")
    _, _, failure = harvest(tmp_path, fetcher, {"id": "f", "kind": "nice", "url": server.url("/failed")})
    assert failure and "NICE search failed (Failed to retrieve search results)" in failure
    candidates, failures, failure = harvest(tmp_path, fetcher, {"id": "e", "kind": "nice", "url": server.url("/empty")})
    assert (candidates, failures, failure) == ([], [], None)


def test_europepmc_cursor_pages(server, tmp_path, fetcher):
    query = "/rest/search?cursorMark={}&format=json&pageSize=100&query=exploitation&resultType=core"
    serve(server, query.format("%2A"), "europepmc", "page-1.json", content_type="application/json")
    serve(server, query.format("AoE-page-2"), "europepmc", "page-2.json", content_type="application/json")
    entry = {"id": "epmc", "kind": "europepmc", "url": server.url("/rest/search"), "params": {"query": "exploitation"}, "publisher": "Europe PMC"}
    candidates, failures, failure = harvest(tmp_path, fetcher, entry)
    assert failure is None and len(candidates) == 4 and [f.reason for f in failures] == ["result without a title"]
    article, preprint, editorial, erratum = candidates
    assert article.url == "https://europepmc.org/article/MED/99999901" and article.doi == "10.5555/example.0001"
    assert (article.doc_type, article.published, article.publisher) == ("journal_article", "2021-03-04", "Example Journal of Child Welfare")
    assert article.authors == ["Example Author A", "Example Author B"]
    assert "Placement moves fell (p<0.05); the odds of a move were 5 × 10-1 of those before." in article.summary  # nothing lost after "<"
    assert article.summary.endswith("Conclusion Specialist foster care may help.")
    assert article.extra["pub_types"] == ["research-article", "Journal Article"] and article.extra["mesh"] == ["Child Abuse, Sexual"]
    assert (preprint.doc_type, preprint.authors, preprint.publisher) == ("preprint", ["Author C", "Author D"], "Europe PMC")
    assert (editorial.doc_type, erratum.doc_type) == ("editorial", "erratum")
    assert len(harvest(tmp_path, fetcher, {**entry, "max_items": 2})[0]) == 2
    assert len(harvest(tmp_path, fetcher, {**entry, "max_pages": 1})[0]) == 2
    serve(server, "/rest/bad", "europepmc", "not-a-search.json", content_type="application/json")
    assert "not a Europe PMC search answer" in (harvest(tmp_path, fetcher, {**entry, "url": server.url("/rest/bad")})[2] or "")


def test_feeds_keep_the_publishers_calendar_day_and_read_title_only_entries_pages(server, tmp_path, fetcher):
    serve(server, "/feed/example.rss", "feed", "example.rss", content_type="application/rss+xml")
    serve(server, "/news/title-only", "feed", "pages", "title-only.html")
    candidates, failures, failure = harvest(tmp_path, fetcher, {"id": "news", "kind": "feed", "url": server.url("/feed/example.rss"),
                                                                "doc_type": "news"})
    assert failure is None
    found = by_title(candidates)
    assert found["Example: evening post in San Francisco"].published == "2017-11-24"  # 19:14 -0800, already the 25th in UTC
    assert found["Example: evening post in San Francisco"].authors == ["Example Writer"]
    assert found["Example: evening post in San Francisco"].extra["feed_tags"] == ["Research"]
    assert found["Example: morning post in Adelaide"].published == "2013-07-18"  # 05:47 +10:30, still the 17th in UTC
    assert found["Example: a date written year first & without padding"].published == "2020-01-10"
    page = found["Example: a title-only entry whose page holds the summary"]
    assert page.summary.startswith("The page of an entry the feed gave only a title for")
    assert (page.publisher, page.published, page.doc_type) == ("Example Partner Organisation", "2023-03-06", "news")
    assert "a made-up evaluation of mentoring" in page.text and "Example footer" not in page.text
    reposted = found["Example: an entry re-posted from another publisher"]
    assert reposted.publisher == "Example Original Publisher" and reposted.summary.startswith("A longer body in content:encoded")
    assert all(c.publisher for c in candidates)
    assert [f.reason for f in failures] == ["entry has no http(s) link"]
    assert server.hits("/news/evening-post") == 0  # an entry with a summary is not fetched
    gone = found["Example: a page that is not there"]  # a title-only entry whose page 404s: the feed's fields, marked
    assert (gone.url, gone.published, gone.extra["detail_error"]) == (server.url("/news/gone"), "2023-03-09", "HTTP 404")
    funding = found["Example: an announcement of money for family help"]  # an entry's own text gives money and a sample
    assert [(m["amount"], m["text"]) for m in funding.money] == [(45_000_000, "£45 million"), (17_000_000_000, "£17 billion a year")]
    assert funding.money[1]["per"] == "year" and funding.sample_size == 1200


def test_atom_feed_without_detail_and_a_broken_feed_keeps_what_was_read(server, tmp_path, fetcher):
    serve(server, "/feed/govuk.atom", "feed", "govuk.atom", content_type="application/atom+xml")
    serve(server, "/feed/broken.rss", "feed", "broken.rss", content_type="application/rss+xml")
    candidates, failures, failure = harvest(tmp_path, fetcher, {"id": "dfe-feed", "kind": "feed", "url": server.url("/feed/govuk.atom"),
                                                                "detail": False, "max_items": 3})
    assert failure is None and not failures and len(candidates) == 3
    review = candidates[1]
    assert review.title == "Independent review of children\u2019s social care: final report"
    assert review.published == "2022-05-23" and review.publisher == "Department for Education - Publications"
    assert review.summary.startswith("The final report of the independent review") and "<p>" not in review.summary
    assert candidates[2].extra["feed_tags"] == ["Children's social care"]
    candidates, failures, failure = harvest(tmp_path, fetcher, {"id": "broken", "kind": "feed", "url": server.url("/feed/broken.rss"), "detail": False})
    assert failure is None and candidates[0].title == "Example: an entry before the feed breaks"
    assert any(f.reason.startswith("malformed feed") for f in failures)


def serve_html(server) -> None:
    for name in ("listing-1", "listing-2", "listing-3"):
        serve(server, f"/html/{name}.html", "html", f"{name}.html")
    for name in ("jtai", "hard-to-escape", "article", "undated", "untitled"):
        serve(server, f"/html/pages/{name}", "html", "pages", f"{name}.html")
    server.add("/html/reports/mentoring.pdf", pdf_text("mentoring", title=True), content_type="application/pdf")


def pdf_text(name: str, title: bool = False) -> bytes:
    text = (ANSWERS / "pdf" / f"{name}.txt").read_text(encoding="utf-8")
    return pdf_bytes(text, title=text.splitlines()[0] if title else None)


HTML_SOURCE = {"id": "reports", "kind": "html", "item": ".result", "title": ".result-title", "link": "a.read-more", "date": "time",
               "summary": ".result-summary", "next": "a.next", "max_pages": 2, "publisher": "Example publisher", "doc_type": "research_report",
               "params": {"sort": "newest"}}


def test_html_listing_pages_and_detail_pages(server, tmp_path, fetcher):
    serve_html(server)
    candidates, failures, failure = harvest(tmp_path, fetcher, {**HTML_SOURCE, "url": server.url("/html/listing-1.html")})
    assert failure is None
    found = by_title(candidates)
    assert len(candidates) == 7 and len(failures) == 1, (sorted(found), failures)
    assert "no http(s) link" in failures[0].reason
    gone = found["Example: a report whose page has gone"]  # its page 404s: stored from the listing's fields, marked
    assert gone.url == server.url("/html/pages/gone") and gone.extra["detail_error"] == "HTTP 404"
    assert (gone.published, gone.publisher, gone.doc_type) == ("2019-11-05", "Example publisher", "research_report")
    assert gone.summary == "An example report the listing still describes after its page was taken down."
    jtai = found["The multi-agency response to child sexual abuse in the family environment"]  # not the survey banner
    assert (jtai.publisher, jtai.published, jtai.doc_type) == ("Ofsted", "2020-02-27", "research_report")  # the page's metadata list
    assert jtai.summary.startswith("Findings of joint targeted area inspections")
    assert [link["type"] for link in jtai.links] == ["pdf", "ods"]  # mailto: dropped
    assert "too much of it goes unrecognised" in jtai.text and "Open Government Licence" not in jtai.text
    escape = found["It was hard to escape: safeguarding children at risk from criminal exploitation"]  # JSON-LD headline, not the short <h1>
    assert (escape.publisher, escape.published) == ("Child Safeguarding Practice Review Panel", "2020-03-03")
    pdf = found["Example: evaluation of a mentoring scheme for young people leaving care"]
    assert pdf.sample_size == 30 and pdf.money[0]["amount"] == 120_000 and pdf.project_ref == "EX-22-0001"
    assert pdf.published == "2022-09" and pdf.links[0]["type"] == "pdf"
    article = found["Example: specialist foster care for young people at risk of sexual exploitation"]
    assert article.authors == ["Example Author A", "Example Author B"] and article.doi == "10.5555/example.0001"
    assert (article.published, article.publisher) == ("2021-03-04", "Example Journal of Child Welfare")
    undated = found["Example: a briefing dated only on the listing"]
    assert (undated.published, undated.publisher) == ("2021-06-15", "Example Briefings Unit")  # the listing's `date`; a labelled publisher
    assert found["Example: a page with no title of its own"].publisher == "Example publisher"  # the listing's `title`, the source's publisher
    assert server.hits("/html/listing-3.html") == 0  # max_pages: 2
    first, second = [path for path, _ in server.requests if path.startswith("/html/listing-")]
    assert first == "/html/listing-1.html?sort=newest" and second == "/html/listing-2.html"  # `params` on the first page only
    assert len(harvest(tmp_path, fetcher, {**HTML_SOURCE, "url": server.url("/html/listing-1.html"), "max_items": 2})[0]) == 2


def test_html_digest_page_items_are_records(server, tmp_path, fetcher):
    serve(server, "/digest", "html", "digest.html")
    candidates, failures, failure = harvest(tmp_path, fetcher, {"id": "digest", "kind": "html", "url": server.url("/digest"), "detail": False,
                                                                "item": "article.digest-item", "date": "time", "summary": ".summary"})
    assert failure is None and not failures and len(candidates) == 3
    jtai, escape, untitled = candidates
    assert jtai.url.startswith("https://www.gov.uk/government/publications/") and jtai.publisher == "Ofsted"
    assert jtai.published == "2020-02-27" and jtai.summary == "Joint inspections found that too much child sexual abuse in the family goes unrecognised."
    assert escape.url.startswith(server.url("/digest#item-")) and escape.publisher == "Child Safeguarding Practice Review Panel"
    assert escape.published == "2020-03-03"
    assert untitled.title == "Example: an item with no heading, whose first line is its title"


def test_pdf_sources_a_page_of_links_and_a_pdf(server, tmp_path, fetcher):
    from fpdf import FPDF

    serve(server, "/reports/", "pdf", "listing.html")
    server.add("/reports/mentoring.pdf", pdf_text("mentoring", title=True), content_type="application/pdf")
    server.add("/reports/return-home.pdf", pdf_text("return-home"), content_type="application/octet-stream")  # sniffed: %PDF-
    locked = FPDF()
    locked.set_encryption(owner_password="owner", user_password="reader")
    locked.add_page()
    locked.set_font("Helvetica", size=10)
    locked.cell(0, 5, "A report behind a password")
    server.add("/reports/locked.pdf", bytes(locked.output()), content_type="application/pdf")
    server.add("/reports/not-really.pdf", "<html><body>Not a PDF</body></html>")
    candidates, failures, failure = harvest(tmp_path, fetcher, {"id": "pdfs", "kind": "pdf", "url": server.url("/reports/"), "link": "a.report",
                                                                "publisher": "Example Research Centre"})
    assert failure is None and len(candidates) == 2
    reasons = sorted(f.reason for f in failures)
    assert reasons[0] == "HTTP 404" and reasons[1] == "encrypted PDF needs a password" and reasons[2].startswith("not a PDF (content type text/html")
    mentoring, home = candidates
    assert mentoring.title == "Example: evaluation of a mentoring scheme for young people leaving care"
    assert home.title == "Example: return home interviews, what young people told us"  # no metadata title: the first page's
    assert (home.published, home.sample_size, home.publisher, home.doc_type) == ("2019-03-14", 24, "Example Research Centre", "research_report")
    direct, _, failure = harvest(tmp_path, fetcher, {"id": "one", "kind": "pdf", "url": server.url("/reports/mentoring.pdf"), "doc_type": "evaluation"})
    assert failure is None and [c.doc_type for c in direct] == ["evaluation"]
    server.add("/no-pdfs", "<html><body><a href='/about'>About</a></body></html>")
    assert "no PDF links" in (harvest(tmp_path, fetcher, {"id": "none", "kind": "pdf", "url": server.url("/no-pdfs")})[2] or "")


def test_harvested_fixture_sources_are_stored_as_records(server, tmp_path, catalogue_path, fetcher):
    """Every kind end to end through the pipeline from the project's own answers: stored, classified, counted."""
    serve_govuk(server)
    serve_nice(server)
    serve_html(server)
    serve(server, "/feed/govuk.atom", "feed", "govuk.atom", content_type="application/atom+xml")
    config = config_of(tmp_path, [
        {"id": "dfe", "kind": "govuk", "url": server.url("/api/search.json"), "content_api": server.url("/api/content"),
         "params": {"q": "safeguarding", "count": 4}, "name": "DfE on GOV.UK"},
        {"id": "nice", "kind": "nice", "url": server.url("/search/guidance"), "params": {"q": "children"}},
        {**HTML_SOURCE, "url": server.url("/html/listing-1.html")},
        {"id": "dfe-feed", "kind": "feed", "url": server.url("/feed/govuk.atom"), "detail": False},
    ])
    results = run(catalogue_path, config, fetcher)
    assert {r.source_id: r.status for r in results.values()} == {"dfe": "ok", "nice": "ok", "reports": "ok", "dfe-feed": "ok"}
    # item errors: each lost item, and each item stored from its listing's fields because its page failed (NICE's and
    # the listing's 404s: kept, and named in item_errors)
    assert (results["dfe"].errors, results["nice"].errors, results["reports"].errors) == (2, 3, 2)
    assert any("/html/pages/gone: its page was not read (HTTP 404); stored from the listing" in e for e in results["reports"].item_errors)
    stored = {r.title: r for r in records(catalogue_path)}
    assert stored["Online Harms White Paper"].publisher == "Department for Digital, Culture, Media & Sport"
    assert stored["Child abuse and neglect"].published == "2017-10-02"
    assert stored["The multi-agency response to child sexual abuse in the family environment"].publisher == "Ofsted"


def test_the_extraction_libraries_never_touch_the_network(monkeypatch):
    """htmldate and trafilatura get markup only: a body that is a bare URL, and pages full of links, fetch nothing."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network use: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for body in (b"https://example.org/report", b"<html><body><a href='https://example.org/a.pdf'>report</a></body></html>",
                 (ANSWERS / "html" / "pages" / "jtai.html").read_bytes()):
        html_candidate(body, "https://example.org/report")
        page_date(body, "https://example.org/2020/01/02/report")
        main_text(body, "https://example.org/report")
    assert page_date("https://example.org/report", None) is None  # type: ignore[arg-type]  # a str is refused, never fetched


# -- nothing a source gave is dropped (issue 12 item 5) ----------------------------------------------------------------


def test_a_listing_whose_later_page_fails_keeps_the_pages_read_and_the_source_still_fails(server, tmp_path, catalogue_path, fetcher):
    serve_govuk(server)
    serve_nice(server)
    serve_html(server)
    query = "/rest/search?cursorMark={}&format=json&pageSize=100&query=exploitation&resultType=core"
    serve(server, query.format("%2A"), "europepmc", "page-1.json", content_type="application/json")
    server.add("/html/listing-2.html", "gone", status=404)  # each listing's second page fails
    server.add("/search/guidance?pa=2", "gone", status=404)
    server.add("/api/search.json?count=4&q=safeguarding&start=4", "down", status=500)
    server.add(query.format("AoE-page-2"), "gone", status=404)  # Europe PMC's next cursor
    config = config_of(tmp_path, [
        {"id": "dfe", "kind": "govuk", "url": server.url("/api/search.json"), "content_api": server.url("/api/content"),
         "params": {"q": "safeguarding", "count": 4}},
        {"id": "nice", "kind": "nice", "url": server.url("/search/guidance"), "params": {"q": "children"}},
        {**HTML_SOURCE, "url": server.url("/html/listing-1.html")},
        {"id": "epmc", "kind": "europepmc", "url": server.url("/rest/search"), "params": {"query": "exploitation"}},
    ])
    results = run(catalogue_path, config, fetcher)
    assert {r.source_id: r.status for r in results.values()} == {"dfe": "failed", "nice": "failed", "reports": "failed", "epmc": "failed"}
    held = {source_id: {r.title for r in records(catalogue_path, source_id)} for source_id in results}
    assert "Online Harms White Paper" in held["dfe"] and "Child sexual exploitation: definition and guide for practitioners" in held["dfe"]
    assert {"Child abuse and neglect", "Looked-after children and young people"} <= held["nice"]
    assert "The multi-agency response to child sexual abuse in the family environment" in held["reports"]
    assert "Example: a report whose page has gone" in held["reports"]
    assert len(held["epmc"]) == 2 and results["epmc"].fetched == 2
    for source_id, page_two in (("dfe", "HTTP 500"), ("nice", "HTTP 404"), ("reports", "HTTP 404"), ("epmc", "HTTP 404")):
        result = results[source_id]
        assert page_two in result.message and "items read before it are stored" in result.message, result
        assert result.new == len(held[source_id]) and result.errors >= 1 and "\n" not in result.message
    assert results["reports"].message.startswith(server.url("/html/listing-2.html"))


def test_a_failing_first_page_still_stores_nothing(server, tmp_path, catalogue_path, fetcher):
    server.add("/html/listing-1.html", "down", status=503)
    results = run(catalogue_path, config_of(tmp_path, [{**HTML_SOURCE, "url": server.url("/html/listing-1.html")}]), fetcher)
    assert results["reports"].status == "failed" and "HTTP 503" in results["reports"].message and results["reports"].fetched == 0
    assert records(catalogue_path) == []


def test_an_entry_whose_page_fails_is_stored_from_the_feed_and_completed_when_the_page_answers(server, tmp_path, catalogue_path, captures):
    from conftest import make_fetcher
    from server import Answer

    feed_body = ANSWERS.joinpath("feed", "example.rss").read_bytes().replace(b"BASE", server.base.encode())
    server.add("/feed/example.rss", feed_body, content_type="application/rss+xml", etag='"v1"')
    serve(server, "/news/title-only", "feed", "pages", "title-only.html")
    page = ANSWERS.joinpath("feed", "pages", "title-only.html").read_bytes()
    server.sequence("/news/gone", [Answer(b"gone", 404), Answer(b"slow", delay=2.0),
                                   Answer(page.replace(b"Example: a title-only entry whose page holds the summary", b"Back again"),
                                          200, {"Content-Type": "text/html; charset=utf-8"})])
    config = config_of(tmp_path, [{"id": "news", "kind": "feed", "url": server.url("/feed/example.rss")}])
    gone_url = server.url("/news/gone")

    def gone():
        return next(r for r in records(catalogue_path, "news") if r.url == gone_url)

    with make_fetcher(captures, timeout=0.5, retries=0) as fetcher:
        first = run(catalogue_path, config, fetcher)["news"]
        assert first.status == "ok" and any(e.startswith(f"{gone_url}: its page was not read (HTTP 404)") for e in first.item_errors)
        stored = gone()
        assert (stored.title, stored.published, stored.extra["detail_error"]) == ("Example: a page that is not there", "2023-03-09", "HTTP 404")
        # second harvest: the feed answers 304 and the page times out; the record waits, still marked, nothing else changes
        second = run(catalogue_path, config, fetcher)["news"]
        assert server.hits("/news/gone") == 2 and second.new == 0 and second.updated == 0, second
        assert any(e.startswith(f"{gone_url}: its page was not read (timed out") for e in second.item_errors), second.item_errors
        assert gone().extra["detail_error"] and gone().summary == stored.summary
        # third harvest: the feed is still 304, the page answers: the record takes the page's fields, unmarked
        third = run(catalogue_path, config, fetcher)["news"]
    completed = gone()
    assert third.updated == 1 and third.new == 0 and "detail_error" not in completed.extra, third
    assert completed.summary.startswith("The page of an entry the feed gave only a title for")
    assert completed.title == "Example: a page that is not there"  # the feed's title still names it
    assert [path for path, _ in server.requests].count("/feed/example.rss") == 3
    # a fourth harvest, the feed changed and the page failing again, leaves the completed record as its page made it
    server.add("/feed/example.rss", feed_body, content_type="application/rss+xml", etag='"v2"')
    server.sequence("/news/gone", [Answer(b"gone", 404)])
    with make_fetcher(captures, timeout=0.5, retries=0) as fetcher:
        fourth = run(catalogue_path, config, fetcher)["news"]
    assert server.hits("/news/gone") == 1 and fourth.updated == 0 and fourth.new == 0, fourth
    assert any(e.startswith(f"{gone_url}: its page was not read (HTTP 404)") for e in fourth.item_errors)
    assert gone().summary == completed.summary and "detail_error" not in gone().extra


def test_items_at_fragments_of_one_page_stay_distinct_and_read_their_own_section(server, tmp_path, fetcher):
    serve_nice(server)
    candidates, _, failure = harvest(tmp_path, fetcher, {"id": "nice", "kind": "nice", "url": server.url("/search/guidance"),
                                                         "params": {"q": "children"}})
    assert failure is None
    research = sorted((c for c in candidates if c.doc_type == "research_recommendation"), key=lambda c: c.url)
    assert [c.url.rsplit("#", 1)[1] for c in research] == ["1-early-help", "2-talking-about-abuse"]
    assert research[0].text.endswith("1 Early help\nExample question.") and "Talking about abuse" not in research[0].text
    assert "Early help" not in research[1].text
    assert server.hits("/guidance/ng76/chapter/Recommendations-for-research") == 1  # one fetch for both anchors
    page = "<html><body><main><h1>Digest</h1><h2 id='a'>First finding</h2><p>Costs £2m a year.</p><h2 id='b'>Second</h2><p>Other.</p></main></body></html>"
    server.add("/anchored", page)
    server.add("/anchors", "<html><body>" + "".join(f"<article><h3><a href='/anchored#{k}'>Item {k}</a></h3></article>" for k in "ab")
               + "</body></html>")
    items, _, failure = harvest(tmp_path, fetcher, {"id": "anchors", "kind": "html", "url": server.url("/anchors")})
    assert failure is None and [c.url for c in items] == [server.url("/anchored#a"), server.url("/anchored#b")]
    assert [c.title for c in items] == ["Item a", "Item b"]  # the listing's titles, not the page's one title
    assert items[0].money[0]["amount"] == 2_000_000 and items[1].money == [] and server.hits("/anchored") == 1


def test_a_govuk_content_item_that_fails_is_stored_from_the_search_answer(server, tmp_path, fetcher):
    serve_govuk(server)
    server.add("/api/content/government/consultations/online-harms-white-paper", "down", status=500)
    candidates, _, failure = harvest(tmp_path, fetcher, {
        "id": "dfe", "kind": "govuk", "url": server.url("/api/search.json"), "content_api": server.url("/api/content"),
        "params": {"q": "safeguarding", "count": 4}, "publisher": "Department for Education"})
    assert failure is None
    harms = by_title(candidates)["Online Harms White Paper"]
    assert harms.url == "https://www.gov.uk/government/consultations/online-harms-white-paper"
    assert harms.extra["detail_error"].startswith("HTTP 500") and harms.summary and harms.links == []


def test_enabled_false_skips_a_source_unless_it_is_named_and_rate_limit_spaces_its_requests(server, tmp_path, catalogue_path, fetcher):
    import time

    serve_html(server)
    serve(server, "/feed/govuk.atom", "feed", "govuk.atom", content_type="application/atom+xml")
    config = config_of(tmp_path, [{"id": "dfe-feed", "kind": "feed", "url": server.url("/feed/govuk.atom"), "detail": False, "enabled": False},
                                  {**HTML_SOURCE, "url": server.url("/html/listing-1.html"), "max_pages": 1, "max_items": 2,
                                   "rate_limit": 4}])
    assert [s.id for s in config.select()] == ["reports"]
    started = time.monotonic()
    results = run(catalogue_path, config, fetcher)
    elapsed = time.monotonic() - started
    assert list(results) == ["reports"] and server.hits("/feed/govuk.atom") == 0
    assert elapsed >= 0.45  # three requests to one host at 4 a second: at least two gaps of 0.25 s (a lower bound, never a speed figure)
    assert run(catalogue_path, config, fetcher, ("dfe-feed",))["dfe-feed"].new == 3  # named, it is harvested though disabled


def test_a_listing_item_whose_page_fails_with_nothing_to_name_it_or_behind_robots_is_an_item_error(server, tmp_path, fetcher):
    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.add("/list", "<html><body><article><p><a href='/gone'>read</a></p></article>"
                        "<article><h3><a href='/private/report'>A private report</a></h3></article></body></html>")
    candidates, failures, failure = harvest(tmp_path, fetcher, {"id": "l", "kind": "html", "url": server.url("/list")})
    assert failure is None and candidates == []
    assert [(f.url, f.reason) for f in failures] == [(server.url("/gone"), "HTTP 404"), (server.url("/private/report"), "disallowed by robots.txt")]
    assert server.hits("/private/report") == 0


def test_feed_links_are_joined_to_the_feed_url_and_to_xml_base():
    """Relative entry links, a relative guid used as permalink and a relative xml:base all resolve against the feed's
    own URL; an absolute xml:base and a tag: id stay as they are."""
    from evidence.harvesters.feed import entry_link, parse_feed

    rss = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
           b"<item><title>A</title><link>/reports/a</link></item>"
           b"<item><title>B</title><guid isPermaLink='true'>b.html</guid></item>"
           b"<item><title>C</title><guid isPermaLink='false'>tag:example.org,2020:c</guid><link>https://other.example/c</link></item>"
           b"</channel></rss>")
    parsed = parse_feed(rss, "application/rss+xml", "https://www.example.org/news/feed.xml")
    assert [entry_link(e) for e in parsed.entries] == ["https://www.example.org/reports/a", "https://www.example.org/news/b.html",
                                                      "https://other.example/c"]
    assert parsed.entries[2]["id"] == "tag:example.org,2020:c"
    atom = (b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom' xml:base='archive/'><title>T</title>"
            b"<entry><title>D</title><id>urn:uuid:1</id><link rel='alternate' href='d'/></entry>"
            b"<entry xml:base='https://mirror.example/x/'><title>E</title><id>urn:uuid:2</id><link href='e'/></entry></feed>")
    parsed = parse_feed(atom, "application/atom+xml", "https://www.example.org/news/atom.xml")
    assert [entry_link(e) for e in parsed.entries] == ["https://www.example.org/news/archive/d", "https://mirror.example/x/e"]
