"""The library facade (evidence.api): every method returns a result object and prints nothing (the CLI renders)."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from conftest import records

from evidence.api import DEMO_DIR, Catalogue, HarvestReport, ReclassifyReport, SiteReport, demo
from evidence.capture import CaptureStore
from evidence.config import load_config
from evidence.curate import CurateResult
from evidence.curation import Change
from evidence.demo_data import load_demo_captures
from evidence.pipeline import SourceResult


def test_the_library_returns_results_and_prints_nothing(fresh_catalogue, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(logging.getLogger("evidence"), "handlers", [])  # what a library user gets: no handler of the CLI's
    captures = tmp_path / "captures"
    load_demo_captures(CaptureStore(captures))
    config = load_config(DEMO_DIR / "sources.yaml")
    curation = str(tmp_path / "curation.yaml")
    Path(curation).write_text("{}\n", encoding="utf-8")
    cat: Catalogue = fresh_catalogue

    harvest = cat.harvest(config, captures=captures, offline=True, curation_file=curation)
    assert isinstance(harvest, HarvestReport) and [r.status for r in harvest.results].count("failed") == 1  # the demo's failing source
    assert all(isinstance(r, SourceResult) for r in harvest.results) and {r.source_id for r in harvest.results} == {s.id for s in config.sources}
    stored = records(cat.db)
    assert sum(r.new for r in harvest.results) == len(stored) > 0

    status = cat.status()
    assert {row["source"]: row["records"] for row in status if row["records"]} == {
        s: sum(r.source_id == s for r in stored) for s in {r.source_id for r in stored}}
    assert sorted(row["status"] for row in status) == sorted(r.status for r in harvest.results)

    again = cat.reclassify(curation)
    assert isinstance(again, ReclassifyReport) and again.records == len(stored)
    queue = cat.review(limit=3)
    assert isinstance(queue, list) and 0 < len(queue) <= 3
    target = stored[0]
    curated = cat.curate(target.id, Change(by="a curator", set=[("study_design", "rct")], note="checked against the report"), curation)
    assert isinstance(curated, CurateResult) and curated.study_design == "rct" and str(curated.path) == curation

    site = cat.build(tmp_path / "site", base_url="https://example.org/evidence", search=False)
    assert isinstance(site, SiteReport) and site.build.records == len(stored) and site.search_pages is None
    assert (tmp_path / "site" / "records" / f"{target.id}.html").is_file()
    exported = json.loads(cat.export("json"))
    assert len(exported["records"]) == len(stored)
    assert capsys.readouterr() == ("", "")


def test_the_demo_function_returns_where_it_put_things_and_prints_nothing(tmp_path, capsys, monkeypatch, new_catalogue):
    monkeypatch.setattr(logging.getLogger("evidence"), "handlers", [])
    db = new_catalogue("demo")
    report = demo(tmp_path / "demo", db)
    assert report.db == db and (report.site / "index.html").is_file()
    assert [r.status for r in report.harvest.results].count("failed") == 1  # the demo's one source recorded failing, on purpose
    assert report.site_report.build.records == len(records(db)) > 0
    assert capsys.readouterr() == ("", "")
