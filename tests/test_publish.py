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
            if target.startswith("/evidence/"):  # root-relative (the 404 page, shown at any depth): from the base URL's path
                path = site / urlsplit(target).path.removeprefix("/evidence/")
            else:
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
    on_disk = [p for p in out.rglob("*") if p.is_file() and p.name != ".evidence-build.json" and ".evidence-cache" not in p.parts]
    assert first.written == len(on_disk) and again.written == 1  # changes.html: it no longer says "first build"
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
    files = sorted(p.relative_to(two).as_posix() for p in two.rglob("*") if p.is_file() and ".evidence-cache" not in p.parts)
    assert files == sorted(p.relative_to(one).as_posix() for p in one.rglob("*") if p.is_file() and ".evidence-cache" not in p.parts)
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


# --- The map, ratings and open data on a small fixture catalogue (tests/site_fixture.py): expectations come from
# --- the fixture's own records and taxonomy.

from site_fixture import RECORDS, TAXONOMY, make_catalogue  # noqa: E402

from evidence.publish import ratings as rating_rules  # noqa: E402
from evidence.publish.evidence_map import NO_EFFECT, STUDY_LEVELS  # noqa: E402


@pytest.fixture
def fixture_db(catalogue_path, monkeypatch) -> str:
    monkeypatch.setenv("EVIDENCE_TAXONOMY", str(TAXONOMY))
    return make_catalogue(catalogue_path)


@pytest.fixture
def fixture_site(fixture_db, tmp_path) -> Path:
    out = tmp_path / "fixture-site"
    build_site(fixture_db, out, "https://example.org/evidence", jobs=1)
    return out


def _cells(site: Path) -> dict[tuple[str, str], dict]:
    return {(c["intervention"], c["outcome"]): c for c in json.loads((site / "downloads/map.json").read_text())["cells"]}


def _on_map(spec: dict) -> bool:
    return spec.get("inclusion", "included") != "excluded"


def test_cells_come_from_the_pairs_a_record_states_not_from_crossing_its_tags(fixture_site):
    taxonomy = load_taxonomy(TAXONOMY)
    cells = _cells(fixture_site)
    assert set(cells) == {(i, o) for i in taxonomy.ids("interventions") for o in taxonomy.ids("outcomes")}
    for (i, o), cell in cells.items():
        stating = [r for r in RECORDS if _on_map(r) and any((p["intervention"], p["outcome"]) == (i, o) for p in r["pairs"])]
        assert sorted(cell["record_ids"]) == sorted(r["id"] for r in stating if r["level"] in STUDY_LEVELS)
        levels = [next(r["level"] for r in RECORDS if r["id"] == rid) for rid in cell["record_ids"]]
        assert levels == sorted(levels, reverse=True)  # strongest first
        assert sorted(cell["context_ids"]) == sorted(r["id"] for r in stating if r["level"] not in STUDY_LEVELS)
        assert cell["studies"] == sum(cell["by_level"].values()) == sum(cell["by_design"].values()) == len(cell["record_ids"])
        assert cell["context"] == len(cell["context_ids"])
    crossed_only = {(i, o) for r in RECORDS if _on_map(r) for i in r["interventions"] for o in r["outcomes"]} - {
        (p["intervention"], p["outcome"]) for r in RECORDS for p in r["pairs"]}
    assert crossed_only  # the fixture tags records with pairs they never state...
    assert all(not cells[key]["studies"] and not cells[key]["context"] for key in crossed_only)  # ...which fill no cell


def test_each_cell_page_shows_per_record_design_level_pair_direction_and_phrase(fixture_site):
    for spec in RECORDS:
        if not _on_map(spec):
            continue
        for p in spec["pairs"]:
            page = soup(fixture_site / "map" / f"{p['intervention']}--{p['outcome']}.html")
            row = next(tr for tr in page.select("table.findings tbody tr") if tr.select_one(f"a[href$='{spec['id']}.html']"))
            cells = [td.get_text(" ", strip=True) for td in row.select("td")]
            assert cells[2] == str(spec["level"]) and cells[3].endswith(p["direction"].replace("_", " "))
            assert p["phrase"] in cells[4] and ("⊘" in cells[3]) == (p["direction"] in NO_EFFECT)


def test_the_no_effect_mark_is_per_pair_and_context_never_fills_a_gap(fixture_site):
    cells = _cells(fixture_site)
    for key, cell in cells.items():
        findings = [(r["level"], p["direction"]) for r in RECORDS if _on_map(r) for p in r["pairs"] if (p["intervention"], p["outcome"]) == key]
        assert cell["no_effect"] == any(level >= 2 and d in NO_EFFECT for level, d in findings)
        if not any(level in STUDY_LEVELS for level, _ in findings):
            assert cell["gap"] == "absolute" and cell["rating"] == "no_evidence"  # guidance alone leaves the gap open
    mixed = next(r for r in RECORDS if {p["direction"] for p in r["pairs"]} >= {"positive", "no_effect"})  # one record, two pairs
    marks = {p["direction"]: cells[(p["intervention"], p["outcome"])]["no_effect"] for p in mixed["pairs"]}
    assert marks == {"positive": False, "no_effect": True}
    context_only = [key for key, c in cells.items() if c["context"] and not c["studies"]]
    assert context_only, "the fixture holds a guidance record with a pair"
    for key in context_only:
        td = soup(fixture_site / "map.html").select_one(f"td[data-i='{key[0]}'][data-o='{key[1]}']")
        assert "gap-absolute" in td["class"]


def test_excluded_records_are_on_no_map_rating_feed_or_list_but_keep_their_page(fixture_site):
    excluded = [r["id"] for r in RECORDS if not _on_map(r)]
    assert excluded
    public = [fixture_site / p for p in ("map.html", "index.html", "records/index.html", "downloads/map.json", "downloads/ratings.json",
                                         "interventions/index.html")]
    public += list((fixture_site / "feeds").rglob("*.xml")) + list((fixture_site / "interventions").glob("*.html"))
    public += list((fixture_site / "map").glob("*.html"))
    for rid in excluded:
        for path in public:
            assert rid not in path.read_text(encoding="utf-8"), (rid, path.relative_to(fixture_site))
        page = soup(fixture_site / "records" / f"{rid}.html")
        assert page.select_one("article")["data-inclusion"] == "excluded"  # search keeps it, behind a filter
        assert page.select_one("[data-pagefind-filter='inclusion']").get_text() == "excluded"
    exported = {r["id"]: r for r in json.loads((fixture_site / "downloads/catalogue.json").read_text())["records"]}
    assert all(exported[rid]["inclusion"] == "excluded" for rid in excluded)  # the open data keeps every record


@pytest.mark.parametrize(("studies", "expected"), [
    ([(4, "positive"), (4, "positive")], "well_supported"),
    ([(5, "positive")], "well_supported"),
    ([(5, "positive"), (3, "negative")], "supported"),  # harm at level 3+ bars "well supported"
    ([(4, "positive"), (4, "positive"), (3, "negative")], "supported"),
    ([(4, "positive")], "supported"),
    ([(3, "positive"), (3, "positive")], "supported"),
    ([(3, "positive")], "promising"),
    ([(2, "positive"), (2, "positive")], "promising"),
    ([(2, "positive")], "insufficient"),
    ([(4, "no_effect"), (4, "mixed")], "insufficient"),
    ([(1, "positive")], "insufficient"),
    ([], "no_evidence"),
])
def test_the_rating_scale(studies, expected):
    rating, because = rating_rules.decide([(level, d, f"r{n}") for n, (level, d) in enumerate(studies)])
    assert rating == expected
    assert (because != []) == (expected not in ("insufficient", "no_evidence"))
    assert all(studies[int(rid[1:])][1] == "positive" for rid in because)  # a rating rests on positive findings only


def test_ratings_list_their_records_count_only_checked_ones_and_say_when_machine_only(fixture_site):
    data = json.loads((fixture_site / "downloads/ratings.json").read_text())
    assert [s["id"] for s in data["scale"]] == [row[0] for row in rating_rules.SCALE]
    by_key = {(i["intervention"], o["outcome"]): o for i in data["interventions"] for o in i["outcomes"]}
    cells = _cells(fixture_site)
    for key, rating in by_key.items():
        assert [r["id"] for r in rating["records"]] == cells[key]["record_ids"] and rating["rating"] == cells[key]["rating"]
        specs = {r["id"]: r for r in RECORDS}
        counted = [specs[r["id"]] for r in rating["records"] if r["counted"]]
        assert all(not s["needs_review"] for s in counted)  # needs_review records are listed, never counted
        assert {r["id"] for r in rating["records"] if not r["counted"]} == {r["id"] for r in rating["records"] if specs[r["id"]]["needs_review"]}
        assert rating["machine_classification_only"] == any(not s["curated"] for s in counted)
        assert all(r["curator_checked"] == specs[r["id"]]["curated"] for r in rating["records"])
        expected, _ = rating_rules.decide([(s["level"], next(p["direction"] for p in s["pairs"] if (p["intervention"], p["outcome"]) == key), s["id"])
                                           for s in counted])
        if expected == "no_evidence" and rating["records"]:
            expected = "insufficient"
        assert rating["rating"] == expected
    unchecked_only = [o for o in by_key.values() if o["records"] and not any(r["counted"] for r in o["records"])]
    assert unchecked_only and all(o["rating"] == "insufficient" for o in unchecked_only)
    page = soup(fixture_site / "map" / "outreach--offending.html").get_text(" ", strip=True)
    assert "await" in page and "not counted" in page
    overall = {i["intervention"]: i for i in data["interventions"]}
    for rating in overall.values():
        ranks = [rating_rules.RANK[o["rating"]] for o in rating["outcomes"]]
        assert rating_rules.RANK[rating["rating"]] == min(ranks)  # overall: its best-evidenced outcome
        assert rating["no_effect_or_harm"] == any(o["no_effect_or_harm"] for o in rating["outcomes"])


def test_a_rating_keeps_its_date_until_it_changes(fixture_db, tmp_path):
    out = tmp_path / "site"
    build_site(fixture_db, out, jobs=1)

    def dates() -> dict[tuple[str, str | None], tuple[str, str | None]]:
        data = json.loads((out / "downloads/ratings.json").read_text())
        found = {(i["intervention"], None): (i["rating"], i["last_changed"]) for i in data["interventions"]}
        found.update({(i["intervention"], o["outcome"]): (o["rating"], o["last_changed"]) for i in data["interventions"] for o in i["outcomes"]})
        return found

    first = dates()
    seen = {r["id"]: n for n, r in enumerate(RECORDS)}
    for (i, o), (rating, since) in first.items():  # a first build dates each rating by the records behind it
        if o is not None and rating != "no_evidence":
            behind = [r for r in RECORDS if _on_map(r) and r["level"] in STUDY_LEVELS and any((p["intervention"], p["outcome"]) == (i, o) for p in r["pairs"])]
            assert since == max(max(f"2024-05-{1 + seen[r['id']]:02d}", "2024-06-01" if r["curated"] else "") for r in behind)
    build_site(fixture_db, out, jobs=1)
    assert dates() == first
    engine = catalogue.connect(fixture_db)
    with Session(engine) as session:  # the unchecked outreach study is checked and found to have a comparison group
        record = session.get(Record, "outreach-before-after-c3")
        record.needs_review, record.evidence_level, record.study_design = False, 3, "quasi_experimental"
        session.add(record)
        session.commit()
    engine.dispose()
    build_site(fixture_db, out, jobs=1)
    after = dates()
    stamp = json.loads((out / "downloads/catalogue.json").read_text())["meta"]["built_at"][:10]
    changed = {k for k in first if first[k][0] != after[k][0]}
    assert ("outreach", "offending") in changed
    assert all(after[k][1] == stamp for k in changed) and all(after[k] == first[k] for k in first if k not in changed)
    changes = soup(out / "changes.html").get_text(" ", strip=True)
    assert "Outreach, Offending" in changes


def test_lists_are_newest_first_by_publication_date_and_withdrawn_records_say_so(fixture_site):
    listed = [a["href"].rpartition("/")[2][:-5] for a in soup(fixture_site / "records/index.html").select("ul.records li > a")]
    specs = {r["id"]: r for r in RECORDS}
    assert sorted(listed) == sorted(r["id"] for r in RECORDS if _on_map(r))
    assert [specs[i]["published"] for i in listed] == sorted((specs[i]["published"] for i in listed), reverse=True)
    for spec in RECORDS:
        withdrawn = spec.get("extra", {}).get("withdrawn_at")
        text = soup(fixture_site / "records" / f"{spec['id']}.html").select_one("main").get_text(" ", strip=True)
        assert (f"Withdrawn on {withdrawn[:10]}" in text) if withdrawn else ("Withdrawn" not in text)
    assert any(spec.get("extra", {}).get("withdrawn_at") for spec in RECORDS)


def test_every_cell_has_a_page_and_a_feed(fixture_site):
    taxonomy = load_taxonomy(TAXONOMY)
    for i in taxonomy.ids("interventions"):
        for o in taxonomy.ids("outcomes"):
            assert (fixture_site / "map" / f"{i}--{o}.html").is_file()
            feed = feedparser.parse((fixture_site / "feeds" / "map" / f"{i}--{o}.xml").read_bytes())
            assert not feed.bozo
            stating = {r["id"] for r in RECORDS if _on_map(r) and any((p["intervention"], p["outcome"]) == (i, o) for p in r["pairs"])}
            assert {e.link.rpartition("/")[2][:-5] for e in feed.entries} == stating


def test_the_method_page_publishes_the_flow_the_accuracy_and_the_scale(fixture_site):
    text = soup(fixture_site / "method.html").select_one("main").get_text(" ", strip=True)
    flow = {th.get_text(" ", strip=True): td.get_text() for th, td in
            ((tr.select_one("th"), tr.select_one("td")) for tr in soup(fixture_site / "method.html").select("#flow ~ table tbody tr")) if td}
    assert flow["Records in the catalogue"] == str(len(RECORDS))
    assert flow["Excluded by the inclusion criteria or a curator"] == str(sum(not _on_map(r) for r in RECORDS))
    assert flow["Included"] == str(sum(_on_map(r) for r in RECORDS))
    assert flow["On the map (linked to at least one outcome)"] == str(sum(1 for r in RECORDS if _on_map(r) and r["pairs"]))
    for _, label, rule, eif, cebc, blueprints in rating_rules.SCALE:
        assert label in text and rule in text and eif in text and cebc in text and blueprints in text
    results = (Path(__file__).parent.parent / "bench" / "RESULTS.md").read_text(encoding="utf-8")
    accuracy = json.loads((Path(catalogue.__file__).parent / "publish" / "accuracy.json").read_text())
    for figure in accuracy["fields"]:  # the page's figures are bench/RESULTS.md's measured ones
        line = next(line for line in results.splitlines() if line.startswith(f"| {figure['row']}"))
        assert f"{figure['value']:.2f}" in line, line
        assert figure["meaning"] in text and f"{figure['value']:.2f}" in text


def test_agreement_figures_show_on_the_method_page_when_a_curation_file_is_given(fixture_db, tmp_path):
    from evidence.agreement import agreement_figures

    curation = tmp_path / "curation.yaml"
    urls = [f"https://example.org/reports/{r['id']}" for r in RECORDS]
    runner = CliRunner()
    for n, url in enumerate(urls):
        for who, decision in (("Ann", "include"), ("Ben", "include" if n % 2 else "exclude")):
            result = runner.invoke(cli, ["--db", fixture_db, "curate", url, "--curation", str(curation), "--by", who,
                                         "--set", f"inclusion={decision}", "--note", "fixture"], catch_exceptions=False)
            assert result.exit_code == 0, result.output
    figures = agreement_figures(fixture_db, curation)
    assert figures and figures["records"] == len(RECORDS)
    out = tmp_path / "site"
    assert invoke("--db", fixture_db, "build", "--out", str(out), "--no-search", "--curation", str(curation)).exit_code == 0
    table = soup(out / "method.html").select_one("#agreement + p + table")
    assert table is not None
    inclusion = next(f for f in figures["fields"] if f["field"] == "inclusion")
    row = next(tr for tr in table.select("tbody tr") if tr.select_one("th").get_text() == "inclusion")
    assert [td.get_text() for td in row.select("td")][1:3] == [str(inclusion["items"]), str(inclusion["agreed"])]
    build_site(fixture_db, out, jobs=1)
    assert soup(out / "method.html").select_one("#agreement + p + table") is None
    assert "No record has been judged by two curators yet" in soup(out / "method.html").get_text(" ", strip=True)


def test_exports_carry_the_provenance_and_validate_against_the_published_schema(fixture_db, fixture_site):
    import jsonschema
    schema = json.loads((fixture_site / "downloads/catalogue.schema.json").read_text())
    data = json.loads((fixture_site / "downloads/catalogue.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(data, schema)
    broken = json.loads(json.dumps(data))
    broken["records"][0]["pairs"] = [{"intervention": "x"}]  # the schema can fail: a pair without its direction
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    specs = {r["id"]: r for r in RECORDS}
    for record in data["records"]:
        spec = specs[record["id"]]
        assert [(p["intervention"], p["outcome"], p["direction"], p["phrase"]) for p in record["pairs"]] == [
            (p["intervention"], p["outcome"], p["direction"], p["phrase"]) for p in spec["pairs"]]
        assert record["needs_review"] == spec["needs_review"] and record["curated"] == spec["curated"]
        assert {t["id"] for t in record["tags"]["interventions"]} == set(spec["interventions"])
        assert all(t["phrases"] == [f"{t['id']} named"] and 0 <= t["confidence"] <= 1 for t in record["tags"]["interventions"])
        assert (record["curation"] or {}).get("by") == ("A. Curator" if spec["curated"] else None)
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO((fixture_site / "downloads/catalogue.csv").read_text(encoding="utf-8")))}
    for rid, row in rows.items():
        assert json.loads(row["pairs_json"] or "[]") == data["records"][[r["id"] for r in data["records"]].index(rid)]["pairs"]
        assert row["needs_review"] == str(specs[rid]["needs_review"]) and (row["curator_note"] != "") == specs[rid]["curated"]
    exported = invoke("--db", fixture_db, "export", "--format", "json").output
    site_json = (fixture_site / "downloads/catalogue.json").read_text(encoding="utf-8")
    stamp = json.loads(exported)["meta"]["built_at"]
    assert exported.rstrip("\n") == site_json.replace(data["meta"]["built_at"], stamp).rstrip("\n")  # the same file
    assert invoke("--db", fixture_db, "export", "--format", "csv").output == (fixture_site / "downloads/catalogue.csv").read_text(encoding="utf-8")


def test_a_rebuild_on_a_later_clock_rewrites_nothing(fixture_db, tmp_path, monkeypatch):
    from datetime import timedelta

    import evidence.publish.build as build

    out = tmp_path / "site"
    build_site(fixture_db, out, jobs=1)
    build_site(fixture_db, out, jobs=1)  # changes.html: no longer the first build
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != build.STATE_FILE}

    later = build.now_utc() + timedelta(hours=1, minutes=7)
    monkeypatch.setattr(build, "now_utc", lambda: later)
    report = build_site(fixture_db, out, jobs=1)
    assert report.written == 0 and {p: p.read_bytes() for p in before} == before
    engine = catalogue.connect(fixture_db)
    with Session(engine) as session:  # a real change still shows the new time where the page changed
        record = session.get(Record, RECORDS[0]["id"])
        record.title = "A renamed randomised trial of specialist foster care"
        session.add(record)
        session.commit()
    engine.dispose()
    build_site(fixture_db, out, jobs=1)
    stamp = json.loads((out / "downloads/catalogue.json").read_text())["meta"]["built_at"]
    assert stamp != json.loads(before[out / "downloads/catalogue.json"])["meta"]["built_at"]
    assert stamp in (out / "index.html").read_text() or (out / "index.html").read_bytes() == before[out / "index.html"]


def test_a_pairs_phrase_is_text_everywhere(fixture_site):
    hostile = [p["phrase"] for r in RECORDS for p in r["pairs"] if "<script>" in p["phrase"]]
    assert hostile  # the fixture holds a phrase with markup in it
    for path in fixture_site.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".xml", ".json"):
            assert "<script>x" not in path.read_text(encoding="utf-8"), path
    page = soup(fixture_site / "map" / "foster-care--offending.html")
    assert any(q.get_text() == hostile[0] for q in page.select("table.findings q"))  # shown as the words it is


def test_an_overall_rating_takes_its_best_evidenced_outcome_and_lists_its_records():
    from evidence.publish.evidence_map import Finding, MapRecord, evidence_map

    def record(rid: str, level: int, outcome: str, direction: str) -> MapRecord:
        return MapRecord(id=rid, title=rid, level=level, design="rct", direction=direction, interventions={"a": None}, outcomes={outcome},
                         populations=set(), publisher=None, year=None, doc_type=None, inclusion="included",
                         pairs=[Finding("a", outcome, direction, 0.8, "words", "sentence")])

    records = [record("weak", 2, "o1", "mixed"), record("strong", 4, "o2", "unclear"), record("harm", 3, "o3", "negative")]
    cells = evidence_map(records, ["a"], ["o1", "o2", "o3"])
    overall = rating_rules.rate_all(cells, ["a"])["a"]
    assert {c.rating.id for c in cells.values()} == {"insufficient"}  # a tie on the scale...
    assert overall.best_outcome == "o2" and overall.because == []  # ...goes to the outcome with the strongest study
    assert overall.flag and overall.flagged_by == ["harm"]
    assert [(r.id, r.outcome) for r in overall.records] == [("strong", "o2"), ("harm", "o3")]  # best outcome's, then flagged


def test_a_build_leaves_a_line_in_the_log(demo_db, tmp_path, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="evidence.publish.build"):
        report = build_site(demo_db, tmp_path / "site", jobs=1)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "evidence.publish.build"]
    assert line.startswith(f"built {report.pages} pages for {report.records} records into {tmp_path / 'site'}: {report.written} files written")
