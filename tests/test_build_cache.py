"""The build cache: a rebuild that reuses the last build's pieces writes the same bytes as a build that reuses none.

Each test builds the fixture site, copies the folder (so both copies share the last build's state: the known records,
rating dates and time stamps), changes the catalogue, then rebuilds one copy with the cache and the other with
`cache=False` (`evidence build --no-cache`), and compares every file but the cache itself. Every change is also run
with the cache's keys broken on purpose (record pieces keyed by record id alone, feeds by their title alone, no salt):
the comparison must then fail, so each test can fail.
"""
from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, update

sys.path.insert(0, str(Path(__file__).parent))
from site_fixture import TAXONOMY, make_catalogue  # noqa: E402

from evidence import catalogue  # noqa: E402
from evidence.cli import cli  # noqa: E402
from evidence.models import Record, RecordPlace, RecordTag  # noqa: E402
from evidence.publish import build, cache  # noqa: E402
from evidence.publish.cache import CACHE_DIR  # noqa: E402

BASE_URL = "https://example.org/evidence"
FIRST = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def site_db(catalogue_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EVIDENCE_TAXONOMY", str(TAXONOMY))
    monkeypatch.setenv("EVIDENCE_MODEL", str(tmp_path / "no-model.json"))
    monkeypatch.setattr(build, "now_utc", lambda: FIRST)
    return make_catalogue(catalogue_path)


def site_files(out: Path) -> dict[str, bytes]:
    """Every file of a built site but the build cache (path -> bytes)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.relative_to(out).as_posix().startswith(CACHE_DIR + "/")}


def execute(db: str, *statements: Any) -> None:
    engine = catalogue.connect(db, create=False)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(statement)
    finally:
        engine.dispose()


def new_record(db: str, tmp_path: Path) -> None:
    now = FIRST + timedelta(hours=1)
    execute(db, Record.__table__.insert().values(  # type: ignore[attr-defined]
        id="one-more-z9", url="https://example.org/one-more", url_key="example.org/one-more", title="One more trial",
        title_key="one more trial", source_id="source-a", first_seen=now, content_hash="x", authors=[],
        links=[], money=[], extra={}, summary="A new trial of outreach.", text="", study_design="rct", evidence_level=4,
        direction="positive", curated=False, inclusion="included",
        classification={"pairs": [{"intervention": "outreach", "outcome": "offending", "direction": "positive", "confidence": 0.7,
                                   "phrase": "Outreach cut offending.", "start": 0, "end": 1, "basis": "sentence"}]}),
        RecordTag.__table__.insert().values(record_id="one-more-z9", kind="intervention", tag="outreach",  # type: ignore[attr-defined]
                                            confidence=0.9, direction=None, evidence=[], curated=False))


def changed_title(db: str, tmp_path: Path) -> None:
    execute(db, update(Record).where(Record.id == "rct-foster-care-two-b2").values(title="A second trial, retitled"))


def changed_tag(db: str, tmp_path: Path) -> None:
    execute(db, update(RecordTag).where(RecordTag.record_id == "rct-foster-care-one-a1", RecordTag.tag == "family-therapy")
            .values(tag="outreach", evidence=[{"phrase": "outreach workers", "start": 0, "end": 16}]))


def changed_pair(db: str, tmp_path: Path) -> None:
    engine = catalogue.connect(db, create=False)
    with engine.connect() as conn:
        classification = conn.execute(Record.__table__.select().where(Record.id == "outreach-before-after-c3")).one().classification  # type: ignore[attr-defined]
    engine.dispose()
    classification["pairs"][0]["direction"] = "no_effect"
    execute(db, update(Record).where(Record.id == "outreach-before-after-c3").values(classification=classification))


def curation_change(db: str, tmp_path: Path) -> None:
    execute(db, update(Record).where(Record.id == "outreach-before-after-c3").values(
        curated=True, needs_review=False, study_design="quasi_experimental", evidence_level=3,
        classification={"curation": {"by": "alice", "updated": "2024-06-01T10:00:00", "note": "checked the method", "set": ["study_design"]},
                        "pairs": [{"intervention": "outreach", "outcome": "offending", "direction": "positive", "confidence": 0.8,
                                   "phrase": "Offending fell after outreach began.", "start": 0, "end": 1, "basis": "curator"}]}))


def deleted_record(db: str, tmp_path: Path) -> None:
    execute(db, delete(RecordTag).where(RecordTag.record_id == "rct-foster-care-one-a1"),
            delete(RecordPlace).where(RecordPlace.record_id == "rct-foster-care-one-a1"),
            delete(Record).where(Record.id == "rct-foster-care-one-a1"))


def withdrawn_record(db: str, tmp_path: Path) -> None:
    execute(db, update(Record).where(Record.id == "rct-foster-care-two-b2").values(
        extra={"withdrawn": "Superseded.", "withdrawn_at": "2024-05-20T09:00:00.000+00:00"}))


def excluded_record(db: str, tmp_path: Path) -> None:
    execute(db, update(Record).where(Record.id == "outreach-before-after-c3").values(
        inclusion="excluded", classification={"screening": {"curator": {"decision": "exclude"}}}))


def template_change(db: str, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(build.TEMPLATES, templates)
    row = templates / "_record_row.html"
    row.write_text(row.read_text(encoding="utf-8").replace("<", "<!-- a template edit -->\n<", 1), encoding="utf-8")
    pytest.MonkeyPatch().setattr(build, "TEMPLATES", templates)  # undone by the fixture below


CHANGES: dict[str, Callable[[str, Path], None]] = {
    "new record": new_record, "changed title": changed_title, "changed tag": changed_tag, "changed pair": changed_pair,
    "curation change": curation_change, "deleted record": deleted_record, "withdrawn record": withdrawn_record,
    "excluded record": excluded_record, "template change": template_change, "base URL change": lambda db, tmp_path: None,
}


@pytest.fixture(autouse=True)
def _restore_templates() -> Any:
    templates = build.TEMPLATES
    yield
    build.TEMPLATES = templates


def rebuild_both(db: str, tmp_path: Path, change: str, jobs: int = 1) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(files of the cached rebuild, files of the clean rebuild) after `change`."""
    cached, clean = tmp_path / "cached", tmp_path / "clean"
    build.build_site(db, cached, BASE_URL, jobs=jobs)
    build.build_site(db, cached, BASE_URL, jobs=jobs)  # a second, unchanged build: the cache as a rebuild leaves it
    shutil.copytree(cached, clean)
    CHANGES[change](db, tmp_path)
    base_url = "https://example.org/moved" if change == "base URL change" else BASE_URL
    later = FIRST + timedelta(days=1, minutes=7)
    build.now_utc = lambda: later
    build.build_site(db, cached, base_url, jobs=jobs)
    build.build_site(db, clean, base_url, jobs=jobs, cache=False)
    return site_files(cached), site_files(clean)


def differences(a: dict[str, bytes], b: dict[str, bytes]) -> list[str]:
    return sorted(rel for rel in set(a) | set(b) if a.get(rel) != b.get(rel))


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_cached_rebuild_is_byte_identical_to_a_clean_one(site_db, tmp_path, change):
    cached, clean = rebuild_both(site_db, tmp_path, change)
    assert not differences(cached, clean)
    assert len(cached) > 30


@pytest.fixture
def broken_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache's keys without what the pieces are made from: record pieces by id, feeds by title, no salt."""
    monkeypatch.setattr(build, "record_keys", lambda digests: {p[len("records/"):-len(".html")]: p for p in digests})
    monkeypatch.setattr(build, "digest", lambda text: text.split("'")[1])  # repr((title, ...)): the title alone
    monkeypatch.setattr(build, "site_salt", lambda data: "no salt")


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_comparison_catches_a_cache_key_that_leaves_out_an_input(site_db, tmp_path, change, broken_keys):
    cached, clean = rebuild_both(site_db, tmp_path, change)
    assert differences(cached, clean), "with broken keys the cached rebuild should have shown stale pieces"


def test_the_worker_processes_fill_and_use_the_cache(site_db, tmp_path, monkeypatch):
    monkeypatch.setattr(build, "PARALLEL_FROM", 1)  # the fixture's 5 records, rendered by forked workers
    cached, clean = rebuild_both(site_db, tmp_path, "changed title", jobs=2)
    assert not differences(cached, clean)
    assert list((tmp_path / "cached" / CACHE_DIR).glob("downloads-*.cache"))


def test_a_rebuild_makes_again_only_the_changed_records_pieces(site_db, tmp_path, monkeypatch):
    out = tmp_path / "site"
    build.build_site(site_db, out, BASE_URL, jobs=1)
    made: list[str] = []
    real = build.open_record
    monkeypatch.setattr(build, "open_record", lambda row: made.append(row["id"]) or real(row))
    build.build_site(site_db, out, BASE_URL, jobs=1)
    assert made == []
    changed_title(site_db, tmp_path)
    build.build_site(site_db, out, BASE_URL, jobs=1)
    assert made == ["rct-foster-care-two-b2"]
    build.build_site(site_db, out, BASE_URL, jobs=1)  # the changed record's new pieces were kept
    assert made == ["rct-foster-care-two-b2"]
    build.build_site(site_db, out, BASE_URL, jobs=1, cache=False)
    assert len(made) == 1 + 5


def test_a_rebuild_rewrites_only_the_cache_files_whose_pieces_changed(site_db, tmp_path):
    out = tmp_path / "site"
    page = "records/rct-foster-care-two-b2.html"

    def state() -> tuple[dict[str, tuple[int, int]], str]:
        # a file written again is a new file (written beside it, renamed over it), with a later time
        files = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted((out / CACHE_DIR).glob("downloads-*.cache"))}
        return files, json.loads((out / build.STATE_FILE).read_text(encoding="utf-8"))["pages"][page]  # its pieces' key

    build.build_site(site_db, out, BASE_URL, jobs=1)
    before, old_key = state()
    changed_title(site_db, tmp_path)
    build.build_site(site_db, out, BASE_URL, jobs=1)
    after, new_key = state()
    rewritten = {name for name in after if after[name] != before.get(name)}
    # the files of the changed record's old entries (dropped) and new ones (made); every other file as it was
    assert rewritten == {f"downloads-{cache.shard(key):02d}.cache" for key in (old_key, new_key)}
    assert len(after) > len(rewritten)


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"salt": 1, "pieces": []}', b"\xff\xfe\x00garbage", "right salt, wrong pieces"])
def test_a_damaged_cache_is_a_clean_build(site_db, tmp_path, damage):
    out, clean = tmp_path / "site", tmp_path / "clean"
    build.build_site(site_db, out, BASE_URL, jobs=1)
    for path in (out / CACHE_DIR).glob("*.cache"):
        if damage == "right salt, wrong pieces":
            document = cache.orjson.loads(path.read_bytes())
            path.write_bytes(cache.orjson.dumps({"salt": document["salt"], "pieces": {k: 5 for k in document["pieces"]}}))
        else:
            path.write_bytes(damage)  # type: ignore[arg-type]
    shutil.copytree(out, clean)
    changed_title(site_db, tmp_path)
    build.build_site(site_db, out, BASE_URL, jobs=1)
    build.build_site(site_db, clean, BASE_URL, jobs=1, cache=False)
    assert not differences(site_files(out), site_files(clean))
    build.build_site(site_db, out, BASE_URL, jobs=1)  # and the cache is whole again
    assert {p.name for p in (out / CACHE_DIR).glob("*.cache")} == {p.name for p in (clean / CACHE_DIR).glob("*.cache")}
    assert {p.name.split("-")[0] for p in (out / CACHE_DIR).glob("*.cache")} == {"downloads", "pages"}


def test_an_unreadable_cache_folder_is_a_clean_build(site_db, tmp_path):
    out = tmp_path / "site"
    build.build_site(site_db, out, BASE_URL, jobs=1)
    shutil.rmtree(out / CACHE_DIR)
    (out / CACHE_DIR).write_text("a file where the folder was")  # nothing can be read or written there
    build.build_site(site_db, out, BASE_URL, jobs=1)
    assert (out / "downloads" / "catalogue.csv").is_file()


def test_evidence_build_no_cache(site_db, tmp_path):
    out = tmp_path / "site"
    for flags in ([], ["--no-cache"]):
        result = CliRunner().invoke(cli, ["--db", site_db, "build", "--out", str(out), "--no-search", *flags], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert list((out / CACHE_DIR).glob("downloads-*.cache"))


def test_the_salt_changes_with_code_outside_the_publishing_package(tmp_path, monkeypatch):
    """Pages use labels, levels and links defined outside evidence/publish (classify/design.py...): an edit there
    must make the cache's pieces again, as an edit of the publishing code does."""
    from evidence.publish import cache

    package = tmp_path / "evidence"
    (package / "publish").mkdir(parents=True)
    (package / "classify").mkdir()
    (package / "publish" / "cache.py").write_text("# publishing\n")
    (package / "classify" / "design.py").write_text("LABEL = 'Systematic review'\n")
    monkeypatch.setattr(cache, "__file__", str(package / "publish" / "cache.py"))
    before = cache.code_digest()
    assert cache.code_digest() == before
    (package / "classify" / "design.py").write_text("LABEL = 'Systematic review (of studies)'\n")
    assert cache.code_digest() != before


# Cell and intervention pages (map/*.html, interventions/*.html) are cached whole, under their records' row digests,
# their findings and their ratings (build.cell_inputs, build.intervention_inputs).

def moved_rating_dates(db: str, tmp_path: Path) -> None:
    """The ratings' dates as the last build left them, moved (both copies alike): pages show each rating's date."""
    for folder in ("cached", "clean"):
        state_file = tmp_path / folder / build.STATE_FILE
        state = json.loads(state_file.read_text(encoding="utf-8"))
        state["rating_dates"] = {key: [value[0], "2020-01-01"] for key, value in state["rating_dates"].items()}
        state_file.write_text(json.dumps(state), encoding="utf-8")


@pytest.fixture
def _page_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CHANGES, "rating date", moved_rating_dates)


def page_differences(cached: dict[str, bytes], clean: dict[str, bytes]) -> list[str]:
    return [rel for rel in differences(cached, clean) if rel.startswith(("map/", "interventions/"))]


@pytest.mark.usefixtures("_page_changes")
def test_a_cached_rebuild_after_a_rating_date_moved_is_byte_identical(site_db, tmp_path):
    cached, clean = rebuild_both(site_db, tmp_path, "rating date")
    assert not differences(cached, clean)
    assert b"2020-01-01" in cached["map/outreach--offending.html"]


BROKEN_PAGE_KEYS = {
    # the records by id, not by their rows' digests: a withdrawn record's badge would stay off its cells' pages
    "records by id": ("withdrawn record", lambda: (
        lambda cell, keys: repr((cell.intervention, cell.outcome, [e.record.id for e in cell.entries], build._rating_inputs(cell.rating))),
        lambda rating, rows, cells, keys, made=None: repr((build._rating_inputs(rating), [r["id"] for r in rows],
                                                           [build.cell_inputs(c, keys) for c in cells.values()])))),
    # without the ratings' dates: a rating's new date would not reach the pages
    "no rating": ("rating date", lambda: (
        lambda cell, keys: repr((cell.intervention, cell.outcome, build._entries_inputs(cell, keys))),
        lambda rating, rows, cells, keys, made=None: repr(([keys[r["id"]] for r in rows], [build.cell_inputs(c, keys) for c in cells.values()])))),
}


@pytest.mark.usefixtures("_page_changes")
@pytest.mark.parametrize("broken", list(BROKEN_PAGE_KEYS))
def test_the_comparison_catches_a_page_key_that_leaves_out_an_input(site_db, tmp_path, monkeypatch, broken):
    """With the real keys the same changes give identical sites (test_a_cached_rebuild_is_byte_identical_to_a_clean_one,
    ..._after_a_rating_date_moved_...); with a key broken, the cell and intervention pages go stale."""
    change, make = BROKEN_PAGE_KEYS[broken]
    cell_inputs, intervention_inputs = make()
    monkeypatch.setattr(build, "cell_inputs", cell_inputs)
    monkeypatch.setattr(build, "intervention_inputs", intervention_inputs)
    cached, clean = rebuild_both(site_db, tmp_path, change)
    stale = page_differences(cached, clean)
    assert any(rel.startswith("map/") for rel in stale) and any(rel.startswith("interventions/") for rel in stale), stale


def test_a_rebuild_renders_again_only_the_pages_of_changed_records(site_db, tmp_path, monkeypatch):
    out = tmp_path / "site"
    build.build_site(site_db, out, BASE_URL, jobs=1)
    made: list[str] = []
    real = build._finding_row
    monkeypatch.setattr(build, "_finding_row", lambda entry, *rest: made.append(entry.record.id) or real(entry, *rest))
    build.build_site(site_db, out, BASE_URL, jobs=1)
    assert made == []  # no cell page made again
    withdrawn_record(site_db, tmp_path)
    build.build_site(site_db, out, BASE_URL, jobs=1)
    assert "rct-foster-care-two-b2" in made
    again = len(made)
    build.build_site(site_db, out, BASE_URL, jobs=1, cache=False)
    assert again < len(made) - again  # fewer findings rows than a clean build's: only the changed record's cells


def test_a_piece_replaced_by_another_in_the_same_file_is_kept(tmp_path):
    """A cache file is rewritten when a piece in it was made, even if it holds as many pieces as before."""
    first = "a" * 40
    second = next(k for n in range(1000) if cache.shard(k := f"{n:040x}") == cache.shard(first) and k != first)
    old = cache.BuildCache(tmp_path, "downloads", "salt")
    old.put(first, "one")
    old.save()
    new = cache.BuildCache(tmp_path, "downloads", "salt")  # `first` not used by this build: dropped; `second` made
    new.put(second, "two")
    new.save()
    assert cache.BuildCache(tmp_path, "downloads", "salt").old == {second: "two"}
    assert len(list((tmp_path / CACHE_DIR).glob("downloads-*.cache"))) == 1
