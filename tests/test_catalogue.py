"""The catalogue on SQLite and on the PostgreSQL of EVIDENCE_TEST_DB: what the database cannot store, an item it refuses,
runs shown as running only while a harvest holds the lock, databases that are not catalogues, a database going away."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from conftest import config_of, last_seen, make_fetcher, records
from sqlalchemy import text
from sqlmodel import Session, select

from evidence import catalogue
from evidence.api import Catalogue
from evidence.classify.apply import classify_record_hook
from evidence.cli import cli
from evidence.config import Source
from evidence.curation import Curation
from evidence.harvesters import HARVESTERS
from evidence.models import Candidate, HarvestRun
from evidence.pipeline import harvest_lock, harvest_sources

SUMMARY = ("An evaluation of specialist foster care for young people at risk of child sexual exploitation found improvements "
           "in placement stability and a reduction in missing episodes over twelve months.")


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def europepmc_answer(results: list[dict]) -> str:
    """A Europe PMC search answer. json.dumps writes what a real API may send and JSON parsers accept: NUL and lone
    surrogates as \\u escapes, NaN as a bare token."""
    return json.dumps({"hitCount": len(results), "nextCursorMark": "*", "resultList": {"result": results}})


def test_text_the_database_cannot_store_is_cleaned_and_the_record_kept(server, tmp_path, fresh_catalogue):
    results = [
        {"id": "1", "source": "MED", "pmid": "1", "title": "Specialist foster care\x00 for young people",
         "abstractText": f"{SUMMARY}\x00 Hidden after a NUL.", "pubYear": "2019"},
        {"id": "2", "source": "MED", "pmid": "2", "title": "Return home interviews after missing episodes",
         "abstractText": f"A lone surrogate \ud800 in the abstract. {SUMMARY}", "pubYear": "2020"},
        {"id": "3", "source": "MED", "pmid": float("nan"), "title": "Detached youth work and exploitation", "abstractText": SUMMARY,
         "pubYear": "2021"},
    ]
    assert "\\u0000" in europepmc_answer(results) and "\\ud800" in europepmc_answer(results) and "NaN" in europepmc_answer(results)
    server.add("/rest/search?cursorMark=%2A&format=json&pageSize=100&query=cse&resultType=core", europepmc_answer(results),
               content_type="application/json")
    config = config_of(tmp_path, [{"id": "epmc", "kind": "europepmc", "url": server.url("/rest/search"), "params": {"query": "cse"}}])
    (tmp_path / "curation.yaml").write_text("{}\n", encoding="utf-8")
    with make_fetcher(None) as fetcher:
        report = fresh_catalogue.harvest(config, fetcher=fetcher, curation_file=str(tmp_path / "curation.yaml"))
    assert report.ok and report.results[0].new == 3 and report.results[0].errors == 0, report.results
    stored = {r.extra["ids"]["id"]: r for r in records(fresh_catalogue.db)}
    assert stored["1"].title == "Specialist foster care for young people" and stored["1"].summary.endswith("months. Hidden after a NUL.")
    assert all("\x00" not in r.title + r.summary + r.text for r in stored.values())
    assert "A lone surrogate \ufffd in the abstract." in stored["2"].summary
    assert stored["3"].extra["ids"].get("pmid") is None  # NaN is no JSON: stored as null
    site = fresh_catalogue.build(tmp_path / "site", search=False)
    assert site.build.records == 3
    page = (tmp_path / "site" / "records" / f"{stored['1'].id}.html").read_text(encoding="utf-8")
    assert "specialist foster care" in page.lower()


def test_an_item_the_database_refuses_is_lost_alone(tmp_path, fresh_catalogue, monkeypatch):
    import fixed_harvester

    monkeypatch.setitem(HARVESTERS, "fixed", "fixed_harvester")
    good = [Candidate(url=f"https://example.org/report/{n}", title=f"Report {n} on specialist foster care", summary=SUMMARY)
            for n in range(3)]
    refused = Candidate(url="https://example.org/report/huge", title="A report with a sample no column can hold", summary=SUMMARY,
                        sample_size=2**70)
    monkeypatch.setitem(fixed_harvester.CANDIDATES, "mixed", [good[0], refused, good[1]])
    monkeypatch.setitem(fixed_harvester.CANDIDATES, "clean", [good[2]])
    sources = [Source(id=name, name=name, kind="fixed", url="https://example.org/") for name in ("mixed", "clean")]
    with make_fetcher(None) as fetcher:
        results = {r.source_id: r for r in harvest_sources(fresh_catalogue.engine, sources, fetcher, workers=1,
                                                           classify_hook=classify_record_hook(Curation(path=tmp_path / "c.yaml")))}
    mixed = results["mixed"]
    assert (mixed.status, mixed.fetched, mixed.new, mixed.errors) == ("ok", 3, 2, 1)
    assert len(mixed.item_errors) == 1 and mixed.item_errors[0].startswith("https://example.org/report/huge: the database refused it")
    assert results["clean"].status == "ok" and results["clean"].new == 1
    stored = records(fresh_catalogue.db)
    assert sorted(r.url for r in stored) == sorted(c.url for c in good)
    with Session(fresh_catalogue.engine) as session:
        tagged = {tag.record_id for tags in catalogue.all_tags(session).values() for tag in tags}
        runs = {run.source_id: run for run in session.exec(select(HarvestRun)).all()}
    assert tagged == {r.id for r in stored}  # the refused item took nothing of the others with it (their tags included)
    assert runs["mixed"].status == "ok" and runs["mixed"].errors == 1 and "refused" in runs["mixed"].item_errors[0]


def test_a_run_is_shown_running_only_while_a_harvest_holds_the_lock(catalogue_path, tmp_path):
    with Catalogue(catalogue_path, create=True) as cat:
        with Session(cat.engine) as session:
            session.add(HarvestRun(source_id="left-behind"))
            session.commit()
        assert [row["status"] for row in cat.status()] == ["interrupted"]
        with harvest_lock(catalogue_path):
            assert [row["status"] for row in cat.status()] == ["running"]
        assert [row["status"] for row in cat.status()] == ["interrupted"]
        cat.harvest(config_of(tmp_path, []), captures=tmp_path / "caps")  # a harvest (of nothing) closes what was left running
        with Session(cat.engine) as session:
            assert [run.status for run in session.exec(select(HarvestRun)).all()] == ["interrupted"]


def _tables(db: str) -> set[str]:
    from sqlalchemy import inspect

    engine = catalogue.open_engine(db)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", [["status"], ["review"], ["reclassify"], ["build", "--no-search"], ["export", "--format", "json"],
                                     ["migrate"]])
def test_a_database_that_is_not_a_catalogue_is_refused_and_left_alone(catalogue_path, tmp_path, command):
    if catalogue.is_sqlite(catalogue_path):
        open(catalogue_path, "wb").close()  # an empty file (a SQLite database with no tables)
    assert _tables(catalogue_path) == set()
    args = [*command, "--out", str(tmp_path / "site")] if command[0] == "build" else command
    result = invoke("--db", catalogue_path, *args)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert f"no catalogue in {catalogue.shown_url(catalogue_path)}" in result.output and "`evidence harvest`" in result.output
    assert _tables(catalogue_path) == set()


def _feeds(server, count: int, delay: float) -> list[dict]:
    sources = []
    for n in range(count):
        server.add(f"/feed/{n}.xml", "<?xml version='1.0'?><rss version='2.0'><channel><title>F</title>"
                   f"<item><title>Report {n} on foster care</title><link>{server.base}/r/{n}</link><description>{SUMMARY}</description>"
                   "</item></channel></rss>", content_type="application/rss+xml", delay=delay)
        sources.append({"id": f"feed-{n}", "kind": "feed", "url": server.url(f"/feed/{n}.xml"), "detail": False})
    return sources


def test_the_database_going_away_mid_harvest_is_one_line_and_keeps_what_was_committed(server, tmp_path, catalogue_path):
    if catalogue.is_sqlite(catalogue_path):
        pytest.skip("a SQLite file cannot go away mid-run as a server can (runs with EVIDENCE_TEST_DB)")
    from conftest import write_sources
    from sqlalchemy.engine import make_url

    config = write_sources(tmp_path, _feeds(server, 4, delay=1.0))
    name = make_url(catalogue_path).database
    process = subprocess.Popen([sys.executable, "-m", "evidence.cli", "--db", catalogue_path, "harvest", "--config", str(config),
                                "--captures", str(tmp_path / "captures"), "--quiet", "--workers", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    admin = catalogue.open_engine(catalogue_path.rsplit("/", 1)[0] + "/postgres")
    try:
        deadline = time.monotonic() + 60
        while not any(r.source_id == "feed-0" for r in _records_or_none(catalogue_path)):
            assert time.monotonic() < deadline and process.poll() is None, "the first source was never committed"
            time.sleep(0.05)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # the server stops serving this database
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name})
        out, err = process.communicate(timeout=60)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    finally:
        admin.dispose()
    assert process.returncode == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: lost the connection to catalogue {catalogue.shown_url(catalogue_path)}"), err
    assert "what was already committed is kept" in lines[0]
    kept = {r.source_id for r in records(catalogue_path)}
    assert "feed-0" in kept and "feed-3" not in kept
    status = invoke("--db", catalogue_path, "status", "--format", "json", "--config", "none.yaml")
    shown = {row["source"]: row["status"] for row in json.loads(status.output)}
    assert shown["feed-0"] == "ok" and shown["feed-3"] == "interrupted"


def _records_or_none(db: str) -> list:
    try:
        return records(db)
    except catalogue.CatalogueError:
        return []


# -- identity: places, rules, touching (evidence/identify.py; tests/test_identity.py has the rest) ------------------------


def _store(engine, items: list[tuple[str, Candidate]]) -> list[str]:
    from evidence.models import utcnow

    with Session(engine) as session:
        index, batch, now = catalogue.MatchIndex(session), catalogue.StoreBatch(), utcnow()
        outcomes = [catalogue.upsert(session, c, source, now, None, index, batch) for source, c in items]
        catalogue.flush_batch(session, batch, now)
        session.commit()
    return outcomes


def test_the_match_index_obeys_the_curators_rules_set_on_its_engine(catalogue_path):
    engine = catalogue.connect(catalogue_path)
    title = "Evaluation of the Mockingbird family model of foster care"
    try:
        catalogue.set_identity_rules(engine, catalogue.IdentityRules(apart=[(catalogue.url_key("https://a.example/m"),
                                                                             catalogue.url_key("https://b.example/m"))]))
        assert _store(engine, [("a", Candidate(url="https://a.example/m", title=title)),
                               ("b", Candidate(url="https://b.example/m", title=title)),
                               ("c", Candidate(url="https://c.example/m", title=title))]) == ["new", "new", "updated"]
        catalogue.set_identity_rules(engine, catalogue.IdentityRules(same=[(catalogue.url_key("https://a.example/m"),
                                                                            catalogue.url_key("https://d.example/other"))]))
        assert _store(engine, [("d", Candidate(url="https://d.example/other", title="A title nothing else has, at all"))]) == ["updated"]
    finally:
        engine.dispose()
    assert len(records(catalogue_path)) == 2


def test_a_304_touches_every_place_of_the_source_and_their_records(catalogue_path):
    from datetime import UTC, datetime

    engine = catalogue.connect(catalogue_path)
    title = "Children's social care review: final report"
    try:
        _store(engine, [("dfe", Candidate(url="https://www.gov.uk/csc", title=title)), ("copies", Candidate(url="https://copies.example/csc", title=title))])
        later = datetime(2030, 1, 1, tzinfo=UTC)
        with Session(engine) as session:
            assert catalogue.touch_source(session, "copies", later) == 1
            assert catalogue.touch_url(session, "https://COPIES.example/csc/", later) and not catalogue.touch_url(session, "https://none.example/", later)
            session.commit()
        with engine.connect() as conn:
            seen = dict(conn.execute(text("SELECT source_id, last_seen FROM recordplace")).all())
    finally:
        engine.dispose()
    (record,) = records(catalogue_path)
    assert str(seen["copies"]).startswith("2030") and not str(seen["dfe"]).startswith("2030")
    assert last_seen(catalogue_path)[record.id].year == 2030 and record.source_id == "dfe"  # the record is seen when any of its places is


def test_content_hash_is_the_hash_stored_catalogues_hold():
    """Every stored place keeps the content hash of what it gave: a different hash for the same candidate would make
    every document read as changed at the next harvest. The digest is pinned to the one the catalogue has always
    stored (a sha256 of the fields but `extra`, as sorted JSON)."""
    candidate = Candidate(url="https://www.gov.uk/government/publications/x", title="Fostering in England 2022", authors=["A. B"],
                          published="2022-11-10", summary="S", links=[{"url": "https://a/b.pdf", "title": "PDF", "type": "pdf"}],
                          money=[{"amount": 1.5, "currency": "GBP", "context": "c"}], sample_size=12, extra={"k": [1, 2]})
    assert catalogue.content_hash(candidate) == "300aa3d841acb53d355ae75596b139612c7bcc9fdf0f76759c57ff02b69fe4ee"
    candidate.extra = {"other": True}  # source metadata is not part of the hash
    assert catalogue.content_hash(candidate) == "300aa3d841acb53d355ae75596b139612c7bcc9fdf0f76759c57ff02b69fe4ee"
    candidate.links[0]["title"] = "The PDF"
    assert catalogue.content_hash(candidate) != "300aa3d841acb53d355ae75596b139612c7bcc9fdf0f76759c57ff02b69fe4ee"


def test_new_record_is_the_record_the_constructor_makes(fresh_catalogue):
    """The harvest's fast constructor (`new_record`) gives the same record as `Record(**values)`, defaults included,
    stored and read back, and changed after it was stored; a missing or unknown field is refused."""
    from evidence.models import Record, new_record, utcnow

    now = utcnow()
    values = {"url_key": "example.org/a", "title": "A report £", "title_key": "a report",
              "source_id": "s", "first_seen": now, "authors": ["A. Author"], "extra": {"k": [1, "é"]},
              "summary": "S", "published": "2020-01-02"}
    with Session(fresh_catalogue.engine) as session:
        slow, fast = Record(id="slow", url="https://example.org/a", **values), new_record(id="fast", url="https://example.org/b", **values)
        fast.classification = {"set": "before the flush"}
        slow.classification = {"set": "before the flush"}
        session.add(slow)
        session.add(fast)
        session.commit()
        fast.title = slow.title = "Changed after the commit"
        session.add_all([slow, fast])
        session.commit()
    with Session(fresh_catalogue.engine) as session:
        got = {r.id: {k: v for k, v in r.model_dump().items() if k not in ("id", "url")} for r in session.exec(select(Record)).all()}
    assert got["fast"] == got["slow"]
    assert got["fast"]["title"] == "Changed after the commit" and got["fast"]["machine"] == {} and got["fast"]["needs_review"] is True
    with pytest.raises(TypeError, match="missing title"):
        new_record(**{k: v for k, v in values.items() if k != "title"}, id="x", url="https://example.org/x")
    with pytest.raises(TypeError, match="unknown titel"):
        new_record(**values, id="x", url="https://example.org/x", titel="typo")
