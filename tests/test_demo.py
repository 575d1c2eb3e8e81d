"""`evidence demo`: the bundled recorded answers (evidence/demo/answers/) make a catalogue that shows every feature,
offline; the same files served from 127.0.0.1 give the same records online. The demo harvest runs once per module."""
from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup
from click.testing import CliRunner
from conftest import config_of, make_fetcher, records, run
from sqlmodel import Session

from evidence import catalogue
from evidence.api import Catalogue
from evidence.capture import CaptureStore
from evidence.cli import cli
from evidence.config import ConfigError, load_config
from evidence.demo_data import DEMO_DIR, load_demo_captures, planned_failures, recorded_answers
from evidence.harvesters import HARVESTERS
from evidence.models import Record

SWIS_PILOTS = "Social workers in schools: an evaluation of pilots in three local authorities in England"
SWIS_NEWS = "No evidence scheme placing social workers in schools reduces need for social care, says What Works"
CURATED_URL = "https://doi.org/10.1002/14651858.CD004380.pub3"  # the Cochrane review in evidence/demo/curation.yaml
OFF_TOPIC = "Reported road casualties Great Britain, annual report: 2022"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One run of `evidence demo` (offline) into a fresh folder: (folder, CLI result, records)."""
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)], catch_exceptions=False)
    return out, result, records(str(out / "catalogue.db"))


def by_title(rows: list[Record], title: str) -> Record:
    matches = [r for r in rows if r.title == title]
    assert len(matches) == 1, (title, len(matches))
    return matches[0]


def test_the_demo_exits_0_and_prints_its_own_next_steps(demo):
    out, result, _ = demo
    assert result.exit_code == 0, result.output
    db = out / "catalogue.db"
    for step in (f"evidence --db {db} status --config {out / 'sources.yaml'}", f"evidence --db {db} review",
                 f"evidence --db {db} curate ID --curation {out / 'curation.yaml'}", f"evidence serve --site {out / 'site'}"):
        assert step in result.output, step
    assert "csa-centre-resources failed as planned" in result.output


def test_forty_to_sixty_records_through_all_six_source_kinds(demo):
    _, _, rows = demo
    assert 40 <= len(rows) <= 60, len(rows)
    kinds = {s.id: s.kind for s in load_config(DEMO_DIR / "sources.yaml").sources}
    assert {kinds[r.source_id] for r in rows} == set(HARVESTERS)
    assert all(r.title and r.publisher and r.published for r in rows if "Live Q&A" not in r.title)  # the Q&A page gives no date


def test_every_evidence_level_occurs_with_reviews_trials_news_and_commentary(demo):
    _, _, rows = demo
    assert {r.evidence_level for r in rows} >= {0, 1, 2, 3, 4, 5}
    designs = [r.study_design for r in rows]
    assert designs.count("systematic_review") >= 2 and designs.count("rct") >= 3
    assert {r.doc_type for r in rows if r.study_design == "commentary_or_news"} >= {"news", "blog"}


def test_news_about_a_trial_reads_as_news(demo):
    news = by_title(demo[2], SWIS_NEWS)
    assert news.study_design == "commentary_or_news" and news.evidence_level is None
    assert news.classification.get("covers_design") in (None, "rct")  # what the news is about, where the classifier says


def test_trials_that_found_no_effect_are_kept_as_such(demo):
    _, _, rows = demo
    trial = by_title(rows, "Social Workers in Schools trial")
    assert trial.study_design == "rct" and trial.direction == "no_effect"
    assert any(r.direction == "no_effect" and r.source_id == "research-digest-feed" for r in rows)  # MTFC-A in English care


def test_money_figures_are_found_in_reports_pages_and_pdfs(demo):
    _, _, rows = demo
    figures = {m["text"]: r.source_id for r in rows for m in r.money}
    assert {"£2.6 billion", "£200 million", "£374k", "£2.5 billion"} <= set(figures)
    assert {"govuk-cse", "foundations-publications", "cse-reading-list"} <= set(figures.values())


def test_two_copies_of_one_report_are_one_record_with_two_places(demo):
    out, _, rows = demo
    record = by_title(rows, SWIS_PILOTS)
    engine = catalogue.connect(str(out / "catalogue.db"))
    with Session(engine) as session:
        places = catalogue.record_places(session, record.id)
    engine.dispose()
    assert {p["source"] for p in places} == {"foundations-publications", "cse-reading-list"}
    assert any(p["url"].endswith(".pdf") for p in places)


def test_the_bundled_curation_is_copied_and_applied(demo):
    out, _, rows = demo
    assert yaml.safe_load((out / "curation.yaml").read_text(encoding="utf-8")) == yaml.safe_load((DEMO_DIR / "curation.yaml").read_text(encoding="utf-8"))
    review = next(r for r in rows if r.url == CURATED_URL)
    assert review.curated and review.direction == "positive" and review.study_design == "systematic_review"
    assert "anxiety" in review.classification["curation"]["note"]


def test_the_failing_source_is_reported_in_plain_words(demo):
    out, _, rows = demo
    assert "csa-centre-resources" in planned_failures() and not any(r.source_id == "csa-centre-resources" for r in rows)
    with Catalogue(str(out / "catalogue.db")) as cat:
        status = {row["source"]: row for row in cat.status()}
    failed = status["csa-centre-resources"]
    assert failed["status"] == "failed" and "HTTP 503 Service Unavailable" in failed["message"], failed
    assert all(row["status"] == "ok" for source, row in status.items() if source != "csa-centre-resources")
    page = BeautifulSoup((out / "site" / "sources.html").read_text(encoding="utf-8"), "lxml")
    assert "HTTP 503 Service Unavailable" in page.get_text(" ")
    # every source of the demo's sources.yaml, by its name, publisher, kind and what it asks for
    from evidence.config import load_config

    config = load_config(out / "sources.yaml")
    for source in config.sources:
        row = page.select_one(f"tr[id='{source.id}']")
        assert row is not None, source.id
        cells = [c.get_text(" ", strip=True) for c in row.select("th, td")]
        assert cells[0].startswith(source.name) and (source.publisher or "–") == cells[1], cells
        assert cells[2].startswith(source.kind) and row.select_one("td a")["href"] == source.url, cells
        assert all(f"{k}={v}" in cells[2] for k, v in source.params.items()), cells
    assert page.select_one("tr[id='csa-centre-resources'] td:nth-of-type(4)").get_text().startswith("failed: ")


def test_the_off_topic_record_is_there_and_excluded_once_screened(demo):
    _, _, rows = demo
    off_topic = by_title(rows, OFF_TOPIC)
    assert off_topic.publisher == "Department for Transport"
    if any(r.inclusion is not None for r in rows):  # screening (issue 15) sets Record.inclusion: then it must exclude this one
        assert off_topic.inclusion == "excluded", off_topic.inclusion_reason


# -- the recorded answers themselves ----------------------------------------------------------------


def test_the_manifest_names_every_file_once_and_loads_into_a_capture_store(tmp_path):
    answers = recorded_answers()
    files = {a.path.relative_to(DEMO_DIR / "answers").as_posix() for a in answers}
    on_disk = {p.relative_to(DEMO_DIR / "answers").as_posix() for p in (DEMO_DIR / "answers").rglob("*") if p.is_file()} - {"manifest.yaml"}
    assert files == on_disk and len({a.url for a in answers}) == len(answers)
    store = CaptureStore(tmp_path / "captures")
    assert load_demo_captures(store) == len(answers) == store.count()
    failing = next(a for a in answers if a.status != 200)
    assert store.latest(failing.url).status == 503


def test_a_broken_manifest_entry_is_one_line_naming_the_file_and_line(tmp_path, monkeypatch):
    import evidence.demo_data as demo_data

    (tmp_path / "manifest.yaml").write_text("answers:\n  - url: https://example.org/a\n    file: ../../etc/passwd\n    type: text/plain\n")
    monkeypatch.setattr(demo_data, "ANSWERS", tmp_path)
    monkeypatch.setattr(demo_data, "MANIFEST", tmp_path / "manifest.yaml")
    with pytest.raises(ConfigError, match=r"manifest\.yaml:2: `\.\./\.\./etc/passwd` is not a file under"):
        demo_data.recorded_answers()


@pytest.fixture
def answers_server(server):
    """The demo's recorded answers served from 127.0.0.1, every absolute link in them pointing there too."""
    answers = recorded_answers()
    keys = set()
    for answer in answers:
        parts = urlsplit(answer.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        server.add(path, answer.body, status=answer.status, content_type=answer.content_type)
        keys.add(path)
        for scheme in ("https", "http"):
            server.rewrites[f"{scheme}://{parts.netloc}".encode()] = server.base.encode()
    assert len(keys) == len(answers), "two recorded answers share a path: the loopback server could not tell them apart"
    return server


def test_the_same_answers_served_online_give_the_same_records(demo, answers_server, tmp_path):
    _, _, offline = demo
    sources = []
    for source in load_config(DEMO_DIR / "sources.yaml").sources:
        entry = {k: v for k, v in dataclasses.asdict(source).items() if k != "line"}
        parts = urlsplit(source.url)
        entry["url"] = answers_server.base + parts.path
        entry["content_api"] = answers_server.url("/api/content")
        entry["rate_limit"] = 0  # one loopback host serves every source
        sources.append(entry)
    config = config_of(tmp_path, sources)
    db = str(tmp_path / "online.db")
    with make_fetcher(CaptureStore(tmp_path / "captures")) as fetcher:
        results = run(db, config, fetcher)
    assert results["csa-centre-resources"].status == "failed" and "HTTP 503" in results["csa-centre-resources"].message
    assert all(r.status == "ok" and r.errors == 0 for source_id, r in results.items() if source_id != "csa-centre-resources"), results
    online = records(db)
    assert sorted(r.title for r in online) == sorted(r.title for r in offline)
    assert {r.title: (r.study_design, r.evidence_level) for r in online} == {r.title: (r.study_design, r.evidence_level) for r in offline}

