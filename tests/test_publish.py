"""The static site and open data, checked as files: every page type, links, downloads, feeds, escaping, incremental builds."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from sqlmodel import Session, select

from evidence import catalogue
from evidence.classify.apply import classify_record_hook
from evidence.classify.taxonomy import load_taxonomy
from evidence.cli import cli
from evidence.curation import Curation
from evidence.models import Candidate, Record, utcnow
from evidence.publish.build import build_site
from evidence.publish.feeds import FEED_SIZE


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("demo")
    assert invoke("demo", "--out", str(out)).exit_code == 0
    return str(out / "catalogue.db")


@pytest.fixture(scope="module")
def demo_records(demo_db) -> int:
    """How many records the demo catalogue holds (the demo's own tests check what they are)."""
    engine = catalogue.connect(demo_db)
    with Session(engine) as session:
        count = len(session.exec(select(Record.id)).all())
    engine.dispose()
    return count


@pytest.fixture(scope="module")
def demo_listed(demo_db) -> int:
    """How many of the demo's records lists and feeds show: all but those the inclusion criteria exclude."""
    engine = catalogue.connect(demo_db)
    with Session(engine) as session:
        count = len([i for i in session.exec(select(Record.inclusion)).all() if i != "excluded"])
    engine.dispose()
    return count


@pytest.fixture
def site(demo_db, tmp_path) -> Path:
    out = tmp_path / "site"
    build_site(demo_db, out, "https://example.org/evidence")
    return out


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def test_every_page_type_is_built(site, demo_records):
    for rel in ("index.html", "map.html", "interventions/index.html", "interventions/foster-care.html", "records/index.html",
                "sources.html", "method.html", "search.html", "downloads.html", "changes.html", "404.html", "sitemap.xml",
                "feeds/all.xml", "feeds/foster-care.xml", "downloads/catalogue.csv", "downloads/catalogue.json",
                "downloads/catalogue.ris", "downloads/catalogue.bib", "downloads/map.json", "static/style.css", "static/map.js"):
        assert (site / rel).is_file(), rel
    assert len(list((site / "records").glob("*.html"))) == demo_records + 1  # one page per record, and the index


def test_map_has_every_intervention_and_outcome_with_text_counts_and_gaps(site):
    page = soup(site / "map.html")
    table = page.select_one("table.map")
    taxonomy = load_taxonomy()  # one row per intervention, one column per outcome (and the row headers')
    assert len(table.select("tbody tr")) == len(taxonomy.ids("interventions"))
    assert len(table.select("thead th")) == len(taxonomy.ids("outcomes")) + 1
    filled = table.select("td[data-i] a")
    gaps = table.select("td.gap-absolute")
    assert filled and gaps
    for link in filled:
        assert re.match(r"\d+ \(L[0-5–]\)", link.get_text(" ", strip=True))  # the count is text, not colour alone
        assert (site / link["href"]).is_file()
    cells = {(c["intervention"], c["outcome"]): c for c in json.loads((site / "downloads/map.json").read_text())["cells"]}
    for td in table.select("td[data-i]"):  # the no-effect mark follows each cell's pairs, as map.json gives them
        cell = cells[(td["data-i"], td["data-o"])]
        assert ("⊘" in td.get_text()) == cell["no_effect"], (td["data-i"], td["data-o"])
    assert any(c["no_effect"] for c in cells.values()) and not all(c["no_effect"] for c in cells.values())


def test_every_relative_link_resolves(site):
    broken = []
    for page in site.rglob("*.html"):
        for tag in soup(page).find_all(["a", "link", "script"]):
            target = tag.get("href") or tag.get("src")
            if not target or urlsplit(target).scheme or target.startswith("#") or "pagefind/" in target:
                continue
            path = (page.parent / urlsplit(target).path).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(site)} -> {target}")
    assert not broken, broken[:10]


def test_intervention_page_shows_its_rating_flag_first_and_the_records_behind_it(site):
    ratings = json.loads((site / "downloads/ratings.json").read_text())["interventions"]
    flagged = [r for r in ratings if r["no_effect_or_harm"]]
    assert flagged, "the demo holds a no-effect finding at level 2+"
    for rating in flagged:
        text = soup(site / "interventions" / f"{rating['intervention']}.html").select_one("main").get_text(" ", strip=True)
        assert "No effect / harm reported" in text and text.index("No effect / harm reported") < text.index("Rating overall")
        for record in rating["records"]:
            assert record["id"] in (site / "interventions" / f"{rating['intervention']}.html").read_text()


def test_record_page_shows_why_provenance_citations_and_json_ld(site):
    record = next(p for p in (site / "records").glob("keeping-safe*.html"))
    page = soup(record)
    text = page.get_text(" ", strip=True)
    assert "Why it was classified this way" in text and "because of" in text
    assert "First seen" in text and "Health and Care Research Wales" in text
    assert page.select_one("details pre").get_text().startswith("TY  -")
    data = json.loads(page.select_one("script[type='application/ld+json']").string)
    assert data["@type"] and data["name"].startswith("Keeping safe?")
    assert page.select_one("meta[http-equiv='Content-Security-Policy']")


def test_downloads_parse(site, demo_records):
    import bibtexparser
    import rispy

    rows = list(csv.DictReader(io.StringIO((site / "downloads/catalogue.csv").read_text(encoding="utf-8"))))
    assert len(rows) == demo_records and {"title", "evidence_level", "interventions"} <= set(rows[0])
    data = json.loads((site / "downloads/catalogue.json").read_text(encoding="utf-8"))
    assert len(data["records"]) == demo_records and data["meta"]["scale_version"]
    entries = rispy.loads((site / "downloads/catalogue.ris").read_text(encoding="utf-8"))
    assert len(entries) == demo_records and all(e.get("title") or e.get("primary_title") for e in entries)
    library = bibtexparser.parse_string((site / "downloads/catalogue.bib").read_text(encoding="utf-8"))
    assert len(library.entries) == demo_records and not library.failed_blocks
    cells = json.loads((site / "downloads/map.json").read_text(encoding="utf-8"))["cells"]
    taxonomy = load_taxonomy()
    assert len(cells) == len(taxonomy.ids("interventions")) * len(taxonomy.ids("outcomes"))
    assert {"absolute"} <= {c["gap"] for c in cells} <= {"absolute", "synthesis", None}


def test_every_feed_parses_and_uses_the_base_url(site, demo_records, demo_listed):
    assert demo_listed < demo_records  # the demo holds an excluded record: it is in no feed
    for path in (site / "feeds").rglob("*.xml"):
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path.name, parsed.get("bozo_exception"))
    everything = feedparser.parse((site / "feeds/all.xml").read_bytes())
    assert len(everything.entries) == min(demo_listed, FEED_SIZE) and everything.entries[0].link.startswith("https://example.org/evidence/records/")
    assert "https://example.org/evidence/map.html" in (site / "sitemap.xml").read_text()


def test_rebuild_rewrites_only_what_changed(demo_db, tmp_path):
    import shutil

    demo_db = str(shutil.copy(demo_db, tmp_path / "catalogue.db"))  # this test adds a record: not to the module's demo
    out = tmp_path / "site"
    first = build_site(demo_db, out)
    again = build_site(demo_db, out)
    assert first.written > 90 and again.written <= 1  # changes.html: it no longer says "first build"
    engine = catalogue.connect(demo_db)
    with Session(engine) as session:
        catalogue.upsert(session, Candidate(url="https://example.org/new-foster-care-study", title="A new study of specialist foster care",
                                            publisher="Example", summary="Specialist foster carers for young people at risk of exploitation."),
                         "test", utcnow(), classify_record_hook(Curation(path=tmp_path / "c.yaml")))
        session.commit()
    third = build_site(demo_db, out)
    assert third.added and third.written < first.written / 3, third
    changes = soup(out / "changes.html").get_text(" ", strip=True)
    assert "A new study of specialist foster care" in changes


def test_all_records_are_listed_once_over_numbered_pages(demo_db, tmp_path, monkeypatch):
    import evidence.publish.build as build

    monkeypatch.setattr(build, "RECORDS_PER_PAGE", 3)
    out = tmp_path / "site"
    report = build_site(demo_db, out)
    pages = sorted((out / "records").glob("index*.html"), key=lambda p: int(p.stem.partition("-")[2] or 1))
    assert len(pages) > 1
    listed = [a["href"] for p in pages for a in soup(p).select("ul.records a")]
    shown = [r for r in json.loads((out / "downloads/catalogue.json").read_text())["records"] if r["inclusion"] != "excluded"]
    assert len(listed) == len(set(listed)) == len(shown) < report.records  # every record but the excluded ones, once
    published = [r["published"] for r in sorted(shown, key=lambda r: listed.index(f"../records/{r['id']}.html"))]
    dated = [p for p in published if p]
    assert dated == sorted(dated, reverse=True) and published[: len(dated)] == dated  # newest first by publication date
    first, last = soup(pages[0]), soup(pages[-1])
    assert first.select_one("a[rel=next]")["href"] == "index-2.html" and not first.select_one("a[rel=prev]")
    assert last.select_one("a[rel=prev]") and not last.select_one("a[rel=next]")
    assert first.select_one("nav.pager a[aria-current=page]").get_text() == "1"
    assert f"{len(shown)} records" in first.get_text(" ", strip=True)


def test_worker_processes_build_the_same_site_as_one_process(demo_db, tmp_path, monkeypatch):
    import evidence.publish.build as build

    monkeypatch.setattr(build, "PARALLEL_FROM", 1)  # the demo catalogue is small: use the workers anyway
    one, two = tmp_path / "one", tmp_path / "two"
    build_site(demo_db, one, jobs=1)
    report = build_site(demo_db, two, jobs=2)
    files = sorted(p.relative_to(two).as_posix() for p in two.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(one).as_posix() for p in one.rglob("*") if p.is_file())
    assert any(f.startswith("records/") for f in files) and "downloads/catalogue.ris" in files
    for name in files:
        if name not in ("changes.html", build.STATE_FILE):  # these say when they were built
            assert (one / name).read_bytes() == (two / name).read_bytes(), name
    assert report.written == len(files) - 1 and not list(two.rglob("*.tmp"))  # every file but the state, no leftovers
    assert build_site(demo_db, two, jobs=2).written <= 2


def test_a_failing_worker_stops_the_build_with_its_error(demo_db, tmp_path, monkeypatch):
    import evidence.publish.build as build

    def broken(row, data):
        raise RuntimeError("a record page could not be rendered")

    monkeypatch.setattr(build, "PARALLEL_FROM", 1)
    monkeypatch.setattr(build, "_jsonld", broken)  # called inside the workers, which inherit it by fork
    with pytest.raises(RuntimeError, match="could not be rendered"):
        build_site(demo_db, tmp_path / "site", jobs=2)
    assert not (tmp_path / "site" / build.STATE_FILE).exists()  # not recorded as built: the next build starts over


def test_hostile_records_come_out_inert_everywhere(tmp_path):
    db = str(tmp_path / "hostile.db")
    engine = catalogue.connect(db)
    hostile = Candidate(
        url="https://example.org/x?<script>",
        title='<script>alert("t")</script><img src=x onerror=alert(1)> foster care',
        publisher="=HYPERLINK(\"http://evil\")",
        summary='</script><script>alert("s")</script> "onmouseover=alert(1)',
        links=[{"url": "javascript:alert(1)", "title": "bad", "type": "pdf"}, {"url": "https://ok.example/r.pdf", "title": "ok", "type": "pdf"}],
        authors=["-2+3"],
    )
    with Session(engine) as session:
        catalogue.upsert(session, hostile, "evil", utcnow(), classify_record_hook(Curation(path=tmp_path / "c.yaml")))
        session.commit()
    out = tmp_path / "site"
    build_site(db, out, "https://example.org")
    for path in out.rglob("*"):
        if not path.is_file() or path.suffix not in (".html", ".xml", ".json", ".csv", ".ris", ".bib"):
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".html", ".xml", ".json"):  # markup or data that may be embedded in markup: never a raw tag
            assert "<script>alert" not in text, path
        assert "javascript:" not in text, path  # the javascript: link is dropped everywhere, downloads included
        if path.suffix == ".html":
            page = soup(path)
            assert not page.find_all("img", src="x"), path  # the title's <img> is text, never an element
            for tag in page.find_all(True):
                assert not any(attr.startswith("on") for attr in tag.attrs), (path, tag.name)
            for script in page.find_all("script"):
                assert script.get("src") or script.get("type") in ("application/json", "application/ld+json"), path
    rows = list(csv.reader(io.StringIO((out / "downloads/catalogue.csv").read_text(encoding="utf-8"))))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows[1:] for cell in row)


def test_export_command_and_build_command(demo_db, tmp_path):
    result = invoke("--db", demo_db, "export", "--format", "csv")
    assert result.exit_code == 0 and result.output.startswith("id,title")
    target = tmp_path / "c.bib"
    assert invoke("--db", demo_db, "export", "--format", "bibtex", "-o", str(target)).exit_code == 0 and target.read_text().startswith("@")
    built = invoke("--db", demo_db, "build", "--out", str(tmp_path / "s"), "--no-search")
    assert built.exit_code == 0 and (tmp_path / "s" / "map.html").exists()
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    result = invoke("--db", demo_db, "build", "--out", str(blocked / "site"), "--no-search")
    assert result.exit_code == 2 and "cannot write the site" in result.output


HOSTILE_TITLES = ["../../../etc/passwd", "..\\..\\windows\\system32", "/absolute/path", "nul\x00byte title", "x" * 5000,
                  "Ünïcödé fóstér çäré 児童 🙂", "CON", "", "   ", "../../../etc/passwd", ".", "..", "%2e%2e%2f", "a/b/../../c"]


def test_hostile_titles_make_distinct_ids_and_pages_inside_the_site(tmp_path):
    db = str(tmp_path / "paths.db")
    engine = catalogue.connect(db)
    with Session(engine) as session:
        for n, title in enumerate(HOSTILE_TITLES):
            candidate = Candidate(url=f"https://example.org/{n}/{title[:40]}", title=title or "untitled", summary="Foster care for young people.")
            catalogue.upsert(session, candidate, "paths", utcnow(), classify_record_hook(Curation(path=tmp_path / "c.yaml")))
        session.commit()
        ids = [r.id for r in session.exec(catalogue.select(catalogue.Record)).all()]
    engine.dispose()
    assert len(ids) == len(set(ids))
    out = tmp_path / "site"
    build_site(db, out)
    pages = sorted(p.name for p in (out / "records").glob("*.html") if p.name != "index.html")
    assert len(pages) == len(ids)  # one page per record, none overwritten by another
    for rid in ids:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,79}", rid), rid
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and out not in p.parents and p.name not in ("paths.db", "paths.db-wal", "paths.db-shm")]
    assert outside == []


@pytest.mark.parametrize("edited", ["../../escape", "index-2"])  # a path out of the site; a list page's name
def test_a_record_id_edited_into_a_path_stops_the_build(demo_db, tmp_path, edited):
    import shutil
    import sqlite3

    db = tmp_path / "edited.db"
    shutil.copy(demo_db, db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE record SET id = ? WHERE id = (SELECT id FROM record LIMIT 1)", (edited,))
    result = CliRunner().invoke(cli, ["--db", str(db), "build", "--out", str(tmp_path / "site"), "--no-search"])
    assert result.exit_code == 2 and f"{edited!r} is not a safe file name" in result.output
    assert not (tmp_path / "escape.html").exists() and not (tmp_path / "site").exists()
