"""The `evidence` command: config errors, harvest exit codes and summary, status, classify, curate, review, demo."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT, records, seed_text, write_sources

from evidence.cli import cli
from evidence.config import ConfigError, load_config


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


# -- sources.yaml validation -----------------------------------------------------------------------

@pytest.mark.parametrize("entry, expected", [
    ({"id": "a", "kind": "feed", "url": "https://e.org/f", "colour": "red"}, "unknown key `colour`"),
    ({"id": "a", "kind": "feed"}, "missing `url`"),
    ({"id": "a", "kind": "telnet", "url": "https://e.org/"}, "unknown kind `telnet`"),
    ({"id": "a", "kind": "feed", "url": "ftp://e.org/"}, "must be an http(s) URL"),
    ({"id": "Bad Id", "kind": "feed", "url": "https://e.org/"}, "must be a slug"),
    ({"id": "a", "kind": "feed", "url": "https://e.org/", "rate_limit": "fast"}, "must be a number"),
])
def test_bad_source_entries_are_one_line_errors_naming_file_line_and_source(tmp_path, entry, expected):
    path = write_sources(tmp_path, [{"id": "ok", "kind": "feed", "url": "https://e.org/ok"}, entry])
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert expected in message and str(path) in message and "\n" not in message
    assert f"source '{entry['id']}'" in message
    assert f"{path}:" in message and message.split(":")[1].strip().isdigit()  # the line number


def test_duplicate_ids_name_both_lines(tmp_path):
    path = write_sources(tmp_path, [{"id": "a", "kind": "feed", "url": "https://e.org/1"}, {"id": "a", "kind": "feed", "url": "https://e.org/2"}])
    with pytest.raises(ConfigError, match=r"duplicate id \(first used at line \d+\)"):
        load_config(path)


def test_broken_yaml_and_missing_file(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - id: a\n   kind: feed\n")
    with pytest.raises(ConfigError, match=r"sources.yaml:\d+: invalid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_cli_config_error_exits_2_and_runs_nothing(tmp_path, server):
    server.add("/feed.xml", "<rss/>")
    path = write_sources(tmp_path, [{"id": "a", "kind": "feed", "url": server.url("/feed.xml")}, {"id": "a", "kind": "feed", "url": server.url("/x")}])
    result = invoke("--db", str(tmp_path / "c.db"), "harvest", "--config", str(path))
    assert result.exit_code == 2 and "duplicate id" in result.output
    assert server.requests == []


def test_committed_sources_file_is_valid_and_covers_the_named_bodies():
    config = load_config(ROOT / "sources.yaml")
    names = " ".join(f"{s.name} {s.publisher or ''}" for s in config.sources)
    for body in ("Department for Education", "Public Health England", "Home Office", "Ofsted", "NICE", "Rees Centre",
                 "Children's Society", "NIHR", "Research in Practice", "CSA Centre", "CYP Now", "Community Care", "Europe PMC"):
        assert body in names, body
    assert {s.kind for s in config.sources} == {"govuk", "nice", "html", "pdf", "feed", "europepmc"}


# -- harvest and status ------------------------------------------------------------------------------

def test_harvest_exit_1_when_a_source_fails_with_summary_table(tmp_path, server, new_catalogue):
    server.add("/feed.xml", "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><item><title>Foster care study</title>"
               f"<link>{server.base}/a</link><description>{'An evaluation of specialist foster care. ' * 5}</description></item></channel></rss>",
               content_type="application/rss+xml")
    path = write_sources(tmp_path, [{"id": "good", "kind": "feed", "url": server.url("/feed.xml"), "detail": False},
                                    {"id": "bad", "kind": "feed", "url": server.url("/missing.xml")}])
    db = new_catalogue("c")
    result = invoke("--db", db, "harvest", "--config", str(path), "--captures", str(tmp_path / "caps"))
    assert result.exit_code == 1
    assert "Harvest summary" in result.output and "good" in result.output and "HTTP 404" in result.output
    assert len(records(db)) == 1
    status = invoke("--db", db, "status", "--config", str(path), "--format", "json")
    rows = {row["source"]: row for row in json.loads(status.output)}
    assert rows["good"]["records"] == 1 and rows["good"]["status"] == "ok"
    assert rows["bad"]["status"] == "failed" and "HTTP 404" in rows["bad"]["message"]
    only_good = invoke("--db", db, "harvest", "--config", str(path), "--source", "good", "--captures", str(tmp_path / "caps"))
    assert only_good.exit_code == 0
    offline_db = new_catalogue("offline")
    offline = invoke("--db", offline_db, "harvest", "--config", str(path), "--source", "good", "--offline",
                     "--captures", str(tmp_path / "caps"))
    assert offline.exit_code == 0 and len(records(offline_db)) == 1


def test_unknown_source_id_is_an_error(tmp_path):
    path = write_sources(tmp_path, [{"id": "a", "kind": "feed", "url": "https://e.org/f"}])
    result = invoke("--db", str(tmp_path / "c.db"), "harvest", "--config", str(path), "--source", "zzz")
    assert result.exit_code == 2 and "no source with id zzz" in result.output


def test_unreachable_database_is_a_clear_error(tmp_path):
    result = invoke("--db", "postgresql://nobody@127.0.0.1:9/none", "status", "--config", str(tmp_path / "none.yaml"))
    assert result.exit_code == 2 and "cannot open catalogue" in result.output


def test_env_db_is_used_and_only_harvest_creates_a_catalogue(tmp_path):
    db = tmp_path / "env.db"
    result = invoke("status", "--config", str(tmp_path / "none.yaml"), env={"EVIDENCE_DB": str(db)})
    assert result.exit_code == 2 and f"no catalogue at {db}" in result.output and not db.exists()
    path = write_sources(tmp_path, [])
    assert invoke("harvest", "--config", str(path), env={"EVIDENCE_DB": str(db)}).exit_code == 0 and db.exists()
    result = invoke("status", "--config", str(tmp_path / "none.yaml"), env={"EVIDENCE_DB": str(db)})
    assert result.exit_code == 0 and "Sources" in result.output


@pytest.mark.parametrize("command", [["status"], ["review"], ["reclassify"], ["build", "--no-search"], ["export", "--format", "csv"],
                                     ["curate", "some-id", "--note", "x"]])
def test_a_mistyped_catalogue_path_is_refused_and_never_created(tmp_path, command):
    typo = tmp_path / "d" / "catalgue.db"
    result = invoke("--db", str(typo), *command)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1] == f"Error: no catalogue at {typo}: check --db (or EVIDENCE_DB); " \
        "`evidence harvest` or `evidence demo` creates one"
    assert not typo.exists() and not typo.parent.exists()


# -- classify, curate, review, reclassify ---------------------------------------------------------------

def test_classify_file_prints_json_with_reasons(tmp_path):
    path = tmp_path / "keeping-safe.txt"
    path.write_text(seed_text("001"), encoding="utf-8")
    out = json.loads(invoke("classify", str(path)).output)
    assert out["study_design"] == "pre_post_or_observational" and out["evidence_level"] == 2 and out["direction"] == "negative"
    education = next(i for i in out["interventions"] if i["id"] == "education-prevention")
    assert education["direction"] in ("negative", "no_effect") and education["evidence"]
    assert out["money"][0]["amount"] == 237395 and out["rationale"]


def test_classify_html_and_pdf_files(tmp_path):
    from conftest import html_page, pdf_bytes

    (tmp_path / "page.html").write_text(html_page(seed_text("002"), "'Lack of evidence' on effectiveness of care home CSE support"))
    (tmp_path / "report.pdf").write_bytes(pdf_bytes(seed_text("003"), title="Alternatives to high-cost and secure accommodation"))
    assert json.loads(invoke("classify", str(tmp_path / "report.pdf")).output)["study_design"] == "qualitative"
    assert json.loads(invoke("classify", str(tmp_path / "page.html")).output)["evidence_level"] is None
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    result = invoke("classify", str(tmp_path / "broken.pdf"))
    assert result.exit_code == 2 and "broken.pdf" in result.output


def _demo(tmp_path: Path) -> str:
    result = invoke("demo", "--out", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    return str(tmp_path / "demo" / "catalogue.db")


def test_demo_runs_offline_and_fills_a_catalogue(tmp_path):
    from evidence.config import load_config
    from evidence.demo_data import DEMO_DIR, planned_failures

    db = _demo(tmp_path)
    expected = {s.id for s in load_config(DEMO_DIR / "sources.yaml").sources} - set(planned_failures())
    assert {r.source_id for r in records(db)} == expected  # every source but the one recorded failing (tests/test_demo.py: the rest)


def test_curate_writes_curation_yaml_and_survives_reharvest_and_reclassify(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = _demo(tmp_path)
    record = next(r for r in records(db) if r.title.startswith("Alternatives to high-cost and secure accommodation"))
    result = invoke("--db", db, "curate", record.id, "--set", "study_design=qualitative", "--add", "intervention=foster-care",
                    "--remove", "outcome=education", "--note", "Case files of 10 young people")
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load((tmp_path / "curation.yaml").read_text())
    assert saved[record.url]["set"]["study_design"] == "qualitative"

    def check() -> None:
        again = next(r for r in records(db) if r.id == record.id)
        assert again.curated and again.study_design == "qualitative" and again.evidence_level == 1
        assert again.classification["curation"]["note"] == "Case files of 10 young people"
        from sqlmodel import Session, select

        from evidence import catalogue
        from evidence.models import RecordTag
        engine = catalogue.connect(db)
        with Session(engine) as session:
            kinds = {(t.kind, t.tag): t.curated for t in session.exec(select(RecordTag).where(RecordTag.record_id == record.id)).all()}
        engine.dispose()
        assert kinds.get(("intervention", "foster-care")) is True  # the curator's tag, marked as the curator's
        assert ("outcome", "education") not in kinds

    check()
    assert invoke("--db", db, "reclassify").exit_code == 0
    check()
    assert invoke("demo", "--out", str(tmp_path / "demo")).exit_code == 0  # re-harvest over the same catalogue
    check()
    review = json.loads(invoke("--db", db, "review", "--format", "json").output)
    # the curator's check cleared the record's review flag; what is left awaits a check
    flagged = {r.id for r in records(db) if r.needs_review and not r.curated}
    assert record.id not in {row["id"] for row in review} and {row["id"] for row in review} <= flagged
    assert next(r for r in records(db) if r.id == record.id).needs_review is False


def test_curation_mistakes_are_refused_and_orphans_warned(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = _demo(tmp_path)
    record = records(db)[0]
    result = invoke("--db", db, "curate", record.id, "--add", "intervention=hugs")
    assert result.exit_code == 2 and "unknown intervention `hugs`" in result.output
    assert invoke("--db", db, "curate", "no-such-record", "--set", "direction=positive").exit_code == 2
    (tmp_path / "curation.yaml").write_text(yaml.safe_dump({
        "https://example.org/gone": {"set": {"direction": "positive"}},
        record.url: {"add": {"outcome": ["not-a-tag"]}},
    }))
    line = (tmp_path / "curation.yaml").read_text().splitlines().index("    - not-a-tag") + 1
    result = invoke("--db", db, "reclassify")  # a hand-edited mistake is refused, naming the file and line
    assert result.exit_code == 2 and f"curation.yaml:{line}:" in result.output and "unknown outcome `not-a-tag`" in result.output
    (tmp_path / "curation.yaml").write_text(yaml.safe_dump({"https://example.org/gone": {"set": {"direction": "positive"}}}))
    result = invoke("--db", db, "reclassify")  # a record no longer in the catalogue is only a warning
    assert result.exit_code == 0 and "no record with this URL" in result.output
    assert "https://example.org/gone" in (tmp_path / "curation.yaml").read_text()  # never dropped
    (tmp_path / "curation.yaml").write_text("- just: a list\n  - broken")
    result = invoke("--db", db, "reclassify")
    assert result.exit_code == 2 and "curation.yaml" in result.output


def test_an_unattended_harvest_leaves_a_log_file(tmp_path, server, catalogue_path):
    server.add("/feed.xml", "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><item><title>Foster care study</title>"
               f"<link>{server.base}/a</link><description>{'An evaluation of specialist foster care. ' * 5}</description></item></channel></rss>",
               content_type="application/rss+xml")
    server.add("/pages.xml", "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><item><title>Kinship care review</title>"
               f"<link>{server.base}/gone</link><description>A review of kinship care.</description></item></channel></rss>",
               content_type="application/rss+xml")
    path = write_sources(tmp_path, [{"id": "good", "kind": "feed", "url": server.url("/feed.xml"), "detail": False},
                                    {"id": "pages", "kind": "feed", "url": server.url("/pages.xml")},
                                    {"id": "bad", "kind": "feed", "url": server.url("/missing.xml")}])
    log = tmp_path / "harvest.log"
    result = invoke("--db", catalogue_path, "--log-file", str(log), "harvest", "--config", str(path), "--quiet",
                    "--captures", str(tmp_path / "caps"))
    assert result.exit_code == 1
    lines = log.read_text(encoding="utf-8").splitlines()
    assert any("INFO evidence.api: source good: ok, 1 fetched, 1 new" in line for line in lines), lines
    assert any("source bad: failed" in line and "HTTP 404" in line for line in lines), lines
    assert any(f"evidence.pipeline: source pages: {server.base}/gone: its page was not read (HTTP 404)" in line for line in lines), lines
    assert "INFO" not in result.output  # without -v nothing but warnings reaches the terminal


def test_expected_failures_are_one_line_and_debug_shows_the_traceback(tmp_path):
    (tmp_path / "c.db").write_bytes(b"this is not a database, but a damaged file" * 100)
    result = invoke("--db", str(tmp_path / "c.db"), "status")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert result.output.startswith(f"Error: cannot open catalogue {tmp_path / 'c.db'}: file is not a database")
    with pytest.raises(Exception, match="file is not a database"):
        invoke("--db", str(tmp_path / "c.db"), "--debug", "status")


def test_build_with_a_named_sources_file_that_is_missing_says_so_in_one_line(tmp_path):
    db = str(tmp_path / "c.db")
    from evidence import catalogue

    catalogue.connect(db).dispose()
    result = invoke("--db", db, "build", "--out", str(tmp_path / "site"), "--no-search", "--config", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1 and "nope.yaml" in result.output, result.output
    assert not (tmp_path / "site").exists()
    assert invoke("--db", db, "build", "--out", str(tmp_path / "site"), "--no-search").exit_code == 0  # the default: read if present
