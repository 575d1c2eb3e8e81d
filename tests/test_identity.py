"""Record identity (evidence/identify.py, catalogue places): distinct documents stay distinct, true duplicates merge,
fields come from the highest place whatever the order, a second harvest changes nothing, curators split and join,
migration 0004 keeps every row, and the same holds on the real recordings in ../shared/corpus/real."""
from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy
import yaml
from click.testing import CliRunner
from conftest import ROOT, SHARED, config_of, last_seen, records, run, write_sources
from sqlalchemy import text
from sqlmodel import Session

from evidence import catalogue, migrations
from evidence.cli import cli
from evidence.identify import canonical_url, distinguishing, url_key
from evidence.models import Candidate, utcnow

DISTINCT = [
    ("Fostering in England 1 April 2021 to 31 March 2022", "Fostering in England 1 April 2022 to 31 March 2023", "numbers"),
    ("Inspection of Kent local authority children's services", "Inspection of Kirklees local authority children's services", "names"),
    ("Local child safeguarding practice review: Child D", "Local child safeguarding practice review: Child E", "identifiers"),
    ("Evaluation of the Family Safeguarding model: Report 3", "Evaluation of the Family Safeguarding model: Report 4", "numbers"),
    ("National survey of foster carers: phase 2 findings", "National survey of foster carers: wave 2 findings", "editions"),
    ("Keeping children safe in education 2023", "Keeping children safe in education 2024", "numbers"),
    ("Children's social care market study: interim report", "Children's social care market study: final report", "editions"),
    ("Serious case review into the death of Child A", "Serious case review into the death of Child B", "identifiers"),
    ("Ofsted inspection of Leeds youth offending service", "Ofsted inspection of Leicester youth offending service", "names"),
    ("Report 0-1 on foster care", "Report 1-0 on foster care", "numbers"),
    ("Children looked after in England including adoptions: second edition", "Children looked after in England including adoptions: third edition", "numbers"),
]
SAME = [
    ("Children's social care: the organisation of services", "Childrens Social Care - The Organization of Services"),
    ("The impact of specialist foster care on placement stability", "Impact of Specialist Foster Care on Placement Stability."),
    ("Support for care leavers: a programme evaluation", "Support for care leavers: a program evaluation"),
]
SUMMARY = ("An evaluation of specialist foster care for young people at risk of child sexual exploitation found improvements in "
           "placement stability and a reduction in missing episodes over twelve months.")


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def rss(base: str, items: list[tuple[str, str, str]], date: str = "Wed, 04 Jan 2017 10:00:00 GMT") -> str:
    """A feed; an item path starting with //localhost is on another site (the same loopback server by another name)."""
    other = base.replace("127.0.0.1", "localhost")
    entries = "".join(f"<item><title>{t}</title><link>{other + p[11:] if p.startswith('//localhost') else base + p}</link>"
                      f"<description>{s}</description><pubDate>{date}</pubDate></item>" for t, p, s in items)
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Research news</title><link>{base}/</link>{entries}</channel></rss>"


def feed(server, path: str, items: list[tuple[str, str, str]], **extra) -> dict:
    server.add(path, rss(server.base, items), content_type="application/rss+xml")
    return {"id": path.strip("/").split(".")[0], "kind": "feed", "url": server.url(path), "detail": False, "rate_limit": 0, **extra}


# -- the rules --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "why"), DISTINCT)
def test_titles_that_differ_by_a_number_name_identifier_or_edition_are_different_documents(a, b, why):
    reason = distinguishing(a, b)
    assert reason is not None and reason.startswith(why), reason
    assert distinguishing(b, a) is not None


@pytest.mark.parametrize(("a", "b"), SAME)
def test_titles_that_differ_only_by_case_punctuation_article_or_spelling_are_not_told_apart(a, b):
    assert distinguishing(a, b) is None
    assert distinguishing(a, b, "2021-03-01", "2021-09-30") is None  # a copy posted months later


def test_publication_dates_years_apart_tell_documents_apart():
    assert distinguishing(SAME[1][0], SAME[1][1], "2014-05-01", "2019-05-01").startswith("published more than a year apart")
    assert distinguishing(SAME[1][0], SAME[1][1], "2014", "2019").startswith("published")


def test_url_keys_drop_tracking_case_and_trailing_slash_but_keep_fragments():
    assert url_key("https://WWW.Example.org/Report/?utm_source=rss&utm_medium=x") == url_key("http://example.org/report")
    assert url_key("https://example.org/guidance#rec-1") != url_key("https://example.org/guidance#rec-2")
    assert canonical_url("https://example.org/guidance/#rec-1") == "https://example.org/guidance#rec-1"


# -- through the catalogue --------------------------------------------------------------------------------------------------


def _upsert(db: str, items: list[tuple[str, Candidate]]) -> list[str]:
    engine = catalogue.connect(db)
    outcomes = []
    try:
        with Session(engine) as session:
            index = catalogue.MatchIndex(session)
            batch = catalogue.StoreBatch()
            now = utcnow()
            for source, candidate in items:
                outcomes.append(catalogue.upsert(session, candidate, source, now, None, index, batch))
            catalogue.flush_batch(session, batch, now)
            session.commit()
    finally:
        engine.dispose()
    return outcomes


def test_distinct_reports_from_one_feed_stay_distinct_and_a_second_harvest_updates_nothing(server, tmp_path, catalogue_path, fetcher):
    titles = [t for a, b, _ in DISTINCT for t in (a, b)]
    source = feed(server, "/series.xml", [(t, f"/doc/{n}", SUMMARY) for n, t in enumerate(titles)])
    config = config_of(tmp_path, [source])
    first = run(catalogue_path, config, fetcher)["series"]
    assert (first.new, first.updated) == (len(titles), 0)
    assert sorted(r.title for r in records(catalogue_path)) == sorted(titles)
    before = {r.id: (r.title, r.published, r.url, r.content_hash, r.summary) for r in records(catalogue_path)}
    second = run(catalogue_path, config, fetcher)["series"]
    assert (second.new, second.updated, second.unchanged) == (0, 0, len(titles))
    assert {r.id: (r.title, r.published, r.url, r.content_hash, r.summary) for r in records(catalogue_path)} == before


def test_true_duplicates_merge_same_canonical_url_same_doi_and_a_copy_on_another_site(catalogue_path):
    catalogue.connect(catalogue_path).dispose()
    items = [
        ("dfe", Candidate(url="https://www.gov.uk/government/publications/csc-review", title="Children's social care review: final report",
                          published="2022-05-23", summary="The review's final report.")),
        ("dfe", Candidate(url="https://WWW.gov.uk/government/publications/csc-review/?utm_source=feed", title="Children's social care review: final report",
                          published="2022-05-23", summary="The review's final report.")),
        ("members", Candidate(url="https://members.example.org/news/csc-review-copy", title="Children’s Social Care Review - Final Report",
                              published="2022-05-30", summary="Our members' copy.")),
        ("epmc", Candidate(url="https://europepmc.org/article/MED/1", title="Kinship care outcomes", doi="10.1000/KIN.1")),
        ("epmc", Candidate(url="https://europepmc.org/article/PMC/PMC1", title="Kinship care outcomes (full text)", doi="https://doi.org/10.1000/kin.1")),
        ("nice", Candidate(url="https://www.nice.org.uk/guidance/ng1/chapter/research#rec-1", title="Research recommendation one on care")),
        ("nice", Candidate(url="https://www.nice.org.uk/guidance/ng1/chapter/research#rec-2", title="Research recommendation two on care")),
    ]
    assert _upsert(catalogue_path, items) == ["new", "unchanged", "updated", "new", "updated", "new", "new"]
    rows = {r.url: r for r in records(catalogue_path)}
    assert len(rows) == 4
    review = rows["https://www.gov.uk/government/publications/csc-review"]
    assert review.summary == "The review's final report."  # the publisher's own page gives the fields, not the copy
    engine = catalogue.connect(catalogue_path)
    with Session(engine) as session:
        places = catalogue.record_places(session, review.id)
        everything = catalogue.all_places(session)
    engine.dispose()
    assert [(p["source"], p["url"], p["relation"]) for p in places] == [
        ("dfe", "https://www.gov.uk/government/publications/csc-review", "first"),
        ("members", "https://members.example.org/news/csc-review-copy", "title")]
    assert datetime.fromisoformat(places[0]["first_seen"]) and everything[review.id] == places
    assert _upsert(catalogue_path, items) == ["unchanged"] * len(items)


def test_different_urls_on_one_site_from_one_source_are_different_documents_unless_a_doi_says_so(catalogue_path):
    catalogue.connect(catalogue_path).dispose()
    title = "Annual report of the independent reviewing officers 2023"
    items = [("site", Candidate(url="https://example.org/iro/annual", title=title, published="2023-10-01")),
             ("site", Candidate(url="https://example.org/iro/annual-easy", title=title, published="2023-10-01")),
             ("site", Candidate(url="https://example.org/a", title="Outcomes of adoption breakdown study", doi="10.1000/x")),
             ("site", Candidate(url="https://example.org/b", title="Outcomes of adoption breakdown study", doi="10.1000/x"))]
    assert _upsert(catalogue_path, items) == ["new", "new", "new", "updated"]
    assert len(records(catalogue_path)) == 3


def test_fields_come_from_the_highest_place_whatever_order_sources_are_stored_in(new_catalogue):
    publisher = ("govuk", Candidate(url="https://www.gov.uk/government/publications/kinship", title="Kinship care: statutory guidance for local authorities",
                                    published="2024-10-15", publisher="Department for Education", summary="Statutory guidance."))
    copy = ("members", Candidate(url="https://members.example.org/kinship", title="Kinship Care - statutory guidance for local authorities",
                                 published="2024-10-20", publisher="A membership body", summary="A copy for members."))
    preprint = ("epmc", Candidate(url="https://europepmc.org/article/PPR/PPR9", title="Effects of kinship care on wellbeing: a cohort study",
                                  published="2023-02-01", doc_type="preprint", summary="Preprint."))
    article = ("epmc", Candidate(url="https://europepmc.org/article/MED/9", title="Effects of kinship care on wellbeing: a cohort study",
                                 published="2023-09-01", doc_type="journal_article", doi="10.1/kc", summary="Published article."))
    fields = []
    for order in ([publisher, copy, preprint, article], [article, preprint, copy, publisher]):
        db = new_catalogue(f"order-{len(fields)}")
        catalogue.connect(db).dispose()
        _upsert(db, [(s, Candidate(**vars(c))) for s, c in order])
        _upsert(db, [(s, Candidate(**vars(c))) for s, c in reversed(order)])
        fields.append(sorted((r.url, r.title, r.published, r.publisher, r.summary, r.source_id) for r in records(db)))
    assert fields[0] == fields[1]
    assert [f[4] for f in fields[0]] == ["Published article.", "Statutory guidance."]


def test_series_harvested_from_two_sources_in_either_order_gives_the_same_records(server, tmp_path, new_catalogue, fetcher):
    items = [(a, f"/series/{n}", SUMMARY) for n, (a, _b, _) in enumerate(DISTINCT)]
    copies = [(t.upper(), f"//localhost/copies/{n}", SUMMARY + " (a copy)") for n, (t, _p, _s) in enumerate(items)]
    sources = [feed(server, "/series.xml", items), feed(server, "/copies.xml", copies, doc_type="news")]
    results = []
    for ids in (("series", "copies"), ("copies", "series")):
        db = new_catalogue("-".join(ids))
        config = config_of(tmp_path, sources)
        for source_id in ids:
            run(db, config, fetcher, (source_id,))
        again = run(db, config, fetcher)
        assert sum(r.updated for r in again.values()) == 0
        results.append(sorted((r.url, r.title, r.summary, r.doc_type) for r in records(db)))
    assert results[0] == results[1] and len(results[0]) == len(items)
    assert all(url.startswith(server.url("/series/")) for url, *_ in results[0])  # news covering it ranks below the report
    with Session(catalogue.connect(db)) as session:
        assert sum(len(p) for p in catalogue.all_places(session).values()) == 2 * len(items)  # each copy is a place


# -- curators: split, join, review ------------------------------------------------------------------------------------------


def test_split_and_join_live_in_curation_yaml_and_survive_every_re_harvest(server, tmp_path):
    db, curation = str(tmp_path / "c.db"), str(tmp_path / "curation.yaml")
    title = "Evaluation of the Mockingbird family model of foster care"
    sources = [feed(server, "/dfe.xml", [(title, "/dfe/mockingbird", SUMMARY)]),
               feed(server, "/press.xml", [(title, "//localhost/press/mockingbird", SUMMARY + " Press release.")])]
    config = str(write_sources(tmp_path, sources))
    Path(curation).write_text("", encoding="utf-8")
    harvest = ("--db", db, "harvest", "--config", config, "--curation", curation, "--quiet")
    assert invoke(*harvest).exit_code == 0
    (merged,) = records(db)
    press = server.url("/press/mockingbird").replace("127.0.0.1", "localhost")
    result = invoke("--db", db, "curate", merged.id, "--not-same", press, "--curation", curation, "--by", "alice")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(Path(curation).read_text())[merged.url]["not_same"] == [press]
    assert sorted(r.url for r in records(db)) == sorted([merged.url, press])
    for _ in range(2):
        assert invoke(*harvest).exit_code == 0
        assert sorted(r.url for r in records(db)) == sorted([merged.url, press])
    fresh = str(tmp_path / "fresh.db")  # a catalogue rebuilt from nothing obeys the same file
    assert invoke("--db", fresh, *harvest[2:]).exit_code == 0
    assert sorted(r.url for r in records(fresh)) == sorted([merged.url, press])
    split = next(r for r in records(db) if r.url == press)
    assert f"Split off {press}: it is record {split.id} now." in result.output  # the curator learns the new record's id
    bad = invoke("--db", db, "curate", merged.id, "--not-same", "https://elsewhere.example/x", "--curation", curation)
    assert bad.exit_code == 2 and "was not reached there" in bad.output
    Path(curation).write_text("", encoding="utf-8")
    join = invoke("--db", db, "curate", merged.id, "--same-as", split.id, "--curation", curation, "--by", "bob")
    assert join.exit_code == 0 and f"Joined record {split.id} into {merged.id}." in join.output, join.output
    assert len(records(db)) == 1
    assert invoke(*harvest).exit_code == 0
    (joined,) = records(db)
    assert joined.summary == SUMMARY and yaml.safe_load(Path(curation).read_text())[merged.url]["same_as"] == press


def test_review_duplicates_lists_near_matches_kept_apart_and_why(server, tmp_path, catalogue_path, fetcher):
    a, b, _ = DISTINCT[1]
    config = config_of(tmp_path, [feed(server, "/ofsted.xml", [(a, "/kent", SUMMARY), (b, "/kirklees", SUMMARY)])])
    run(catalogue_path, config, fetcher)
    result = invoke("--db", catalogue_path, "review", "--duplicates", "--format", "json")
    assert result.exit_code == 0, result.output
    (pair,) = json.loads(result.output)
    assert {pair["title"], pair["other_title"]} == {a, b} and pair["reason"].startswith("names differ")
    table = invoke("--db", catalogue_path, "review", "--duplicates")
    assert "names differ" in table.output and pair["record"] in table.output


def test_merges_and_kept_apart_near_matches_are_logged(catalogue_path, caplog):
    catalogue.connect(catalogue_path).dispose()
    a, b, _ = DISTINCT[0]
    with caplog.at_level("INFO", logger="evidence.catalogue"):
        _upsert(catalogue_path, [("s", Candidate(url="https://a.example/1", title=a)), ("s", Candidate(url="https://a.example/2", title=b)),
                                 ("t", Candidate(url="https://b.example/1", title=a))])
    assert any("kept apart" in m and "numbers differ" in m for m in caplog.messages)
    assert any(m.startswith("merged https://b.example/1") for m in caplog.messages)


# -- migration 0004 ----------------------------------------------------------------------------------------------------------


def test_migration_0004_moves_records_and_links_into_places_with_nothing_lost(catalogue_path, tmp_path):
    engine = catalogue.open_engine(catalogue_path)
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            migrations.upgrade(conn, "0003")
            for n, url in ((1, "https://www.gov.uk/Report-1"), (2, "https://www.gov.uk/Report-2"), (3, "https://www.gov.uk/report-2")):
                conn.execute(text(
                    "INSERT INTO record (id, url, url_key, title, title_key, authors, summary, text, links, money, extra, source_id, "
                    "first_seen, last_seen, content_hash, confidence, classification, curated, needs_review, machine, doc_type, published) "
                    "VALUES (:id, :url, :key, :title, :tkey, '[]', 'summary', 'text', '[]', '[]', '{}', 'dfe', :when, :when, :hash, 0.5, '{}', "
                    "false, true, '{}', 'research_report', '2020-01-0' || :n)"),
                    {"id": f"r-{n}", "url": url, "key": url.removeprefix("https://www."), "title": f"Report {n}",
                     "tkey": f"report {n}", "when": when, "hash": f"h{n}", "n": str(n)})
            conn.execute(text("INSERT INTO recordlink (record_id, url, title, source_id, relation, first_seen) VALUES "
                              "('r-1', 'https://press.example/news-1', 'News of report 1', 'press', 'covered_by', :when), "
                              "('r-1', 'https://copy.example/report-1', 'Report 1', 'copies', 'same_document', :when)"), {"when": when})
    finally:
        engine.dispose()
    assert catalogue.migrate(catalogue_path) == ("0003", migrations.head())
    engine = catalogue.connect(catalogue_path, create=False)
    with Session(engine) as session:
        places = catalogue.all_places(session)
    with engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT id, url_key FROM record")).all())
        counts = conn.execute(text("SELECT count(*) FROM recordplace")).scalar()
    engine.dispose()
    # r-3's URL differs from r-2's only by the case of its path: two records before, two records and two places after
    assert counts == 5 and keys == {"r-1": "gov.uk/report-1", "r-2": "gov.uk/report-2", "r-3": "gov.uk/report-2#r-3"}
    assert [(p["url"], p["source"], p["relation"]) for p in places["r-1"]] == [
        ("https://www.gov.uk/Report-1", "dfe", "first"), ("https://copy.example/report-1", "copies", "same_document"),
        ("https://press.example/news-1", "press", "covered_by")]
    assert all(p["first_seen"].startswith("2024-05-01") for ps in places.values() for p in ps)
    site = invoke("--db", catalogue_path, "build", "--out", str(tmp_path / "site"), "--no-search")
    assert site.exit_code == 0, site.output
    page = (tmp_path / "site" / "records" / "r-1.html").read_text(encoding="utf-8")
    assert "Where this document was found" in page and "https://press.example/news-1" in page
    exported = invoke("--db", catalogue_path, "export", "--format", "json", "--output", str(tmp_path / "r.json"))
    assert exported.exit_code == 0, exported.output
    rows = {r["id"]: r for r in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["records"]}
    assert [p["url"] for p in rows["r-1"]["places"]][-1] == "https://press.example/news-1"
    assert invoke("--db", catalogue_path, "export", "--format", "csv", "--output", str(tmp_path / "r.csv")).exit_code == 0
    assert "https://www.gov.uk/Report-1; https://copy.example/report-1; https://press.example/news-1" in (tmp_path / "r.csv").read_text()


# -- the real recordings ------------------------------------------------------------------------------------------------------


def test_real_recordings_distinct_documents_stay_distinct_and_a_second_pass_updates_nothing(new_catalogue):
    real = SHARED / "real"
    if not real.is_dir():
        pytest.skip(f"{real} is not available (../shared/corpus is beside the checkout in CI)")
    sys.path.insert(0, str(ROOT / "bench"))
    import identity_bench

    sources = identity_bench.real_sources(real)
    out = identity_bench.run(new_catalogue("real"), sources)
    assert out["second"]["new"] == 0 and out["second"]["updated"] == 0
    assert out["wrong_fields"] == 0, out["wrong_examples"]
    distinct = identity_bench.distinct_documents(sources)
    # merges left: preprints joined to their published article, a redirect copy, NICE consultation pages of one indicator
    assert distinct - 15 <= out["records"] <= distinct
    titles = [t for t, _p, _u in out["fields"].values()]
    anchors = [u for _t, _p, u in out["fields"].values() if "nice.org.uk" in u and "#" in u]
    assert len(anchors) >= 10 and len(set(anchors)) == len(anchors)  # research recommendations at distinct anchors of one page
    assert len(titles) == out["records"]


def test_a_curators_entry_keyed_by_a_copy_keeps_applying_when_the_publishers_own_page_becomes_the_record(new_catalogue, tmp_path):
    from evidence.classify.apply import classify_record_hook
    from evidence.curation import load_curation

    copy = Candidate(url="https://members.example.org/kinship", title="Kinship care: statutory guidance for local authorities",
                     published="2024-10-15", publisher="A membership body", summary="A copy of the guidance for members.")
    own = Candidate(url="https://www.gov.uk/government/publications/kinship", title="Kinship care: statutory guidance for local authorities",
                    published="2024-10-15", publisher="Department for Education", summary="Statutory guidance on kinship care.")
    path = tmp_path / "curation.yaml"
    path.write_text(f"{copy.url}:\n  set:\n    study_design: qualitative\n  note: read by a curator\n", encoding="utf-8")
    db = new_catalogue("copy-first")
    engine = catalogue.connect(db)
    try:
        for source, candidate in (("members", copy), ("govuk", own)):
            with Session(engine) as session:
                hook = classify_record_hook(load_curation(path))
                index, batch, now = catalogue.MatchIndex(session), catalogue.StoreBatch(), utcnow()
                catalogue.upsert(session, Candidate(**vars(candidate)), source, now, hook, index, batch)
                catalogue.flush_batch(session, batch, now)
                session.commit()
    finally:
        engine.dispose()
    (record,) = records(db)
    assert record.url == own.url and record.publisher == "Department for Education"  # the publisher's own page won
    assert record.curated and record.study_design == "qualitative"  # and the curator's entry, keyed by the copy, still holds


def test_same_title_with_different_reference_numbers_are_different_documents(catalogue_path):
    title = "Cirrhosis in over 16s: assessment and management"
    published = Candidate(url="https://www.nice.org.uk/guidance/cg181", title=title, published="2016-07-06", project_ref="CG181")
    update = Candidate(url="https://www.nice.org.uk/guidance/indevelopment/gid-ng10178", title=title, published="2016-07-06",
                       project_ref="GID-NG10178")
    again = Candidate(url="https://www.nice.org.uk/guidance/CG181/", title=title, published="2016-07-06", project_ref="cg 181")
    catalogue.connect(catalogue_path).dispose()
    outcomes = _upsert(catalogue_path, [("nice-published", published), ("nice-in-development", update), ("nice-again", again)])
    assert outcomes[:2] == ["new", "new"] and outcomes[2] != "new"  # the same guideline again ("cg 181" is CG181): no third record
    assert sorted(url_key(r.url) for r in records(catalogue_path)) == [url_key(published.url), url_key(update.url)]



# -- migration 0005 ----------------------------------------------------------------------------------------------------------


def test_migration_0005_derives_last_seen_from_the_places_with_nothing_lost(catalogue_path, tmp_path):
    """A record's last_seen moves off its row (a harvest would rewrite every record's full text to change it): after
    the upgrade it is the latest of its places', and a record seen later than all its places gave that time to its own
    place, so every record reads as seen when it was."""
    engine = catalogue.open_engine(catalogue_path)
    first, place_seen, record_seen = (datetime(2024, 5, 1, 12, 0, tzinfo=UTC), datetime(2024, 6, 1, 12, 0, tzinfo=UTC),
                                      datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    try:
        with engine.begin() as conn:
            migrations.upgrade(conn, "0004")
            for rid, seen in (("r-1", record_seen), ("r-2", first)):
                conn.execute(text(
                    "INSERT INTO record (id, url, url_key, title, title_key, authors, summary, text, links, money, extra, source_id, "
                    "first_seen, last_seen, content_hash, confidence, classification, curated, needs_review, machine, doc_type, published) "
                    "VALUES (:id, :url, :key, :title, :id, '[]', 'summary', 'text', '[]', '[]', '{}', 'dfe', :first, :seen, 'h', 0.5, '{}', "
                    "false, true, '{}', 'research_report', '2020-01-01')"),
                    {"id": rid, "url": f"https://www.gov.uk/{rid}", "key": f"gov.uk/{rid}", "title": f"Report {rid}", "first": first, "seen": seen})
            for rid, url, source, seen in (("r-1", "https://www.gov.uk/r-1", "dfe", first), ("r-1", "https://copy.example/r-1", "copies", place_seen),
                                           ("r-2", "https://www.gov.uk/r-2", "dfe", place_seen)):
                conn.execute(text(
                    "INSERT INTO recordplace (record_id, url, url_key, source_id, first_seen, last_seen, priority, relation, content_hash, fields) "
                    "VALUES (:rid, :url, :key, :source, :first, :seen, 50, 'first', 'h', '{}')"),
                    {"rid": rid, "url": url, "key": url.removeprefix("https://").removeprefix("www."), "source": source, "first": first, "seen": seen})
    finally:
        engine.dispose()
    assert catalogue.migrate(catalogue_path) == ("0004", migrations.head())
    engine = catalogue.connect(catalogue_path, create=False)
    with engine.connect() as conn:
        columns = {c["name"] for c in sqlalchemy.inspect(conn).get_columns("record")}
        places = {(r, s): str(w) for r, s, w in conn.execute(text("SELECT record_id, source_id, last_seen FROM recordplace")).all()}
    engine.dispose()
    assert "last_seen" not in columns
    # r-1 was seen after all its places: its own place took the time; its copy kept its own; r-2's place was seen later
    assert places[("r-1", "dfe")].startswith("2025-03-01") and places[("r-1", "copies")].startswith("2024-06-01")
    assert {rid: seen.date().isoformat() for rid, seen in last_seen(catalogue_path).items()} == {"r-1": "2025-03-01", "r-2": "2024-06-01"}
    exported = invoke("--db", catalogue_path, "export", "--format", "json", "--output", str(tmp_path / "r.json"))
    assert exported.exit_code == 0, exported.output
    rows = {r["id"]: r for r in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["records"]}
    assert rows["r-1"]["last_seen"].startswith("2025-03-01") and rows["r-2"]["last_seen"].startswith("2024-06-01")
